"""Chat streaming benchmark: 5,000 tokens at 500 tokens/s through LoopChat in a headless app.

Prints the lag from the last token sent to it being in the rendered Markdown, the total render time
against the stream time (target <= 1.1x: no growing lag), the event loop's worst stall while streaming
(target well under 50 ms) and in the seconds after it (the run ending, answers freezing, the deferred full
garbage collection), and checks the transcript holds the whole text in order with the last token on screen.
Run: `python benchmarks/chat_bench.py [--tokens N] [--rate TOKENS_PER_S] [--runs N]` (medians over runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests` helpers, run from anywhere

from textual.geometry import Region
from textual.widget import Widget

from loop_tui.agent import Agent, PageContext
from loop_tui.config import Settings
from loop_tui.llm.base import Done, TextDelta, Usage
from loop_tui.store import Workspace
from loop_tui.ui.loop.harness import LoopHarnessApp
from tests.test_ui_support import screen_text

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

    def text(self) -> str:
        """Everything the stream sends, in order."""
        return "".join(self._token(i) for i in range(self.tokens))

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


class ScreenProbe:
    """Reads what the screen draws through `App.export_screenshot()` (Textual's public way to see it).

    An export takes a few milliseconds on the event loop: the time each probe took is recorded, so the stall
    watcher can leave out the stalls the benchmark caused itself.
    """

    def __init__(self) -> None:
        self.probes = 0  # probes finished so far
        self.running = False

    def shows(self, app: LoopHarnessApp, text: str) -> bool:
        """Whether the screen, as its last refresh laid it out, draws `text` on one line."""
        self.running = True
        try:
            return any(text in line for line in screen_text(app).splitlines())
        finally:
            self.running = False
            self.probes += 1


def _block_draws(answer: Widget, text: str) -> bool:
    """Whether the answer's last Markdown block renders `text` (its own lines, before the screen draws them)."""
    blocks = answer.query("MarkdownBlock")
    if not blocks:
        return False
    block = blocks.last()
    size = block.outer_size
    return any(text in strip.text for strip in block.render_lines(Region(0, 0, size.width, size.height)))


async def run(tokens: int, rate: float, after_s: float) -> dict[str, float]:
    """Stream through a headless harness app and measure."""
    from loop_tui.ui.loop.transcript import AssistantAnswer

    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(REPO / "sample_data" / "workspace", tmp / "ws")
    ws = Workspace.open(tmp / "ws")
    settings = Settings()
    app = LoopHarnessApp(ws, settings, PageContext(page="logs", project="support-bot"))
    provider = PacedProvider(tokens, rate)
    probe = ScreenProbe()
    stalls = {"streaming": 0.0, "after": 0.0}
    phase = "streaming"

    async def watch_loop() -> None:
        # The event loop's own latency: how late a 5 ms sleep wakes up is how long something blocked it.
        tick = 0.005
        while phase != "done":
            before, probes = time.perf_counter(), probe.probes
            await asyncio.sleep(tick)
            late = time.perf_counter() - before - tick
            if probe.probes != probes or probe.running:
                continue  # the benchmark's own screen read blocked the loop, not the app
            if phase in stalls:
                stalls[phase] = max(stalls[phase], late)

    async with app.run_test(size=(120, 40), headless=True) as pilot:
        chat = app.chat
        chat._agent = Agent(ws, settings, provider=provider, save=False)
        watcher = asyncio.create_task(watch_loop())
        chat.send("stream please")
        transcript = chat.transcript
        while True:  # cheap check (no DOM query): the Markdown the newest answer has taken in
            last = transcript.children[-1] if transcript.children else None
            if isinstance(last, AssistantAnswer) and last.rendered_source.endswith(SENTINEL):
                break
            await asyncio.sleep(0.002)
        while not _block_draws(last, SENTINEL):  # cheap: the last block's own lines hold it
            await asyncio.sleep(0.002)
        while True:  # and until the screen actually draws it (as of the probe's start)
            probed_at = time.perf_counter()
            if probe.shows(app, SENTINEL):
                break
            await asyncio.sleep(0.002)
        on_screen = probed_at
        phase = "after"  # keep watching: the run ends, answers freeze, the deferred full GC runs
        while chat.running:
            await pilot.pause(0.01)
        await asyncio.sleep(max(0.0, on_screen + after_s - time.perf_counter()))
        phase = "done"
        await watcher
        answers = [w for w in transcript.children if isinstance(w, AssistantAnswer)]
        intact = "".join(a.text for a in answers) == provider.text()
        frozen = sum(a.frozen for a in answers)
        still_shown = probe.shows(app, SENTINEL)  # drawn from the frozen lines now
    shutil.rmtree(tmp, ignore_errors=True)
    stream_time = provider.last_sent - provider.first_sent
    return {
        "tokens": tokens,
        "rate": rate,
        "stream_s": stream_time,
        "render_s": on_screen - provider.first_sent,
        "ratio": (on_screen - provider.first_sent) / stream_time if stream_time else float("nan"),
        "last_token_lag_ms": (on_screen - provider.last_sent) * 1000,
        "worst_stall_ms": stalls["streaming"] * 1000,
        "worst_stall_after_ms": stalls["after"] * 1000,
        "text_intact": float(intact),
        "sentinel_on_screen": float(still_shown),
        "answers": len(answers),
        "frozen": frozen,
    }


def _one_run_in_subprocess(args: argparse.Namespace) -> dict[str, float]:
    """Each run in a fresh interpreter, so one run's heap and GC state cannot help or hurt the next."""
    cmd = [sys.executable, __file__, "--tokens", str(args.tokens), "--rate", str(args.rate),
           "--after", str(args.after), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    """Run the benchmark (median of --runs runs) and print the numbers with their targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--runs", type=int, default=1, help="repeat in fresh processes and print medians")
    parser.add_argument("--after", type=float, default=3.0, help="seconds to keep watching after the stream")
    parser.add_argument("--json", action="store_true", help="print one run's numbers as JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(asyncio.run(run(args.tokens, args.rate, args.after))))
        return 0
    runs = [_one_run_in_subprocess(args) for _ in range(args.runs)] if args.runs > 1 else [
        asyncio.run(run(args.tokens, args.rate, args.after))]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def each(key: str, fmt: str = "{:.0f}") -> str:
        return "" if len(runs) == 1 else "  [" + " ".join(fmt.format(r[key]) for r in runs) + "]"

    label = f"median of {len(runs)} runs" if len(runs) > 1 else "1 run"
    print(f"streamed {args.tokens:,} tokens at {args.rate:.0f}/s through LoopChat (headless, 120x40), {label}")
    print(f"  stream time (first to last token sent): {med('stream_s'):.2f} s")
    print(f"  render time (first sent to last on screen): {med('render_s'):.2f} s  "
          f"ratio {med('ratio'):.3f}x  (target <= 1.1x)" + each("ratio", "{:.3f}"))
    print(f"  last token sent -> on screen: {med('last_token_lag_ms'):.1f} ms" + each("last_token_lag_ms"))
    print(f"  worst event-loop stall while streaming: {med('worst_stall_ms'):.1f} ms  (target well under 50 ms)"
          + each("worst_stall_ms"))
    print(f"  worst stall in the {args.after:.0f} s after (run end, freezing, deferred full GC): "
          f"{med('worst_stall_after_ms'):.1f} ms" + each("worst_stall_after_ms"))
    ok = all(r["text_intact"] and r["sentinel_on_screen"] for r in runs)
    print(f"  whole text in order in the transcript and last token on screen: {'yes' if ok else 'NO'}; "
          f"answer stretches frozen: {runs[-1]['frozen']}/{runs[-1]['answers']}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
