"""Resolve which workspace to open, seeding the default one with the sample data (made recent) on first run."""

from __future__ import annotations

from pathlib import Path

from loop_tui import clock
from loop_tui.errors import UserError
from loop_tui.store.segments import MARKER
from loop_tui.store.workspace import Workspace


def sample_workspace_path() -> Path | None:
    """The committed sample workspace, when running from a checkout or an editable install."""
    candidate = Path(__file__).resolve().parents[2] / "sample_data" / "workspace"
    return candidate if (candidate / MARKER).exists() else None


def open_workspace(path: str | Path | None = None) -> Workspace:
    """Open `path`, or the default workspace (seeded from the sample data the first time).

    A folder that cannot be made (under a file, on a path that does not exist or is read-only) is a
    `UserError` naming it, not a traceback.
    """
    if path is None:
        from loop_tui.config import default_workspace_path  # pydantic: only when no workspace is named

        target = default_workspace_path()
    try:
        return Workspace.open(path) if path is not None else _open_default(target)
    except OSError as exc:  # an unreadable workspace is worded by `opening.prepare` (a DamagedError)
        where = Path(path if path is not None else target).expanduser().resolve()
        blocked = f": {exc.filename}" if exc.filename and Path(exc.filename) != where else ""
        raise UserError(f"the workspace folder {where} cannot be created or opened ({exc.strerror}{blocked}); "
                        "pass another folder with --workspace") from None


def _open_default(target: Path) -> Workspace:
    if not (target / MARKER).exists() and not target.exists():
        sample = sample_workspace_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        if sample is not None:
            from loop_tui.store.demo import copy_recent

            try:
                copy_recent(sample, target, clock.now())  # recent on any date: its newest time is now
            except OSError:
                if not (target / MARKER).exists():  # not merely another process seeding it first
                    raise
        else:
            from loop_tui.store.demo import generate

            generate(target, spans=5000, seed=7)
    return Workspace.open(target)
