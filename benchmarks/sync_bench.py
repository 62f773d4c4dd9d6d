"""Sync benchmark: pull N spans from the fake Braintrust (pages of 1,000) into a fresh workspace.

Printed beside a baseline measured in the same run against the same server: a bare httpx loop that pages
through the same `/btql` query in the same format (`fmt: "jsonl"`, the cursor in `x-bt-cursor`) and decodes
every row, writing nothing. Target: our spans/s >= 0.7x the
bare loop's. Each side runs in its own process (so its peak RSS is its own), the server in a third; peak
memory is also measured at N/4 spans, to show it is bounded by the page and batch size, not the project.

Usage: python benchmarks/sync_bench.py [--spans 200000] [--page 1000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "sk-fakebraintrust-0123456789abcdef"


def serve(spans: int) -> None:
    """Child: a fake Braintrust holding `spans` log spans; prints its URL and the project id, then waits."""
    from tests.fake_braintrust import FakeBraintrust
    from tests.fake_braintrust.helpers import seed_logs

    fake = FakeBraintrust().start()
    project_id = seed_logs(fake, spans, per_write=1000)
    fake.state.history_desc("project_logs", project_id)  # sort once before timing starts
    print(json.dumps({"url": fake.url, "project_id": project_id}), flush=True)
    sys.stdin.read()


def bare(url: str, project_id: str, page: int) -> None:
    """Child: page through /btql with plain httpx, decoding each page; prints spans, seconds, peak RSS."""
    import httpx

    started = time.perf_counter()
    rows = 0
    cursor = None
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(timeout=60) as client:
        while True:
            query = {"select": [{"op": "star"}], "limit": page, "cursor": cursor,
                     "from": {"op": "function", "name": {"op": "ident", "name": ["project_logs"]},
                              "args": [{"op": "literal", "value": project_id}]}}
            reply = client.post(f"{url}/btql", json={"query": query, "fmt": "jsonl"}, headers=headers)
            decoded = [json.loads(line) for line in reply.content.splitlines() if line]
            rows += len(decoded)
            cursor = reply.headers.get("x-bt-cursor")
            if not cursor or not decoded:
                break
    _report(rows, time.perf_counter() - started)


def pull(url: str, workspace: str, page: int) -> None:
    """Child: `sync pull` of the project's logs into a fresh workspace; prints spans, seconds, peak RSS."""
    from loop_tui.remote.client import BraintrustClient
    from loop_tui.remote.connection import Connection
    from loop_tui.remote.pull import PullOptions, pull_project
    from loop_tui.store import Workspace

    ws = Workspace.open(workspace)
    conn = Connection(app_url=url, api_url=url, org_name=None)
    started = time.perf_counter()
    with BraintrustClient(conn, env={"BRAINTRUST_API_KEY": KEY}) as client:
        report = pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=page))
    elapsed = time.perf_counter() - started
    assert ws.query("SELECT count(*) AS n FROM project_logs")[0]["n"] == report.totals()["written"]
    _report(report.totals()["written"], elapsed)


def _report(rows: int, seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = usage.ru_utime + usage.ru_stime  # the client's own CPU (imports included), whatever the machine's load
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "cpu_s": cpu_s}), flush=True)


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(spans: int, page: int, rounds: int) -> dict:
    """Start a server with `spans` spans; time the bare loop and our pull against it in alternating rounds
    (bare then pull, then pull then bare, ...), so a burst of load on the shared machine falls on both."""
    server = subprocess.Popen([sys.executable, __file__, "--child", "serve", str(spans)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        info = json.loads(server.stdout.readline())
        runs: dict[str, list[dict]] = {"bare": [], "pull": []}
        for index in range(rounds):
            for side in ("bare", "pull") if index % 2 == 0 else ("pull", "bare"):
                if side == "bare":
                    result = _child("bare", info["url"], info["project_id"], str(page))
                else:
                    with tempfile.TemporaryDirectory() as tmp:
                        result = _child("pull", info["url"], str(Path(tmp) / "ws"), str(page))
                assert result["rows"] == spans, result
                result["load"] = os.getloadavg()[0]
                runs[side].append(result)
        return runs
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        role, *rest = args.child
        {"serve": lambda: serve(int(rest[0])), "bare": lambda: bare(rest[0], rest[1], int(rest[2])),
         "pull": lambda: pull(rest[0], rest[1], int(rest[2]))}[role]()
        return
    small = measure(args.spans // 4, args.page, 1)
    full = measure(args.spans, args.page, args.rounds)
    rates = {side: [r["rows"] / r["seconds"] for r in runs] for side, runs in full.items()}
    ratios = [p / b for p, b in zip(rates["pull"], rates["bare"], strict=True)]
    print(f"pull {args.spans:,} spans, pages of {args.page:,} ({args.rounds} alternating rounds, medians)")
    for label, side in (("bare httpx loop", "bare"), ("loop-tui pull  ", "pull")):
        runs = full[side]
        print(f"  {label} : {statistics.median(rates[side]):>9,.0f} spans/s  ({_median(runs, 'seconds'):.2f} s, "
              f"client CPU {_median(runs, 'cpu_s'):.2f} s, peak {_median(runs, 'peak_mb'):.0f} MB)")
    print(f"  ratio           : {statistics.median(ratios):.2f}x of the bare loop (target >= 0.70); "
          f"per round {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"  peak memory     : {small['pull'][0]['peak_mb']:.0f} MB at {args.spans // 4:,} spans, "
          f"{max(r['peak_mb'] for r in full['pull']):.0f} MB at {args.spans:,}")
    loads = [r["load"] for side in full.values() for r in side]
    print(f"  machine load    : {statistics.median(loads):.1f} (1-minute average, median of the runs; "
          f"{min(loads):.1f}-{max(loads):.1f}; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
