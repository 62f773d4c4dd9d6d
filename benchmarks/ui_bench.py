"""UI start-up and memory benchmark.

Measures, in fresh processes (headless, 120×40), the time from process launch to
  * the first painted frame (Textual's Ready event), and
  * a usable logs page (the first page of rows mounted in the grid),
for Loop TUI on a workspace (default: a 1M-span one) and, in the same run, for a minimal Textual app
(one Label) as the baseline; prints the ratios. Then the app's resident memory after opening each page.

    python benchmarks/ui_bench.py --workspace /tmp/ws1m [--repeat 3]
    (make a 1M-span workspace with `loop-tui demo --workspace /tmp/ws1m --spans 1000000`)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PAGES = ("logs", "experiments", "datasets", "playground", "btql", "settings")


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _since_launch() -> float:
    return time.time() - float(os.environ["UI_BENCH_LAUNCH"])


def child_minimal() -> None:
    """A one-label Textual app: report the first frame, then quit."""
    from textual.app import App, ComposeResult
    from textual.widgets import Label

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Label("hello")

        def on_ready(self) -> None:
            print(json.dumps({"first_frame": _since_launch()}), flush=True)
            self.exit()

    Minimal().run(headless=True, size=(120, 40))


def child_app(workspace: str, measure_memory: bool) -> None:
    """Loop TUI on `workspace`: report the first frame, the usable logs page, then memory per page."""
    from loop_tui.config import load_settings
    from loop_tui.store import Workspace
    from loop_tui.ui.app import LoopApp

    result: dict[str, object] = {}

    class Bench(LoopApp):
        def on_ready(self) -> None:
            result["first_frame"] = _since_launch()
            self.set_interval(0.005, self._check_usable)

        def _check_usable(self) -> None:
            if "usable_logs" in result:
                return
            screen = self.screen
            if screen.id == "page-logs" and screen.query("#logs-table Grid"):
                result["usable_logs"] = _since_launch()
                if measure_memory:
                    self.run_worker(self._memory_tour(), exclusive=True)
                else:
                    self._finish()

        async def _memory_tour(self) -> None:
            memory = {"logs": rss_mb()}
            for page in PAGES[1:]:
                self.switch_mode(page)
                await self._settle()
                memory[page] = rss_mb()
            result["memory_mb"] = memory
            self._finish()

        async def _settle(self) -> None:
            import asyncio

            from textual.worker import get_current_worker

            me = get_current_worker()
            await asyncio.sleep(0.1)
            for _ in range(300):  # until the page's own workers are done (at most ~30 s)
                if not any(w.is_running for w in self.workers if w is not me):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)

        def _finish(self) -> None:
            print(json.dumps(result), flush=True)
            self.exit()

    Bench(Workspace.open(workspace), load_settings(), start_page="logs").run(headless=True, size=(120, 40))


def _spawn(args: list[str]) -> dict:
    env = {**os.environ, "UI_BENCH_LAUNCH": repr(time.time())}
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, timeout=600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"benchmark child failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="/tmp/ws1m", help="workspace to open (ideally 1M spans)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["minimal", "app", "app-memory"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "minimal":
        child_minimal()
        return 0
    if args.child:
        child_app(args.workspace, args.child == "app-memory")
        return 0

    from loop_tui.store import Workspace

    spans = Workspace.open(args.workspace, create=False).query("SELECT count(*) AS n FROM project_logs")[0]["n"]
    print(f"workspace {args.workspace}: {spans:,} log spans; {args.repeat} runs each, medians\n")
    minimal = [_spawn(["--child", "minimal"])["first_frame"] for _ in range(args.repeat)]
    runs = [_spawn(["--workspace", args.workspace, "--child", "app"]) for _ in range(args.repeat)]
    base = statistics.median(minimal)
    first = statistics.median(r["first_frame"] for r in runs)
    usable = statistics.median(r["usable_logs"] for r in runs)
    print(f"{'measure':<34}{'seconds':>9}{'vs minimal app':>16}")
    print(f"{'minimal Textual app: first frame':<34}{base:>9.3f}{1.0:>15.2f}x")
    print(f"{'Loop TUI: first frame':<34}{first:>9.3f}{first / base:>15.2f}x")
    print(f"{'Loop TUI: usable logs page':<34}{usable:>9.3f}{usable / base:>15.2f}x")
    memory = _spawn(["--workspace", args.workspace, "--child", "app-memory"])["memory_mb"]
    print("\nresident memory after opening each page (one process, pages opened in this order):")
    for page, mb in memory.items():
        print(f"  {page:<12}{mb:>8.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
