"""Loop's remaining workflows in the real app with a scripted model, checked in the workspace: summarise an
experiment and its regressions, search the docs, create scorers from every page, edit a scorer, auto-accept
on and off, a disabled tool, and the iteration limit with continue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop_tui.config import load_settings
from loop_tui.store import Workspace
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from tests.test_workflows_support import (
    SIZE,
    ask,
    make_app,
    open_app,
    result_of,
    tool_call,
    tool_results,
    wait_for,
    wait_idle,
    wait_modal,
)

CODE = "def handler(input, output, expected, metadata):\n    return 1.0 if output else 0.0\n"
JUDGE = "Question: {{input}}\nAnswer: {{output}}\nIs the answer polite?\n(A) yes\n(B) no"


def _pid(ws_path: Path) -> str:
    return Workspace.open(ws_path).project("support-bot").id


async def test_summarise_an_experiment_and_its_regressions(sample_ws_path: Path, fake_server_env) -> None:
    from loop_tui.evals import summarize

    ws = Workspace.open(sample_ws_path)
    fake_server_env.script([tool_call("get_summarized_results"), {"text": "Factuality dropped."}])
    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        await pilot.press("enter")  # open the newest experiment (it has a base)
        await wait_for(pilot, lambda: getattr(app.screen, "experiment", None) is not None)
        exp = app.screen.experiment
        chat = await ask(pilot, "summarize this experiment and what regressed")
        await wait_idle(pilot, chat)
        got = result_of(fake_server_env, "get_summarized_results")
        truth = summarize(ws, exp.id, None)
        assert got["experiment"]["id"] == exp.id and got["base"]["id"] == truth.base_id
        for name, score in truth.to_json()["scores"].items():
            assert got["scores"][name]["regressions"] == score["regressions"]
        assert got["worst_regressions"] and all(min(r["deltas"].values()) < 0 for r in got["worst_regressions"])


async def test_search_the_docs(sample_ws_path: Path, fake_server_env) -> None:
    fake_server_env.script([tool_call("search_docs", query="turn off a tool"), {"text": "Use tools.disabled."}])
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "how do I turn off one of Loop's tools?")
        await wait_idle(pilot, chat)
        passages = " ".join(r["passage"] for r in result_of(fake_server_env, "search_docs")["results"])
        assert "disabled" in passages


@pytest.mark.parametrize("page", ["playground", "experiments", "datasets", "logs"])
async def test_create_a_code_scorer_from_every_page(sample_ws_path: Path, fake_server_env, page: str) -> None:
    fake_server_env.script([tool_call("create_code_scorer", name=f"non-empty-{page}", code=CODE), {"text": "Created."}])
    app = make_app(sample_ws_path, page=page)
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "create a scorer that checks the output is not empty")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "+def handler(input, output, expected, metadata):" in modal.preview.text
        await pilot.press("y")
        await wait_idle(pilot, chat)
        saved = app.workspace.get_object("scorer", _pid(sample_ws_path), f"non-empty-{page}")
        assert saved.data["code"] == CODE


@pytest.mark.parametrize("page", ["playground", "experiments", "datasets", "logs"])
async def test_create_an_llm_judge_from_every_page(sample_ws_path: Path, fake_server_env, page: str) -> None:
    # Only the call is scripted: the judge's trial calls and Loop's last turn get the server's echo.
    fake_server_env.script([tool_call("create_llm_judge_scorer", name=f"polite-{page}", prompt=JUDGE,
                                      choice_scores={"A": 1, "B": 0}, model="gpt-4o-mini")])
    app = make_app(sample_ws_path, page=page)
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "create a judge for politeness")
        await wait_modal(pilot, ConfirmChangeModal, timeout=60)
        await pilot.press("y")
        await wait_idle(pilot, chat, timeout=60)
        saved = app.workspace.get_object("scorer", _pid(sample_ws_path), f"polite-{page}")
        assert saved.data["prompt"] == JUDGE and saved.data["choice_scores"] == {"A": 1, "B": 0}


async def test_edit_a_scorer(sample_ws_path: Path, fake_server_env) -> None:
    pid = _pid(sample_ws_path)
    ws = Workspace.open(sample_ws_path)
    pg = ws.objects("playground", pid)[0]
    stricter = CODE.replace("if output", "if output and len(str(output)) > 20")
    fake_server_env.script([
        tool_call("create_code_scorer", name="answer-length", code=stricter),
        tool_call("edit_scorers", scorers=["answer-length", "Levenshtein"]),
        {"text": "The scorer is stricter and the playground uses it with Levenshtein."},
    ])
    before = ws.get_object("scorer", pid, "answer-length")
    versions = len(ws.object_versions(before.id))
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "make answer-length stricter and use it with Levenshtein")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert modal.preview.kind == "diff"
        await pilot.press("y")
        await wait_modal(pilot, ConfirmChangeModal)
        await pilot.press("y")
        await wait_idle(pilot, chat)
        after = app.workspace.get_object("scorer", pid, "answer-length")
        assert after.id == before.id and after.data["code"] == stricter
        assert len(app.workspace.object_versions(before.id)) == versions + 1
        assert app.workspace.object_by_id(pg.id).data["scorers"] == ["answer-length", "Levenshtein"]


def _add_row_call(question: str) -> dict:
    return tool_call("edit_data", dataset="support-golden",
                     operations=[{"op": "add", "input": {"question": question}, "expected": "Yes."}])


def _golden_questions(ws: Workspace) -> list[str]:
    ds = ws.get_object("dataset", ws.project("support-bot").id, "support-golden")
    return [json.loads(r["input"]).get("question") for r in
            ws.query("SELECT input FROM dataset WHERE dataset_id = ?", [ds.id])]


async def test_auto_accept_on_applies_without_a_modal_and_says_so(sample_ws_path: Path, fake_server_env) -> None:
    settings = load_settings()
    settings.agent.auto_accept = True
    fake_server_env.script([_add_row_call("Auto-accepted?"), {"text": "Added."}])
    app = make_app(sample_ws_path, page="datasets", settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "add a row")
        await wait_idle(pilot, chat)
        assert not isinstance(app.screen, ConfirmChangeModal)
        assert "Auto-accepted?" in _golden_questions(app.workspace)
        notices = [w.text for w in chat.transcript.children if type(w).__name__ == "Notice"]
        assert any("auto-accepted" in n for n in notices)


async def test_auto_accept_off_asks_first(sample_ws_path: Path, fake_server_env) -> None:
    fake_server_env.script([_add_row_call("Asked first?"), {"text": "Fine."}])
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "add a row")
        await wait_modal(pilot, ConfirmChangeModal)
        assert "Asked first?" not in _golden_questions(app.workspace)  # nothing before the answer
        await pilot.press("n")
        await wait_idle(pilot, chat)
        assert "Asked first?" not in _golden_questions(app.workspace)


async def test_a_disabled_tool_is_not_offered_and_cannot_run(sample_ws_path: Path, fake_server_env) -> None:
    settings = load_settings()
    settings.tools.disabled = ["edit_data"]
    fake_server_env.script([_add_row_call("Disabled?"), {"text": "I cannot edit data."}])
    app = make_app(sample_ws_path, page="datasets", settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "add a row")
        await wait_idle(pilot, chat)
        offered = [t.get("name") or t.get("function", {}).get("name") for t in fake_server_env.requests[0].body["tools"]]
        assert "edit_data" not in offered and "get_detailed_results" in offered
        assert "disabled" in result_of(fake_server_env, "edit_data")
        assert "Disabled?" not in _golden_questions(app.workspace)


async def test_the_iteration_limit_pauses_and_continue_finishes_the_task(sample_ws_path: Path, fake_server_env) -> None:
    settings = load_settings()
    settings.agent.max_iterations = 2
    settings.agent.auto_accept = True
    fake_server_env.script([
        tool_call("get_summarized_results"),
        tool_call("get_detailed_results", limit=2),
        _add_row_call("After continue?"),
        {"text": "Done after continuing."},
    ])
    app = make_app(sample_ws_path, page="datasets", settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "look at the data, then add a row")
        await wait_idle(pilot, chat)
        assert chat.paused and "After continue?" not in _golden_questions(app.workspace)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: "After continue?" in _golden_questions(app.workspace))
        await wait_idle(pilot, chat)
        assert not chat.paused
        assert [name for name, _ in tool_results(fake_server_env)][:3] == [
            "get_summarized_results", "get_detailed_results", "edit_data"]


@pytest.mark.parametrize("page", ["experiments", "logs"])
async def test_the_cursor_stays_in_loops_chat_after_an_accepted_change(sample_ws_path: Path, fake_server_env,
                                                                       page: str) -> None:
    # Seen in tmux: after accepting a judge on the logs page, the page reloaded for Loop's write and its table took
    # the cursor, so the next question typed to Loop ran page keys instead (t, a, ?…).
    fake_server_env.script([tool_call("create_code_scorer", name="non-empty", code=CODE), {"text": "Created."}])
    app = make_app(sample_ws_path, page=page)
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "create a scorer that checks the output is not empty")
        await wait_modal(pilot, ConfirmChangeModal)
        await pilot.press("y")
        await wait_idle(pilot, chat)
        screen = app.screen
        await wait_for(pilot, lambda: screen._loaded_key == (screen.project.id, app.workspace.generation)
                       and not any(w.is_running for w in app.workers))
        await pilot.pause()
        assert app.focused is chat.input
