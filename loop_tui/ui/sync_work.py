"""Pull and push with Braintrust as background work of the app: progress in the header, `f6` cancels.

The work runs in a thread worker that only posts messages (`SyncProgressed`, `SyncFinished`); `SyncMixin`
gives `LoopApp` the handlers, the cancel action and the status text the page header shows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class PullChoice:
    """The project picker's answer when the user asked to pull a Braintrust project."""

    name: str


class SyncProgressed(Message):
    """A pull or push made progress (`text` is for the header)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SyncFinished(Message):
    """A pull or push ended: `summary` says how, `failed` whether it did not complete."""

    def __init__(self, project_name: str, summary: str, failed: bool) -> None:
        super().__init__()
        self.project_name = project_name
        self.summary = summary
        self.failed = failed


class RemoteProjectsLoaded(Message):
    """The organisation's projects (or `error`, one sentence) for the project picker."""

    def __init__(self, projects: list[dict[str, Any]], error: str | None = None) -> None:
        super().__init__()
        self.projects = projects
        self.error = error


def braintrust_configured(settings: Any) -> bool:
    """Whether a Braintrust key is set (the picker then lists remote projects)."""
    import os

    from loop_tui.remote.connection import Connection

    return bool(os.environ.get(Connection.resolve(settings).api_key_env, "").strip())


def load_remote_projects(settings: Any, post: Any) -> None:
    """Fetch the organisation's projects and `post` a `RemoteProjectsLoaded` (runs in a worker thread)."""
    from loop_tui.errors import UserError
    from loop_tui.remote.client import BraintrustClient
    from loop_tui.remote.connection import Connection

    try:
        with BraintrustClient(Connection.resolve(settings)) as client:
            post(RemoteProjectsLoaded(client.projects()))
    except UserError as err:
        post(RemoteProjectsLoaded([], str(err)))


class SyncMixin:
    """Pull/push as cancellable background work for `LoopApp` (needs its workspace, settings and workers)."""

    sync_status: str | None = None
    _sync_cancel: threading.Event | None = None

    def start_sync(self, action: str, project_name: str) -> None:
        """Run `sync pull` or `sync push` of `project_name` in a worker (one at a time)."""
        if self._sync_cancel is not None:
            self.notify("a Braintrust sync is already running (f6 cancels it)", severity="warning")  # type: ignore[attr-defined]
            return
        cancel = threading.Event()
        self._sync_cancel = cancel
        self.sync_status = f"{action}ing {project_name}…"
        self._show_sync_status()
        self.run_worker(lambda: self._sync(action, project_name, cancel), thread=True,  # type: ignore[attr-defined]
                        group="braintrust-sync", exit_on_error=False)

    def _sync(self, action: str, project_name: str, cancel: threading.Event) -> None:
        from loop_tui.errors import UserError
        from loop_tui.remote.client import BraintrustClient
        from loop_tui.remote.connection import Connection
        from loop_tui.remote.pull import PullOptions, pull_project
        from loop_tui.remote.push import push_project

        post = self.post_message  # type: ignore[attr-defined]
        started = time.monotonic()
        last = [0.0]

        def progress(label: str, fetched: int, written: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.25:
                last[0] = now
                rate = fetched / max(now - started, 1e-6)
                post(SyncProgressed(f"pulling {label}: {fetched:,} rows ({rate:,.0f}/s, f6 cancels)"))

        try:
            with BraintrustClient(Connection.resolve(self.settings)) as client:  # type: ignore[attr-defined]
                if action == "pull":
                    report = pull_project(self.workspace, client, project_name,  # type: ignore[attr-defined]
                                          PullOptions(cancel=cancel, progress=progress))
                else:
                    report = push_project(self.workspace, client, project_name)  # type: ignore[attr-defined]
            totals = report.totals()
            summary = (f"{action}ed {project_name}: {totals['written']:,} rows, {totals['deleted']:,} deleted, "
                       f"{totals['conflicts']} conflicts")
            post(SyncFinished(project_name, summary, failed=False))
        except UserError as err:
            post(SyncFinished(project_name, str(err), failed=True))

    def action_cancel_sync(self) -> None:
        """Stop the running pull after the page it is on (what was written stays; the next pull resumes)."""
        if self._sync_cancel is not None:
            self._sync_cancel.set()
            self.sync_status = "cancelling the Braintrust sync…"
            self._show_sync_status()

    def on_sync_progressed(self, message: SyncProgressed) -> None:
        """Show the progress in the header."""
        if self._sync_cancel is not None and not self._sync_cancel.is_set():
            self.sync_status = message.text
            self._show_sync_status()

    def on_sync_finished(self, message: SyncFinished) -> None:
        """Say how it ended, re-read the projects and switch to a newly pulled one."""
        self._sync_cancel = None
        self.sync_status = None
        self.notify(message.summary, severity="error" if message.failed else "information",  # type: ignore[attr-defined]
                    markup=False)
        self._pending_switch = None if message.failed else message.project_name
        self.reload_projects()  # type: ignore[attr-defined]
        self._show_sync_status()

    def _show_sync_status(self) -> None:
        screen = self.screen  # type: ignore[attr-defined]
        if hasattr(screen, "mark_stale") and self.sync_status is None:
            screen.mark_stale()
        if hasattr(screen, "refresh_if_stale"):
            screen.refresh_if_stale()
