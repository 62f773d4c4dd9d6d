"""Messages shared by several screens; a widget's own messages nest on the widget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from loop_tui.config import Settings
    from loop_tui.store import CatalogObject


@dataclass
class ProjectsLoaded(Message):
    """The workspace's projects were read (in a worker)."""

    projects: list[CatalogObject]


@dataclass
class ProjectChanged(Message):
    """The user switched project; pages reload when they are next shown."""

    project: CatalogObject | None


@dataclass
class SettingsSaved(Message):
    """Settings were written to disk; the app re-applies theme and key bindings."""

    settings: Settings


@dataclass
class WorkFailed(Message):
    """A worker hit an error the user should see (one sentence, shown as a toast or in place)."""

    area: str
    message: str


