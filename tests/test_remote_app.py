"""Braintrust in the app: the project picker lists remote projects, enter pulls one as background work with
progress in the header, f6 cancels a pull leaving the workspace whole, the header says when it was pulled."""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.sync_work import SyncFinished
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import local_rows, seed_logs
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env


async def test_picker_lists_a_remote_project_and_enter_pulls_it(fake_bt_env: FakeBraintrust, sample_ws_path: Path) -> None:
    project_id = seed_logs(fake_bt_env, 30, project="[bold]remote-bot")
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "enter pulls it" in screen_text(app))
        assert "[bold]remote-bot" in screen_text(app)  # a name is data, never markup
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: app.project is not None and app.project.id == project_id)
        await settle(pilot)
        assert "pulled 20" in screen_text(app)  # the header says when (the year of the run, whatever it is)
        assert len(local_rows(sample_ws_path, "project_logs", project_id)) == 30


async def test_f6_cancels_a_pull_and_keeps_what_was_written(fake_bt_env: FakeBraintrust, sample_ws_path: Path) -> None:
    project_id = seed_logs(fake_bt_env, 3000, project="big-bot")
    fake_bt_env.fault("slow", path="/btql", times=1000, delay_s=1.0)  # a page a second: f6 lands mid-pull
    app = make_app(sample_ws_path, page="logs")
    finished: list[SyncFinished] = []
    async with app.run_test(size=(120, 40), message_hook=lambda m: finished.append(m) if isinstance(m, SyncFinished) else None) as pilot:
        await settle(pilot)
        app.start_sync("pull", "big-bot")
        await wait_for(pilot, lambda: "pulling big-bot:" in screen_text(app))
        await pilot.press("f6")
        await wait_for(pilot, lambda: bool(finished))
        assert finished[0].failed and "cancelled" in finished[0].summary and "run it again to resume" in finished[0].summary
    written = local_rows(sample_ws_path, "project_logs", project_id)
    assert 0 < len(written) < 3000
