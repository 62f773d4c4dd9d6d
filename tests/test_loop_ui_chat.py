"""LoopChat driven through Pilot: streaming, tool cards, confirmations, auto-accept, cancel, continue, undo."""

from __future__ import annotations

import json

from loop_tui.agent import load_conversation
from loop_tui.config import Settings
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from loop_tui.ui.loop.pickers import ConversationHistoryModal, ModelPickerModal, ToolTogglesModal
from tests.test_loop_ui_support import (
    SIZE,
    answer_text,
    cards,
    kinds,
    make_app,
    notices,
    tool_results,
    transcript,
    wait_for,
    wait_idle,
    wait_modal,
)

MODEL = "gpt-4.1"


def _dataset_rows(ws, name="support-golden"):
    ds = ws.get_object("dataset", ws.project("support-bot").id, name)
    return ds, ws.read_rows("dataset", ds.id).to_pylist()


def _add_row_call(text="How do I reset my password?"):
    return {"tool_calls": [{"name": "edit_data", "arguments": {
        "dataset": "support-golden", "operations": [{"op": "add", "input": {"question": text}, "expected": "Use the reset link."}]}}]}


async def test_offline_model_answers_common_errors_with_a_tool_card(sample_ws):
    app = make_app(sample_ws, "logs")
    async with app.run_test(size=SIZE) as pilot:
        assert "offline model" in str(app.chat.query_one("#loop-header").render())
        await pilot.press(*"most common errors this week", "enter")
        await wait_idle(pilot, app)
        assert kinds(app)[:3] == ["UserTurn", "ToolCard", "AssistantAnswer"]
        card = cards(app)[0]
        assert card.tool_name == "btql_query" and card.status == "ok"
        assert "most common error" in answer_text(app)
        assert app.chat.input.value == ""


async def test_streamed_text_tool_card_and_expand(sample_ws, fake_server_env):
    fake_server_env.script([
        {"text": "Let me look. ", "tool_calls": [{"name": "get_summarized_results", "arguments": {}}]},
        {"text": "There are **many** requests in the logs."},
    ])
    app = make_app(sample_ws, "logs", model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("overview please")
        await wait_idle(pilot, app)
        assert kinds(app) == ["UserTurn", "AssistantAnswer", "ToolCard", "AssistantAnswer"]
        assert answer_text(app) == "Let me look. \nThere are **many** requests in the logs."
        card = cards(app)[0]
        result = json.loads(next(iter(tool_results(fake_server_env).values())))
        assert card.result is not None and json.loads(card.result) == result
        card.focus()
        await pilot.press("enter")
        assert card.expanded and card.has_class("-expanded")
        await pilot.press("enter")
        assert not card.expanded


async def test_confirmation_accept_applies_and_undo_restores(sample_ws, fake_server_env):
    ds, before = _dataset_rows(sample_ws)
    fake_server_env.script([_add_row_call(), {"text": "Added one row."}])
    app = make_app(sample_ws, "datasets", dataset_id=ds.id, model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("add a password reset row")
        modal = await wait_modal(pilot, app, ConfirmChangeModal)
        assert modal.preview.kind == "rows" and cards(app)[0].status == "waiting"
        await pilot.press("y")
        await wait_idle(pilot, app)
        _, after = _dataset_rows(sample_ws)
        assert len(after) == len(before) + 1
        assert any("ctrl+z undoes it" in n for n in notices(app))
        assert cards(app)[0].status == "ok"
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: any(n.startswith("Undid") for n in notices(app)))
        undid = next(n for n in notices(app) if n.startswith("Undid"))
        assert "xact" not in undid and "edit_data" in undid  # what was undone, in words
        _, undone = _dataset_rows(sample_ws)
        assert len(undone) == len(before)


async def test_confirmation_reject_changes_nothing(sample_ws, fake_server_env):
    ds, before = _dataset_rows(sample_ws)
    fake_server_env.script([_add_row_call(), {"text": "OK, I left the dataset alone."}])
    app = make_app(sample_ws, "datasets", dataset_id=ds.id, model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("add a row")
        await wait_modal(pilot, app, ConfirmChangeModal)
        await pilot.press("n")
        await wait_idle(pilot, app)
        assert len(_dataset_rows(sample_ws)[1]) == len(before)
        assert cards(app)[0].status == "declined"
        assert "declined" in next(iter(tool_results(fake_server_env).values()))


async def test_always_allow_skips_the_next_confirmation(sample_ws, fake_server_env):
    ds, before = _dataset_rows(sample_ws)
    fake_server_env.script([_add_row_call("first"), _add_row_call("second"), {"text": "Two rows added."}])
    app = make_app(sample_ws, "datasets", dataset_id=ds.id, model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("add two rows")
        await wait_modal(pilot, app, ConfirmChangeModal)
        await pilot.press("a")
        await wait_idle(pilot, app)
        assert len(_dataset_rows(sample_ws)[1]) == len(before) + 2
        assert any("always allowed" in n for n in notices(app))
        assert any("allowed without asking" in n for n in notices(app))


async def test_auto_accept_skips_the_modal_and_says_so(sample_ws, fake_server_env):
    ds, before = _dataset_rows(sample_ws)
    settings = Settings()
    settings.agent.auto_accept = True
    fake_server_env.script([_add_row_call(), {"text": "Done."}])
    app = make_app(sample_ws, "datasets", dataset_id=ds.id, settings=settings, model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("add a row")
        await wait_idle(pilot, app)
        assert not isinstance(app.screen, ConfirmChangeModal)
        assert len(_dataset_rows(sample_ws)[1]) == len(before) + 1
        assert any("auto-accepted" in n and "auto_accept" in n for n in notices(app))


async def test_cancel_stops_a_slow_stream(sample_ws, fake_server_env):
    fake_server_env.script([{"text": "word " * 200, "chunk_size": 5, "chunk_delay": 0.05}])
    app = make_app(sample_ws, "logs", model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("talk slowly")
        await wait_for(pilot, lambda: "word" in answer_text(app))
        assert app.chat.running
        await pilot.press("escape")
        await wait_idle(pilot, app)
        assert any(n.startswith("Cancelled") for n in notices(app))
        assert answer_text(app).count("word") < 200


async def test_cancel_while_confirming_applies_nothing(sample_ws, fake_server_env):
    ds, before = _dataset_rows(sample_ws)
    fake_server_env.script([_add_row_call()])
    app = make_app(sample_ws, "datasets", dataset_id=ds.id, model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("add a row")
        await wait_modal(pilot, app, ConfirmChangeModal)
        app.chat.action_cancel()
        await wait_idle(pilot, app)
        assert not isinstance(app.screen, ConfirmChangeModal)
        assert len(_dataset_rows(sample_ws)[1]) == len(before)
        assert cards(app)[0].status in ("cancelled", "declined")


async def test_iteration_limit_then_continue(sample_ws, fake_server_env):
    settings = Settings()
    settings.agent.max_iterations = 1
    fake_server_env.script([
        {"tool_calls": [{"name": "search_docs", "arguments": {"query": "undo"}}]},
        {"text": "Undo is ctrl+z."},
    ])
    app = make_app(sample_ws, "logs", settings=settings, model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("how do I undo?")
        await wait_idle(pilot, app)
        assert app.chat.paused and any("paused after 1 steps" in n for n in notices(app))
        await pilot.press("ctrl+g")
        await wait_idle(pilot, app)
        assert not app.chat.paused
        assert "Undo is ctrl+z." in answer_text(app)


async def test_model_picker_offers_the_allowlist_and_switches(sample_ws, fake_server_env):
    settings = Settings()
    settings.models.allowlist = ["gpt-4.1", "o3"]
    fake_server_env.script([{"text": "hello from gpt"}])
    app = make_app(sample_ws, "logs", settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+b")
        modal = await wait_modal(pilot, app, ModelPickerModal)
        from textual.widgets import OptionList

        options = modal.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["gpt-4.1", "o3", "offline"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chat.model_name == "gpt-4.1")
        assert "gpt-4.1" in str(app.chat.query_one("#loop-header").render())
        app.chat.send("hi")
        await wait_idle(pilot, app)
        assert answer_text(app) == "hello from gpt"


async def test_tool_toggles_save_disabled_tools(sample_ws):
    settings = Settings()
    app = make_app(sample_ws, "logs", settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await wait_modal(pilot, app, ToolTogglesModal)
        await pilot.press("space")  # the first tool: search_docs
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: settings.tools.disabled == ["search_docs"])
        assert any("search_docs" in n for n in notices(app))


async def test_history_resumes_a_saved_conversation(sample_ws):
    app = make_app(sample_ws, "logs")
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("most common errors this week")
        await wait_idle(pilot, app)
        first = app.chat.conversation
        assert load_conversation(sample_ws, first.id).title.startswith("most common errors")
        await pilot.press("ctrl+n")
        assert kinds(app) == []
        await pilot.press("ctrl+r")
        modal = await wait_modal(pilot, app, ConversationHistoryModal)
        await wait_for(pilot, lambda: bool(modal._conversations))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chat.conversation.id == first.id)
        assert kinds(app)[:3] == ["UserTurn", "ToolCard", "AssistantAnswer"]
        assert cards(app)[0].status == "ok"


def _long_answer() -> str:
    """~6,500 characters of Markdown (paragraphs, lists, a code fence), every word numbered in order."""
    parts, n = [], 0
    for block in range(48):
        words = " ".join(f"w{n + i}" for i in range(30))
        n += 30
        if block % 6 == 3:
            parts.append(f"```\ncode w{n} line\n```")
            n += 1
        elif block % 2:
            parts.append(f"- {words}")
        else:
            parts.append(f"**Part {block}** {words}")
    return "\n\n".join(parts) + "\n"


def _numbers(text: str) -> list[int]:
    import re

    return [int(m) for m in re.findall(r"\bw(\d+)\b", text)]


async def test_long_stream_keeps_every_word_in_order_and_freezes_finished_stretches(sample_ws, fake_server_env):
    from textual.selection import Selection

    from loop_tui.ui.loop.chat import SPLIT_CHARS

    text = _long_answer()
    assert len(text) > 3 * SPLIT_CHARS
    fake_server_env.script([{"text": text, "chunk_size": 37, "chunk_delay": 0.002}])
    app = make_app(sample_ws, "logs", model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("a long answer please")
        await wait_idle(pilot, app)
        answers = [w for w in transcript(app) if type(w).__name__ == "AssistantAnswer"]
        assert len(answers) > 1  # long answers continue in new widgets at paragraph breaks
        assert "".join(a.text for a in answers) == text  # no delta dropped, duplicated or reordered
        await wait_for(pilot, lambda: all(a.frozen for a in answers))
        shown = "\n".join(a.get_selection(Selection(None, None))[0] for a in answers)
        expected = _numbers(text)
        assert _numbers(shown) == expected and expected == sorted(expected)  # every word rendered, in order
        # A wider panel thaws the frozen stretches, renders them again at that width, and freezes them again.
        width = answers[0].size.width
        before = sum(a.size.height for a in answers)
        app.chat.styles.width = 100
        await wait_for(pilot, lambda: answers[0].size.width > width)
        await wait_for(pilot, lambda: all(a.frozen and a.size.width == a._frozen_width for a in answers))
        assert sum(a.size.height for a in answers) < before  # wider: fewer lines
        assert _numbers("\n".join(a.get_selection(Selection(None, None))[0] for a in answers)) == expected


async def test_a_key_the_model_echoes_never_reaches_the_chat(sample_ws, fake_server_env):
    """The chat is an output path too: a key split across streamed pieces is redacted before it is shown."""
    from loop_tui.redaction import REDACTED
    from tests.fake_model_server import FAKE_KEY

    fake_server_env.script([{"text": f"Your key is {FAKE_KEY}, keep it safe.", "chunk_size": 3}])
    app = make_app(sample_ws, "logs", model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"what is my key?", "enter")
        await wait_idle(pilot, app)
        shown = answer_text(app)
        assert f"Your key is {REDACTED}, keep it safe." in shown and FAKE_KEY not in shown


async def test_a_long_confirmation_title_wraps_instead_of_being_cut(sample_ws, fake_server_env):
    # Seen in tmux: "Create a new dataset … in project invoice-extraction: add" lost its "2 rows" at the edge.
    name = "the-most-common-failures-of-this-week-" + "x" * 30
    fake_server_env.script([{"tool_calls": [{"name": "edit_data", "arguments": {
        "dataset": name, "operations": [{"op": "add", "input": "a"}, {"op": "add", "input": "b"}]}}]},
        {"text": "ok"}])
    app = make_app(sample_ws, "logs", model=MODEL)
    async with app.run_test(size=(80, 24)) as pilot:
        app.chat.send("make a dataset of failures")
        modal = await wait_modal(pilot, app, ConfirmChangeModal)
        title = modal.query_one(".loop-confirm-title")
        box = modal.query_one(".loop-confirm-box").content_region
        text = str(title.render())
        assert text.endswith("add 2 rows")
        # every character of the title is on screen: inside the box, on as many lines as it needs
        await wait_for(pilot, lambda: title.region.right <= box.right and title.size.height > 1)
        assert title.size.width * title.size.height >= len(text)


def test_an_update_that_changes_the_end_of_a_long_field_shows_where_it_differs() -> None:
    # Seen at 80x24: an update of a long answer showed the same first 48 characters as "before" and "after",
    # so the user could not see what they were accepting.
    from loop_tui.agent.events import Preview
    from loop_tui.ui.loop.confirm import preview_table_rows

    before = "Refunds go back to the original payment method within 5-7 business days once approved."
    after = "Refunds go back to the original payment method within 3 business days once approved."
    row = {"op": "update", "id": "r1", "before": {"input": {"q": "refund?"}, "expected": before},
           "after": {"input": {"q": "refund?"}, "expected": after}}
    cells = preview_table_rows(Preview(kind="rows", title="Edit dataset d", text="", rows=[row]))
    old, new = cells[0][3], cells[1][3]
    assert old != new and "5-7" in old and "3 business" in new and old.startswith("…")
    assert cells[0][2] == cells[1][2] == '{"q": "refund?"}'  # an unchanged short field is shown as it is


async def test_a_long_diff_leaves_the_answer_buttons_on_screen_at_80x24(sample_ws):
    # Seen in tmux at 80x24: tuning a scorer proposed a 20-line diff and the modal's Accept/Reject buttons were
    # cut off below the screen (the page's footer does not list y/n either).
    from textual.widgets import Button

    from loop_tui.agent.events import PendingCall, Preview

    diff = "\n".join(["--- scorer s (current)", "+++ scorer s (proposed)", "@@ -1,30 +1,30 @@",
                      *[f"+    line {i} of the new scorer" for i in range(30)]])
    app = make_app(sample_ws, "playground")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ConfirmChangeModal(PendingCall("c1", "create_code_scorer", {}), Preview("diff", "Update scorer s", diff)))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmChangeModal))
        await pilot.pause()
        for button in app.screen.query(Button):
            assert button.region.height == 3 and button.region.bottom <= 24, (button.id, button.region)


async def test_messages_of_a_replaced_run_change_nothing(sample_ws):
    """Every chat message names its run: one from a run that is no longer the chat's (cancelled and
    replaced) is ignored instead of writing into the current answer or ending the current run."""
    from loop_tui.ui.loop import messages as msg

    app = make_app(sample_ws, "logs")
    async with app.run_test(size=SIZE) as pilot:
        chat = app.chat
        stale = chat._run_id - 1
        chat.post_message(msg.AgentRunStarted(stale))
        chat.post_message(msg.AgentTextDelta(stale, "an old answer"))
        chat.post_message(msg.AgentFailed(stale, "an old failure"))
        await pilot.pause()
        assert not chat.running
        assert "an old answer" not in answer_text(app) and not any("an old failure" in n for n in notices(app))
        chat.post_message(msg.AgentTextDelta(chat._run_id, "the current answer"))  # the chat's own run: shown
        await wait_for(pilot, lambda: "the current answer" in answer_text(app))


async def test_tool_toggles_keep_what_was_written_to_the_settings_file_meanwhile(sample_ws):
    # Tried: a provider added to settings.toml in an editor while the app ran was gone from the file once
    # ctrl+t switched a tool off (the app wrote the settings it had read at start-up, with the tool off).
    from loop_tui.config import config_path, load_settings

    settings = Settings()
    app = make_app(sample_ws, "logs", settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        config_path().parent.mkdir(parents=True, exist_ok=True)
        config_path().write_text('[providers.local]\nbase_url = "http://127.0.0.1:11434/v1"\n', encoding="utf-8")
        await pilot.press("ctrl+t")
        await wait_modal(pilot, app, ToolTogglesModal)
        await pilot.press("space")  # the first tool: search_docs
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "search_docs" in config_path().read_text(encoding="utf-8"))
        saved = load_settings(config_path())
        assert saved.tools.disabled == ["search_docs"]
        assert saved.providers["local"].base_url == "http://127.0.0.1:11434/v1"


async def test_a_finished_answer_waits_for_the_markdown_append_still_running() -> None:
    # Textual's MarkdownStream.stop() may return while its last append is still going (it is shielded from the
    # stop's cancel, and holds the Markdown's lock): freezing then copied the stretch without that fragment.
    import asyncio

    from textual.app import App, ComposeResult

    from loop_tui.ui.loop.transcript import AssistantAnswer

    class _Answer(App):
        def compose(self) -> ComposeResult:
            yield AssistantAnswer()

    app = _Answer()
    async with app.run_test(size=(60, 10)) as pilot:
        answer = app.query_one(AssistantAnswer)
        await answer.write("first words")
        markdown = answer.query_one("Markdown")
        released = asyncio.Event()

        async def append_in_flight() -> None:  # what the stream's shielded append does while it runs
            async with markdown.lock:
                await released.wait()

        holder = asyncio.create_task(append_in_flight())
        await pilot.pause()
        finishing = asyncio.create_task(answer.finish())
        await pilot.pause()
        assert not finishing.done()  # not finished (so not frozen) while the append runs
        released.set()
        await finishing
        await holder
        await wait_for(pilot, lambda: answer.frozen)
        assert "first words" in answer.text
