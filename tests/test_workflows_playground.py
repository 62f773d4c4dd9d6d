"""Loop's playground workflows in the real app with a scripted model: each confirms (or rejects) in the modal
and then checks the workspace itself: the prompt objects, the playground's links, the datasets, the runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loop_tui.store import Workspace
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from tests.test_workflows_support import (
    SIZE,
    ask,
    make_app,
    open_app,
    result_of,
    tool_call,
    wait_for,
    wait_idle,
    wait_modal,
)

FIRST_PROMPT = [{"role": "system", "content": "You answer Acme customers' questions briefly and politely."},
                {"role": "user", "content": "{{input.question}}"}]


def _new_playground(ws_path: Path, name: str, *, dataset: str | None = "support-golden") -> Any:
    """A playground that the app opens first (the newest), with no prompt (and optionally no dataset)."""
    ws = Workspace.open(ws_path)
    pid = ws.project("support-bot").id
    data: dict[str, Any] = {"scorers": ["Levenshtein"]}
    if dataset:
        data["dataset_id"] = ws.get_object("dataset", pid, dataset).id
    return ws.save_object("playground", pid, name, data)


async def test_generate_a_prompt_for_an_empty_task(sample_ws_path: Path, fake_server_env) -> None:
    pg = _new_playground(sample_ws_path, "empty-task")
    fake_server_env.script([
        tool_call("get_summarized_results"),
        tool_call("edit_prompt", messages=FIRST_PROMPT, model="gpt-4o-mini"),
        {"text": "I wrote the task's first prompt."},
    ])
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "write a prompt for this task")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "new prompt empty-task, version 1" in modal.preview.title
        await pilot.press("y")
        await wait_idle(pilot, chat)
        assert result_of(fake_server_env, "get_summarized_results")["prompt"] is None
        ws = app.workspace
        linked = ws.object_by_id(pg.id)
        prompt = ws.object_by_id(linked.data["prompt_id"])
        assert prompt.kind == "prompt" and prompt.data["messages"] == FIRST_PROMPT
        assert len(ws.object_versions(prompt.id)) == 1
        await pilot.press("ctrl+z")  # undo: the playground is empty again and the prompt is gone
        await wait_for(pilot, lambda: "prompt_id" not in ws.object_by_id(pg.id).data)
        assert prompt.id not in {p.id for p in ws.objects("prompt", prompt.project_id)}


async def test_optimize_a_prompt_accepting_the_diff(sample_ws_path: Path, fake_server_env) -> None:
    ws = Workspace.open(sample_ws_path)
    pg = ws.objects("playground", ws.project("support-bot").id)[0]
    before = pg.data["prompt"]
    better = [{**m, "content": m["content"] + "\nCite the help-centre article you used."} if m["role"] == "system" else m
              for m in before["messages"]]
    fake_server_env.script([
        tool_call("get_summarized_results"),
        tool_call("edit_prompt", messages=better),
        {"text": "I asked the model to cite its sources."},
    ])
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "optimize this prompt")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert modal.preview.kind == "diff" and "+Cite the help-centre article you used." in modal.preview.text
        await pilot.press("y")
        await wait_idle(pilot, chat)
        saved = app.workspace.object_by_id(pg.id).data["prompt"]
        assert saved["messages"] == better and saved["model"] == before["model"]
        # The card said "new prompt for playground …" though no prompt object or version was made: the
        # playground's own prompt changed (ctrl+s on the page saves it as a version).
        assert result_of(fake_server_env, "edit_prompt")["saved"] == f"updated the prompt of playground {pg.name}"


async def test_rejecting_a_prompt_edit_changes_nothing(sample_ws_path: Path, fake_server_env) -> None:
    ws = Workspace.open(sample_ws_path)
    pg = ws.objects("playground", ws.project("support-bot").id)[0]
    fake_server_env.script([
        tool_call("edit_prompt", messages=[{"role": "user", "content": "{{input.question}}"}]),
        {"text": "Understood."},
    ])
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "shorten the prompt")
        await wait_modal(pilot, ConfirmChangeModal)
        await pilot.press("n")
        await wait_idle(pilot, chat)
        assert app.workspace.object_by_id(pg.id).xact_id == pg.xact_id
        assert "declined" in result_of(fake_server_env, "edit_prompt")


async def test_generate_a_dataset_when_none_exists(sample_ws_path: Path, fake_server_env) -> None:
    pg = _new_playground(sample_ws_path, "no-dataset", dataset=None)
    rows = [{"op": "add", "input": {"question": f"How do I {task}?"}, "expected": f"Open Settings → {task}."}
            for task in ("reset my password", "change my plan", "export my invoices")]
    fake_server_env.script([
        tool_call("get_summarized_results"),
        tool_call("edit_data", dataset="starter-questions", operations=rows),
        {"text": "I created a starter dataset."},
    ])
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "generate a dataset for this task")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "new dataset starter-questions" in modal.preview.title
        await pilot.press("y")
        await wait_idle(pilot, chat)
        ws = app.workspace
        ds = ws.get_object("dataset", pg.project_id, "starter-questions")
        stored = ws.query("SELECT input FROM dataset WHERE dataset_id = ?", [ds.id])
        assert len(stored) == 3
        assert ws.object_by_id(pg.id).data["dataset_id"] == ds.id


async def test_run_an_eval_and_assess_it(sample_ws_path: Path, fake_server_env) -> None:
    ws = Workspace.open(sample_ws_path)
    pid = ws.project("support-bot").id
    small = ws.save_object("dataset", pid, "tiny", {"description": "", "metadata": {}})
    ws.insert_rows("dataset", small.id, [{"input": {"question": f"q{i}"}, "expected": f"echo: q{i}"} for i in range(3)],
                   project_id=pid)
    source = ws.objects("playground", pid)[0]
    pg = ws.save_object("playground", pid, "eval-me", {**source.data, "dataset_id": small.id, "scorers": ["Levenshtein"]})
    experiments_before = {e.id for e in ws.objects("experiment", pid)}
    fake_server_env.script([tool_call("run_eval")])  # the rows' model calls and the last reply echo
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "run an eval and tell me how it did")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert modal.preview.kind == "eval" and modal.preview.details["rows"] == 3
        await pilot.press("y")
        await wait_idle(pilot, chat, timeout=60)
        new = [e for e in app.workspace.objects("experiment", pid) if e.id not in experiments_before]
        assert len(new) == 1 and new[0].data["metadata"]["playground_id"] == pg.id
        scored = app.workspace.query("SELECT scores['Levenshtein'] AS s FROM experiment WHERE experiment_id = ? AND is_root",
                                     [new[0].id])
        assert len(scored) == 3 and all(r["s"] is not None for r in scored)
        summary = result_of(fake_server_env, "run_eval")
        assert summary["rows"] == 3 and "Levenshtein" in summary["scores"]


async def test_generate_the_first_prompt_in_a_project_with_no_playground_at_all(
    sample_ws_path: Path, fake_server_env
) -> None:
    # Seen in tmux: a project made by importing a dataset opens the playground as "new task"; asking Loop for a
    # prompt answered "no playground is open on this page; name one (project trivia has: none)".
    ws = Workspace.open(sample_ws_path)
    project = ws.create_project("trivia")
    dataset = ws.save_object("dataset", project.id, "trivia-qa", {})
    fake_server_env.script([
        tool_call("edit_prompt", messages=FIRST_PROMPT, model="gpt-4o-mini"),
        {"text": "I wrote the task's first prompt."},
    ])
    app = make_app(sample_ws_path, page="playground", project="trivia")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "write a first prompt for this task")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "new playground" in modal.preview.title and "version 1" in modal.preview.title
        await pilot.press("y")
        await wait_idle(pilot, chat)
        ws = app.workspace
        [pg] = ws.objects("playground", project.id)
        prompt = ws.object_by_id(pg.data["prompt_id"])
        assert prompt.data["messages"] == FIRST_PROMPT and pg.data["dataset_id"] == dataset.id
        editor = app.screen.query_one("#pg-messages")
        await wait_for(pilot, lambda: "Acme customers" in editor.text)  # the page shows the new task
        await pilot.press("ctrl+z")  # undo: no playground and no prompt again
        await wait_for(pilot, lambda: not ws.objects("playground", project.id))
        assert not ws.objects("prompt", project.id)


async def test_loops_eval_fills_the_playgrounds_results_grid(sample_ws_path: Path, fake_server_env) -> None:
    # Seen by a user: Loop ran the eval and reported it, but the playground's own results grid (what ctrl+r fills)
    # stayed as it was; the run's rows and its score line belong where the user is looking.
    from textual.widgets import Label

    from loop_tui.ui.widgets.arrow_table import ArrowTable

    ws = Workspace.open(sample_ws_path)
    pid = ws.project("support-bot").id
    small = ws.save_object("dataset", pid, "tiny", {"description": "", "metadata": {}})
    ws.insert_rows("dataset", small.id, [{"input": {"question": f"q{i}"}, "expected": f"echo: q{i}"} for i in range(3)],
                   project_id=pid)
    source = ws.objects("playground", pid)[0]
    ws.save_object("playground", pid, "eval-me", {**source.data, "dataset_id": small.id, "scorers": ["Levenshtein"]})
    fake_server_env.script([tool_call("run_eval")])
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        page = app.screen
        grid = page.query_one("#pg-results", ArrowTable)
        assert grid.row_count == 0
        chat = await ask(pilot, "run the eval")
        await wait_modal(pilot, ConfirmChangeModal)
        await pilot.press("y")
        await wait_idle(pilot, chat, timeout=60)
        experiment = result_of(fake_server_env, "run_eval")["experiment"]["name"]
        await wait_for(pilot, lambda: grid.row_count == 3)
        assert experiment in str(grid.border_title)
        # and laid out: the grid measured its rows after a layout the page's reload had asked for (an empty box)
        await wait_for(pilot, lambda: grid.grid is not None and grid.grid.region.height > 3, timeout=5)
        # the score line stays after the page reloads for Loop's change (a reload re-validates the prompt)
        await wait_for(pilot, lambda: "Levenshtein" in str(page.query_one("#pg-error", Label).content))
        assert "done · run by Loop: 3 rows" in str(page.query_one("#pg-status", Label).content)
        assert page.last_result is not None and page.last_result.name == experiment  # F4 compares with it
