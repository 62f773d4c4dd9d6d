"""`loop-tui btql QUERY`: run a BTQL query (pipe syntax, SQL or ParsedQuery JSON) from the shell.

Text from the data never reaches a terminal raw: the table shows control characters as symbols (␛, ␇…),
CSV does so only when stdout is a terminal (CSV into a file or a pipe stays byte-faithful), and JSON/JSONL
escape them as JSON does (`\u001b`).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from loop_tui.safe_text import one_line, visible

FORMATS = ("table", "json", "jsonl", "csv")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `btql` subcommand."""
    p = subparsers.add_parser(
        "btql", help="run a BTQL or SQL query over the workspace",
        description="Run a BTQL query (pipe syntax, Braintrust SQL or ParsedQuery JSON). Exit 0 on success, 2 on an error.",
    )
    p.add_argument("query", metavar="QUERY", help="the query text, or - to read it from stdin")
    p.add_argument("--project", "-p", help="project name or id (the default for from: and name lookups)")
    p.add_argument("--format", "-f", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--tz-offset", type=int, default=None, metavar="MIN",
                   help="time zone for day()/hour() buckets, minutes as JS getTimezoneOffset (480 = US Pacific)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="page size (overrides the query's limit)")
    p.add_argument("--cursor", default=None, help="continue from the cursor a previous page returned")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="stop the query after S seconds")
    p.add_argument("--explain", action="store_true", help="print the parsed query (ParsedQuery JSON) and the SQL; do not run")
    p.add_argument("--remote", action="store_true",
                   help="run the query on Braintrust (BRAINTRUST_API_KEY), not on the local workspace")
    p.set_defaults(func=run)
    return p


def _read_query(text: str) -> str:
    if text == "-":
        return sys.stdin.read()
    return text


def run(args: argparse.Namespace) -> int:
    """Execute the subcommand; returns the exit code."""
    from loop_tui.btql import BtqlError
    from loop_tui.errors import UserError
    from loop_tui.store import open_workspace

    query = _read_query(args.query)
    if args.limit is not None and args.limit < 0:
        raise UserError("--limit must be zero or more")
    ws = None if args.remote else open_workspace(args.workspace)
    try:
        if args.remote:  # Braintrust evaluates the text as it is
            from loop_tui.remote.remote_btql import run_with_settings

            result = run_with_settings(query, args.cursor)
        elif args.explain:
            from loop_tui.btql import explain

            ast_json, sql = explain(query, ws, args.project)
            if args.format in ("json", "jsonl"):
                print(json.dumps({"ast": ast_json, "sql": sql}))
            else:
                print(json.dumps(ast_json, indent=2))
                print()
                print(visible(sql))
            return 0
        else:
            from loop_tui.btql import run as run_query

            result = run_query(query, ws, args.project, tz_offset=args.tz_offset, limit=args.limit,
                               cursor=args.cursor, timeout_s=args.timeout)
    except BtqlError as err:
        if args.format == "json":
            print(json.dumps({"error": err.to_dict()}))
        else:
            sys.stderr.write(visible(err.render(query)) + "\n")
        return 2
    for warning in result.warnings:
        sys.stderr.write(f"warning: {visible(warning)}\n")
    _print(result, args.format)
    return 0


def _print(result: Any, fmt: str) -> None:
    from loop_tui.btql.rows import json_schema, table_rows

    rows = table_rows(result.table)
    if fmt == "json":
        print(json.dumps({"data": rows, "schema": json_schema(result.table), "cursor": result.cursor}, default=str))
    elif fmt == "jsonl":
        for row in rows:
            print(json.dumps(row, default=str))
    elif fmt == "csv":
        # On a terminal the CSV is for reading: show controls as symbols. Into a file it stays faithful.
        shown = visible if sys.stdout.isatty() else str
        writer = csv.writer(sys.stdout)
        writer.writerow([shown(name) for name in result.table.column_names])
        for row in rows:
            writer.writerow([shown(_cell(v, None)) for v in row.values()])
    else:
        _print_table(result.table.column_names, rows, result.cursor)


def _cell(value: Any, width: int | None) -> str:
    if value is None:
        text = "" if width is None else "null"
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if width is None:  # CSV: the writer quotes newlines, the caller decides about controls
        return text
    text = one_line(text)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _print_table(names: list[str], rows: list[dict[str, Any]], cursor: str | None) -> None:
    width = 40
    cells = [[_cell(r[n], width) for n in names] for r in rows]
    names = [one_line(n) for n in names]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    print(line(names))
    print(line(["-" * w for w in widths]))
    for c in cells:
        print(line(c))
    footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    if cursor:
        footer += f"  next page: --cursor {cursor}"
    print(footer)
