"""Start-up helpers of `LoopApp`: keys typed before the first page exists are kept and replayed on it.

The app draws its first frame before the workspace is open (pyarrow, DuckDB and Loop load after it), so
for a moment there is no page to take keys. A user who types `2` or `/error` then expects it to act once
the page is there, as a terminal app that was slow to start would. The keys are kept in order and handed
to the page one at a time, each once the last one has been handled: a key may move focus (`/` to the
filter) or open a page (`2`), and the next key belongs there. They start once the page shows its first
rows, so rows arriving never take the cursor from under them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events

if TYPE_CHECKING:
    from loop_tui.config import Settings, StartupSettings
    from loop_tui.store import Workspace

WorkspaceOpener = Callable[[], "tuple[Workspace, Settings | StartupSettings]"]
"""Opens the workspace and reads the settings (in a worker, after the first frame); raises UserError. Settings
read with `read_startup_settings` are checked in full once the first page shows its rows."""

QUIT_KEYS = frozenset({"ctrl+q", "ctrl+c"})
"""Keys that act at once while the workspace opens (every other key waits for the page)."""
REPLAY_HOPS = 16
"""Message queues a replayed key may pass before the next is sent, if it never comes back to the app."""
SETTLE_WAIT_S = 0.1
"""The longest one hop of a replayed key is waited for (a widget removed meanwhile never takes its turn)."""
SETTLE_CHECKS = 1500
"""How many times (20 ms apart: at most 30 s) the replay waits for the page to show its first rows."""


class KeysKeptMixin:
    """For the App: keep raw keys while `pages_ready` is False, then replay them with `replay_kept_keys`."""

    def keep_keys(self, *, until_pages: bool) -> None:
        """Start keeping keys (if `until_pages`) until `replay_kept_keys` has handed them all over."""
        self.pages_ready = not until_pages
        """False while the workspace opens (after the first frame): keys are kept until the page is there."""
        self._kept: list[events.Key] = []
        self._replayed: list[events.Key] = []  # a replayed key bubbles back up to the app: let it pass
        self._replay_current: events.Key | None = None
        self._settle_checks = 0
        self._focus_at_last_check: object = None

    def replay_kept_keys(self) -> None:
        """Hand the kept keys to the page one at a time; then keys go straight to the page again."""
        app = self.app  # type: ignore[attr-defined]
        if self._kept and not self._page_settled() and self._settle_checks < SETTLE_CHECKS:
            self._settle_checks += 1
            app.set_timer(0.02, self.replay_kept_keys)
            return
        if not self._kept:
            self.pages_ready = True  # keys arriving from now on go straight to the page, in order
            self._replayed.clear()
            return
        key = self._kept.pop(0)
        replay = events.Key(key.key, key.character)
        self._replayed.append(replay)
        self._replay_current = replay
        app.post_message(replay)
        self._when_handled(replay, REPLAY_HOPS)

    def _page_settled(self) -> bool:
        """The page has its tables' first rows and its focus, the same as at the last check (20 ms ago): keys
        typed ahead act as on a page the user has been looking at (rows still being put in place would move
        the cursor from under them)."""
        from loop_tui.ui.widgets.arrow_table import ArrowTable

        if not getattr(self.app, "loop_ready", True):  # type: ignore[attr-defined]
            return False  # a key may be meant for Loop's panel (ctrl+l, then a question): wait for it
        screen = self.app.screen  # type: ignore[attr-defined]
        focused = screen.focused
        steady = focused is not None and focused is self._focus_at_last_check
        self._focus_at_last_check = focused
        return steady and not any(table.awaiting_rows for table in screen.query(ArrowTable))

    def _when_handled(self, replay: events.Key, hops: int) -> None:
        # A key travels from the app to the focused widget and up through its parents, one message queue at
        # a time, back to the app (where the bindings act): the next key goes once it is back, or once it
        # has had the hops to get there (a widget that used it, like a text field, stops it on the way).
        if replay is not self._replay_current:
            return  # it came back to the app and the next key is already on its way
        if hops == 0:
            self._replay_current = None
            self.replay_kept_keys()
            return
        self._when_settled(lambda: self._when_handled(replay, hops - 1))

    def _when_settled(self, then: Callable[[], None]) -> None:
        """Call `then` once the app and every widget of the current screen have handled what is queued now
        (or after SETTLE_WAIT_S, should a widget be removed before it gets to it)."""
        app = self.app  # type: ignore[attr-defined]
        nodes = [app, *app.screen.walk_children(with_self=True)]
        left = len(nodes)
        called = False

        def call_once() -> None:
            nonlocal called
            if not called:
                called = True
                then()

        def one_done() -> None:
            nonlocal left
            left -= 1
            if left == 0:
                call_once()

        app.set_timer(SETTLE_WAIT_S, call_once)
        for node in nodes:
            node.call_later(one_done)

    async def on_event(self, event: events.Event) -> None:
        """While the workspace opens, keep the keys typed (but quit) for the page, instead of acting on them
        with no page (or dropping them); keys typed while the kept ones are replayed queue behind them."""
        if isinstance(event, events.Key) and not self.pages_ready and event.key not in QUIT_KEYS:
            if not any(event is replayed for replayed in self._replayed):
                self._kept.append(event)
                return
            if event.is_forwarded and event is self._replay_current:  # back at the app: its bindings act now
                await super().on_event(event)  # type: ignore[misc]
                self._replay_current = None  # (the hops still counting for it stop)
                self.app.call_later(self.replay_kept_keys)  # type: ignore[attr-defined]  # after what it queued
                return
        await super().on_event(event)  # type: ignore[misc]
