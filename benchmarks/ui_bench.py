"""UI start-up, responsiveness and memory benchmark, in a real terminal (tmux) against a minimal Textual app.

In the same run, each measured N times in a fresh process in a detached 120×40 tmux session, as the time
from launching the process until a known string is on the terminal (`tmux capture-pane -p`, polled):
  * baseline: a minimal Textual app (header, a 50-row DataTable, footer): its first frame;
  * Loop TUI on a workspace (default: a 1M-span one): its first frame (the header's page tabs), and the
    usable logs page (the first page of rows with its status line);
  * once the logs page is usable, in the same session: `2` until the experiments page is drawn and until
    its rows are; back on the logs page, `enter` until the trace view is drawn and until its tree is.
Medians are printed with their ratio to the minimal app's first frame. Then the app's resident memory
after opening each page (one headless process).

Each checkout measured is byte-compiled first, as installing it does (the minimal app's Textual is, in
site-packages): run from a source tree with PYTHONDONTWRITEBYTECODE set, or with stale __pycache__
folders, every launch compiled Loop TUI's modules from source again (~0.1 s of the time to the rows).

    python benchmarks/ui_bench.py --workspace /tmp/ws1m [--repeat 5] [--baseline /path/to/other/checkout]
`--baseline` also measures another checkout of Loop TUI (say, main) in the same interleaved rounds.
    (make a 1M-span workspace with `loop-tui demo --workspace /tmp/ws1m --spans 1000000`)
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

PAGES = ("logs", "experiments", "datasets", "playground", "btql", "settings")
REPO = Path(__file__).resolve().parent.parent
SIZE = (120, 40)
# A tmux server of the bench's own, kept up by an idle session for the whole run: with the default server,
# closing the last session stopped it while the next run's session was connecting ("server exited
# unexpectedly"), and another user of tmux could disturb it.
TMUX = ("tmux", "-L", f"ui-bench-{os.getpid()}")
POLL_S = 0.005  # between captures of the pane (each capture itself takes a few ms)

MINIMAL_FIRST_FRAME = "minimal row 01"  # a cell of the table's first row: the frame is all there
APP_FIRST_FRAME = "6 Settings"  # the header's last page tab: the same in the starting screen and every page
LOGS_USABLE = "rows 1–"  # the logs page's status line, written when its first page of rows is shown
EXPERIMENTS_DRAWN = "score mean, Δ vs base"  # the experiments table's title
EXPERIMENTS_LOADING = "Loading experiments…"  # gone once the list is read
TRACE_DRAWN = "─ trace "  # the trace tree's title
TRACE_SPANS = re.compile(r"\b\d+ spans\b")  # the tree's subtitle, once the trace's spans are read


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


# ----- the minimal app (child process) ------------------------------------------------------------
def child_minimal() -> None:
    """Header, a 50-row DataTable, footer: what a minimal Textual app draws first."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class Minimal(App[None]):
        BINDINGS = [("q", "quit", "Quit")]

        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("name", "value", "note")
            for n in range(1, 51):
                table.add_row(f"minimal row {n:02d}", str(n * 7), "a row of the baseline table")

    Minimal().run()


# ----- tmux ---------------------------------------------------------------------------------------
class Session:
    """A detached tmux session running one command; `seconds_until` polls its screen."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path) -> None:
        self.name = f"ui-bench-{uuid.uuid4().hex[:8]}"
        flags = [flag for key, value in env.items() for flag in ("-e", f"{key}={value}")]
        self.started = time.perf_counter()
        # In `cwd`: `python -m loop_tui` puts its working folder first on sys.path, before PYTHONPATH, so a run
        # started elsewhere in a checkout (the bench's own folder) imported that checkout, whatever --baseline said.
        subprocess.run([*TMUX, "new-session", "-d", "-s", self.name, "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                        "-c", str(cwd), *flags, command], check=True)

    def screen(self) -> str:
        """What the terminal shows now."""
        return subprocess.run([*TMUX, "capture-pane", "-p", "-t", self.name], capture_output=True,
                              text=True).stdout

    def seconds_until(self, predicate: Callable[[str], bool], since: float | None = None,
                      timeout: float = 300) -> float:
        """Seconds from `since` (default: the launch) until `predicate(screen)` holds."""
        start = self.started if since is None else since
        while True:
            shown = self.screen()
            if predicate(shown):
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"timed out in {self.name}; the screen was:\n{shown}")
            time.sleep(POLL_S)

    def send(self, *keys: str) -> float:
        """Send keys; returns the moment they were sent."""
        sent = time.perf_counter()
        subprocess.run([*TMUX, "send-keys", "-t", self.name, *keys], check=True)
        return sent

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the pane's process has used so far: the app's own work, whatever the
        machine's load (a helper process it started is not counted)."""
        pid = subprocess.run([*TMUX, "list-panes", "-t", self.name, "-F", "#{pane_pid}"], capture_output=True,
                             text=True).stdout.split()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        subprocess.run([*TMUX, "kill-session", "-t", self.name], capture_output=True)


def _env(config_dir: str, repo: Path = REPO) -> dict[str, str]:
    # tmux starts commands with its server's environment: pass what matters explicitly. A fresh config
    # folder per run: no remembered project or panel width from an earlier run.
    return {"PYTHONPATH": str(repo), "TERM": os.environ.get("TERM", "xterm-256color"),
            "HOME": os.environ.get("HOME", "/tmp"), "LOOP_TUI_CONFIG": f"{config_dir}/settings.toml"}


def measure_minimal() -> float:
    """Seconds until the minimal app's first frame is on the terminal."""
    with tempfile.TemporaryDirectory() as config:
        session = Session(f"{sys.executable} {Path(__file__).resolve()} --child minimal", _env(config), Path(config))
        try:
            return session.seconds_until(lambda s: MINIMAL_FIRST_FRAME in s and "^p" in s)
        finally:
            session.close()


def measure_app(workspace: str, project: str | None, interact: bool, repo: Path = REPO) -> dict[str, float]:
    """Seconds until Loop TUI's first frame and its usable logs page; with `interact`, then the key-to-frame
    and key-to-data times of the experiments page and the trace view (of the checkout at `repo`)."""
    command = f"{sys.executable} -m loop_tui --workspace {workspace} --page logs"
    if project:
        command += f" --project {project}"
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as config:
        session = Session(command, _env(config, repo), repo)
        try:
            out["first_frame"] = session.seconds_until(lambda s: APP_FIRST_FRAME in s)
            out["usable_logs"] = session.seconds_until(lambda s: LOGS_USABLE in s)
            out["usable_cpu"] = session.cpu_seconds()
            if interact:
                sent = session.send("2")
                out["experiments_drawn"] = session.seconds_until(lambda s: EXPERIMENTS_DRAWN in s, since=sent)
                out["experiments_rows"] = session.seconds_until(
                    lambda s: EXPERIMENTS_DRAWN in s and EXPERIMENTS_LOADING not in s, since=sent)
                session.send("4")
                session.seconds_until(lambda s: LOGS_USABLE in s)
                sent = session.send("Enter")
                out["trace_drawn"] = session.seconds_until(lambda s: TRACE_DRAWN in s, since=sent)
                out["trace_tree"] = session.seconds_until(lambda s: bool(TRACE_SPANS.search(s)), since=sent)
        finally:
            session.close()
    return out


# ----- memory (headless child) --------------------------------------------------------------------
def child_memory(workspace: str) -> None:
    """Loop TUI on `workspace`, headless: resident memory after opening each page, as JSON."""
    import asyncio

    from loop_tui.config import load_settings
    from loop_tui.store import Workspace
    from loop_tui.ui.app import LoopApp

    class Bench(LoopApp):
        def on_ready(self) -> None:
            self.run_worker(self._tour(), exclusive=True)

        async def _tour(self) -> None:
            while not (self.screen.id == "page-logs" and self.screen.query("#logs-table Grid")):
                await asyncio.sleep(0.01)
            memory = {"logs": rss_mb()}
            for page in PAGES[1:]:
                self.switch_mode(page)
                await self._settle()
                memory[page] = rss_mb()
            print(json.dumps(memory), flush=True)
            self.exit()

        async def _settle(self) -> None:
            from textual.worker import get_current_worker

            me = get_current_worker()
            await asyncio.sleep(0.1)
            for _ in range(300):  # until the page's own workers are done (at most ~30 s)
                if not any(w.is_running for w in self.workers if w is not me):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)

    Bench(Workspace.open(workspace), load_settings(), start_page="logs").run(headless=True, size=SIZE)


def _memory(workspace: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--workspace", workspace, "--child", "memory"],
                         capture_output=True, text=True, timeout=900)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"memory child failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


# ----- main ---------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="/tmp/ws1m", help="workspace to open (ideally 1M spans)")
    parser.add_argument("--project", default="support-bot", help="project the logs page shows ('' for the first)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true", help="skip the per-page memory tour")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also measure this checkout of Loop TUI (e.g. main) in the same rounds")
    parser.add_argument("--child", choices=["minimal", "memory"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "minimal":
        child_minimal()
        return 0
    if args.child == "memory":
        child_memory(args.workspace)
        return 0
    if shutil.which("tmux") is None:
        raise SystemExit("ui_bench needs tmux (it measures in a real terminal)")

    subprocess.run([*TMUX, "new-session", "-d", "-s", "keep-server-up", "sleep 86400"], check=True)
    try:
        return _bench(args)
    finally:
        subprocess.run([*TMUX, "kill-server"], capture_output=True)


def _bench(args: argparse.Namespace) -> int:
    from loop_tui.store import Workspace

    spans = Workspace.open(args.workspace, create=False).query("SELECT count(*) AS n FROM project_logs")[0]["n"]
    for checkout in (REPO, *([args.baseline.resolve()] if args.baseline is not None else [])):
        compileall.compile_dir(checkout / "loop_tui", quiet=1)  # as an install leaves it (see the docstring)
    print(f"workspace {args.workspace}: {spans:,} log spans; tmux {SIZE[0]}×{SIZE[1]}; "
          f"{args.repeat} runs each, interleaved; medians\n")
    minimal: list[float] = []
    runs: list[dict[str, float]] = []
    baseline: list[dict[str, float]] = []
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits both alike
        minimal.append(measure_minimal())
        runs.append(measure_app(args.workspace, args.project or None, interact=True))
        if args.baseline is not None:
            baseline.append(measure_app(args.workspace, args.project or None, interact=False,
                                        repo=args.baseline.resolve()))
    base = statistics.median(minimal)

    def row(label: str, seconds: float, ratio: bool = True) -> None:
        print(f"{label:<52}{seconds:>9.3f}" + (f"{seconds / base:>14.2f}x" if ratio else ""))

    print(f"{'measure (launch → on screen, unless said)':<52}{'seconds':>9}{'vs minimal':>15}")
    row("minimal Textual app: first frame", base)
    row("Loop TUI: first frame", statistics.median(r["first_frame"] for r in runs))
    row("Loop TUI: logs page usable (first page of rows)", statistics.median(r["usable_logs"] for r in runs))
    row("  its process's CPU time until then", statistics.median(r["usable_cpu"] for r in runs), ratio=False)
    for key, label in (("experiments_drawn", "key 2 → experiments page drawn"),
                       ("experiments_rows", "key 2 → experiments listed"),
                       ("trace_drawn", "enter → trace view drawn"),
                       ("trace_tree", "enter → trace's spans shown")):
        row(label, statistics.median(r[key] for r in runs), ratio=False)
    if baseline:
        row(f"baseline {args.baseline}: first frame", statistics.median(r["first_frame"] for r in baseline))
        row("baseline: logs page usable", statistics.median(r["usable_logs"] for r in baseline))
        row("  its process's CPU time until then", statistics.median(r["usable_cpu"] for r in baseline), ratio=False)
    print(f"\nall runs (s): minimal {[round(m, 3) for m in minimal]}")
    print(f"              first frame {[round(r['first_frame'], 3) for r in runs]}")
    print(f"              logs usable {[round(r['usable_logs'], 3) for r in runs]}")
    if baseline:
        print(f"              baseline logs usable {[round(r['usable_logs'], 3) for r in baseline]}")
    if not args.no_memory:
        memory = _memory(args.workspace)
        print("\nresident memory after opening each page (one headless process, pages opened in this order):")
        for page, mb in memory.items():
            print(f"  {page:<12}{mb:>8.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
