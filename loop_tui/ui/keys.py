"""Binding ids: every key in the app has one, so `settings.ui.keybindings` can remap it.

Ids are "area.action" (e.g. `app.toggle_chat`, `logs.filter`); the settings page lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding, BindingType, InvalidBinding


@dataclass(frozen=True)
class BindingInfo:
    """One remappable binding as the settings page shows it."""

    id: str
    key: str
    description: str
    area: str


def _as_binding(item: BindingType) -> Binding | None:
    return item if isinstance(item, Binding) else None


def declared_bindings(klass: type) -> Iterator[Binding]:
    """The Bindings `klass` declares (inherited BINDINGS included), without those a mixin added to it.

    Help, the settings page and the palette list what pages declare; keys a mixin adds to every page
    (Loop's workflow keys, see `with_added_bindings`) are offered by Loop's own palette entries instead.
    """
    added: frozenset[str] = getattr(klass, "ADDED_BINDING_IDS", frozenset())
    for item in getattr(klass, "BINDINGS", []) or []:
        binding = _as_binding(item)
        if binding is not None and binding.id not in added:
            yield binding


DECLARED = "DECLARED_BINDINGS"
"""Where `with_added_bindings` keeps the BINDINGS a class declared itself."""


def with_added_bindings(cls: type, extras: Sequence[Binding]) -> list[Binding]:
    """Every binding `cls` has, merged as Textual merges BINDINGS, then the `extras` it does not have yet:
    what to set as `cls.BINDINGS` (with `inherit_bindings=False`) in an `__init_subclass__` that runs
    before Textual's, which reads BINDINGS when the class is created.

    Textual merges BINDINGS down the class hierarchy key by key (a class that binds a key replaces the
    bindings its bases had on it; keys keep the order in which they were first bound, which is the
    footer's order). The extras go after all of that: on a key the class also binds, the class's own
    binding runs while its `check_action` allows and the extra otherwise, as for any two bindings of
    one key. The class's own BINDINGS are kept in `DECLARED_BINDINGS` for its subclasses' merge.
    """
    from textual.dom import DOMNode

    keys: dict[str, list[Binding]] = {}
    for base in reversed(cls.__mro__):
        if not issubclass(base, DOMNode):
            continue
        own = base.__dict__.get(DECLARED, base.__dict__.get("BINDINGS", []))
        level: dict[str, list[Binding]] = {}
        for binding in Binding.make_bindings(own):
            level.setdefault(binding.key, []).append(binding)
        keys.update(level)
    present = {binding.id for bindings in keys.values() for binding in bindings if binding.id}
    for extra in Binding.make_bindings(extras):
        if extra.id not in present:
            keys.setdefault(extra.key, []).append(extra)
    return [binding for bindings in keys.values() for binding in bindings]


class RemembersKeymap:
    """App mixin: remembers the keymap it was given, so help and the palette can show the user's keys.

    Textual applies a keymap to every binding but offers no public way to read it back.
    """

    keymap: dict[str, str] = {}
    """Binding id → keys in Textual's long form ("question_mark", not "?"), as bindings spell them."""

    def set_keymap(self, keymap: Mapping[str, str]) -> None:
        """Set the keymap (binding id → keys) and remember it."""
        self.keymap = _normalized(keymap)
        super().set_keymap(keymap)  # type: ignore[misc]

    def update_keymap(self, keymap: Mapping[str, str]) -> None:
        """Merge `keymap` into the keymap and remember the result."""
        self.keymap = {**self.keymap, **_normalized(keymap)}
        super().update_keymap(keymap)  # type: ignore[misc]


def _normalized(keymap: Mapping[str, str]) -> dict[str, str]:
    return {binding_id: _long_form(str(keys)) for binding_id, keys in keymap.items()}


def _long_form(keys: str) -> str:
    # Binding.make_bindings spells single characters the way Textual's keymap does ("?" → "question_mark").
    try:
        return ",".join(binding.key for binding in Binding.make_bindings([Binding(keys, "")]))
    except InvalidBinding:  # an empty key in the list: Textual's keymap keeps it as written too
        return keys


def keymap_of(app: Any) -> dict[str, str]:
    """The user's keymap on `app` (binding id → keys), empty for an app that does not remember one."""
    return dict(getattr(app, "keymap", {}) or {})


def binding_catalog(owners: Iterable[type]) -> list[BindingInfo]:
    """Every binding with an id declared on `owners` (classes with BINDINGS), deduplicated by id."""
    seen: dict[str, BindingInfo] = {}
    for owner in owners:
        for klass in reversed(owner.__mro__):
            for binding in declared_bindings(klass):
                if not binding.id or binding.id in seen:
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
    shadowed binding is left out: every key appears once, with the action it really runs. Rows come owner by
    owner (the page's own keys first, what help is opened for), sorted by id within each.
    """
    taken: set[str] = set()
    seen_ids: set[str] = set()
    rows: list[tuple[int, str, str, str]] = []
    for rank, owner in enumerate(owners):
        for klass in owner.__mro__:
            for binding in declared_bindings(klass):
                if not binding.id or binding.id in seen_ids:
                    continue
                seen_ids.add(binding.id)
                keys = [k.strip() for k in keymap.get(binding.id, binding.key).split(",")]
                free = [k for k in keys if k not in taken]
                taken.update(keys)
                if free:
                    rows.append((rank, key_label(",".join(free)), binding.description or binding.action, binding.id))
    return [(keys, action, binding_id) for _rank, keys, action, binding_id in sorted(rows, key=lambda row: (row[0], row[3]))]
