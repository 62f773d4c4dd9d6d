"""Issue 15's comparison: six log queries through BTQL vs hand-written DuckDB SQL over one STRUCT Parquet file.

Used by `btql_bench.py --against parquet` (the default). Both sides start from the same JSONL of
SDK-shaped spans: BTQL reads the workspace `loop-tui import logs` made of it, the hand-written SQL reads
the Parquet file DuckDB's `read_json` infers from it (nested STRUCT columns) and `COPY … TO` writes.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT = "bench"
SRC = f"project_logs('{PROJECT}')"
# (name, BTQL, hand-written SQL over the Parquet file `logs`)
QUERIES: list[tuple[str, str, str]] = [
    ("error count",
     f"measures: count(1) as errors | from: {SRC} | filter: error IS NOT NULL",
     "SELECT count(*) AS errors FROM logs WHERE error IS NOT NULL"),
    ("llm calls by model",
     f"dimensions: metadata.model as model | measures: count(1) as calls | from: {SRC} "
     "| filter: span_attributes.type = 'llm'",
     "SELECT metadata.model AS model, count(*) AS calls FROM logs WHERE span_attributes.type = 'llm' GROUP BY 1"),
    ("root Factuality by day",
     f"dimensions: day(created) as day | measures: avg(scores.Factuality) as factuality | from: {SRC} "
     "| filter: is_root",
     "SELECT date_trunc('day', created) AS day, avg(scores.Factuality) AS factuality FROM logs WHERE is_root "
     "GROUP BY 1"),
    ("p95 duration by name",
     f"dimensions: span_attributes.name as name | measures: percentile(metrics.end - metrics.start, 0.95) as p95 "
     f"| from: {SRC}",
     "SELECT span_attributes.name AS name, quantile_cont(metrics.\"end\" - metrics.start, 0.95) AS p95 FROM logs "
     "GROUP BY 1"),
    ("newest low Factuality",
     f"select: id, created, input, scores.Factuality | from: {SRC} | filter: is_root and scores.Factuality < 0.5 "
     "| sort: created desc | limit: 100",
     "SELECT id, created, input, scores.Factuality AS Factuality FROM logs WHERE is_root AND scores.Factuality < 0.5 "
     "ORDER BY created DESC LIMIT 100"),
    ("tokens by model×day",
     f"dimensions: metadata.model as model, day(created) as day | measures: sum(metrics.tokens) as tokens "
     f"| from: {SRC}",
     "SELECT metadata.model AS model, date_trunc('day', created) AS day, sum(metrics.tokens) AS tokens FROM logs "
     "GROUP BY 1, 2"),
]


def sdk_row(stored: dict[str, Any]) -> dict[str, Any]:
    """A demo span (the store's column layout) as the Braintrust SDK logs it."""
    row: dict[str, Any] = {}
    for key, value in stored.items():
        if key.startswith("_") or value is None:
            continue
        if key in ("input", "output", "expected", "error", "metadata", "span_attributes", "origin"):
            value = json.loads(value)
        elif key in ("scores", "metrics"):
            value = dict(value)
        elif key == "created":
            value = value.isoformat().replace("+00:00", "Z")
        row[key] = value
    return row


def write_jsonl(path: Path, spans: int, seed: int = 1) -> int:
    """Support-bot traces over 30 days (the demo generator's), `spans` of them at least, one JSON line each."""
    from loop_tui.store.demo import text
    from loop_tui.store.demo.spans import IdMaker
    from loop_tui.store.demo.traces import TraceSettings, support_question, support_trace

    rng = random.Random(seed)
    ids = IdMaker(rng)
    end = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
    start = end - 30 * 86400
    n = 0
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as fh:
        while n < spans:
            t0 = start + (end - start) * n / spans
            model = rng.choices(["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet"], weights=[6, 3, 2])[0]
            s = TraceSettings(model=model, prompt_version="v2", quality=0.75, error_rate=0.04)
            question, reference = support_question(rng, rng.randrange(len(text.SUPPORT_TOPICS)))
            meta = {"user_id": f"user-{rng.randint(1, 1500):04d}", "region": rng.choice(["us-east", "eu-west"]),
                    "environment": "production"}
            trace, _ = support_trace(rng, ids, t0, s, question, reference, meta, tags=["prod"])
            for span in trace:
                fh.write(json.dumps(sdk_row(span), separators=(",", ":")) + "\n")
            n += len(trace)
    tmp.replace(path)
    return n


def import_workspace(jsonl: Path, workspace: Path, chunk: int) -> None:
    """`loop-tui import logs` the file (in chunks of `chunk` lines, one write each, when chunk > 0)."""
    files = [jsonl]
    if chunk > 0:
        files = []
        with open(jsonl) as src:
            part: list[str] = []
            for line in src:
                part.append(line)
                if len(part) == chunk:
                    files.append(_write_part(jsonl, len(files), part))
                    part = []
            if part:
                files.append(_write_part(jsonl, len(files), part))
    # The same code as this process (PYTHONPATH may point at another checkout, e.g. for a baseline run).
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parents[1])}
    for f in files:
        subprocess.run([sys.executable, "-m", "loop_tui", "--workspace", str(workspace), "import", "logs", str(f),
                        "--project", PROJECT], check=True, env=env, stdout=subprocess.DEVNULL)
        if f != jsonl:
            f.unlink()


def _write_part(jsonl: Path, i: int, lines: list[str]) -> Path:
    path = jsonl.with_name(f"{jsonl.stem}-part{i:03d}.jsonl")
    path.write_text("".join(lines))
    return path


def median_times(fns: list, repeat: int) -> list[float]:
    """Median wall time of each function over `repeat` rounds after one warm-up; the functions take turns
    within a round, so a busy machine slows both sides alike."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times, strict=True):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def compare_with_parquet(args: Any) -> None:
    """Build both sides from one JSONL file and time the six queries each way."""
    import duckdb

    from loop_tui.btql import run
    from loop_tui.store import Workspace

    spans = args.spans or 188_720
    folder = args.dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"loop-tui-btql-vs-parquet-{spans}"
    folder.mkdir(parents=True, exist_ok=True)
    jsonl, workspace, parquet = folder / "spans.jsonl", folder / "workspace", folder / "logs.parquet"
    if not (args.keep and jsonl.exists()):
        t = time.perf_counter()
        written = write_jsonl(jsonl, spans)
        print(f"wrote {written:,} SDK-shaped spans to {jsonl} ({jsonl.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t:.0f} s", flush=True)
    if not (args.keep and workspace.exists()):
        shutil.rmtree(workspace, ignore_errors=True)
        t = time.perf_counter()
        import_workspace(jsonl, workspace, args.import_chunk)
        print(f"loop-tui import logs: {time.perf_counter() - t:.0f} s", flush=True)
    if not (args.keep and parquet.exists() and parquet.stat().st_mtime >= jsonl.stat().st_mtime):
        t = time.perf_counter()
        parquet.unlink(missing_ok=True)
        build = duckdb.connect()
        build.execute(f"COPY (SELECT * FROM read_json('{jsonl}', maximum_object_size = 100000000)) "
                      f"TO '{parquet}' (FORMAT parquet)")
        print(f"DuckDB read_json + COPY to Parquet: {time.perf_counter() - t:.0f} s", flush=True)
        build.close()

    ws = Workspace.open(workspace, create=False)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{parquet}')")
    rows = con.sql("SELECT count(*) FROM logs").fetchall()[0][0]
    print(f"\n{rows:,} spans; median of {args.repeat} runs\n")
    print(f"{'query':24} {'btql ms':>8} {'duckdb ms':>9} {'ratio':>6}")
    ratios = []
    for name, btql_text, sql in QUERIES:
        b, d = median_times([lambda q=btql_text: run(q, ws, timeout_s=None),
                             lambda s=sql: con.sql(s).to_arrow_table()], args.repeat)
        ratios.append(b / d)
        print(f"{name:24} {b * 1000:8.1f} {d * 1000:9.1f} {b / d:6.2f}", flush=True)
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\ngeometric mean ratio {geo:.2f} (target ≤ 1.2); worst {max(ratios):.2f} (target ≤ 2)")


def _struct_of_keys(con: Any, column: str, kind: str) -> str:
    """SQL turning the store's `column` (JSON text, or a MAP when kind is 'map') into a STRUCT of every key
    it has in the workspace, as read_json would infer it from the spans' JSON."""
    if kind == "map":
        keys = [r[0] for r in con.execute(f"SELECT DISTINCT unnest(map_keys({column})) FROM logs_src").fetchall()]
        return "struct_pack(" + ", ".join(f"\"{k}\" := {column}['{k}']" for k in sorted(keys)) + f") AS {column}"
    keys = [r[0] for r in con.execute(f"SELECT DISTINCT unnest(json_keys({column})) FROM logs_src").fetchall()]
    shape = json.dumps({k: "VARCHAR" for k in sorted(keys)})
    return f"json_transform({column}, '{shape}') AS {column}"


def compare_on_workspace(args: Any) -> None:
    """The six queries on an existing workspace (e.g. `loop-tui demo --spans 10000000`), against a STRUCT
    Parquet file of the project's spans that DuckDB writes from the workspace itself (JSON text and maps
    turned into STRUCTs of every key present): for sizes where writing and importing the JSONL is too slow."""
    import duckdb

    from loop_tui.btql import run
    from loop_tui.store import Workspace

    ws = Workspace.open(args.workspace, create=False)
    project = ws.project(args.project)
    parquet = args.dir / "logs.parquet" if args.dir else Path(str(args.workspace).rstrip("/") + "-logs.parquet")
    if not (args.keep and parquet.exists()):
        t = time.perf_counter()
        build = ws.connect()
        build.execute("SET enable_progress_bar = false")
        build.execute(f"CREATE TEMP VIEW logs_src AS SELECT * FROM project_logs WHERE project_id = '{project.id}'")
        columns = ["id", "created", "is_root", "span_id", "root_span_id", "span_parents", "input", "output", "error",
                   _struct_of_keys(build, "metadata", "json"), _struct_of_keys(build, "span_attributes", "json"),
                   _struct_of_keys(build, "scores", "map"), _struct_of_keys(build, "metrics", "map")]
        build.execute(f"COPY (SELECT {', '.join(columns)} FROM logs_src) TO '{parquet}' (FORMAT parquet)")
        build.close()
        print(f"STRUCT Parquet of the project's spans written from the workspace: {time.perf_counter() - t:.0f} s "
              f"({parquet.stat().st_size / 1e6:.0f} MB)", flush=True)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{parquet}')")
    rows = con.sql("SELECT count(*) FROM logs").fetchall()[0][0]
    source = f"project_logs('{args.project}')"
    print(f"\n{rows:,} spans of project {args.project}; median of {args.repeat} runs (taking turns)\n")
    print(f"{'query':24} {'btql ms':>8} {'duckdb ms':>9} {'ratio':>6}")
    ratios = []
    for name, btql_text, sql in QUERIES:
        text = btql_text.replace(SRC, source)
        mine, theirs = run(text, ws, timeout_s=None).table, con.sql(sql).to_arrow_table()
        if name == "error count" and mine.column(0)[0].as_py() != theirs.column(0)[0].as_py():
            raise SystemExit(f"the two sides disagree on {name}: {mine} vs {theirs}")
        b, d = median_times([lambda q=text: run(q, ws, timeout_s=None),
                             lambda s=sql: con.sql(s).to_arrow_table()], args.repeat)
        ratios.append(b / d)
        print(f"{name:24} {b * 1000:8.1f} {d * 1000:9.1f} {b / d:6.2f}", flush=True)
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\ngeometric mean ratio {geo:.2f} (target ≤ 1.2); worst {max(ratios):.2f} (target ≤ 2)")
