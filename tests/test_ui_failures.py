"""A worker's unexpected failure is seen: each page's loader made to fail on purpose shows one sentence where its
data would have been (never a traceback, never "Loading…" forever), and the traceback lands in the log file."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Label, Static

from loop_tui.ui.failures import failure_sentence, log_path, record_failure
from loop_tui.ui.widgets.arrow_table import ArrowTable, TableMessage
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app

BOOM = "the disk caught fire"
ROOT = Path(__file__).resolve().parents[1]


def _boom(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(BOOM)


def _text(widget: Static) -> str:
    return str(widget.content)


def _table_message(app: Any, selector: str) -> str:
    tables = app.screen.query(selector)  # empty until the screen is composed
    messages = tables.first(ArrowTable).query(TableMessage) if tables else None
    return _text(messages.first()) if messages else ""


def _logged() -> str:
    path = log_path()
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _assert_one_sentence(text: str, task: str) -> None:
    assert text.startswith(f"Could not {task} (RuntimeError: {BOOM})"), text
    assert str(log_path()) in text
    assert "Traceback" not in text and "\n" not in text


async def _wait_logged(pilot: Any) -> None:
    await wait_for(pilot, lambda: "Traceback" in _logged() and BOOM in _logged(), timeout=10)


@pytest.mark.parametrize(
    ("page", "target", "selector", "task"),
    [
        ("experiments", "loop_tui.ui.experiments_data.experiments_table", "#experiments-table", "load the experiments"),
        ("logs", "loop_tui.btql.run", "#logs-table", "load the logs"),
    ],
)
async def test_a_failing_table_loader_says_so_in_the_table(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch, page: str, target: str, selector: str, task: str
) -> None:
    monkeypatch.setattr(target, _boom)
    app = make_app(shared_sample_ws_path, page=page)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: "Could not" in _table_message(app, selector), timeout=10)
        _assert_one_sentence(_table_message(app, selector), task)
        await _wait_logged(pilot)


async def test_a_failing_datasets_loader_says_so_in_the_rows_table(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loop_tui.store import Workspace

    objects = Workspace.objects

    def failing_objects(self: Workspace, kind: str, *args: Any, **kwargs: Any) -> Any:
        if kind == "dataset":
            raise RuntimeError(BOOM)
        return objects(self, kind, *args, **kwargs)

    monkeypatch.setattr(Workspace, "objects", failing_objects)
    app = make_app(shared_sample_ws_path, page="datasets")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: "Could not" in _table_message(app, "#dataset-rows"), timeout=10)
        _assert_one_sentence(_table_message(app, "#dataset-rows"), "load the datasets")
        await _wait_logged(pilot)


async def test_a_failing_playground_loader_says_so_on_the_error_line(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("loop_tui.ui.screens.playground.read_state", _boom)
    app = make_app(shared_sample_ws_path, page="playground")
    async with app.run_test(size=(140, 40)) as pilot:
        error_line = app.screen.query_one("#pg-error", Label)
        await wait_for(pilot, lambda: "Could not" in _text(error_line), timeout=10)
        _assert_one_sentence(_text(error_line), "load the playground")
        await _wait_logged(pilot)


async def test_a_failing_btql_check_and_run_say_so_under_the_editor(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("loop_tui.btql.check", _boom)
    monkeypatch.setattr("loop_tui.btql.run", _boom)
    app = make_app(shared_sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        status = app.screen.query_one("#btql-status", Label)
        await wait_for(pilot, lambda: "Could not check" in _text(status), timeout=10)
        _assert_one_sentence(_text(status), "check the query")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Could not" in _table_message(app, "#btql-results"), timeout=10)
        _assert_one_sentence(_table_message(app, "#btql-results"), "run the query")
        await _wait_logged(pilot)


async def test_a_failing_chat_worker_says_so_in_the_transcript(
    shared_sample_ws_path: Path,
) -> None:
    from loop_tui.ui.loop import LoopChat
    from loop_tui.ui.loop.transcript import Notice

    async def failing_tune() -> None:
        await asyncio.sleep(0)
        raise RuntimeError(BOOM)

    app = make_app(shared_sample_ws_path, page="experiments")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(LoopChat)), timeout=10)
        chat = app.screen.query_one(LoopChat)
        chat.run_worker(failing_tune(), group="loop-tune", exit_on_error=False)
        await wait_for(pilot, lambda: any("Could not" in n.text for n in chat.query(Notice)), timeout=10)
        notice = next(n for n in chat.query(Notice) if "Could not" in n.text)
        _assert_one_sentence(notice.text, "tune the scorer")
        await _wait_logged(pilot)


def test_the_log_keeps_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdefghijklmnopqrstuvwxyz")
    try:
        raise RuntimeError("auth failed for sk-test-abcdefghijklmnopqrstuvwxyz")
    except RuntimeError as err:
        path = record_failure("test", err)
        sentence = failure_sentence("load", err, path)
    assert path == log_path()
    assert "abcdefghijklmnop" not in path.read_text(encoding="utf-8")
    assert "abcdefghijklmnop" not in sentence and "Traceback" in path.read_text(encoding="utf-8")


def test_debug_names_the_failure_log(shared_sample_ws_path: Path) -> None:
    from tests.conftest import run_cli

    for args in (("--debug", "projects"), ("projects", "--debug")):
        done = run_cli("--workspace", str(shared_sample_ws_path), *args)
        assert done.returncode == 0, done.stderr
        assert f"loop-tui: failure log: {log_path()} (nothing was logged this run)" in done.stderr
    quiet = run_cli("--workspace", str(shared_sample_ws_path), "projects")
    assert "failure log" not in quiet.stderr


def test_debug_says_when_the_run_logged_a_failure(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from loop_tui.cli import main as cli_main
    from loop_tui.cli import projects_cmd

    def run_that_logs(_args: Any) -> int:
        try:
            _boom()
        except RuntimeError as err:
            record_failure("test", err)
        return 0

    monkeypatch.setattr(projects_cmd, "run", run_that_logs)
    assert cli_main.main(["--workspace", str(shared_sample_ws_path), "--debug", "projects"]) == 0
    assert f"failure log: {log_path()} (this run logged failures there)" in capsys.readouterr().err


async def test_a_failing_experiment_view_loader_says_so_in_its_rows_table(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loop_tui.ui.screens.experiment_view import ExperimentScreen

    monkeypatch.setattr("loop_tui.evals.compare_rows", _boom)
    app = make_app(shared_sample_ws_path, page="experiments")
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one("#experiments-table", ArrowTable)
        await wait_for(pilot, lambda: table.grid is not None, timeout=10)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen), timeout=10)
        await wait_for(pilot, lambda: "Could not" in _table_message(app, "#experiment-rows"), timeout=10)
        _assert_one_sentence(_table_message(app, "#experiment-rows"), "load the experiment")
        await _wait_logged(pilot)


def _worker_starts() -> list[tuple[str, str | None, str, ast.Call | ast.expr]]:
    """(file:line, class name, how, the call) for every `@work(...)` and `.run_worker(...)` under ui/."""
    found = []
    for path in sorted((ROOT / "loop_tui" / "ui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        owners = {id(n): cls.name for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef) for n in ast.walk(cls)}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for d in node.decorator_list:
                    if isinstance(d, ast.Call) and getattr(d.func, "id", None) == "work":
                        found.append((f"{path.relative_to(ROOT)}:{d.lineno}", owners.get(id(node)), "@work", d))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "run_worker":
                receiver = node.func.value  # type: ignore[attr-defined]
                how = "self.run_worker" if getattr(receiver, "id", None) == "self" else "run_worker"
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", owners.get(id(node)), how, node))
    return found


def _keyword(call: Any, name: str) -> Any:
    return next((k.value.value for k in call.keywords if k.arg == name and isinstance(k.value, ast.Constant)), None)


def _handles_failures(cls: type, handler: type) -> bool:
    """`cls` is a `handler`, or a mixin (`SyncMixin`) used only in classes that are."""
    users = cls.__subclasses__()
    return issubclass(cls, handler) or (bool(users) and all(issubclass(user, handler) for user in users))


def test_every_worker_is_seen_by_the_one_failure_handler() -> None:
    # A worker whose failure nobody handles leaves "Loading…" forever (or, with exit_on_error left True, quits
    # the app): each one runs with exit_on_error=False, its group names the task in the user's words (TASKS),
    # and the node that starts it with @work or self.run_worker is a WorkerFailures.
    import importlib
    import inspect

    import loop_tui.ui.app  # noqa: F401 - the app is where the mixins are used
    from loop_tui.ui.failures import TASKS, WorkerFailures

    starts = _worker_starts()
    assert len(starts) > 30  # the scan sees the workers (a broken scan would pass vacuously)
    problems = []
    for where, owner, how, call in starts:
        module = importlib.import_module(".".join(Path(where.split(":")[0]).with_suffix("").parts))
        classes = dict(inspect.getmembers(module, inspect.isclass))
        if _keyword(call, "exit_on_error") is not False:
            problems.append(f"{where}: {how} without exit_on_error=False")
        group = _keyword(call, "group")
        if group not in TASKS:
            problems.append(f"{where}: group {group!r} has no entry in failures.TASKS")
        if how != "run_worker" and (owner is None or not _handles_failures(classes[owner], WorkerFailures)):
            problems.append(f"{where}: {owner} starts a worker but is not a WorkerFailures")
    assert problems == [], "\n".join(problems)


async def test_a_failing_compare_loader_says_so_in_its_table(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loop_tui.ui.screens.compare import CompareScreen

    monkeypatch.setattr("loop_tui.ui.screens.compare.build_compare_rows", _boom)
    app = make_app(shared_sample_ws_path, page="experiments")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.project is not None, timeout=10)
        experiments = app.workspace.objects("experiment", app.project.id)[:2]
        app.push_screen(CompareScreen(experiments))
        await wait_for(pilot, lambda: "Could not" in _table_message(app, "#compare-table"), timeout=10)
        _assert_one_sentence(_table_message(app, "#compare-table"), "compare the experiments")
        await _wait_logged(pilot)


async def test_a_failing_trace_loader_says_so_in_the_span_pane(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loop_tui.ui.screens.trace import TraceScreen

    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one("#logs-table", ArrowTable)
        await wait_for(pilot, lambda: table.grid is not None, timeout=10)
        monkeypatch.setattr("loop_tui.btql.run", _boom)  # the page has its rows: only the trace fails
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen), timeout=10)
        title = app.screen.query_one("#span-title", Static)
        await wait_for(pilot, lambda: "Could not" in _text(title), timeout=10)
        _assert_one_sentence(_text(title), "load the trace")
        await _wait_logged(pilot)


async def test_a_failing_projects_loader_says_so_on_the_page(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's own worker: every page waits for the project list, so its failure is said in the page's table.
    from loop_tui.store import Workspace

    monkeypatch.setattr(Workspace, "projects", _boom)
    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: "Could not" in _table_message(app, "#logs-table"), timeout=10)
        _assert_one_sentence(_table_message(app, "#logs-table"), "load the projects")
        await _wait_logged(pilot)


async def test_a_failing_filter_check_says_so_under_the_filter(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A widget's worker (the filter bar's as-you-type check) reaches the same handler.
    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one("#logs-table", ArrowTable)
        await wait_for(pilot, lambda: table.grid is not None, timeout=10)
        monkeypatch.setattr("loop_tui.btql.check", _boom)
        await pilot.press("slash", *"error != null")
        error_line = app.screen.query_one("#logs-filter-error", Static)
        await wait_for(pilot, lambda: "Could not" in str(error_line.render()), timeout=10)
        _assert_one_sentence(str(error_line.render()), "check the filter")
        await _wait_logged(pilot)


async def test_a_failing_loop_history_says_so_in_the_list(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import OptionList

    from loop_tui.agent import PageContext
    from loop_tui.ui.loop.pickers import ConversationHistoryModal

    monkeypatch.setattr("loop_tui.agent.list_conversations", _boom)
    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(140, 40)) as pilot:
        app.push_screen(ConversationHistoryModal(app.workspace, PageContext(page="logs", project="support-bot")))
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationHistoryModal) and bool(app.screen.query("#loop-history")), timeout=10)
        options = app.screen.query_one("#loop-history", OptionList)
        await wait_for(pilot, lambda: options.option_count > 0, timeout=10)
        shown = str(options.get_option_at_index(0).prompt)
        _assert_one_sentence(shown, "read Loop's conversations")
        assert not options.loading
        await _wait_logged(pilot)


async def test_a_failing_remote_project_list_says_so_in_the_picker(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loop_tui.ui.screens.project_picker import ProjectPicker

    monkeypatch.setattr("loop_tui.ui.screens.project_picker.load_remote_projects", _boom)
    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.projects_loaded, timeout=10)
        app.push_screen(ProjectPicker(app.projects, app.project, remote=True))
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectPicker) and bool(app.screen.query("#remote-status")), timeout=10)
        status = app.screen.query_one("#remote-status", Label)
        await wait_for(pilot, lambda: "Could not" in _text(status), timeout=10)
        _assert_one_sentence(_text(status), "list the remote projects")
        await _wait_logged(pilot)
