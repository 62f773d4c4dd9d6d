"""BTQL speed benchmarks: queries through `loop_tui.btql.run` vs the DuckDB SQL a user would hand-write.

Two comparisons:

`--against parquet` (default; issue 15): writes a JSONL file of SDK-shaped spans (the demo generator's
support-bot traces, as the Braintrust SDK logs them), imports it into a fresh workspace with
`loop-tui import logs`, and in the same run builds one Parquet file from the same JSONL with DuckDB's
`read_json` (nested STRUCT columns, as inferred) and `COPY … TO 'logs.parquet'`. Then six typical log
queries run both ways (median of --repeat runs each) and it prints per-query ratios and their geometric
mean. Targets: geometric mean ≤ 1.2×, no query over 2×.

`--against views` (issue 3): a generated sample workspace, twelve queries through BTQL vs hand-written SQL
over the same DuckDB views (the BTQL layer's own overhead).

    python benchmarks/btql_bench.py [--spans 188720] [--repeat 7] [--dir DIR] [--keep]
    python benchmarks/btql_bench.py --against views [--spans 1000000] [--workspace DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def _workspace(path: Path, spans: int):
    from loop_tui.store import Workspace
    from loop_tui.store.demo import generate

    if path.exists():
        try:
            ws = Workspace.open(path, create=False)
            if ws.projects():
                return ws
        except Exception:  # noqa: BLE001 - a half-written cache is regenerated below
            pass
        import shutil

        shutil.rmtree(path)
    print(f"generating {spans:,} spans in {path} (once) …", flush=True)
    t = time.perf_counter()
    ws = generate(path, spans=spans, seed=1)
    print(f"  done in {time.perf_counter() - t:.0f} s", flush=True)
    return ws


def queries(since: str) -> list[tuple[str, str, str]]:
    """(name, BTQL, hand-written DuckDB SQL with ? = project id)."""
    p = "project_logs('support-bot')"
    return [
        ("recent errors", f"select: id, error, created | from: {p} | filter: is_root and error IS NOT NULL and created > '{since}' "
         "| sort: created desc | limit: 100",
         f"SELECT id, error, created FROM project_logs WHERE project_id = ? AND is_root AND error IS NOT NULL "
         f"AND created > TIMESTAMPTZ '{since}' ORDER BY created DESC, id LIMIT 100"),
        ("count by model", f"dimensions: metadata.model as model | measures: count(1) as n | from: {p} | sort: n desc",
         "SELECT _meta_model AS model, count(*) AS n FROM project_logs WHERE project_id = ? GROUP BY 1 ORDER BY n DESC"),
        ("tokens per day", f"dimensions: day(created) as time | measures: sum(metrics.tokens) as t, "
         f"sum(metrics.prompt_tokens) as p | from: {p} | sort: time",
         "SELECT date_trunc('day', created) AS time, sum(metrics['tokens']) AS t, sum(metrics['prompt_tokens']) AS p "
         "FROM project_logs WHERE project_id = ? GROUP BY 1 ORDER BY 1"),
        ("p95 latency by model", f"dimensions: metadata.model as m | measures: percentile(metrics.end - metrics.start, 0.95) as p95, "
         f"percentile(metrics.end - metrics.start, 0.5) as p50 | from: {p} | filter: span_attributes.type = 'llm'",
         "SELECT _meta_model AS m, quantile_cont(metrics['end'] - metrics['start'], 0.95) AS p95, "
         "quantile_cont(metrics['end'] - metrics['start'], 0.5) AS p50 FROM project_logs WHERE project_id = ? "
         "AND _span_type = 'llm' GROUP BY 1"),
        ("error rate model×day", f"dimensions: metadata.model as m, day(created) as d | measures: count(1) as total, "
         f"count(error) as errors, count(error) / count(1) as rate | from: {p} | sort: rate desc | limit: 20",
         "SELECT _meta_model AS m, date_trunc('day', created) AS d, count(*) AS total, count(error) AS errors, "
         "count(error) / count(*) AS rate FROM project_logs WHERE project_id = ? GROUP BY 1, 2 ORDER BY rate DESC LIMIT 20"),
        ("avg score by model", f"dimensions: metadata.model as m | measures: avg(scores.Factuality) as f | from: {p} "
         "| filter: scores.Factuality IS NOT NULL",
         "SELECT _meta_model AS m, avg(scores['Factuality']) AS f FROM project_logs WHERE project_id = ? "
         "AND scores['Factuality'] IS NOT NULL GROUP BY 1"),
        ("low scores", f"select: id, input, scores.Factuality | from: {p} | filter: scores.Factuality < 0.5 "
         "| sort: scores.Factuality asc | limit: 100",
         "SELECT id, input, scores['Factuality'] AS Factuality FROM project_logs WHERE project_id = ? "
         "AND scores['Factuality'] < 0.5 ORDER BY 3 ASC, id LIMIT 100"),
        ("top users (JSON path)", f"dimensions: metadata.user_id as u | measures: count(1) as n | from: {p} "
         "| filter: is_root | sort: n desc | limit: 10",
         "SELECT json_extract_string(metadata, '$.user_id') AS u, count(*) AS n FROM project_logs WHERE project_id = ? "
         "AND is_root GROUP BY 1 ORDER BY n DESC LIMIT 10"),
        ("full-text search", f"measures: count(1) as n | from: {p} | filter: input MATCH 'refund'",
         "SELECT count(*) AS n FROM project_logs WHERE project_id = ? AND "
         "list_contains(regexp_split_to_array(lower(input), '[^a-z0-9]+'), 'refund')"),
        ("traces with errors", f"select: id, root_span_id, error | from: {p} traces | filter: ANY_SPAN(error IS NOT NULL) "
         f"and created > '{since}' | limit: 20",
         "WITH hit AS (SELECT DISTINCT root_span_id FROM project_logs WHERE project_id = ? AND created > "
         f"TIMESTAMPTZ '{since}' AND root_span_id IN (SELECT root_span_id FROM project_logs WHERE project_id = $1 "
         "AND error IS NOT NULL) ORDER BY root_span_id LIMIT 20) SELECT id, root_span_id, error FROM project_logs "
         "WHERE project_id = $1 AND root_span_id IN (SELECT root_span_id FROM hit) ORDER BY root_span_id, id"),
        ("unpivot scores", f"dimensions: score | measures: avg(value) as a, count(1) as n | from: {p} "
         "| unpivot: scores as (score, value)",
         "SELECT k AS score, avg(v) AS a, count(*) AS n FROM (SELECT unnest(map_keys(scores)) AS k, "
         "unnest(map_values(scores)) AS v FROM project_logs WHERE project_id = ?) GROUP BY 1"),
        ("cost by model", f"dimensions: metadata.model as m | measures: sum(metrics.estimated_cost) as c | from: {p}",
         "SELECT _meta_model AS m, sum(metrics['estimated_cost']) AS c FROM project_logs WHERE project_id = ? GROUP BY 1"),
    ]


def median_time(fn, repeat: int) -> float:
    fn()  # warm-up (and schema/key cache)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", choices=["parquet", "views"], default="parquet")
    parser.add_argument("--spans", type=int, default=None, help="default: 188,720 (parquet), 1,000,000 (views)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workspace", type=Path, default=None,
                        help="views: the sample workspace to use; parquet: compare on this workspace's --project "
                             "(e.g. a 10M-span demo) instead of importing a JSONL")
    parser.add_argument("--project", default="support-bot", help="parquet with --workspace: the project to query")
    parser.add_argument("--dir", type=Path, default=None, help="parquet: folder for the JSONL, workspace and Parquet")
    parser.add_argument("--keep", action="store_true",
                        help="parquet: reuse the JSONL, workspace and Parquet file of an earlier run in --dir "
                             "(skip the import and the read_json)")
    parser.add_argument("--import-chunk", type=int, default=0,
                        help="parquet: import the JSONL in files of this many spans (several writes), 0 = one file")
    args = parser.parse_args()
    if args.against == "parquet" and args.workspace is not None:
        from btql_vs_parquet import compare_on_workspace

        compare_on_workspace(args)
        return
    if args.against == "parquet":
        from btql_vs_parquet import compare_with_parquet

        compare_with_parquet(args)
        return
    args.spans = args.spans or 1_000_000
    from loop_tui.btql import run

    path = args.workspace or Path(tempfile.gettempdir()) / f"loop-tui-btql-bench-{args.spans}"
    ws = _workspace(path, args.spans)
    con = ws.connect(sandboxed=True)
    project_id = ws.project("support-bot").id
    newest = con.execute("SELECT max(created) FROM project_logs").fetchone()[0]  # the data's own 'now'
    since = (newest - timedelta(days=7)).isoformat()
    rows = con.execute("SELECT count(*) FROM project_logs").fetchone()[0]
    print(f"workspace {path}: {rows:,} spans; median of {args.repeat} runs\n")
    print(f"{'query':26} {'btql s':>8} {'duckdb s':>9} {'ratio':>6}")
    ratios, total_b, total_d = [], 0.0, 0.0
    for name, btql_text, sql in queries(since):
        nparams = sql.count("?")
        params = [project_id] * nparams
        b = median_time(lambda q=btql_text: run(q, ws, timeout_s=None), args.repeat)
        d = median_time(lambda s=sql, p=params: con.execute(s, p).to_arrow_table(), args.repeat)
        ratios.append(b / d)
        total_b += b
        total_d += d
        print(f"{name:26} {b:8.3f} {d:9.3f} {b / d:6.2f}", flush=True)
    print(f"\noverall (sum of medians): btql {total_b:.3f} s, duckdb {total_d:.3f} s, ratio {total_b / total_d:.2f} "
          f"(target ≤ 1.2); worst query ratio {max(ratios):.2f} (target ≤ 2)")


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    main()
