"""`infer_schema`: fields and JSON paths of a source with types, fill rates and example values."""

from __future__ import annotations

import json
from typing import Any

from loop_tui.btql.schema import columns_for
from loop_tui.btql.shapes import source_sql
from loop_tui.btql.sources import ResolvedSource

_JSON_TYPES = {"VARCHAR": "string", "BIGINT": "number", "UBIGINT": "number", "DOUBLE": "number", "BOOLEAN": "boolean",
               "OBJECT": "object", "ARRAY": "array", "NULL": "null"}
_COL_TYPES = {"str": "string", "int": "integer", "num": "number", "bool": "boolean", "datetime": "datetime",
              "json": "json", "map": "object<number>", "array": "array<string>"}
MAX_DEPTH = 3


def _example(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 80:
        return value[:77] + "..."
    return value if isinstance(value, int | float | bool | str) or value is None else str(value)[:80]


def infer_fields(con: Any, src: ResolvedSource, sample_rows: int) -> list[Any]:
    """Sample up to `sample_rows` rows (newest first) and describe every column and JSON path in them."""
    from loop_tui.btql.api import FieldInfo

    params: dict[str, Any] = {f"id{i}": v for i, v in enumerate(src.ids)}
    params.update(kind=src.row_kind, n=sample_rows)
    base = source_sql(src.view, src.column, [f"CAST($id{i} AS VARCHAR)" for i in range(len(src.ids))],
                      "CAST($kind AS VARCHAR)" if src.row_kind else None)
    sample = f"(SELECT * FROM ({base}) ORDER BY created DESC LIMIT CAST($n AS BIGINT))"
    if not src.row_kind:
        params.pop("kind")
    total = con.execute(f"SELECT count(*) FROM {sample}", params).fetchall()[0][0]
    fields: list[Any] = []
    if total == 0:
        return [FieldInfo(name, _COL_TYPES[t], 0.0, []) for name, (t, _, _) in columns_for(src.view).items()]
    for name, (ctype, sql, _) in columns_for(src.view).items():
        if name == "_pagination_key":
            continue
        filled, examples = con.execute(
            f"SELECT count({sql}), list(DISTINCT CAST({sql} AS VARCHAR)) FILTER (WHERE {sql} IS NOT NULL)[1:3] "
            f"FROM {sample}", params).fetchall()[0]
        fields.append(FieldInfo(name, _COL_TYPES[ctype], filled / total, [_example(e) for e in (examples or [])]))
        if ctype == "map":
            rows = con.execute(
                f"SELECT k, count(v), list(DISTINCT v)[1:3] FROM (SELECT unnest(map_keys({sql})) AS k, "
                f"unnest(map_values({sql})) AS v FROM {sample}) GROUP BY k ORDER BY k", params).fetchall()
            fields += [FieldInfo(f"{name}.{k}", "number", n / total, list(ex or [])) for k, n, ex in rows]
        elif ctype == "json" and sql == f'"{name}"':
            rows = con.execute(
                f"SELECT jt.fullkey, jt.type, count(DISTINCT s.id), list(DISTINCT jt.value)[1:3] FROM {sample} s, "
                f"json_tree(s.{sql}) jt WHERE jt.fullkey <> '$' AND len(jt.fullkey) - len(replace(jt.fullkey, '.', '')) "
                f"<= {MAX_DEPTH} AND jt.fullkey NOT LIKE '%[%' GROUP BY 1, 2 ORDER BY 1", params).fetchall()
            merged: dict[str, list] = {}
            for path, jtype, n, ex in rows:
                entry = merged.setdefault(path, [set(), 0, []])
                entry[0].add(_JSON_TYPES.get(jtype, "json"))
                entry[1] = max(entry[1], n)
                entry[2] += [json.loads(e) if jtype not in ("OBJECT", "ARRAY") else "…" for e in (ex or [])]
            for path, (types, n, ex) in merged.items():
                types.discard("null")
                label = types.pop() if len(types) == 1 else ("json" if types else "null")
                fields.append(FieldInfo(name + path[1:].replace('"', ""), label, n / total,
                                        [_example(e) for e in ex[:3]]))
    return fields
