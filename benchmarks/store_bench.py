"""Storage benchmark: write throughput and BTQL-style query times of the JSON representations.

Generates a 1M-span sample workspace (or reuses one: `--workspace DIR`), then rewrites the same logs
in four physical layouts and runs the same queries over each, printing medians and the ratio to the
layout the store uses (MAP scores/metrics + JSON text + shredded hot paths):

  chosen    scores/metrics MAP<VARCHAR,DOUBLE>, metadata JSON text, metadata.model shredded
  json      everything as JSON text (json_extract on every access)
  struct    scores/metrics as STRUCTs of the keys present, metadata JSON text
  variant   scores/metrics/metadata as DuckDB VARIANT

Usage: python benchmarks/store_bench.py [--spans 1000000] [--workspace DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from loop_tui.store import Workspace  # noqa: E402
from loop_tui.store.demo import generate  # noqa: E402

LAYOUTS = {
    "chosen": "SELECT id, created, is_root, error, input, metadata, _meta_model AS model, scores, metrics FROM project_logs",
    "json": "SELECT id, created, is_root, error, input, metadata, NULL::VARCHAR AS model, "
    "to_json(scores)::VARCHAR AS scores, to_json(metrics)::VARCHAR AS metrics FROM project_logs",
    "struct": None,  # built from the keys present
    "variant": "SELECT id, created, is_root, error, input, metadata::JSON::VARIANT AS metadata, NULL::VARCHAR AS model, "
    "to_json(scores)::VARIANT AS scores, to_json(metrics)::VARIANT AS metrics FROM project_logs",
}


def accessors(layout: str) -> dict[str, str]:
    """How each layout reads a score, a metric and metadata.model."""
    if layout == "chosen":
        return {"score": "scores['Factuality']", "tokens": "metrics['tokens']", "start": "metrics['start']", "model": "model"}
    if layout == "json":
        return {"score": "json_extract(scores, '$.Factuality')::DOUBLE", "tokens": "json_extract(metrics, '$.tokens')::DOUBLE",
                "start": "json_extract(metrics, '$.start')::DOUBLE", "model": "json_extract_string(metadata, '$.model')"}
    if layout == "struct":
        return {"score": "scores.Factuality", "tokens": "metrics.tokens", "start": "metrics.start",
                "model": "json_extract_string(metadata, '$.model')"}
    return {"score": "scores.Factuality::DOUBLE", "tokens": "metrics.tokens::DOUBLE", "start": "metrics.start::DOUBLE",
            "model": "metadata.model::VARCHAR"}


QUERIES = {
    "avg score": "SELECT avg({score}) FROM t",
    "filter score < 0.5": "SELECT count(*) FROM t WHERE {score} < 0.5",
    "tokens by model": "SELECT {model} AS m, count(*), sum({tokens}) FROM t GROUP BY m",
    "errors by day": "SELECT date_trunc('day', created) d, count(*) FROM t WHERE error IS NOT NULL GROUP BY d",
    "p95 duration by model": "SELECT {model} AS m, quantile_cont({tokens}, 0.95) FROM t WHERE is_root GROUP BY m",
    "text search": "SELECT count(*) FROM t WHERE input ILIKE '%refund%'",
    "latest 50 roots": "SELECT id, {score} FROM t WHERE is_root ORDER BY created DESC LIMIT 50",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="loop-bench-"))
    if args.workspace and (args.workspace / "loop-workspace.json").exists():
        ws = Workspace.open(args.workspace)
        print(f"reusing {args.workspace}")
    else:
        target = args.workspace or tmp / "ws"
        t0 = time.perf_counter()
        ws = generate(target, spans=args.spans, seed=1)
        elapsed = time.perf_counter() - t0
        n = ws.query("SELECT count(*) AS n FROM project_logs")[0]["n"]
        print(f"generate + write: {n:,} spans in {elapsed:.1f}s = {n / elapsed:,.0f} spans/s (generation included)")

    # Raw write throughput of the store (validation + Parquet + fsync), without the generator.
    project = ws.create_project(f"bench-{time.time_ns()}")
    rows = [{"input": {"q": f"question {i}"}, "output": "answer", "scores": {"s": 0.5}, "metadata": {"model": "m"},
             "metrics": {"start": 1.0, "end": 2.0, "tokens": 10}} for i in range(50_000)]
    t0 = time.perf_counter()
    ws.insert_rows("project_logs", project.id, rows, project_id=project.id)
    print(f"insert_rows: {len(rows) / (time.perf_counter() - t0):,.0f} rows/s (validated, one segment)")

    con = ws.connect()
    keys = {"scores": [r[0] for r in con.execute("SELECT DISTINCT unnest(map_keys(scores)) FROM project_logs").fetchall()],
            "metrics": [r[0] for r in con.execute("SELECT DISTINCT unnest(map_keys(metrics)) FROM project_logs").fetchall()]}
    struct = lambda col: "struct_pack(" + ", ".join(f'"{k}" := {col}[\'{k}\']' for k in keys[col]) + f") AS {col}"  # noqa: E731
    LAYOUTS["struct"] = f"SELECT id, created, is_root, error, input, metadata, NULL::VARCHAR AS model, {struct('scores')}, {struct('metrics')} FROM project_logs"
    files = {}
    for name, sql in LAYOUTS.items():
        files[name] = tmp / f"{name}.parquet"
        con.execute(f"COPY ({sql}) TO '{files[name]}' (FORMAT parquet, COMPRESSION zstd)")

    bench = duckdb.connect()
    results: dict[str, dict[str, float]] = {}
    for name, path in files.items():
        bench.execute(f"CREATE OR REPLACE VIEW t AS SELECT * FROM read_parquet('{path}')")
        acc = accessors(name)
        for qname, template in QUERIES.items():
            sql = template.format(**acc)
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                bench.execute(sql).fetchall()
                times.append(time.perf_counter() - t0)
            results.setdefault(qname, {})[name] = statistics.median(times)

    names = list(LAYOUTS)
    print(f"\nmedian of {args.repeat} runs (ms) and ratio to 'chosen' (>1 means slower than chosen)")
    print(f"{'query':<24}" + "".join(f"{n:>18}" for n in names))
    totals = dict.fromkeys(names, 0.0)
    for qname, by_layout in results.items():
        base = by_layout["chosen"]
        cells = []
        for n in names:
            totals[n] += by_layout[n]
            cells.append(f"{by_layout[n] * 1000:8.1f} ({by_layout[n] / base:4.2f}x)")
        print(f"{qname:<24}" + "".join(f"{c:>18}" for c in cells))
    print(f"{'TOTAL':<24}" + "".join(f"{totals[n] * 1000:8.1f} ({totals[n] / totals['chosen']:4.2f}x)".rjust(18) for n in names))
    sizes = "  ".join(f"{n}={files[n].stat().st_size / 1e6:.0f}MB" for n in names)
    print(f"\nfile sizes: {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
