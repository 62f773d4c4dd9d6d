"""Write the sample workspace: projects, 30 days of logs, datasets, prompts, scorers, experiments."""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from loop_tui import clock
from loop_tui.errors import UserError
from loop_tui.store.batch import ColumnBatch
from loop_tui.store.demo import text
from loop_tui.store.demo.spans import IdMaker, span
from loop_tui.store.demo.traces import (
    TraceSettings,
    invoice_doc,
    invoice_trace,
    support_question,
    support_trace,
)
from loop_tui.store.workspace import Workspace

BATCH_SPANS = 50_000
"""Spans held before they are written as one segment (folded into larger ones at the end): memory stays
bounded whatever `--spans` is."""
_DRAW_CHUNK = 100_000  # random draws per call while timestamps are made (the draws are the same in any chunks)
_DAY_HOURS = [0.3, 0.2, 0.15, 0.12, 0.12, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.35, 1.3, 1.4, 1.5, 1.5, 1.4, 1.2, 1.0, 0.85, 0.7, 0.6, 0.5, 0.4]
REGIONS = ["us-east", "us-west", "eu-west", "ap-south"]


def _chunked_choices(rng: random.Random, population: range, weights: list[float], count: int, code: str) -> array:
    """`rng.choices(population, weights, k=count)` as a compact array, drawn in chunks.

    `choices` spends one `random()` per element, so chunks draw exactly what one call would: the same
    seed still gives the same rows, without a list of `count` Python ints.
    """
    out = array(code)
    for done in range(0, count, _DRAW_CHUNK):
        out.extend(rng.choices(population, weights=weights, k=min(_DRAW_CHUNK, count - done)))
    return out


def _log_times(rng: random.Random, count: int, end: datetime) -> array:
    """Timestamps over 30 days: weekday peaks, quiet weekends, a slow growth trend, a diurnal curve.

    Sorted, as 8-byte floats (a 10M-span workspace needs about 3M of them: 24 MB, not a 100 MB list).
    """
    start = end - timedelta(days=30)
    day_weights = []
    for d in range(30):
        day = start + timedelta(days=d)
        day_weights.append((1.0 if day.weekday() < 5 else 0.45) * (1 + d / 45))
    days = _chunked_choices(rng, range(30), day_weights, count, "B")
    hours = _chunked_choices(rng, range(24), _DAY_HOURS, count, "B")
    base = start.timestamp()
    rand = rng.random
    times = array("d", (base + d * 86400 + h * 3600 + rand() * 3600 for d, h in zip(days, hours, strict=True)))
    del days, hours
    return _sorted_floats(times)


def _sorted_floats(values: array) -> array:
    """`values` sorted ascending (as Python sorts floats), without a list of Python floats."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(values)])  # no copy
    ordered = pc.take(column, pc.sort_indices(column))
    out = array("d")
    out.frombytes(memoryview(ordered.buffers()[1])[ordered.offset * 8:(ordered.offset + len(ordered)) * 8])
    return out


class _Writer:
    """Collects generated spans column by column and writes every `BATCH_SPANS` as an insert-only segment."""

    def __init__(self, ws: Workspace, table: str, object_id: str, project_id: str) -> None:
        self.ws, self.table, self.object_id, self.project_id = ws, table, object_id, project_id
        self.buffer = ColumnBatch(table)
        self.count = 0

    def add(self, spans: list[dict[str, Any]]) -> None:
        for one in spans:
            self.buffer.append(one)
        if len(self.buffer) >= BATCH_SPANS:
            self.flush()

    def flush(self) -> None:
        if not len(self.buffer):
            return
        written = len(self.buffer)
        self.ws.append_batch(self.buffer, self.object_id, project_id=self.project_id,
                             description=f"sample data ({written} spans)")
        self.count += written
        self.buffer = ColumnBatch(self.table)


def _support_logs(ws: Workspace, project_id: str, rng: random.Random, spans_wanted: int, end: datetime,
                  progress: Callable[[int], None]) -> int:
    ids = IdMaker(rng)
    writer = _Writer(ws, "project_logs", project_id, project_id)
    times = _log_times(rng, max(1, int(spans_wanted / 3.2)), end)
    midpoint = times[len(times) // 2]
    for n, t0 in enumerate(times):
        late = t0 > midpoint
        model = rng.choices(["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet"], weights=[6, 3, 2] if late else [3, 6, 1])[0]
        s = TraceSettings(model=model, prompt_version="v2" if late else "v1", quality=0.78 if late else 0.7,
                          error_rate=0.035 if model != "gpt-4o" else 0.06)
        topic = rng.randrange(len(text.SUPPORT_TOPICS))
        question, reference = support_question(rng, topic)
        meta = {"user_id": f"user-{rng.randint(1, 1500):04d}", "region": rng.choice(REGIONS),
                "channel": rng.choice(["web", "web", "mobile", "email"]), "environment": "production"}
        tags = ["prod"] + (["thumbs-down"] if rng.random() < 0.04 else [])
        spans, _ = support_trace(rng, ids, t0, s, question, reference, meta, tags=tags)
        writer.add(spans)
        if n % 5000 == 0:
            progress(writer.count + len(writer.buffer))
    writer.flush()
    return writer.count


def _invoice_logs(ws: Workspace, project_id: str, rng: random.Random, spans_wanted: int, end: datetime,
                  progress: Callable[[int], None]) -> int:
    ids = IdMaker(rng)
    writer = _Writer(ws, "project_logs", project_id, project_id)
    for n, t0 in enumerate(_log_times(rng, max(1, spans_wanted // 4), end)):
        model = rng.choices(["gpt-4.1-mini", "gpt-4.1", "claude-3-5-sonnet"], weights=[5, 2, 1])[0]
        s = TraceSettings(model=model, prompt_version="v3", quality=0.82 if model != "gpt-4.1-mini" else 0.72,
                          error_rate=0.04)
        doc, truth = invoice_doc(rng)
        meta = {"customer_id": f"cust-{rng.randint(1, 300):03d}", "region": rng.choice(REGIONS), "source": rng.choice(["email", "upload", "api"])}
        spans, _ = invoice_trace(rng, ids, t0, s, doc, truth, meta, tags=["prod"])
        writer.add(spans)
        if n % 5000 == 0:
            progress(writer.count + len(writer.buffer))
    writer.flush()
    return writer.count


def _experiment(ws: Workspace, project_id: str, name: str, rng: random.Random, rows: list[dict[str, Any]],
                dataset_id: str, s: TraceSettings, when: datetime, base_id: str | None, prompt: dict[str, Any],
                build: Callable[..., tuple[list[dict[str, Any]], dict[str, float | None]]]) -> str:
    # Recorded as `evals.experiments.create_experiment` records a real run, so a sample experiment can be
    # re-run exactly: the dataset's version, the judge model, and the project's own scorers as they were.
    dataset = ws.get_object("dataset", project_id, dataset_id)
    version = ws.query("SELECT max(_xact_id) AS v FROM dataset_history WHERE dataset_id = ?", [dataset_id])[0]["v"]
    exp = ws.save_object("experiment", project_id, name, {
        "description": f"{s.model}, prompt {s.prompt_version}", "base_experiment_id": base_id, "dataset_id": dataset_id,
        "dataset_version": version, "prompt": prompt, "model": s.model, "scorers": [], "scorer_definitions": {},
        "judge_model": None, "status": "running",
        "metadata": {"model": s.model, "prompt_version": s.prompt_version, "dataset_name": dataset.name, "trials": 1},
    })
    ids = IdMaker(rng)
    all_spans: list[dict[str, Any]] = []
    t = when.timestamp()
    for row in rows:
        origin = {"object_type": "dataset", "object_id": dataset_id, "id": row["id"]}
        spans, scores = build(rng, ids, t, s, row, origin)
        root = spans[0]
        end = dict(root["metrics"])["end"]
        for score_name, value in scores.items():
            all_spans.append(span(ids=ids, root_span_id=root["id"], parent=root["id"], name=score_name, type_="score",
                                  start=end, end=end + 0.001, scores={score_name: value}, purpose="scorer",
                                  output={"score": value}))
        all_spans.extend(spans)
        t += rng.uniform(0.5, 3.0)
    ws.append_rows("experiment", exp.id, all_spans, project_id=project_id, description=f"experiment {name}",
                   new_ids_only=True)
    scorers = sorted({k for r in all_spans if r["scores"] for k, _ in r["scores"]})
    saved = {o.name: o.data for o in ws.objects("scorer", project_id)}
    roots = [r for r in all_spans if not r["span_parents"]]
    ws.save_object("experiment", project_id, name, {
        **exp.data, "scorers": scorers, "scorer_definitions": {n: saved[n] for n in scorers if n in saved},
        "status": "completed", "row_count": len(roots), "error_count": sum(1 for r in roots if r.get("error")),
        "estimated_cost": round(sum(dict(r["metrics"] or []).get("estimated_cost", 0.0) for r in roots), 8),
    }, id=exp.id)
    return exp.id


def generate(path: str | Path, *, spans: int = 5000, seed: int = 7, end: datetime | None = None,
             progress: Callable[[int], None] | None = None) -> Workspace:
    """Write the sample workspace into `path` (new or empty folder, or a workspace without these projects)."""
    if spans < 100:
        raise UserError("--spans must be at least 100")
    end = end or clock.now()
    progress = progress or (lambda n: None)
    ws = Workspace.open(path)
    existing = {p.name for p in ws.projects()}
    if existing & {"support-bot", "invoice-extraction"}:
        raise UserError(f"{ws.root} already has the sample projects; use a new folder with --workspace")
    rng = random.Random(seed)
    support = ws.create_project("support-bot", {"description": "RAG support chatbot for Acme customers"})
    invoice = ws.create_project("invoice-extraction", {"description": "Extract structured fields from invoices"})
    _support_logs(ws, support.id, rng, int(spans * 0.7), end, progress)
    _invoice_logs(ws, invoice.id, rng, spans - int(spans * 0.7), end, progress)
    # Written a batch at a time (bounded memory), the logs are many small segments; DuckDB pays per file,
    # so they are folded into segments of up to 2M spans, streamed too (a no-op below one batch).
    ws.compact("project_logs")
    from loop_tui.store.demo.objects import write_invoice_objects, write_support_objects

    write_support_objects(ws, support.id, rng, end, _experiment)
    write_invoice_objects(ws, invoice.id, rng, end, _experiment)
    return ws
