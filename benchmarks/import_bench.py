"""Import benchmark: `loop-tui import logs` of an SDK-shaped span JSONL next to DuckDB's `read_json` of it.

Generates (once, cached in the temp dir) a JSONL file of N spans in the shape the Braintrust SDK logs them
(the demo generator's support-bot traces, written as Braintrust rows with the API's bookkeeping fields),
then runs, each in its own process so its peak RSS is its own, in the same run:
  - `loop-tui import logs FILE --project bench` into a fresh workspace, and
  - DuckDB: `CREATE TABLE t AS SELECT * FROM read_json(FILE)` (what a user would otherwise do).
Prints wall time, CPU time (user + system, all threads), peak RSS and the speed ratio (DuckDB's time / ours)
in both; on a shared machine the CPU ratio is the steadier one. Targets (issue 15): ratio >= 0.5,
peak RSS < 500 MB for a 2 GB file and independent of the file's size. With `--baseline DIR` (another
checkout, e.g. main's), each round also imports with that checkout's code, so both are measured in the
same rounds, under the same load.

    python benchmarks/import_bench.py [--spans 200000] [--repeat 3] [--baseline DIR] [--no-keep]
                                      [--out benchmarks/results_import.txt] [--timeline]

`--timeline` instead samples one import's threads (CPU seconds from /proc every 0.1 s) and prints how many
cores it kept busy over time: where the import's wall time is single-threaded, to be made parallel.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet"]


def generate(path: Path, spans: int, seed: int = 1) -> None:
    """Write `spans` SDK-shaped spans (whole traces; the last trace may run a few spans over)."""
    from loop_tui.store.demo import text
    from loop_tui.store.demo.spans import IdMaker
    from loop_tui.store.demo.traces import TraceSettings, support_question, support_trace
    from loop_tui.store.schema import row_to_braintrust

    rng = random.Random(seed)
    ids = IdMaker(rng)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    t0, written = 1.7e9, 0
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        while written < spans:
            t0 += rng.random() * 5
            model = rng.choice(MODELS)
            settings = TraceSettings(model=model, prompt_version=rng.choice(["v1", "v2"]), quality=0.75,
                                     error_rate=0.05)
            question, reference = support_question(rng, rng.randrange(len(text.SUPPORT_TOPICS)))
            meta = {"user_id": f"user-{rng.randint(1, 1500):04d}", "region": rng.choice(["us-east", "eu-west"])}
            trace, _ = support_trace(rng, ids, t0, settings, question, reference, meta, tags=["prod"])
            for span in trace:
                row = row_to_braintrust("project_logs", {**span, "_xact_id": 1000 + written, "project_id": "proj",
                                                         "experiment_id": None, "_object_delete": False})
                row.update({"org_id": "org", "log_id": "g", "_pagination_key": f"p{written:012d}"})
                fh.write(encode(row) + "\n")
                written += 1
    tmp.replace(path)


def measure(argv: list[str], code: Path = ROOT) -> tuple[float, float, float]:
    """Run `argv` as a child (importing loop_tui from `code`); (wall seconds, CPU seconds, the child's own peak
    RSS in MB). Fails on a failed run."""
    started = time.perf_counter()
    # cwd too: `python -m` puts the working folder first on sys.path, ahead of PYTHONPATH (run from another
    # checkout, the baseline measured that checkout's code).
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=code,
                            env={**os.environ, "PYTHONPATH": str(code)})
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {err.strip()[-500:]}")
    if out.strip():
        print("   ", out.strip().splitlines()[-1])
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def timeline(argv: list[str], code: Path = ROOT, step: float = 0.1) -> list[str]:
    """Run `argv` as a child, sampling each of its threads' CPU time every `step` seconds; lines saying, per
    stretch of wall time, how many cores it kept busy and how many threads did the work (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=code, env={**os.environ, "PYTHONPATH": str(code)})
    started, before, samples = time.perf_counter(), {}, []
    while proc.poll() is None:
        now: dict[str, float] = {}
        try:
            for tid in os.listdir(f"/proc/{proc.pid}/task"):
                try:
                    with open(f"/proc/{proc.pid}/task/{tid}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                now[tid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        except OSError:
            break
        used = {tid: cpu - before.get(tid, 0.0) for tid, cpu in now.items() if cpu > before.get(tid, 0.0)}
        samples.append((time.perf_counter() - started, used))
        before.update(now)
        time.sleep(step)
    lines, last, cpu, working = [], 0.0, 0.0, set()
    for at, used in samples[1:]:  # in stretches of half a second
        cpu += sum(used.values())
        working.update(tid for tid, v in used.items() if v >= 0.01)
        if at - last >= 0.5 or at == samples[-1][0]:
            lines.append(f"  {last:5.1f}-{at:5.1f} s  {cpu / max(at - last, 1e-9):4.1f} cores busy, "
                         f"{len(working)} threads working")
            last, cpu, working = at, 0.0, set()
    total = sum(sum(u.values()) for _, u in samples)
    lines.append(f"  {last:.1f} s wall, {total:.1f} s CPU ({total / max(last, 1e-9):.2f} cores on average)")
    return lines


def run_once(source: Path, work: Path, baseline: Path | None = None) -> dict[str, float]:
    """One import (and one with the baseline's code) and one DuckDB read of `source`; their times and peak RSS."""
    import shutil

    ws = work / "ws"
    result: dict[str, float] = {}
    if baseline is not None:
        shutil.rmtree(ws, ignore_errors=True)
        base, base_cpu, base_rss = measure([sys.executable, "-m", "loop_tui.cli.main", "import", "logs", str(source),
                                            "--project", "bench", "--workspace", str(ws)], code=baseline)
        result = {"baseline_s": base, "baseline_cpu": base_cpu, "baseline_mb": base_rss}
    shutil.rmtree(ws, ignore_errors=True)
    ours, ours_cpu, ours_rss = measure([sys.executable, "-m", "loop_tui.cli.main", "import", "logs", str(source),
                              "--project", "bench", "--workspace", str(ws)])
    script = ("import duckdb, sys; c = duckdb.connect(); c.execute('SET enable_progress_bar = false'); "
              "c.execute('CREATE TABLE t AS SELECT * FROM read_json(?)', [sys.argv[1]]); "
              "print(c.execute('SELECT count(*) FROM t').fetchall()[0][0], 'rows read by DuckDB')")
    duck, duck_cpu, duck_rss = measure([sys.executable, "-c", script, str(source)])
    shutil.rmtree(ws, ignore_errors=True)
    return {**result, "import_s": ours, "import_cpu": ours_cpu, "import_mb": ours_rss,
            "duckdb_s": duck, "duckdb_cpu": duck_cpu, "duckdb_mb": duck_rss}


def main() -> None:
    """Generate (or reuse) the file, measure, print and append the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds, each one import then one DuckDB read (the median of each is reported)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "loop-tui-import-bench")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_import.txt")
    parser.add_argument("--baseline", type=Path, help="another checkout whose import is measured in the same rounds")
    parser.add_argument("--timeline", action="store_true",
                        help="print how many cores one import keeps busy over time (nothing is appended to --out)")
    parser.add_argument("--no-keep", dest="keep", action="store_false",
                        help="delete the generated file at the end (kept for the next run by default)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    source = args.dir / f"sdk-spans-{args.spans}.jsonl"
    if not source.exists():
        print(f"generating {args.spans:,} spans in {source} (once) …", flush=True)
        started = time.perf_counter()
        generate(source, args.spans)
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    size_mb = source.stat().st_size / 1e6
    if args.timeline:
        ws = args.dir / "ws"
        import shutil

        shutil.rmtree(ws, ignore_errors=True)
        print(f"one import of {source.name} (load average {os.getloadavg()[0]:.1f}):")
        print("\n".join(timeline([sys.executable, "-m", "loop_tui.cli.main", "import", "logs", str(source),
                                  "--project", "bench", "--workspace", str(ws)])))
        shutil.rmtree(ws, ignore_errors=True)
        return
    runs = []
    for n in range(args.repeat):
        print(f"run {n + 1}/{args.repeat} on {source.name} ({size_mb:,.0f} MB)", flush=True)
        runs.append(run_once(source, args.dir, args.baseline))
    # The machine is shared: rounds alternate the two, and the median of each is steadier than the best.
    # Peak memory is the highest of the rounds.
    best = {key: (max if key.endswith("_mb") else statistics.median)(r[key] for r in runs) for key in runs[0]}
    ratio = best["duckdb_s"] / best["import_s"]
    lines = [
        f"import_bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.spans:,} spans, {size_mb:,.0f} MB JSONL, "
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}), median of {args.repeat} alternating rounds (peak RSS: the highest)",
    ]
    if args.baseline is not None:
        lines += [
            f"  baseline ({_commit(args.baseline)}) {best['baseline_s']:7.2f} s wall {best['baseline_cpu']:7.2f} s CPU   "
            f"peak RSS {best['baseline_mb']:6.0f} MB   {size_mb / best['baseline_s']:6.1f} MB/s   "
            f"ratio {best['duckdb_s'] / best['baseline_s']:.2f}x wall, {best['duckdb_cpu'] / best['baseline_cpu']:.2f}x CPU",
        ]
    lines += [
        f"  loop-tui import logs ({_commit(ROOT)}) {best['import_s']:7.2f} s wall {best['import_cpu']:7.2f} s CPU   "
        f"peak RSS {best['import_mb']:6.0f} MB   {size_mb / best['import_s']:6.1f} MB/s",
        f"  duckdb read_json       {best['duckdb_s']:7.2f} s wall {best['duckdb_cpu']:7.2f} s CPU   "
        f"peak RSS {best['duckdb_mb']:6.0f} MB   {size_mb / best['duckdb_s']:6.1f} MB/s",
        f"  speed ratio (duckdb time / import time) {ratio:.2f}x wall, "
        f"{best['duckdb_cpu'] / best['import_cpu']:.2f}x CPU  (target >= 0.5x)",
    ]
    print("\n".join(lines))
    with open(args.out, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n\n")
    if not args.keep:
        source.unlink()


def _commit(checkout: Path) -> str:
    """The short commit a checkout is at (its folder's name when it is not a git checkout, e.g. an archive)."""
    if not (checkout / ".git").exists():
        return checkout.name
    try:
        return subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


if __name__ == "__main__":
    main()
