"""Pull and push with Braintrust as background work of the app: progress in the header, `f6` cancels.

The work runs in a thread worker that only posts messages (`SyncProgressed`, `SyncFinished`); `SyncMixin`
gives `LoopApp` the handlers, the cancel action and the status text the page header shows. A push changes
Braintrust's data, so it first runs as a dry run (`PushPlanned`) and the user confirms the counts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from textual.message import Message

from loop_tui.counts import counted


@dataclass
class SyncChoice:
    """The project picker's answer when the user asked to pull or push a project (`action`)."""

    name: str
    action: str = "pull"


@dataclass
class PullChoice(SyncChoice):
    """Pull a Braintrust project."""


@dataclass
class PushChoice(SyncChoice):
    """Push a local project's changes to Braintrust."""

    action: str = "push"


class SyncProgressed(Message):
    """A pull or push made progress (`text` is for the header)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SyncFinished(Message):
    """A pull or push ended: `summary` says how, `failed` whether it did not complete."""

    def __init__(self, project_name: str, summary: str, failed: bool, action: str = "pull") -> None:
        super().__init__()
        self.project_name = project_name
        self.summary = summary
        self.failed = failed
        self.action = action


class PushPlanned(Message):
    """A push's dry run: what it would send (`head`, `lines`), or `error` when it could not be planned."""

    def __init__(self, project_name: str, head: str, lines: list[str], sends: int, error: str | None = None) -> None:
        super().__init__()
        self.project_name = project_name
        self.head = head
        self.lines = lines
        self.sends = sends
        self.error = error


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
        """Run `sync pull` of `project_name` in a worker; `push` first plans it and asks (one sync at a time)."""
        if self._sync_cancel is not None:
            self.notify("a Braintrust sync is already running (f6 cancels it)", severity="warning")  # type: ignore[attr-defined]
            return
        cancel = threading.Event()
        self._sync_cancel = cancel
        if action == "push":
            self.sync_status = f"checking what {project_name} would push…"
            self._show_sync_status()
            self.run_worker(lambda: self._plan_push(project_name), thread=True,  # type: ignore[attr-defined]
                            group="braintrust-sync", exit_on_error=False)
            return
        self._run_sync(action, project_name, cancel)

    def _run_sync(self, action: str, project_name: str, cancel: threading.Event) -> None:
        self._sync_cancel = cancel
        self.sync_status = f"{action}ing {project_name}…"
        self._show_sync_status()
        self.run_worker(lambda: self._sync(action, project_name, cancel), thread=True,  # type: ignore[attr-defined]
                        group="braintrust-sync", exit_on_error=False)

    def _plan_push(self, project_name: str) -> None:
        """The push's dry run (a worker): posts `PushPlanned`."""
        from loop_tui.errors import UserError
        from loop_tui.remote.client import BraintrustClient
        from loop_tui.remote.connection import Connection
        from loop_tui.remote.push import PushOptions, plan_summary, push_project

        post = self.post_message  # type: ignore[attr-defined]
        try:
            with BraintrustClient(Connection.resolve(self.settings)) as client:  # type: ignore[attr-defined]
                report = push_project(self.workspace, client, project_name, PushOptions(dry_run=True))  # type: ignore[attr-defined]
            head, lines = plan_summary(report)
            post(PushPlanned(project_name, head, lines, sum(len(o.would_send) for o in report.objects)))
        except UserError as err:
            post(PushPlanned(project_name, "", [], 0, error=str(err)))

    def on_push_planned(self, message: PushPlanned) -> None:
        """Ask before sending (listing what would be sent); nothing to send or a failure is only said."""
        from loop_tui.ui.widgets.modals import ConfirmModal

        self._sync_cancel = None
        self.sync_status = None
        self._show_sync_status()
        if message.error:
            self.notify(f"push {message.project_name}: {message.error}", severity="error", markup=False)  # type: ignore[attr-defined]
            return
        if not message.sends:
            note = "; ".join(message.lines) or "no local changes since the last sync"
            self.notify(f"nothing to push from {message.project_name} ({note})", markup=False)  # type: ignore[attr-defined]
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_sync("push", message.project_name, threading.Event())

        detail = "\n".join([message.head, *message.lines])
        self.push_screen(ConfirmModal(f"Push {message.project_name} to Braintrust?", detail), answered)  # type: ignore[attr-defined]

    def _sync(self, action: str, project_name: str, cancel: threading.Event) -> None:
        from loop_tui.errors import UserError
        from loop_tui.remote.client import BraintrustClient
        from loop_tui.remote.connection import Connection
        from loop_tui.remote.pull import PullOptions, pull_project
        from loop_tui.remote.push import PushOptions, push_project, report_sentence

        post = self.post_message  # type: ignore[attr-defined]
        started = time.monotonic()
        last = [0.0]

        def progress(label: str, fetched: int, written: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.25:
                last[0] = now
                rate = fetched / max(now - started, 1e-6)
                post(SyncProgressed(f"pulling {label}: {counted(fetched, 'row')} ({rate:,.0f}/s, f6 cancels)"))

        def push_progress(label: str, done: int, total: int) -> None:
            post(SyncProgressed(f"pushing {label} ({done + 1}/{total}, f6 cancels)"))

        try:
            with BraintrustClient(Connection.resolve(self.settings)) as client:  # type: ignore[attr-defined]
                if action == "pull":
                    report = pull_project(self.workspace, client, project_name,  # type: ignore[attr-defined]
                                          PullOptions(cancel=cancel, progress=progress))
                else:
                    report = push_project(self.workspace, client, project_name,  # type: ignore[attr-defined]
                                          PushOptions(cancel=cancel, progress=push_progress))
            summary = report_sentence(report, f"{action}ed")
            post(SyncFinished(project_name, summary, failed=False, action=action))
        except UserError as err:
            post(SyncFinished(project_name, str(err), failed=True, action=action))

    def action_cancel_sync(self) -> None:
        """Stop the running pull after the page it is on, or a push after the object it is sending (what was
        written or sent stays whole; running it again resumes)."""
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
        self._pending_switch = None if message.failed or message.action != "pull" else message.project_name
        self.reload_projects()  # type: ignore[attr-defined]
        self._show_sync_status()

    def sync_ended_unexpectedly(self) -> None:
        """The sync's worker failed with a bug (the failure handler told the user): the next sync may start."""
        self._sync_cancel = None
        self.sync_status = None
        self._show_sync_status()

    def _show_sync_status(self) -> None:
        # The page under a modal (the push's confirmation closing as the first progress arrives) shows it too.
        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if hasattr(screen, "mark_stale") and self.sync_status is None:
                screen.mark_stale()
            if hasattr(screen, "show_project") and screen is not self.screen:  # type: ignore[attr-defined]
                screen.show_project()
        if hasattr(self.screen, "refresh_if_stale"):  # type: ignore[attr-defined]
            self.screen.refresh_if_stale()  # type: ignore[attr-defined]
