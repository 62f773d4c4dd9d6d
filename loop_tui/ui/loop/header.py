"""What the chat header says: the active model, and for the offline model what it can do on this page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop_tui.errors import UserError

if TYPE_CHECKING:
    from loop_tui.config import Settings

NEEDS_MODEL = "For anything else, pick a language model (ctrl+b) or configure a provider in Settings."


def describe_model(name: str | None, settings: Settings) -> tuple[str, bool]:
    """(header label, is_offline) for the model a chat would use."""
    from loop_tui.llm import resolve_model

    try:
        resolved = resolve_model(name, settings)
    except UserError as err:
        return f"{name}: {err}", False
    if resolved.provider == "offline":
        return "offline model (built-in, not a language model)", True
    label = f"{resolved.name} via {resolved.endpoint}"
    if not resolved.key_available():
        label += f" · no key: set ${resolved.api_key_env}"
    return label, False


def offline_abilities(page: str) -> list[str]:
    """The requests the offline model understands on `page`."""
    from loop_tui.agent.offline_abilities import PAGE_ABILITIES

    return list(PAGE_ABILITIES.get(page) or [])


def abilities_text(page: str) -> str:
    """One paragraph: what the offline model can do here, and how to get more."""
    can = offline_abilities(page)
    listed = "; ".join([*can, '"how do I …" questions about Loop TUI'])
    return f"Offline, Loop can answer: {listed}. {NEEDS_MODEL}"
