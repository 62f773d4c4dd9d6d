"""Compiler: a parsed query → one DuckDB SELECT with bound parameters (plus what the executor needs).

Pipeline (research §6.2): source(+shape) → unpivot → filter (ANY_SPAN as trace subqueries) → sample →
dimensions/measures → final_filter → sort → cursor/limit. Pivot and preview_length are applied to the
Arrow result by the executor.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.ast_json import query_to_json
from loop_tui.btql.binder import (
    Binder,
    Bound,
    Params,
    Scope,
    _err,
    check_function_names,
    path_text,
    quote_ident,
)
from loop_tui.btql.cursor import decode_cursor, keyset_condition
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.functions import is_aggregate_expr
from loop_tui.btql.schema import SourceSchema, columns_for
from loop_tui.btql.shapes import source_where, summary_sql
from loop_tui.btql.sources import ResolvedSource

DEFAULT_LIMIT = 1000


@dataclass
class Compiled:
    """What the executor runs: SQL, parameters, and how to post-process the result."""

    sql: str
    params: dict[str, Any]
    aggregate: bool
    columns: list[tuple[str, str]]
    key_types: list[str] = field(default_factory=list)
    limit: int | None = None
    shape: str = "spans"
    trace_offset: int = 0
    fingerprint: str = ""
    pivot: tuple[list[str], str, list[str]] | None = None  # (row dims, pivot column, measures)
    preview_length: int | None = None
    output_order: list[str] | None = None
    # "desc"/"asc" when the rows are sorted by `created` first and a time window may serve them (time_window).
    window_sort: str | None = None
    window_objects: tuple[str, list[str]] = ("", [])  # (table, object ids) whose segments bound the window
    # With `window_sort` on a first page: SQL giving the `created` of the row just past the page by `created`
    # alone (its parameters in `cutoff_params`): an exact window for the page (see executor).
    cutoff_sql: str | None = None
    cutoff_params: dict[str, Any] = field(default_factory=dict)


def fingerprint(q: A.Query) -> str:
    """Identifies a query apart from its cursor and limit, so a cursor cannot be replayed on another query."""
    body = query_to_json(q, with_loc=False)
    body.pop("cursor", None)
    body.pop("limit", None)
    return hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


def split_conjuncts(expr: Any) -> list[Any]:
    """Top-level AND terms of a filter."""
    if isinstance(expr, A.BoolOp) and expr.op == "and":
        return [t for c in expr.children for t in split_conjuncts(c)]
    return [] if expr is None else [expr]


class Compiler:
    """Compiles one query for one resolved source."""

    def __init__(self, q: A.Query, source: ResolvedSource, keys: Mapping[str, dict[str, str]], *,
                 tz_offset: int = 0, now: datetime | None = None, limit_override: int | None = None,
                 confirm_key: Any = None, typed: dict[str, dict[str, str]] | None = None,
                 created_window: datetime | None = None, view: str | None = None) -> None:
        self.q = q
        # A view of exactly the source's objects' rows (`object_views`) to read; None: the table's own view.
        self.view = view
        # Read only rows with `created` on the near side of this bound (see time_window); None: every row.
        self.created_window = created_window
        self.first_sort: tuple[str, str] | None = None
        self.source = source
        self.params = Params()
        self.shape = source.shape
        self.typed = typed or {}
        self.schema = SourceSchema(source.view, dict(columns_for(source.view)), keys, confirm_key, self.typed)
        self.binder = Binder(self.schema, self.params, any_span=self._any_span, summary=self.shape == "summary",
                             tz_offset=tz_offset, now=now)
        # ANY_SPAN subqueries always look at single spans, even on the summary shape.
        self.span_binder = Binder(SourceSchema(source.view, dict(columns_for(source.view)), keys, typed=self.typed),
                                  self.params,
                                  tz_offset=tz_offset, now=now)
        self.span_binder.now_sql = self.binder.now_sql  # type: ignore[method-assign]
        self.limit_override = limit_override

    def _any_span(self, inner_sql: str) -> str:
        self.reads_src = True
        return f"(\"root_span_id\" IN (SELECT \"root_span_id\" FROM src WHERE {inner_sql}))"

    # -- entry -----------------------------------------------------------------------------------
    def compile(self) -> Compiled:
        q = self.q
        if q.select is None and q.dimensions is None and q.measures is None:
            raise BtqlError.at("bind", "missing_select", "The query selects nothing.", q.span,
                               hint="Add select: * (or dimensions:/measures: for aggregates).")
        ids = [self.params.add(i, "VARCHAR") for i in self.source.ids]
        kind = self.params.add(self.source.row_kind, "VARCHAR") if self.source.row_kind else None
        # `<view>_btql` also has the typed copies of the score and metric maps (store.typed).
        view = self.view or (f"{self.source.view}_btql" if self.typed else self.source.view)
        # A view of just the source's objects holds only their rows: filtering on the object column again
        # decoded it for every row, ~8 ms of a 20 ms count at ten million spans.
        objects = "true" if self.view else source_where(self.source.column, ids, kind)
        ctes = [f"src AS (SELECT * FROM {view} WHERE {objects})"]
        self.reads_src = False
        plain_where = None
        if self.shape == "spans" and not q.unpivot and q.sample is None:
            where, _ = self._filters()
            if not self.reads_src:
                # The plain case in one step: each SELECT * layer cost DuckDB ~0.3 ms of binding, twice per
                # query, which was most of the time of a small query.
                plain_where = f"{objects} AND {where}"
                ctes = [f"sampled AS (SELECT * FROM {view} WHERE {plain_where})"]
        if not ctes[0].startswith("sampled"):
            self._full_pipeline(ctes)
        aggregate = bool(q.dimensions or q.measures) or any(
            isinstance(s, A.AliasExpr) and is_aggregate_expr(s.expr) for s in (q.select or []))
        body, compiled = (self._aggregate() if aggregate else self._rows())
        if plain_where is not None and not aggregate and compiled.limit is not None and self.first_sort is not None \
                and self.first_sort[0] == '"created"':
            compiled.window_sort = self.first_sort[1]
            compiled.window_objects = (self.source.view, list(self.source.ids))
            if self.created_window is not None:
                ctes = [f"sampled AS (SELECT * FROM {view} WHERE {plain_where} AND "
                        f"{_window_condition(self.created_window, compiled.window_sort)})"]
            elif q.cursor is None:
                # Sorting by `created` alone reads no `id` (the tie-break every page needs): the row just past
                # the page bounds a window that holds the page, ties included.
                by_created = _order('"created"', compiled.window_sort)
                compiled.cutoff_sql = (f'SELECT "created" FROM {view} WHERE {plain_where} ORDER BY {by_created} '
                                       f"LIMIT 1 OFFSET {int(compiled.limit)}")
        compiled.sql = "WITH " + ", ".join(ctes) + " " + body
        # Expressions bound only to build a scope leave unused parameters; DuckDB rejects extras.
        used = set(re.findall(r"\$(p\d+)\b", compiled.sql))
        compiled.params = {k: v for k, v in self.params.values.items() if k in used}
        if compiled.cutoff_sql is not None:
            used = set(re.findall(r"\$(p\d+)\b", compiled.cutoff_sql))
            compiled.cutoff_params = {k: v for k, v in self.params.values.items() if k in used}
        compiled.fingerprint = fingerprint(q)
        compiled.preview_length = q.preview_length
        compiled.shape = self.shape
        compiled.output_order = q.output_order
        return compiled

    def _full_pipeline(self, ctes: list[str]) -> None:
        """Shape, unpivot, filter and sample as CTEs after `src` (what the one-step plain case leaves out)."""
        if self.shape == "summary":
            ctes.append(summary_sql(self.params.add))
        else:
            ctes.append("base AS (SELECT * FROM src)")
        ctes.append(self._unpivot())
        where, span_only = self._filters()
        if self.shape == "traces":
            ctes.append(f"hits AS (SELECT DISTINCT \"root_span_id\" FROM rows WHERE {where})")
            keep = " AND ".join(span_only) or "true"
            ctes.append(f"filtered AS (SELECT * FROM rows WHERE \"root_span_id\" IN (SELECT \"root_span_id\" FROM hits) AND {keep})")
        else:
            ctes.append(f"filtered AS (SELECT * FROM rows WHERE {where})")
        ctes.append(self._sample())

    # -- clauses ---------------------------------------------------------------------------------
    def _unpivot(self) -> str:
        if not self.q.unpivot:
            return "rows AS (SELECT * FROM base)"
        joins, cols = [], []
        for i, item in enumerate(self.q.unpivot):
            b = self.binder.bind(item.expr, Scope())
            u = f"u{i}"
            names = item.aliases
            for n in names:
                if n in self.schema.columns:
                    raise _err("duplicate_alias", f"`{n}` is already a field; pick another unpivot name.", item)
            if len(names) == 2:
                if b.type == "map":
                    joins.append(f"CROSS JOIN LATERAL (SELECT unnest(map_keys({b.sql})) AS k, unnest(map_values({b.sql})) AS v) {u}")
                    vtype = "num"
                elif b.type == "json":
                    v = self.binder.output(b)
                    joins.append(f"CROSS JOIN LATERAL (SELECT je.key AS k, je.value AS v FROM json_each("
                                 f"CASE WHEN json_type({v}) = 'OBJECT' THEN {v} END) je) {u}")
                    vtype = "json"
                else:
                    raise _err("type_mismatch", "unpivot with (key, value) needs an object such as scores or metadata.", item,
                               hint="For arrays write unpivot: tags as (tag).")
                cols += [f"{u}.k AS {quote_ident(names[0])}", f"{u}.v AS {quote_ident(names[1])}"]
                self.schema.columns[names[0]] = ("str", quote_ident(names[0]), "unpivot key")
                self.schema.columns[names[1]] = (vtype, quote_ident(names[1]), "unpivot value")
            else:
                if b.type == "array":
                    joins.append(f"CROSS JOIN LATERAL (SELECT unnest({b.sql}) AS v) {u}")
                    vtype = "str"
                elif b.type == "json":
                    v = self.binder.output(b)
                    joins.append(f"CROSS JOIN LATERAL (SELECT unnest(json_extract(CASE WHEN json_type({v}) = 'ARRAY' "
                                 f"THEN {v} END, '$[*]')) AS v) {u}")
                    vtype = "json"
                else:
                    raise _err("type_mismatch", "unpivot with one name needs an array such as tags.", item,
                               hint="For objects write unpivot: scores as (name, value).")
                cols.append(f"{u}.v AS {quote_ident(names[0])}")
                self.schema.columns[names[0]] = (vtype, quote_ident(names[0]), "unpivot value")
        return f"rows AS (SELECT base.*, {', '.join(cols)} FROM base {' '.join(joins)})"

    def _row_scope(self) -> Scope:
        scope = Scope()
        if self.q.select and not (self.q.dimensions or self.q.measures):
            for item in self.q.select:
                if isinstance(item, A.AliasExpr) and not is_aggregate_expr(item.expr):
                    if item.explicit:
                        scope.aliases.setdefault(item.alias, self.binder.bind(item.expr, Scope()))
                    elif isinstance(item.expr, A.Ident) and len(item.expr.name) > 1:
                        scope.implicit.setdefault(item.alias, []).append(self.binder.bind(item.expr, Scope()))
        return scope

    def _filters(self) -> tuple[str, list[str]]:
        q = self.q
        terms = split_conjuncts(q.filter) + split_conjuncts(q.span_filter)
        span_terms = split_conjuncts(q.trace_filter)
        kept = []
        for t in terms:
            if isinstance(t, A.SpanFilter) and t.kind == "filter":
                span_terms.append(t.expr)
            else:
                kept.append(t)
        scope = self._row_scope()
        for t in kept + span_terms:
            if is_aggregate_expr(t):
                node = next(n for n in A.walk(t) if isinstance(n, A.Function) and is_aggregate_expr(n))
                raise _err("aggregate_context", f"{node.name}() is an aggregate and cannot be used in filter.", node,
                           hint="Filter groups with final_filter: (HAVING in SQL).")
        where = " AND ".join(self.binder.bind_bool(t, scope) for t in kept) or "true"
        span_only = [self.binder.bind_bool(t, scope) for t in span_terms]
        if self.shape != "traces" and span_only:
            where = " AND ".join([where, *span_only])
            span_only = []
        return where, span_only

    def _sample(self) -> str:
        s = self.q.sample
        if s is None:
            return "sampled AS (SELECT * FROM filtered)"
        import random

        seed = s.seed if s.seed is not None else random.randrange(1 << 31)
        h = f"hash(\"id\", {self.params.add(int(seed), 'BIGINT')})"
        if s.method == "rate":
            threshold = self.params.add(int(s.value * 1_000_000), "BIGINT")
            return f"sampled AS (SELECT * FROM filtered WHERE ({h} % 1000000) < {threshold})"
        return f"sampled AS (SELECT * FROM filtered ORDER BY {h}, \"id\" LIMIT {self.params.add(int(s.value), 'BIGINT')})"

    def _limit(self, aggregate: bool) -> int | None:
        if self.limit_override is not None:
            return self.limit_override
        if self.q.limit is not None:
            return self.q.limit
        return None if aggregate else DEFAULT_LIMIT

    # -- row queries -----------------------------------------------------------------------------
    def _select_items(self) -> tuple[list[str], list[tuple[str, str]]]:
        parts: list[str] = []
        columns: list[tuple[str, str]] = []
        seen: dict[str, Any] = {}
        # Paths sharing a last piece (metadata.model, origin.model) keep their full path as output name;
        # the short name is then ambiguous (research §2.2 rule 1).
        implicit = [i.alias for i in self.q.select or [] if isinstance(i, A.AliasExpr) and not i.explicit
                    and isinstance(i.expr, A.Ident)]
        for item in self.q.select or []:
            if isinstance(item, A.Star):
                for name in self.schema.star_columns():
                    ctype, sql, _ = self.schema.columns[name]
                    self._claim(seen, name, item)
                    parts.append(f"{sql} AS {quote_ident(name)}")
                    columns.append((name, ctype))
                continue
            b = self.binder.bind(item.expr, Scope())
            name = item.alias
            if not item.explicit and isinstance(item.expr, A.Ident) and implicit.count(name) > 1:
                name = path_text(item.expr.name)
            self._claim(seen, name, item)
            parts.append(f"{self.binder.output(b)} AS {quote_ident(name)}")
            columns.append((name, b.type))
        return parts, columns

    @staticmethod
    def _claim(seen: dict[str, Any], name: str, item: Any) -> None:
        if name in seen:
            raise _err("duplicate_alias", f"Two result columns are named `{name}`.", item,
                       hint="Give one of them another name with AS.")
        seen[name] = item

    def _sort_keys(self, scope: Scope) -> list[tuple[str, str, str]]:
        """(sql, asc|desc, type) per sort key; JSON keys sort numbers numerically, then as text."""
        keys = []
        for s in self.q.sort or []:
            b = self.binder.bind(s.expr, scope)
            if b.type in ("map", "array"):
                raise _err("type_mismatch", "Cannot sort by an object or array; sort by one of its fields.", s)
            if b.type == "json":
                keys.append((f"TRY_CAST({self.binder.as_text(b)} AS DOUBLE)", s.dir, "num"))
                keys.append((self.binder.as_text(b), s.dir, "str"))
            else:
                keys.append((b.sql, s.dir, b.type))
        return keys

    def _rows(self) -> tuple[str, Compiled]:
        parts, columns = self._select_items()
        scope = self._row_scope()
        scope.aliases_first = True
        keys = self._sort_keys(scope)
        self.first_sort = (keys[0][0], keys[0][1]) if keys else None
        hidden = [f"{sql} AS \"__k{i}\"" for i, (sql, _, _) in enumerate(keys)] + ['"id" AS "__kid"']
        if self.shape == "traces":
            hidden.append('"root_span_id" AS "__root"')
        inner = f"SELECT {', '.join(parts + hidden)} FROM sampled"
        order = [_order(f'"__k{i}"', d) for i, (_, d, _) in enumerate(keys)] + ['"__kid" ASC']
        limit = self._limit(False)
        key_types = [t for _, _, t in keys] + ["str"]
        compiled = Compiled("", {}, False, columns, key_types, limit)
        if self.shape == "traces":
            offset = 0
            if self.q.cursor is not None:
                offset = int(decode_cursor(self.q.cursor, fingerprint(self.q), self.q).get("offset", 0))
            compiled.trace_offset = offset
            lim = self.params.add(int(limit) + 1 if limit is not None else 1 << 62, "BIGINT")
            off = self.params.add(offset, "BIGINT")
            body = (f"SELECT * FROM (SELECT r.*, t.\"__tn\" FROM (SELECT *, row_number() OVER "
                    f"(ORDER BY {', '.join(order)}) AS \"__rn\" FROM ({inner})) r JOIN (SELECT \"__root\", row_number() "
                    f"OVER (ORDER BY \"__first\") AS \"__tn\", \"__first\" FROM (SELECT \"__root\", min(\"__rn\") AS \"__first\" "
                    f"FROM (SELECT \"__root\", row_number() OVER (ORDER BY {', '.join(order)}) AS \"__rn\" FROM ({inner})) "
                    f"GROUP BY 1)) t USING (\"__root\") WHERE t.\"__tn\" > {off} AND t.\"__tn\" <= {off} + {lim}) "
                    f"ORDER BY \"__rn\"")
            return body, compiled
        cond = "true"
        if self.q.cursor is not None:
            payload = decode_cursor(self.q.cursor, fingerprint(self.q), self.q)
            cond = keyset_condition(payload, [d for _, d, _ in keys] + ["asc"], key_types, self.params)
        if cond == "true":
            # Order by the key expressions themselves, not their hidden aliases: DuckDB then sorts before
            # projecting and fetches the other columns of only the rows kept (late materialization).
            direct = [_order(sql, d) for sql, d, _ in keys] + ['"id" ASC']
            body = f"{inner} ORDER BY {', '.join(direct)}"
        else:
            body = f"SELECT * FROM ({inner}) WHERE {cond} ORDER BY {', '.join(order)}"
        if limit is not None:
            body += f" LIMIT {self.params.add(int(limit) + 1, 'BIGINT')}"
        return body, compiled

    # -- aggregate queries -----------------------------------------------------------------------
    def _aggregate(self) -> tuple[str, Compiled]:
        q = self.q
        dims = list(q.dimensions or [])
        measures = list(q.measures or [])
        dim_aliases = {d.alias for d in dims}
        for item in q.select or []:
            if isinstance(item, A.Star):
                raise _err("aggregate_context", "select: * cannot be combined with measures or aggregates.", item,
                           hint="List dimensions and measures instead.")
            check_function_names(item.expr)
            if is_aggregate_expr(item.expr):
                measures.append(item)
            elif item.alias not in dim_aliases:
                raise _err("aggregate_context", f"`{item.alias}` is neither a dimension nor an aggregate.", item,
                           hint="Add it to dimensions:, or wrap it in an aggregate such as any_value().")
        seen: dict[str, Any] = {}
        scope = Scope()
        parts, columns, dim_sql = [], [], []
        for d in dims:
            if is_aggregate_expr(d.expr):
                raise _err("aggregate_context", f"Dimension `{d.alias}` contains an aggregate.", d,
                           hint="Aggregates belong in measures:.")
            b = self.binder.bind(d.expr, scope)
            if b.type in ("map",):
                raise _err("type_mismatch", f"Cannot group by the object `{d.alias}`; group by one of its fields.", d)
            self._claim(seen, d.alias, d)
            sql = self.binder.output(b) if b.type == "json" else b.sql
            if b.type == "json":
                sql = self.binder.as_text(b)
                b = Bound(sql, "str")
            dim_sql.append(sql)
            parts.append(f"{sql} AS {quote_ident(d.alias)}")
            columns.append((d.alias, b.type))
            scope.aliases[d.alias] = b
        agg_scope = Scope(dict(scope.aliases), allow_agg=True, aliases_first=True)
        for m in measures:
            b = self.binder.bind(m.expr, Scope(allow_agg=True))
            if not b.agg:
                raise _err("aggregate_context", f"Measure `{m.alias}` must aggregate, e.g. count(1) or avg(…).", m,
                           hint="Plain fields belong in dimensions:.")
            self._claim(seen, m.alias, m)
            parts.append(f"{b.sql} AS {quote_ident(m.alias)}")
            columns.append((m.alias, b.type))
            agg_scope.aliases[m.alias] = b
        sql = f"SELECT {', '.join(parts)} FROM sampled"
        if dim_sql:
            sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(dim_sql)))
        if q.final_filter is not None:
            sql += " HAVING " + self.binder.bind_bool(q.final_filter, agg_scope)
        keys = self._sort_keys(agg_scope)
        if keys:
            sql += " ORDER BY " + ", ".join(_order(k, d) for k, d, _ in keys)
        limit = self._limit(True)
        if limit is not None:
            sql += f" LIMIT {self.params.add(int(limit), 'BIGINT')}"
        if q.cursor is not None:
            raise BtqlError.at("bind", "bad_cursor", "Aggregate queries return one page; they take no cursor.",
                               q.clause_spans.get("cursor"))
        compiled = Compiled("", {}, True, columns, [], limit)
        if q.pivot:
            compiled.pivot = self._pivot_spec(dims, measures)
        return sql, compiled

    def _pivot_spec(self, dims: list[A.AliasExpr], measures: list[A.AliasExpr]) -> tuple[list[str], str, list[str]]:
        pivot = self.q.pivot or []
        assert pivot, "called only for a query with a pivot"
        measure_names = [m.alias for m in measures]
        if not measure_names:
            raise _err("pivot", "pivot needs at least one measure to spread into columns.", pivot[0])
        on = [p for p in pivot if not (isinstance(p.expr, A.Ident) and len(p.expr.name) == 1
                                                   and p.expr.name[0] in measure_names)]
        dim_names = [d.alias for d in dims]
        if on:
            if len(on) > 1:
                raise _err("pivot", "Pivot on one column at a time.", on[1])
            target = on[0]
            match = next((d.alias for d in dims if d.alias == target.alias or
                          query_to_json(A.Query(filter=d.expr), False) == query_to_json(A.Query(filter=target.expr), False)),
                         None)
            if match is None:
                raise _err("pivot", f"The pivot column `{target.alias}` must also be a dimension.", target,
                           hint="Add it to dimensions: (or GROUP BY).")
            col = match
        else:
            if not dim_names:
                raise _err("pivot", "pivot needs a dimension whose values become columns.", pivot[0])
            col = dim_names[-1]
        return [d for d in dim_names if d != col], col, measure_names


def _window_condition(bound: datetime, direction: str) -> str:
    """Rows on the near side of `bound` for a sort by `created` in `direction` (nulls sort first descending).

    The bound is a literal, not a parameter, so DuckDB compares it with each segment's statistics when it
    plans the scan; it comes from the segments' footers, never from the query text.
    """
    literal = f"TIMESTAMPTZ '{bound.isoformat()}'"
    if direction == "desc":
        return f'("created" >= {literal} OR "created" IS NULL)'
    return f'"created" <= {literal}'


def _order(sql: str, direction: str) -> str:
    return f"{sql} ASC NULLS LAST" if direction == "asc" else f"{sql} DESC NULLS FIRST"
