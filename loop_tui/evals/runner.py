"""Run a prompt task over a dataset with scorers and record the run as an experiment.

Behaves like Braintrust's `Eval()`: one unit (task + its scorers) per (row, trial), at most `concurrency`
at a time (see `schedule`); scorers of a row run concurrently; a task error skips that row's scorers and is
recorded on the row; a scorer error is recorded in `metadata.scorer_errors` and leaves that score out; a
`None` score means skipped. Spans are buffered and written in a few large store writes (see `span_writer`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loop_tui.errors import UserError
from loop_tui.evals.code_scorer import CodeScorer
from loop_tui.evals.experiments import ExperimentTarget, create_experiment, finish_experiment, resolve_target
from loop_tui.evals.model_call import ModelCallError, ModelHandle, call_model, open_model
from loop_tui.evals.prompt import PromptSpec
from loop_tui.evals.schedule import Progress, execute
from loop_tui.evals.scorers.llm_judge import LLMClassifier
from loop_tui.evals.scoring import call_scorer, error_text, is_inline, scorer_name, to_scores
from loop_tui.evals.span_writer import SpanWriter
from loop_tui.evals.spans import ScoreOutcome, TaskOutcome, build_row_spans
from loop_tui.evals.spec import EvalSpec, ScorerRef

if TYPE_CHECKING:
    from loop_tui.store import Workspace


@dataclass
class RowResult:
    """The outcome of one (row, trial)."""

    index: int
    trial: int
    row_id: str | None
    input: Any
    expected: Any
    output: Any
    error: str | None
    scores: dict[str, float | None]
    scorer_errors: dict[str, str]
    metrics: dict[str, float]
    root_span_id: str


@dataclass
class ExperimentResult:
    """What a run produced; the experiment itself is in the workspace under `experiment_id`."""

    experiment_id: str
    name: str
    project_id: str
    dataset_id: str | None
    base_id: str | None
    rows: list[RowResult] = field(default_factory=list)
    errors: int = 0
    cancelled: bool = False
    total_cost: float = 0.0
    stopped: str | None = None  # why the run stopped early (the endpoint failed every request), else None


class _Run:
    """State of one experiment run."""

    def __init__(
        self,
        target: ExperimentTarget,
        prompt: PromptSpec,
        handle: ModelHandle,
        scorers: list[Any],
        row_timeout_s: float | None,
        workspace: Workspace,
    ) -> None:
        self.target = target
        self.prompt = prompt
        self.handle = handle
        self.scorers = [(s, scorer_name(s, i), is_inline(s)) for i, s in enumerate(scorers)]
        self.row_timeout_s = row_timeout_s
        self.params = {k: v for k, v in prompt.params.items() if k != "tools"}
        self.spans = SpanWriter(workspace, target.experiment_id, target.project_id, target.name)
        self.cost = 0.0
        self.errors = 0

    async def _with_timeout(self, coro: Any) -> Any:
        return await asyncio.wait_for(coro, self.row_timeout_s) if self.row_timeout_s else await coro

    async def run_task(self, row: dict[str, Any]) -> tuple[TaskOutcome, str | None]:
        """The row's task, and the kind of model failure if the model call failed (see `failure_kind`)."""
        outcome = TaskOutcome(start=time.time())
        kind: str | None = None
        try:
            outcome.messages = self.prompt.render(row)
            reply = await self._with_timeout(
                call_model(
                    self.handle.provider,
                    outcome.messages,
                    model=self.handle.model_id,
                    tools=self.prompt.tools,
                    params=self.prompt.model_params(),
                    price_as=self.handle.name,
                    settings=self.handle.settings,
                )
            )
            outcome.llm_metrics = reply.metrics()
            self.cost += reply.estimated_cost or 0.0
            message: dict[str, Any] = {"role": "assistant", "content": reply.text}
            if reply.tool_calls:
                message["tool_calls"] = reply.tool_calls
            outcome.reply_message = message
            outcome.output = reply.text
            if self.prompt.wants_json and reply.text:
                try:
                    outcome.output = json.loads(reply.text)
                except json.JSONDecodeError:
                    pass  # keep the text: scorers such as ValidJSON judge it
            elif not reply.text and reply.tool_calls:
                outcome.output = [{"name": c["name"], "arguments": c["arguments"]} for c in reply.tool_calls]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome.error = error_text(exc)
            kind = failure_kind(exc)
            if outcome.messages is not None:
                outcome.llm_error = outcome.error
        outcome.end = time.time()
        return outcome, kind

    @staticmethod
    def _score_kwargs(row: dict[str, Any], output: Any) -> dict[str, Any]:
        return {
            "input": row.get("input"),
            "output": output,
            "expected": row.get("expected"),
            "metadata": row.get("metadata") or {},
        }

    def _record_score(self, outcome: ScoreOutcome, result: Any) -> None:
        outcome.scores, outcome.metadata, outcome.metrics = to_scores(outcome.scorer, result)
        self.cost += outcome.metrics.get("estimated_cost", 0.0)

    async def run_scorer(
        self, scorer: Any, name: str, row: dict[str, Any], output: Any
    ) -> tuple[ScoreOutcome, str | None]:
        """One scorer that may wait (a judge's model call), and the kind of model failure if it had one."""
        outcome = ScoreOutcome(scorer=name, start=time.time())
        kind: str | None = None
        try:
            self._record_score(outcome, await self._with_timeout(call_scorer(scorer, self._score_kwargs(row, output))))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome.error = error_text(exc)
            kind = failure_kind(exc)
        outcome.end = time.time()
        return outcome, kind

    def score_inline(self, scorer: Any, name: str, row: dict[str, Any], output: Any) -> ScoreOutcome:
        """`run_scorer` for a scorer that never waits (see `is_inline`): a plain call, no coroutine chain."""
        outcome = ScoreOutcome(scorer=name, start=time.time())
        try:
            self._record_score(outcome, scorer.eval(**self._score_kwargs(row, output)))
        except Exception as exc:
            outcome.error = error_text(exc)
        outcome.end = time.time()
        return outcome

    async def run_waiting(self, row: dict[str, Any]) -> tuple[TaskOutcome, dict[int, ScoreOutcome], str | None]:
        """The part of a unit that waits on the outside world: the task, then scorers that may call models
        (their outcomes by scorer position: two scorers may share a name); and the kind of the unit's model
        failure, the task's or else a judge's (None when every model call succeeded), for the scheduler's
        circuit breaker."""
        task, kind = await self.run_task(row)
        waited: dict[int, ScoreOutcome] = {}
        if task.error is None:
            waiting = [
                (i, self.run_scorer(s, n, row, task.output)) for i, (s, n, inline) in enumerate(self.scorers) if not inline
            ]
            if waiting:
                outcomes = await asyncio.gather(*(coro for _, coro in waiting))
                waited = {i: o for (i, _), (o, _) in zip(waiting, outcomes, strict=True)}
                kind = next((k for _, k in outcomes if k is not None), None)
        return task, waited, kind

    def finish_unit(
        self,
        index: int,
        trial: int,
        row: dict[str, Any],
        start: float,
        task: TaskOutcome,
        waited: dict[int, ScoreOutcome],
    ) -> RowResult:
        """The CPU-only rest of a unit: in-process scorers, then the row's spans into the write buffer."""
        outcomes: list[ScoreOutcome] = []
        if task.error is None:
            for i, (scorer, name, inline) in enumerate(self.scorers):
                outcomes.append(self.score_inline(scorer, name, row, task.output) if inline else waited[i])
        else:
            self.errors += 1
        spans = build_row_spans(
            row=row,
            dataset_id=self.target.dataset_id,
            trial=trial,
            model_name=self.handle.name,
            params=self.params,
            task=task,
            outcomes=outcomes,
            start=start,
            end=time.time(),
        )
        self.spans.add(spans)
        root = spans[0]
        return RowResult(
            index=index,
            trial=trial,
            row_id=row.get("id"),
            input=row.get("input"),
            expected=row.get("expected"),
            output=task.output,
            error=task.error,
            scores=root.get("scores") or {},
            scorer_errors=(root.get("metadata") or {}).get("scorer_errors", {}),
            metrics=root["metrics"],
            root_span_id=root["id"],
        )


def failure_kind(exc: BaseException) -> str | None:
    """The kind of a failed model call (`ProviderError` kinds, or "timeout" for the row time limit); None for
    any other failure. A prompt too long for the model is about its row, not the endpoint: None too."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ModelCallError) and exc.kind != "context_length":
        return exc.kind
    return None


async def run_experiment(
    workspace: Workspace,
    project: str,
    prompt: PromptSpec,
    dataset: str | list[dict[str, Any]],
    scorers: Sequence[ScorerRef],
    *,
    on_progress: Callable[[Progress], Any] | None = None,
    **options: Any,
) -> ExperimentResult:
    """`run_eval` with the spec given as arguments: `options` are the other fields of `EvalSpec`."""
    spec = EvalSpec(project, prompt, dataset, list(scorers), **options)
    return await run_eval(workspace, spec, on_progress=on_progress)


async def run_eval(
    workspace: Workspace, spec: EvalSpec, *, on_progress: Callable[[Progress], Any] | None = None
) -> ExperimentResult:
    """Run `spec` (see `EvalSpec`) and record it as an experiment; `on_progress` sees each finished unit.

    Cancelling the awaiting task stops the run, writes the rows finished so far and marks the experiment
    cancelled. A run whose model endpoint fails every request stops early and returns with `stopped` set
    (see `schedule.CircuitBreaker`). The process is left as it was: GC tuning is the caller's choice
    (see `loop_tui.gc_pause`).
    """
    if spec.concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    if spec.trials < 1:
        raise UserError("--trials must be at least 1")
    model_name = spec.model or spec.prompt.model
    handle = open_model(model_name, spec.settings, spec.provider)
    target = resolve_target(
        workspace, spec.project, spec.prompt, spec.dataset, name=spec.name, base=spec.base,
        version=spec.dataset_version,
    )
    definitions = _definitions(workspace, target.project_id, spec)
    resolved = _resolve_scorers(workspace, target.project_id, spec, model_name)
    create_experiment(
        workspace,
        target,
        spec.prompt,
        model=handle.name,
        scorer_names=[scorer_name(s, i) for i, s in enumerate(resolved)],
        trials=spec.trials,
        concurrency=spec.concurrency,
        description=spec.description,
        metadata={**(spec.metadata or {}), "timeout_s": spec.row_timeout_s} if spec.row_timeout_s else spec.metadata,
        judge_model=spec.judge_model,
        scorer_definitions=definitions,
    )
    run = _Run(target, spec.prompt, handle, resolved, spec.row_timeout_s, workspace)
    result = ExperimentResult(
        target.experiment_id, target.name, target.project_id, target.dataset_id, target.base_id
    )
    units = [(i, t, row) for i, row in enumerate(target.rows) for t in range(spec.trials)]

    async def finish(status: str, rows_written: int) -> None:
        result.cancelled = status in ("cancelled", "interrupted")
        try:
            finish_experiment(workspace, target, result, status=status, rows_written=rows_written)
        finally:
            await _close(handle, resolved)

    # No GC tuning here: the process belongs to the caller. The app and the CLI wrap their runs in
    # `loop_tui.gc_pause.collect_only_new_objects` (full collections were ~5% of a 1,000-row run's wall time).
    await execute(run, result, units, spec.concurrency, on_progress, finish)
    return result


def _definitions(workspace: Workspace, project_id: str, spec: EvalSpec) -> dict[str, Any]:
    """The definitions to record: the given ones, and the project's own scorers as they are now, so a re-run
    can use exactly these."""
    from loop_tui.evals.registry import saved_scorer

    definitions = dict(spec.scorer_definitions or {})
    for ref in spec.scorers:
        saved = saved_scorer(workspace, project_id, ref) if isinstance(ref, str) else None
        if saved is not None:
            definitions[saved.name] = saved.data
    return definitions


def _resolve_scorers(workspace: Workspace, project_id: str, spec: EvalSpec, model_name: str | None) -> list[Any]:
    """Scorer objects for the spec's scorers (names looked up), each checked before the first row."""
    from loop_tui.evals.registry import resolve_scorer

    resolved = [
        resolve_scorer(
            ref,
            workspace,
            project_id,
            settings=spec.settings,
            judge_model=spec.judge_model or model_name,
            provider=spec.provider if spec.judge_model is None else None,
        )
        if isinstance(ref, str)
        else ref
        for ref in spec.scorers
    ]
    for scorer in resolved:
        if isinstance(scorer, LLMClassifier):
            scorer.check_model()  # fail now (no key, unknown model) rather than once per row
        if isinstance(scorer, CodeScorer):
            scorer.pool_size = max(scorer.pool_size, min(spec.concurrency, 4))  # workers for parallel rows
    return resolved


async def _close(handle: ModelHandle, scorers: list[Any]) -> None:
    await handle.aclose()
    for scorer in scorers:
        close = getattr(scorer, "aclose", None)
        if close is not None:
            await close()
