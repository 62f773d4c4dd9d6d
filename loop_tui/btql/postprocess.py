"""Shaping the Arrow result: drop paging keys, detect the next page, pivot, order columns, previews."""

from __future__ import annotations

from typing import Any

from loop_tui.btql.compiler import Compiled

_HIDDEN_PREFIX = "__"


def finish_table(table: Any, compiled: Compiled) -> tuple[Any, bool, list[Any] | None]:
    """(table for the user, whether more rows exist, sort-key values of the last row for the cursor)."""
    import pyarrow as pa

    more = False
    last_keys = None
    limit = compiled.limit
    if not compiled.aggregate and compiled.shape == "traces" and "__tn" in table.column_names and limit is not None:
        # Only here: importing pyarrow.compute takes 0.3-0.5 s, which a page of spans must not wait for.
        import pyarrow.compute as pc

        over = pc.greater(table["__tn"], compiled.trace_offset + limit)
        if table.num_rows and pc.any(over).as_py():
            more = True
            table = table.filter(pc.invert(over))
    elif not compiled.aggregate and limit is not None and table.num_rows > limit:
        more = True
        table = table.slice(0, limit)
        if limit > 0:
            last = table.slice(limit - 1, 1).to_pylist()[0]
            n = len(compiled.key_types) - 1
            last_keys = [last[f"__k{i}"] for i in range(n)] + [last["__kid"]]
        else:
            more = False
    keep = [c for c in table.column_names if not c.startswith(_HIDDEN_PREFIX)]
    table = table.select(keep)
    if compiled.pivot is not None:
        table = pivot_table(table, *compiled.pivot)
    elif compiled.output_order:
        order = [c for c in compiled.output_order if c in table.column_names]
        table = table.select(order + [c for c in table.column_names if c not in order])
    if compiled.preview_length is not None and compiled.preview_length >= 0:
        table = _truncate(table, compiled.preview_length)
    types = dict(compiled.columns)
    fields = [
        f.with_metadata({b"btql_type": types.get(f.name, "").encode()}) if f.name in types else f for f in table.schema
    ]
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields)), more, last_keys


def _truncate(table: Any, n: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.utf8_slice_codeunits(col, 0, n)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def pivot_table(table: Any, row_dims: list[str], col: str, measures: list[str]) -> Any:
    """Spread `measures` into one column per value of `col`, named `{value}_{measure}` (Braintrust's naming)."""
    import pyarrow as pa

    rows = table.to_pylist()
    values: list[Any] = []
    grouped: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        v = row[col]
        if v not in values:
            values.append(v)
        key = tuple(row[d] for d in row_dims)
        out = grouped.setdefault(key, {d: row[d] for d in row_dims})
        for m in measures:
            out[f"{v}_{m}"] = row[m]
    values.sort(key=lambda v: (v is None, str(v)))  # stable column order whatever order groups came in
    names = list(row_dims) + [f"{v}_{m}" for v in values for m in measures]
    data = {n: [g.get(n) for g in grouped.values()] for n in names}
    arrays = []
    for n in names:
        src = n if n in row_dims else next(m for m in measures if n.endswith("_" + m))
        arrays.append(pa.array(data[n], type=table.schema.field(src).type))
    return pa.table(arrays, names=names)
