"""Chat streaming benchmark: 5,000 tokens at 500 tokens/s through LoopChat in a headless app.

Prints the lag from the last token sent to it being in the rendered Markdown, the total render time
against the stream time (target <= 1.1x: no growing lag), and the event loop's worst stall while streaming
(target well under 50 ms). Run: `python benchmarks/chat_bench.py [--tokens N] [--rate TOKENS_PER_S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from loop_tui.agent import Agent, PageContext
from loop_tui.config import Settings
from loop_tui.llm.base import Done, TextDelta, Usage
from loop_tui.store import Workspace
from loop_tui.ui.loop.harness import LoopHarnessApp

SENTINEL = "END-OF-STREAM"
REPO = Path(__file__).resolve().parents[1]


class PacedProvider:
    """A provider that streams `tokens` words at `rate` per second on an absolute schedule."""

    name = "paced"

    def __init__(self, tokens: int, rate: float) -> None:
        self.tokens, self.rate = tokens, rate
        self.first_sent = self.last_sent = 0.0

    def _token(self, i: int) -> str:
        if i == self.tokens - 1:
            return SENTINEL
        if i % 60 == 59:
            return "\n\n"  # paragraph breaks, so finished blocks pile up like a real answer
        if i % 60 == 0:
            return "**Point** " if i % 120 == 0 else "- item "
        return f"word{i % 97} "

    async def stream(self, messages, tools, model="paced", params=None):  # noqa: ANN001, ANN201
        """Yield the tokens on schedule, then usage and done."""
        start = time.perf_counter()
        self.first_sent = start
        for i in range(self.tokens):
            delay = start + i / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if i == self.tokens - 1:
                self.last_sent = time.perf_counter()
            yield TextDelta(self._token(i))
        yield Usage(prompt_tokens=10, completion_tokens=self.tokens)
        yield Done("stop", model="paced")


async def run(tokens: int, rate: float) -> dict[str, float]:
    """Stream through a headless harness app and measure."""
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(REPO / "sample_data" / "workspace", tmp / "ws")
    ws = Workspace.open(tmp / "ws")
    settings = Settings()
    app = LoopHarnessApp(ws, settings, PageContext(page="logs", project="support-bot"))
    provider = PacedProvider(tokens, rate)
    worst_stall = 0.0
    streaming = True

    async def watch_loop() -> None:
        nonlocal worst_stall
        tick = 0.005
        while streaming:
            before = time.perf_counter()
            await asyncio.sleep(tick)
            worst_stall = max(worst_stall, time.perf_counter() - before - tick)

    async with app.run_test(size=(120, 40), headless=True) as pilot:
        chat = app.chat
        chat._agent = Agent(ws, settings, provider=provider, save=False)
        watcher = asyncio.create_task(watch_loop())
        chat.send("stream please")
        from loop_tui.ui.loop.transcript import AssistantAnswer

        transcript = chat.transcript
        while True:  # cheap check (no DOM query): the newest transcript widget's rendered source
            last = transcript.children[-1] if transcript.children else None
            if isinstance(last, AssistantAnswer) and last.rendered_source.endswith(SENTINEL):
                break
            await asyncio.sleep(0.002)
        await pilot.pause()  # the frame after the last append
        on_screen = time.perf_counter()
        streaming = False
        await watcher
        while chat.running:
            await pilot.pause(0.01)
        shutil.rmtree(tmp, ignore_errors=True)
    stream_time = provider.last_sent - provider.first_sent
    return {
        "tokens": tokens,
        "rate": rate,
        "stream_s": stream_time,
        "render_s": on_screen - provider.first_sent,
        "last_token_lag_ms": (on_screen - provider.last_sent) * 1000,
        "worst_stall_ms": worst_stall * 1000,
    }


def main() -> int:
    """Run the benchmark and print the numbers with their targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    r = asyncio.run(run(args.tokens, args.rate))
    ratio = r["render_s"] / r["stream_s"] if r["stream_s"] else float("nan")
    print(f"streamed {r['tokens']:,} tokens at {r['rate']:.0f}/s through LoopChat (headless, 120x40)")
    print(f"  stream time (first to last token sent): {r['stream_s']:.2f} s")
    print(f"  render time (first sent to last on screen): {r['render_s']:.2f} s  ratio {ratio:.3f}x  (target <= 1.1x)")
    print(f"  last token sent -> on screen: {r['last_token_lag_ms']:.1f} ms")
    print(f"  worst event-loop stall while streaming: {r['worst_stall_ms']:.1f} ms  (target well under 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
