"""Binding ids: every key in the app has one, so `settings.ui.keybindings` can remap it.

Ids are "area.action" (e.g. `app.toggle_chat`, `logs.filter`); the settings page lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class BindingInfo:
    """One remappable binding as the settings page shows it."""

    id: str
    key: str
    description: str
    area: str


def _as_binding(item: BindingType) -> Binding | None:
    return item if isinstance(item, Binding) else None


def binding_catalog(owners: Iterable[type]) -> list[BindingInfo]:
    """Every binding with an id declared on `owners` (classes with BINDINGS), deduplicated by id."""
    seen: dict[str, BindingInfo] = {}
    for owner in owners:
        for klass in reversed(owner.__mro__):
            for item in getattr(klass, "BINDINGS", []) or []:
                binding = _as_binding(item)
                if binding is None or not binding.id or binding.id in seen:
                    continue
                area = binding.id.split(".", 1)[0]
                seen[binding.id] = BindingInfo(binding.id, binding.key, binding.description or binding.action, area)
    return sorted(seen.values(), key=lambda b: b.id)


def effective_key(info: BindingInfo, keymap: dict[str, str]) -> str:
    """The key a binding uses after the user's remapping."""
    return keymap.get(info.id, info.key)
