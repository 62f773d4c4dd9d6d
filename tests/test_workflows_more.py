"""Two more workflows end to end in the real app with a scripted model: fix a BTQL query that fails only when
DuckDB runs it (a runtime error, past parse and bind), and tune a scorer from labelled rows."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Label

from loop_tui.ui.loop.confirm import ConfirmChangeModal
from tests.test_workflows_support import (
    SIZE,
    chat_of,
    make_app,
    open_app,
    tool_call,
    tool_results,
    wait_for,
    wait_idle,
    wait_modal,
)

# Parses and binds (the as-you-type check passes), but `created + interval 1000000 year` leaves DuckDB's
# timestamp range when it is computed for each row, so the query fails only at run time. The user meant a year.
OVERFLOWING = "select: id, created + interval 1000000 year as renews | from: project_logs('support-bot') | limit: 3"
FIXED = OVERFLOWING.replace("1000000 year", "1 year")


def _status(screen) -> str:
    return str(screen.query_one("#btql-status", Label).render())


async def test_fix_a_query_with_a_runtime_error(sample_ws_path: Path, fake_server_env) -> None:
    from loop_tui.btql import check

    app = make_app(sample_ws_path, page="btql")
    assert check(OVERFLOWING, app.workspace, app.workspace.project("support-bot").id) == []  # parse and bind pass
    fake_server_env.script([tool_call("run_btql", query=OVERFLOWING), tool_call("run_btql", query=FIXED),
                            {"text": f"The interval was out of range:\n\n```sql\n{FIXED}\n```"}])
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        screen = app.screen
        screen.editor.load_text(OVERFLOWING)
        await wait_for(pilot, lambda: screen.editor.text == OVERFLOWING)
        await pilot.press("escape")  # out of the editor: the workflow keys are page keys
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen._error is not None and screen._error.kind == "runtime")
        assert _status(screen).startswith("runtime error")
        await pilot.press("F")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "interval 1 year" in modal.preview.text
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.editor.text == FIXED)
        await wait_for(pilot, lambda: "rows (page 1)" in _status(screen))  # the fixed query ran
        assert screen._error is None
        await wait_idle(pilot, chat_of(app))
        results = [r for name, r in tool_results(fake_server_env) if name == "run_btql"]
        assert results[0].startswith("Error: BTQL runtime error") and json.loads(results[1])["row_count"] == 3
        assert "BTQL runtime error" in json.dumps(fake_server_env.requests[0].body)  # the page's error reached Loop


async def test_a_check_arriving_after_the_run_keeps_the_runtime_error(sample_ws_path: Path) -> None:
    """The as-you-type check (parse and bind, debounced) can finish after a quick ctrl+r: its "no error" for the
    same query must not hide the run's runtime error, or "Fix with Loop" would send the query without it."""
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        screen = app.screen
        screen.editor.load_text(OVERFLOWING)
        await wait_for(pilot, lambda: screen.editor.text == OVERFLOWING)
        await pilot.press("escape", "ctrl+r")
        await wait_for(pilot, lambda: screen._error is not None and screen._error.kind == "runtime")
        screen.post_message(screen.Checked(OVERFLOWING, []))  # the late check of the unchanged query
        await pilot.pause()  # until the screen has handled it
        assert screen._error is not None and screen._error.kind == "runtime"
        assert "runtime error" in str(screen.loop_context()["btql_error"])
        screen.editor.load_text(FIXED)  # an edited query's clean check does clear it
        await wait_for(pilot, lambda: screen._error is None)


# ----- tune a scorer from labelled rows ------------------------------------------------------------
def _kappa(predicted: list[float], truth: list[float]) -> float | None:
    """Cohen's kappa, written out here so the report's number is checked against an independent sum."""
    n = len(truth)
    observed = sum(p == t for p, t in zip(predicted, truth, strict=True)) / n
    chance = sum(predicted.count(c) * truth.count(c) for c in set(predicted) | set(truth)) / (n * n)
    return None if chance >= 1.0 else (observed - chance) / (1.0 - chance)


def _row_of_report(name: str, accuracy: float, kappa: float | None) -> str:
    return f"| {name} | {accuracy:.0%} | {'n/a' if kappa is None else f'{kappa:.2f}'} |"


async def test_tune_a_scorer_from_labelled_rows(sample_ws_path: Path, fake_server_env) -> None:
    from loop_tui.store import Workspace
    from loop_tui.ui.loop.tune import TuneScorerModal

    ws = Workspace.open(sample_ws_path)
    scorer = ws.get_object("scorer", ws.project("invoice-extraction").id, "total-matches")
    app = make_app(sample_ws_path, page="playground", project="invoice-extraction")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = chat_of(app)
        app.screen.set_focus(None)  # page keys, not an input's letters
        await pilot.press("T")
        modal = await wait_modal(pilot, TuneScorerModal, timeout=60)
        modal.query_one("#loop-tune-scorer").value = "total-matches"  # the project also saves FieldAccuracy
        await pilot.pause()
        rows = modal.data.rows
        before = [1.0 if (r["scores"].get("total-matches") or 0) >= 0.5 else 0.0 for r in rows]
        wrong, desired = rows[0], 1.0 - before[0]  # the user says the first row was scored the wrong way round
        # Loop's change: the old rule, except for the output the user labelled (so every label is met after).
        new_code = (f"import json\nLABELLED = json.loads({json.dumps(json.dumps(wrong['output']))})\n\n"
                    "def handler(input, output, expected, metadata):\n"
                    f"    if output == LABELLED:\n        return {desired}\n"
                    "    try:\n        return float(abs(float(output['total']) - float(expected['total'])) < 0.005)\n"
                    "    except (TypeError, KeyError, ValueError):\n        return 0.0\n")
        fake_server_env.script([tool_call("create_code_scorer", name="total-matches", code=new_code),
                                {"text": "The scorer now agrees with your label."}])
        await pilot.press("space")
        modal.query_one("#loop-tune-label").value = str(desired)
        await pilot.press("ctrl+s")
        confirm = await wait_modal(pilot, ConfirmChangeModal, timeout=60)
        assert confirm.preview.kind == "diff" and "+    if output == LABELLED:" in confirm.preview.text
        await pilot.press("y")
        await wait_for(pilot, lambda: any("loop-report" in w.classes for w in chat.transcript.children), timeout=60)
        await wait_idle(pilot, chat)
        report = next(w for w in chat.transcript.children if "loop-report" in w.classes).text

    versions = Workspace.open(sample_ws_path).object_versions(scorer.id)
    assert len(versions) == 2 and versions[0].data["code"] == new_code  # a new version (newest first) of the scorer
    assert versions[1].data["code"] == scorer.data["code"]
    assert "Tune the scorer `total-matches`" in json.dumps(fake_server_env.requests[0].body)
    truth = [desired] + before[1:]
    accuracy_before = sum(p == t for p, t in zip(before, truth, strict=True)) / len(rows)
    assert accuracy_before < 1.0
    assert _row_of_report("before", accuracy_before, _kappa(before, truth)) in report
    assert _row_of_report("after", 1.0, _kappa(truth, truth)) in report


async def test_the_tune_modal_can_be_filled_in_and_sent_at_80x24(sample_ws_path: Path) -> None:
    # Seen in tmux at 80x24: the rows list filled the modal and the label, instructions and Tune button were cut
    # off below it, out of reach.
    from textual.widgets import Button

    from loop_tui.ui.loop.tune import TuneScorerModal

    app = make_app(sample_ws_path, page="playground", project="invoice-extraction")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(pilot)
        app.screen.set_focus(None)  # page keys, not an input's letters
        await pilot.press("T")
        modal = await wait_modal(pilot, TuneScorerModal, timeout=60)
        await pilot.press("tab", "tab", "tab")  # rows → the right label → instructions → Tune
        button = modal.query_one("#loop-tune-go", Button)
        await wait_for(pilot, lambda: app.focused is button)
        await pilot.pause()
        box = modal.query_one(".loop-tune-box")
        assert button.region.height > 0 and box.region.contains_region(button.region), (button.region, box.region)
