"""Resolve which workspace to open, seeding the default one with the sample data on first run."""

from __future__ import annotations

import shutil
from pathlib import Path

from loop_tui.config import default_workspace_path
from loop_tui.store.segments import MARKER
from loop_tui.store.workspace import Workspace


def sample_workspace_path() -> Path | None:
    """The committed sample workspace, when running from a checkout or an editable install."""
    candidate = Path(__file__).resolve().parents[2] / "sample_data" / "workspace"
    return candidate if (candidate / MARKER).exists() else None


def open_workspace(path: str | Path | None = None) -> Workspace:
    """Open `path`, or the default workspace (seeded from the sample data the first time)."""
    if path is not None:
        return Workspace.open(path)
    target = default_workspace_path()
    if not (target / MARKER).exists() and not target.exists():
        sample = sample_workspace_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        if sample is not None:
            shutil.copytree(sample, target, ignore=shutil.ignore_patterns(".lock", ".tmp-*"))
        else:
            from loop_tui.store.demo import generate

            generate(target, spans=5000, seed=7)
    return Workspace.open(target)
