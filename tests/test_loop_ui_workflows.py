"""Every Loop workflow from its key: the request it sends (fake server), offline answers, query fixes, tuning."""

from __future__ import annotations

import pytest

from loop_tui.agent import PageContext
from loop_tui.ui.loop import WORKFLOWS, workflows_for
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from loop_tui.ui.loop.question import QuestionModal
from loop_tui.ui.loop.shell import LoopCommands
from loop_tui.ui.loop.tune import TuneScorerModal
from loop_tui.ui.loop.workflows import last_query_block, prompt_for
from tests.test_loop_ui_support import (
    SIZE,
    answer_text,
    cards,
    last_user_message,
    make_app,
    notices,
    system_prompt,
    transcript,
    wait_for,
    wait_idle,
    wait_modal,
)

MODEL = "gpt-4.1"
BAD_QUERY = "select: id, metadata.modle | from: project_logs('support-bot') | limit: 5"


def _context(ws, page: str, project: str = "support-bot") -> dict:
    pid = ws.project(project).id
    if page == "experiments":
        return {"experiment_id": ws.objects("experiment", pid)[0].id}
    if page == "datasets":
        return {"dataset_id": ws.get_object("dataset", pid, "support-golden").id}
    if page == "playground":
        return {"playground_id": ws.objects("playground", pid)[0].id}
    if page == "btql":
        return {"btql_query": BAD_QUERY}
    return {}


async def _press_on_page(pilot, app, key: str) -> None:
    app.query_one("#harness-page").focus()
    await pilot.pause()
    await pilot.press(key)


def test_workflows_cover_every_page_with_unique_keys_and_ids():
    pages = {w.page for w in WORKFLOWS}
    assert pages == {"playground", "experiments", "datasets", "logs", "btql"}
    for page in pages:
        keys = [w.key for w in workflows_for(page)]
        assert len(keys) == len(set(keys)), page
    assert len({w.binding_id for w in WORKFLOWS}) == len(WORKFLOWS)
    assert all(w.title.startswith("Loop: ") for w in WORKFLOWS)


@pytest.mark.parametrize("workflow", [w for w in WORKFLOWS if w.kind == "send"], ids=lambda w: w.id)
async def test_send_workflow_key_sends_its_request_with_page_context(sample_ws, fake_server_env, workflow):
    fake_server_env.script([{"text": f"working on {workflow.id}"}])
    extra = _context(sample_ws, workflow.page)
    app = make_app(sample_ws, workflow.page, model=MODEL, **extra)
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, workflow.key)
        await wait_idle(pilot, app)
        expected = prompt_for(workflow, PageContext(page=workflow.page, project="support-bot", **extra))
        assert last_user_message(fake_server_env) == expected
        assert f'"page": "{workflow.page}"' in system_prompt(fake_server_env)
        for value in extra.values():
            assert value in system_prompt(fake_server_env)
        assert answer_text(app) == f"working on {workflow.id}"


@pytest.mark.parametrize("workflow", [w for w in WORKFLOWS if w.kind in ("prefill", "query") and w.id != "fix_query"],
                         ids=lambda w: w.id)
async def test_prefill_workflow_starts_the_request_in_the_input(sample_ws, workflow):
    app = make_app(sample_ws, workflow.page, **_context(sample_ws, workflow.page))
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, workflow.key)
        await pilot.pause()
        assert app.chat.input.value == workflow.prompt
        assert app.focused is app.chat.input
        assert transcript(app) == []


async def test_palette_lists_the_page_workflows(sample_ws):
    app = make_app(sample_ws, "btql", btql_query=BAD_QUERY)
    app.COMMANDS = app.COMMANDS | {LoopCommands}  # the harness is the chat alone; the app offers these
    async with app.run_test(size=SIZE) as pilot:
        assert LoopCommands in app.COMMANDS
        provider = LoopCommands(app.screen, None)
        titles = [title for title, _, _ in provider._entries()]
        assert [w.title for w in workflows_for("btql")] == titles[: len(workflows_for("btql"))]
        assert "Loop: choose model" in titles and "Loop: cancel" not in titles
        await pilot.pause()


async def test_offline_experiment_summary_and_regressions(sample_ws):
    app = make_app(sample_ws, "experiments", **_context(sample_ws, "experiments"))
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, "S")
        await wait_idle(pilot, app)
        await _press_on_page(pilot, app, "R")
        await wait_idle(pilot, app)
        assert [c.tool_name for c in cards(app)] == ["get_summarized_results", "get_summarized_results"]
        assert all(c.status == "ok" for c in cards(app))
        text = answer_text(app)
        assert "language model is needed" not in text and "only understand a fixed set" not in text
        assert "regress" in text.lower()


async def test_offline_logs_question_picker(sample_ws):
    app = make_app(sample_ws, "logs")
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, "A")
        await wait_modal(pilot, app, QuestionModal)
        await pilot.press("enter")
        await wait_idle(pilot, app)
        assert transcript(app)[0].text == "What are the most common errors in the last 7 days?"
        assert cards(app)[0].tool_name == "btql_query" and "most common error" in answer_text(app)


async def test_offline_fix_with_loop_puts_the_fixed_query_in_the_editor(sample_ws):
    app = make_app(sample_ws, "btql", btql_query=BAD_QUERY)
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, "F")
        modal = await wait_modal(pilot, app, ConfirmChangeModal)
        assert modal.preview.kind == "diff" and "metadata.model" in modal.preview.text
        assert not modal.query("#loop-always")
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(app.accepted_queries))
        assert "metadata.model" in app.accepted_queries[0] and "modle" not in app.accepted_queries[0]
        assert any("in the editor" in n for n in notices(app))


async def test_fake_server_write_query_offers_the_query_as_a_diff(sample_ws, fake_server_env):
    query = "select: count(1) as n | from: project_logs('support-bot')"
    fake_server_env.script([{"text": f"Here it is:\n\n```sql\n{query}\n```\n"}])
    app = make_app(sample_ws, "btql", model=MODEL, btql_query="")
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, "W")
        await pilot.press(*"counts all log rows", "enter")
        await wait_modal(pilot, app, ConfirmChangeModal)
        assert last_user_message(fake_server_env) == "Write a BTQL query that counts all log rows"
        await pilot.press("n")
        await pilot.pause()
        assert app.accepted_queries == [] and any("Kept the editor" in n for n in notices(app))


def test_last_query_block_takes_the_last_fenced_block():
    answer = "First:\n```sql\nselect: a\n```\nbetter:\n```\nselect: b | limit: 1\n```\n"
    assert last_query_block(answer) == "select: b | limit: 1"
    assert last_query_block("no code here") is None


async def test_optimize_prompt_shows_a_diff_then_the_eval_scope_and_cost(sample_ws, fake_server_env):
    pid = sample_ws.project("support-bot").id
    pg = sample_ws.objects("playground", pid)[0]
    fake_server_env.script([
        {"tool_calls": [{"name": "edit_prompt", "arguments": {"messages": [
            {"role": "system", "content": "You are a concise, friendly support agent. Cite the help article."},
            {"role": "user", "content": "{{input}}"}]}}]},
        {"tool_calls": [{"name": "run_eval", "arguments": {}}]},
        {"text": "Kept the old run."},
    ])
    app = make_app(sample_ws, "playground", model=MODEL, playground_id=pg.id)
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, "O")
        modal = await wait_modal(pilot, app, ConfirmChangeModal)
        assert modal.preview.kind == "diff" and "+You are a concise, friendly support agent" in modal.preview.text
        await pilot.press("y")
        modal = await wait_modal(pilot, app, ConfirmChangeModal)
        assert modal.preview.kind == "eval"
        assert "estimated_cost_usd" in modal.preview.details
        await pilot.press("n")
        await wait_idle(pilot, app)
        saved = sample_ws.get_object("playground", pid, pg.id)
        assert "concise, friendly" in saved.data["prompt"]["messages"][0]["content"]
        assert [c.status for c in cards(app)] == ["ok", "declined"]


async def test_tune_scorer_reports_agreement_before_and_after(sample_ws, fake_server_env):
    project = "invoice-extraction"
    pid = sample_ws.project(project).id
    pg = sample_ws.objects("playground", pid)[0]
    new_code = "def handler(input, output, expected, metadata):\n    return 1.0\n"
    fake_server_env.script([
        {"tool_calls": [{"name": "create_code_scorer", "arguments": {"name": "total-matches", "code": new_code}}]},
        {"text": "Updated the scorer."},
    ])
    app = make_app(sample_ws, "playground", project=project, model=MODEL, playground_id=pg.id)
    async with app.run_test(size=SIZE) as pilot:
        await _press_on_page(pilot, app, "T")
        modal = await wait_modal(pilot, app, TuneScorerModal, timeout=60)
        rows = modal.data.rows
        before_scores = [r["scores"]["total-matches"] for r in rows]
        modal.query_one("#loop-tune-scorer").value = "total-matches"  # the project saves FieldAccuracy too
        await pilot.pause()
        await pilot.press("space")  # the first row was scored wrong; the right label is "fail"
        modal.query_one("#loop-tune-label").value = "0.0"
        await pilot.press("ctrl+s")
        confirm = await wait_modal(pilot, app, ConfirmChangeModal, timeout=60)
        assert confirm.preview.kind == "diff"
        await pilot.press("y")
        await wait_for(pilot, lambda: any("loop-report" in w.classes for w in transcript(app)), timeout=60)
        report = next(w for w in transcript(app) if "loop-report" in w.classes).text
        truth = [0.0] + [1.0 if (s or 0) >= 0.5 else 0.0 for s in before_scores[1:]]
        before_acc = sum((1.0 if (s or 0) >= 0.5 else 0.0) == t for s, t in zip(before_scores, truth, strict=True)) / len(rows)
        after_acc = sum(t == 1.0 for t in truth) / len(rows)
        assert f"| before | {before_acc:.0%} |" in report
        assert f"| after | {after_acc:.0%} |" in report
        assert "Tune the scorer `total-matches`" in last_user_message(fake_server_env) or any(
            "Tune the scorer" in str(m.get("content")) for m in fake_server_env.requests[0].body["messages"])
