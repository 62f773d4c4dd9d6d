"""Datasets flows: rows, edit with validation, add, delete, tag, history and undo."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import TextArea

from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.test_ui_support import make_app, screen_text, settle


def _dataset(app):  # type: ignore[no-untyped-def]
    return app.screen.current


async def test_rows_of_the_first_dataset_are_listed(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#dataset-rows", ArrowTable)
        ds = _dataset(app)
        assert table.row_count == app.workspace.read_rows("dataset", ds.id).num_rows > 0


async def test_edit_row_validates_json_and_saves(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one("#dataset-rows", ArrowTable).focus_grid()
        row = app.screen.query_one("#dataset-rows", ArrowTable).raw_row()
        await pilot.press("enter")
        await pilot.pause()
        editor = app.screen.query_one("#row-expected", TextArea)
        editor.load_text('{"broken": ')
        await pilot.pause()
        assert "invalid JSON" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#row-expected", TextArea)  # still open: nothing saved
        editor.load_text(json.dumps({"answer": "fixed"}))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        stored = app.workspace.query("SELECT expected FROM dataset WHERE id = ?", [row["id"]])[0]["expected"]
        assert json.loads(stored) == {"answer": "fixed"}


async def test_add_delete_and_undo(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        ds = _dataset(app)
        count = app.workspace.read_rows("dataset", ds.id).num_rows
        app.screen.query_one("#dataset-rows", ArrowTable).focus_grid()
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#row-input", TextArea).load_text('{"question": "new?"}')
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.workspace.read_rows("dataset", ds.id).num_rows == count + 1
        app.screen.query_one("#dataset-rows", ArrowTable).focus_grid()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert app.workspace.read_rows("dataset", ds.id).num_rows == count
        await pilot.press("u")  # undo the delete
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.workspace.read_rows("dataset", ds.id).num_rows == count + 1


async def test_tag_and_history_undo(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#dataset-rows", ArrowTable)
        table.focus_grid()
        row = table.raw_row()
        await pilot.press("t")
        await pilot.pause()
        for key in "hard":
            await pilot.press(key)
        await pilot.press("enter")
        await settle(pilot)
        tags = app.workspace.query("SELECT tags FROM dataset WHERE id = ?", [row["id"]])[0]["tags"]
        assert "hard" in tags
        await pilot.press("h")
        await settle(pilot)
        assert "tag row" in screen_text(app)
        await pilot.press("enter")  # undo the newest write (the tag)
        await settle(pilot)
        tags = app.workspace.query("SELECT tags FROM dataset WHERE id = ?", [row["id"]])[0]["tags"]
        assert "hard" not in (tags or [])
