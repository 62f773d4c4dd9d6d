"""Sync benchmark: pull N spans from the fake Braintrust (pages of 1,000) into a fresh workspace.

Printed beside a baseline measured in the same run against the same server: a bare httpx loop that pages
through the same `/btql` query in the same format (`fmt: "jsonl"`, the cursor in `x-bt-cursor`) and decodes
every row, writing nothing. Target: our spans/s >= 0.7x the
bare loop's. Each side runs in its own process (so its peak RSS is its own), the server in a third; peak
memory is also measured at N/4 spans, to show it is bounded by the page and batch size, not the project.

Usage: python benchmarks/sync_bench.py [--spans 200000] [--page 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def measure(spans: int, page: int, repeats: int) -> dict:
    """Start a server with `spans` spans; time the bare loop and our pull against it (best of `repeats`)."""
    server = subprocess.Popen([sys.executable, __file__, "--child", "serve", str(spans)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        info = json.loads(server.stdout.readline())
        best_bare, best_pull = None, None
        for _ in range(repeats):
            b = _child("bare", info["url"], info["project_id"], str(page))
            with tempfile.TemporaryDirectory() as tmp:
                p = _child("pull", info["url"], str(Path(tmp) / "ws"), str(page))
            assert b["rows"] == spans and p["rows"] == spans, (b, p)
            best_bare = b if best_bare is None or b["seconds"] < best_bare["seconds"] else best_bare
            best_pull = p if best_pull is None or p["seconds"] < best_pull["seconds"] else best_pull
        return {"bare": best_bare, "pull": best_pull}
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        role, *rest = args.child
        {"serve": lambda: serve(int(rest[0])), "bare": lambda: bare(rest[0], rest[1], int(rest[2])),
         "pull": lambda: pull(rest[0], rest[1], int(rest[2]))}[role]()
        return
    small = measure(args.spans // 4, args.page, 1)
    full = measure(args.spans, args.page, args.repeats)
    bare_rate = full["bare"]["rows"] / full["bare"]["seconds"]
    pull_rate = full["pull"]["rows"] / full["pull"]["seconds"]
    print(f"pull {args.spans:,} spans, pages of {args.page:,} (best of {args.repeats})")
    for label, side, rate in (("bare httpx loop", full["bare"], bare_rate), ("loop-tui pull  ", full["pull"], pull_rate)):
        print(f"  {label} : {rate:>9,.0f} spans/s  ({side['seconds']:.2f} s, client CPU {side['cpu_s']:.2f} s, "
              f"peak {side['peak_mb']:.0f} MB)")
    print(f"  ratio           : {pull_rate / bare_rate:.2f}x of the bare loop (target >= 0.70)")
    print(f"  peak memory     : {small['pull']['peak_mb']:.0f} MB at {args.spans // 4:,} spans, "
          f"{full['pull']['peak_mb']:.0f} MB at {args.spans:,}")
    print(f"  machine load    : {os.getloadavg()[0]:.1f} (1-minute average, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
