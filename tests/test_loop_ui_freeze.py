"""Freezing a finished answer copies its lines in steps, so a long answer never holds the screen still."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from loop_tui.ui.loop.frozen import capture_lines, capture_lines_in_steps
from loop_tui.ui.loop.md_table import LoopMarkdown
from tests.test_loop_ui_support import wait_for

TEXT = "\n\n".join(
    f"- item {n} " + " ".join(f"w{n}x{k}" for k in range(30)) if n % 3 == 0 else f"**Part {n}** " + " ".join(f"w{n}y{k}" for k in range(40))
    for n in range(24)
)


class _OneAnswer(App):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield LoopMarkdown(TEXT)


def _laid_out(live: LoopMarkdown) -> bool:
    return capture_lines(live) is not None


async def test_copying_in_steps_gives_the_same_lines_and_lets_the_loop_run() -> None:
    app = _OneAnswer()
    async with app.run_test(size=(80, 30)) as pilot:
        live = app.query_one(LoopMarkdown)
        await wait_for(pilot, lambda: _laid_out(live))
        at_once = [strip.text for strip in capture_lines(live) or []]
        ticks = 0

        async def count_ticks() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        counter = asyncio.create_task(count_ticks())
        try:
            in_steps = await capture_lines_in_steps(live, step_s=0.0)
        finally:
            counter.cancel()
        assert in_steps is not None
        assert [strip.text for strip in in_steps] == at_once
        assert any("w23y39" in line for line in at_once)  # the whole answer, to its last word
        assert ticks > 10  # the event loop ran between the pieces, not once at the end


async def test_a_new_theme_while_copying_means_copy_again() -> None:
    app = _OneAnswer()
    async with app.run_test(size=(80, 30)) as pilot:
        live = app.query_one(LoopMarkdown)
        await wait_for(pilot, lambda: _laid_out(live))

        async def switch_theme() -> None:
            await asyncio.sleep(0)
            app.theme = "textual-light" if app.theme != "textual-light" else "nord"

        switcher = asyncio.create_task(switch_theme())
        assert await capture_lines_in_steps(live, step_s=0.0) is None  # old colours would be frozen in
        await switcher


async def test_a_burst_of_events_does_not_hold_the_loop(monkeypatch) -> None:
    """A stream that fell behind yields its events without suspending: the pump lets the screen run anyway."""
    from loop_tui.agent import events as ev
    from loop_tui.ui.loop import worker

    monkeypatch.setattr(worker, "YIELD_S", 0.0)  # let the loop run between every two events
    ticks = 0
    ticks_seen_mid_burst: list[int] = []

    async def burst():  # noqa: ANN202 - an async generator that never awaits
        for n in range(2000):
            if n == 1000:
                ticks_seen_mid_burst.append(ticks)
            yield ev.TextDelta(f"w{n} ")

    async def count_ticks() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    posted: list[object] = []
    counter = asyncio.create_task(count_ticks())
    try:
        await worker.pump_events(burst(), posted.append, run_id=1, batch_s=60.0)
    finally:
        counter.cancel()
    assert ticks_seen_mid_burst and ticks_seen_mid_burst[0] > 100
    assert "".join(m.text for m in posted) == "".join(f"w{n} " for n in range(2000))  # nothing lost or reordered
