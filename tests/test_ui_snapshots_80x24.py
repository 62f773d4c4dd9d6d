"""Every page at 80×24, the smallest terminal we support, with the Loop panel closed and open
(project support-bot of the committed sample workspace).

Review a changed SVG by eye before `pytest --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_ui_snapshots import _ready, stable_config  # noqa: F401 - the settings pages use the fixture
from tests.test_ui_support import make_app, settle

SIZE = (80, 24)


def _run_before(chat_open: bool):  # type: ignore[no-untyped-def]
    async def prepare(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        if chat_open:
            await pilot.press("ctrl+l")  # opens the panel (it starts hidden below 100 columns) with the cursor in it
            await settle(pilot)
        await _ready(pilot)

    return prepare


def _snap(snap_compare, ws: Path, page: str, chat_open: bool) -> bool:  # type: ignore[no-untyped-def]
    return snap_compare(make_app(ws, page), terminal_size=SIZE, run_before=_run_before(chat_open))


def test_playground_80x24(snap_compare, sample_ws_path: Path) -> None:
    """You should see all six tabs (short titles, "1 Play" highlighted) and the project, the prompt with its
    ## system / ## user blocks, the model/params/dataset/scorer column, the progress row, the results box
    and the footer."""
    assert _snap(snap_compare, sample_ws_path, "playground", False)


def test_playground_80x24_with_loop(snap_compare, sample_ws_path: Path) -> None:
    """You should see the playground beside the Loop panel (about a third of the width): Loop's header, the
    capped list of what the offline model answers, and the input box with the cursor, all on screen."""
    assert _snap(snap_compare, sample_ws_path, "playground", True)


def test_experiments_80x24(snap_compare, sample_ws_path: Path) -> None:
    """You should see "2 Exps" highlighted and the three experiments with their score means, deltas in
    percentage points and histograms (the grid scrolls sideways with left/right), and the footer."""
    assert _snap(snap_compare, sample_ws_path, "experiments", False)


def test_experiments_80x24_with_loop(snap_compare, sample_ws_path: Path) -> None:
    """You should see the experiments list narrowed beside the Loop panel, with Loop's input on screen."""
    assert _snap(snap_compare, sample_ws_path, "experiments", True)


def test_datasets_80x24(snap_compare, sample_ws_path: Path) -> None:
    """You should see "3 Data" highlighted, the datasets list and the rows of the highlighted dataset."""
    assert _snap(snap_compare, sample_ws_path, "datasets", False)


def test_datasets_80x24_with_loop(snap_compare, sample_ws_path: Path) -> None:
    """You should see the datasets list and rows beside the Loop panel, with Loop's input on screen."""
    assert _snap(snap_compare, sample_ws_path, "datasets", True)


def test_logs_80x24(snap_compare, sample_ws_path: Path) -> None:
    """You should see "4 Logs" highlighted, the filter bar, the root spans (no charts below 30 rows), the
    status line "rows 1–200 of …" and the footer."""
    assert _snap(snap_compare, sample_ws_path, "logs", False)


def test_logs_80x24_with_loop(snap_compare, sample_ws_path: Path) -> None:
    """You should see the logs grid beside the Loop panel; Loop's input is on screen."""
    assert _snap(snap_compare, sample_ws_path, "logs", True)


def test_btql_80x24(snap_compare, sample_ws_path: Path) -> None:
    """You should see "5 BTQL" highlighted, the starting query in the editor (not focused: the footer shows
    the page keys, "^r Run" first), the completions panel and the empty results box."""
    assert _snap(snap_compare, sample_ws_path, "btql", False)


def test_btql_80x24_with_loop(snap_compare, sample_ws_path: Path) -> None:
    """You should see the query editor and results beside the Loop panel, with Loop's input on screen."""
    assert _snap(snap_compare, sample_ws_path, "btql", True)


def test_settings_80x24(snap_compare, sample_ws_path: Path, stable_config: None) -> None:  # noqa: F811
    """You should see "6 Set" highlighted, the settings file path, the settings tabs and the model list."""
    assert _snap(snap_compare, sample_ws_path, "settings", False)


def test_settings_80x24_with_loop(snap_compare, sample_ws_path: Path, stable_config: None) -> None:  # noqa: F811
    """You should see the settings tabs beside the Loop panel, with Loop's input on screen."""
    assert _snap(snap_compare, sample_ws_path, "settings", True)
