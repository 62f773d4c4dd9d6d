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


# Names people write for keys whose Textual display is a symbol or an abbreviation they would not type.
_WRITTEN_KEYS = {"escape": "esc", "enter": "enter", "tab": "tab", "space": "space", "backspace": "backspace",
                 "delete": "delete"}


def key_label(keys: str) -> str:
    """Keys as people write them: "escape,question_mark" → "esc or ?", "slash" → "/", "ctrl+o" stays."""
    from textual.keys import format_key

    labels: list[str] = []
    for key in keys.split(","):
        *modifiers, base = key.strip().split("+")
        label = "+".join([*modifiers, _WRITTEN_KEYS.get(base) or format_key(base)])
        if label not in labels:
            labels.append(label)
    return " or ".join(labels)


def help_rows(owners: Iterable[type], keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """(keys, action, id) for what each key does on a page: `owners` in the order Textual asks them.

    A key bound again by a subclass or an earlier owner (the page before the app) does only that, so the
    shadowed binding is left out: every key appears once, with the action it really runs.
    """
    taken: set[str] = set()
    seen_ids: set[str] = set()
    rows: list[tuple[str, str, str]] = []
    for owner in owners:
        for klass in owner.__mro__:
            for item in getattr(klass, "BINDINGS", []) or []:
                binding = _as_binding(item)
                if binding is None or not binding.id or binding.id in seen_ids:
                    continue
                seen_ids.add(binding.id)
                keys = [k.strip() for k in keymap.get(binding.id, binding.key).split(",")]
                free = [k for k in keys if k not in taken]
                taken.update(keys)
                if free:
                    rows.append((key_label(",".join(free)), binding.description or binding.action, binding.id))
    return sorted(rows, key=lambda row: row[2])
