"""Eval engine throughput: 1,000 rows x 3 heuristic scorers against the fake model server.

The fake server (a separate process on 127.0.0.1) answers every request after 100 ms; at concurrency 50
the ideal wall time is rows x latency / concurrency = 2.0 s. We print our wall time, the ideal and the
ratio (target <= 1.2x), then run the same workload through the `braintrust` SDK's `Eval()` (no_send_logs,
autoevals scorers, the same HTTP provider for the model call) in the same run and print its ratio.

Each contender runs `--repeat` times (default 3), interleaved, and the medians are printed: the machine
is shared, and one round can be slowed by someone else's work.

    python benchmarks/eval_bench.py [--rows 1000] [--latency-ms 100] [--concurrency 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FAKE_KEY = "sk-bench"
PROMPT = {"messages": [{"role": "user", "content": "{{input}}"}], "params": {}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(latency_ms: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_model_server",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the fake model server did not start")


def make_provider(base_url: str, concurrency: int):
    from loop_tui.llm.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(
        name="bench", base_url=base_url, api_key_env="BENCH_KEY", env={"BENCH_KEY": FAKE_KEY}, timeout_s=30.0
    )


def dataset(rows: int) -> list[dict]:
    # The server echoes "echo: <input>"; a third of the rows expect something else so scores vary.
    return [
        {
            "id": f"row-{i}",
            "input": f"question {i}",
            "expected": f"echo: question {i}" if i % 3 else f"answer {i}",
        }
        for i in range(rows)
    ]


async def run_ours(base_url: str, rows: list[dict], concurrency: int) -> tuple[float, dict]:
    from loop_tui.evals.prompt import PromptSpec
    from loop_tui.evals.runner import run_experiment
    from loop_tui.evals.summary import summarize
    from loop_tui.gc_pause import collect_only_new_objects
    from loop_tui.store import Workspace

    ws = Workspace.open(Path(tempfile.mkdtemp(prefix="eval-bench-")) / "ws")
    ws.create_project("bench")
    provider = make_provider(base_url, concurrency)
    started = time.perf_counter()
    with collect_only_new_objects():  # as the CLI and the app run it
        result = await run_experiment(
            ws,
            "bench",
            PromptSpec.from_dict(PROMPT),
            rows,
            ["ExactMatch", "Levenshtein", "JSONDiff"],
            provider=provider,
            model="gpt-4o-mini",
            concurrency=concurrency,
        )
    wall = time.perf_counter() - started
    await provider.aclose()
    summary = summarize(ws, result.experiment_id)
    return wall, {name: round(s.score or 0, 4) for name, s in summary.scores.items()} | {
        "errors": result.errors
    }


async def run_floor(base_url: str, rows: list[dict], concurrency: int) -> float:
    """The same model calls through the same provider with nothing else: the transport's own floor."""
    from loop_tui.evals.model_call import call_model

    provider = make_provider(base_url, concurrency)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(row: dict) -> None:
        async with semaphore:
            await call_model(provider, [{"role": "user", "content": row["input"]}], model="gpt-4o-mini")

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in rows))
    wall = time.perf_counter() - started
    await provider.aclose()
    return wall


def run_braintrust(base_url: str, rows: list[dict], concurrency: int) -> tuple[float, dict] | str:
    try:
        from autoevals import ExactMatch, JSONDiff, Levenshtein
        from braintrust import Eval
    except ImportError as exc:
        return f"skipped: braintrust/autoevals not importable ({exc.name}); pip install braintrust autoevals"
    from loop_tui.evals.model_call import call_model

    provider = make_provider(base_url, concurrency)

    async def task(input: str) -> str:
        reply = await call_model(provider, [{"role": "user", "content": input}], model="gpt-4o-mini")
        return reply.text

    os.environ.setdefault("BRAINTRUST_API_KEY", "")
    started = time.perf_counter()
    result = Eval(
        "eval-bench",
        data=lambda: [{"input": r["input"], "expected": r["expected"]} for r in rows],
        task=task,
        scores=[ExactMatch, Levenshtein, JSONDiff],
        max_concurrency=concurrency,
        no_send_logs=True,
    )
    wall = time.perf_counter() - started
    scores = {name: round(s.score, 4) for name, s in result.summary.scores.items()}
    return wall, scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--skip-braintrust", action="store_true")
    args = parser.parse_args()
    rows = dataset(args.rows)
    ideal = args.rows * args.latency_ms / 1000 / args.concurrency
    proc, base_url = start_server(args.latency_ms)
    floors: list[float] = []
    walls: list[float] = []
    bt_walls: list[float] = []
    scores: dict = {}
    bt_scores: dict = {}
    bt_skipped = ""
    try:
        asyncio.run(run_ours(base_url, rows[:20], args.concurrency))  # warm-up: imports, first connections
        # Rounds interleave the contenders so that load from other processes hits them alike.
        for _ in range(max(args.repeat, 1)):
            floors.append(asyncio.run(run_floor(base_url, rows, args.concurrency)))
            wall, scores = asyncio.run(run_ours(base_url, rows, args.concurrency))
            walls.append(wall)
            if args.skip_braintrust or bt_skipped:
                continue
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                bt = run_braintrust(base_url, rows, args.concurrency)  # quiet: Eval()'s progress bars and summary
            if isinstance(bt, str):
                bt_skipped = bt
            else:
                bt_walls.append(bt[0])
                bt_scores = bt[1]
    finally:
        proc.terminate()
        proc.wait(5)
    floor, wall = statistics.median(floors), statistics.median(walls)
    print(
        f"workload: {args.rows} rows x 3 heuristic scorers, {args.latency_ms:g} ms latency, "
        f"concurrency {args.concurrency}; medians of {len(walls)} interleaved rounds"
    )
    print(f"ideal (rows x latency / concurrency): {ideal:.2f} s")
    print(f"transport floor (the same calls, no eval engine): {floor:.2f} s  ratio {floor / ideal:.2f}x")
    print(
        f"loop-tui run_experiment: {wall:.2f} s  ratio {wall / ideal:.2f}x  (target <= 1.2x; "
        f"{wall / floor:.2f}x the floor)  scores {scores}"
    )
    print(f"  rounds: {' '.join(f'{w:.2f}' for w in walls)} s")
    if bt_skipped:
        print(f"braintrust Eval(): {bt_skipped}")
    elif bt_walls:
        bt_wall = statistics.median(bt_walls)
        print(f"braintrust Eval() (no_send_logs): {bt_wall:.2f} s  ratio {bt_wall / ideal:.2f}x  scores {bt_scores}")
        print(f"  rounds: {' '.join(f'{w:.2f}' for w in bt_walls)} s")
        print(f"loop-tui is {bt_wall / wall:.2f}x {'faster' if wall < bt_wall else 'slower'} than Eval()")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
