"""Braintrust in the app: the project picker lists remote projects, enter pulls one as background work with
progress in the header, f6 cancels a pull leaving the workspace whole, the header says when it was pulled."""

from __future__ import annotations

import json
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
        assert "synced 20" in screen_text(app)  # the header says when (the year of the run, whatever it is)
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


def _pulled_datasets(fake: FakeBraintrust, ws_path: Path, names: list[str]) -> tuple[str, dict[str, str]]:
    """A Braintrust project 'remote-bot' with a 3-row dataset per name, pulled into the workspace."""
    from loop_tui.remote.pull import PullOptions, pull_project
    from loop_tui.store import Workspace
    from tests.fake_braintrust.helpers import client_for

    project_id = fake.state.ensure_project("remote-bot")["id"]
    ids = {}
    for name in names:
        ids[name] = fake.state.ensure_object("dataset", {"project_id": project_id, "name": name})["id"]
        fake.state.insert("dataset", ids[name], [{"id": f"r{i}", "input": {"q": i}, "expected": f"e{i}"} for i in range(3)])
    client, _ = client_for(fake)
    with client:
        pull_project(Workspace.open(ws_path), client, "remote-bot", PullOptions(objects=("datasets",)))
    return project_id, ids


def _edit(ws_path: Path, project_id: str, dataset_ids: list[str]) -> None:
    from loop_tui.store import Workspace

    ws = Workspace.open(ws_path)
    for dataset_id in dataset_ids:
        ws.update_rows("dataset", dataset_id, [{"id": "r1", "expected": "edited here"}], project_id=project_id)


async def _open_picker_on(pilot, app, name: str) -> None:
    from textual.widgets import OptionList

    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: "u pushes it" in screen_text(app))
    options = app.screen.query_one(OptionList)
    options.highlighted = next(i for i in range(options.option_count) if name in str(options.get_option_at_index(i).prompt))


async def test_u_in_the_picker_asks_with_the_counts_then_pushes(fake_bt_env: FakeBraintrust, sample_ws_path: Path) -> None:
    from loop_tui.ui.widgets.modals import ConfirmModal

    project_id, ids = _pulled_datasets(fake_bt_env, sample_ws_path, ["golden"])
    _edit(sample_ws_path, project_id, [ids["golden"]])
    app = make_app(sample_ws_path, page="logs")
    finished: list[SyncFinished] = []
    async with app.run_test(size=(120, 40), message_hook=lambda m: finished.append(m) if isinstance(m, SyncFinished) else None) as pilot:
        await settle(pilot)
        await _open_picker_on(pilot, app, "remote-bot")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal) and "Push remote-bot" in screen_text(app))
        text = screen_text(app)
        assert "Push remote-bot to Braintrust?" in text and "1 row, 0 deletes" in text and "dataset 'golden': 1 upsert" in text
        assert "nothing sent" not in text  # the dry run's wording would read as if the push would send nothing
        await pilot.press("n")  # declined: nothing is sent
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmModal))
        assert not [r for r in fake_bt_env.requests if r.path.endswith("/insert")]
        await _open_picker_on(pilot, app, "remote-bot")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(finished))
        assert not finished[0].failed and finished[0].summary.startswith("pushed remote-bot: 1 row,")
        await _open_picker_on(pilot, app, "remote-bot")
        await pilot.press("enter")  # switch to it: the header says when it was last synced, the push
        pushed_at = json.loads(next((sample_ws_path / "sync").glob("*.json")).read_text())["last_push"]
        await wait_for(pilot, lambda: f"synced {pushed_at.replace('T', ' ').removesuffix('Z')}" in screen_text(app))
    remote = fake_bt_env.state.live_rows("dataset", ids["golden"])
    assert {i: r["expected"] for i, r in remote.items()} == {"r0": "e0", "r1": "edited here", "r2": "e2"}


async def test_nothing_to_push_is_said_without_asking(fake_bt_env: FakeBraintrust, sample_ws_path: Path) -> None:
    from loop_tui.ui.widgets.modals import ConfirmModal

    _pulled_datasets(fake_bt_env, sample_ws_path, ["golden"])
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        app.start_sync("push", "remote-bot")
        await wait_for(pilot, lambda: "nothing to push" in screen_text(app))
        assert not isinstance(app.screen, ConfirmModal)


async def test_f6_stops_a_push_between_objects_and_the_next_push_sends_the_rest(
    fake_bt_env: FakeBraintrust, sample_ws_path: Path
) -> None:
    from loop_tui.ui.widgets.modals import ConfirmModal

    names = ["a-set", "b-set", "c-set"]
    project_id, ids = _pulled_datasets(fake_bt_env, sample_ws_path, names)
    _edit(sample_ws_path, project_id, list(ids.values()))
    fake_bt_env.fault("slow", path="/v1/dataset/", times=1000, delay_s=0.5)  # each insert takes half a second
    app = make_app(sample_ws_path, page="logs")
    finished: list[SyncFinished] = []
    async with app.run_test(size=(120, 40), message_hook=lambda m: finished.append(m) if isinstance(m, SyncFinished) else None) as pilot:
        await settle(pilot)
        app.start_sync("push", "remote-bot")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal) and "3 rows" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "(1/3, f6 cancels)" in screen_text(app))
        await pilot.press("f6")
        await wait_for(pilot, lambda: bool(finished))
        assert finished[0].failed and "push cancelled after 1 of 3 objects" in finished[0].summary
    edited = {n for n, i in ids.items() if fake_bt_env.state.live_rows("dataset", i)["r1"]["expected"] == "edited here"}
    assert len(edited) == 1  # the object being sent when f6 came was sent whole; the others were not
    from loop_tui.remote.push import PushOptions, push_project
    from loop_tui.store import Workspace
    from tests.fake_braintrust.helpers import client_for

    client, _ = client_for(fake_bt_env)
    with client:
        report = push_project(Workspace.open(sample_ws_path), client, "remote-bot", PushOptions(objects=("datasets",)))
    assert report.totals()["conflicts"] == 0 and report.totals()["written"] == 2
    assert all(fake_bt_env.state.live_rows("dataset", i)["r1"]["expected"] == "edited here" for i in ids.values())
