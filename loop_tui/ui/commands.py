"""The command palette's "area: action" entries: every bound action of the app and the current page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from loop_tui.ui.keys import declared_bindings, keymap_of


@dataclass(frozen=True)
class PaletteEntry:
    """One palette line: "area: action", the help text and what runs."""

    title: str
    help: str
    run: Callable[[], object]


def _entries_for(node: Screen[object] | App[object], area_fallback: str) -> list[PaletteEntry]:
    entries = []
    keymap = keymap_of(node.app)  # the user's remapping, shown so the palette teaches the real key
    for klass in type(node).__mro__:
        for item in declared_bindings(klass):
            if not item.id or item.system:
                continue
            area = item.id.split(".", 1)[0] if "." in item.id else area_fallback
            key = str(keymap.get(item.id, item.key)).split(",")[0]
            label = item.description or item.action
            title = f"{area}: {label[0].lower() + label[1:] if label else item.action}"
            entries.append(
                PaletteEntry(
                    title,
                    f"key {node.app.get_key_display(Binding(key, item.action))}",
                    partial(node.app.call_later, node.run_action, item.action),
                )
            )
    return entries


def palette_entries(app: App[object], screen: Screen[object] | None = None) -> list[PaletteEntry]:
    """Entries for the app's global actions, the page's (`screen`, default the current one) and its
    extra (unbound) commands."""
    screen = screen or app.screen
    entries = _entries_for(screen, getattr(screen, "PAGE", "page")) + _entries_for(app, "app")
    extra = getattr(screen, "palette_commands", None)
    if extra is not None:
        entries.extend(extra())
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.title not in seen:
            seen.add(entry.title)
            unique.append(entry)
    return unique


class ActionsProvider(Provider):
    """Offers every action as "area: action" (e.g. "logs: filter", "app: toggle Loop panel")."""

    async def discover(self) -> Hits:
        """Show all entries before the user types."""
        # self.screen is the page the palette was opened on (app.screen is the palette itself).
        for entry in palette_entries(self.app, self.screen):
            yield DiscoveryHit(entry.title, entry.run, help=entry.help)

    async def search(self, query: str) -> Hits:
        """Fuzzy-match entries against what the user typed."""
        matcher = self.matcher(query)
        for entry in palette_entries(self.app, self.screen):
            score = matcher.match(entry.title)
            if score > 0:
                yield Hit(score, matcher.highlight(entry.title), entry.run, help=entry.help)
