"""How the runner calls scorers of every kind and normalises what they return (like Braintrust's Eval())."""

from __future__ import annotations

import inspect
from typing import Any

from loop_tui.errors import UserError
from loop_tui.evals.score import Score, Scorer


def scorer_name(scorer: Any, index: int) -> str:
    """A scorer's name: its `name`, else the function name, else `scorer_<index>` (lambdas)."""
    if isinstance(scorer, Scorer):
        return scorer._name()
    name = getattr(scorer, "__name__", None)
    return f"scorer_{index}" if not name or name == "<lambda>" else name


def to_scores(name: str, result: Any) -> tuple[dict[str, float | None], dict[str, Any], dict[str, float]]:
    """Normalise a scorer's return (Score, list of Scores, dict, number, bool, None) like Braintrust."""
    items = result if isinstance(result, list) else [result]
    scores: dict[str, float | None] = {}
    metadata: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    for item in items:
        if isinstance(item, dict):
            item = Score(item.get("name", name), item.get("score"), item.get("metadata") or {})
        elif item is None or isinstance(item, bool | int | float):
            item = Score(name, item)
        if not isinstance(item, Score):
            raise TypeError(
                f"scorer {name!r} returned {type(item).__name__}; return a Score, number, dict or None"
            )
        scores[item.name] = item.score
        if item.metadata:
            metadata[item.name] = item.metadata
        metrics.update(item.metrics)
    if len(items) == 1 and len(metadata) == 1:
        metadata = next(iter(metadata.values()))
    return scores, metadata, metrics


async def call_scorer(scorer: Any, kwargs: dict[str, Any]) -> Any:
    """Call a Scorer, or a plain (sync or async) function with only the arguments it declares."""
    if isinstance(scorer, Scorer):
        return await scorer.eval_async(**kwargs)
    params = inspect.signature(scorer).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        kwargs = {k: v for k, v in kwargs.items() if k in {p.name for p in params}}
    result = scorer(**kwargs)
    return await result if inspect.isawaitable(result) else result


def is_inline(scorer: Any) -> bool:
    """True for Scorer objects that never wait (only `_run_eval_sync` implemented, e.g. the heuristics)."""
    return (
        isinstance(scorer, Scorer)
        and type(scorer)._run_eval_async is Scorer._run_eval_async
        and (type(scorer)._run_eval_sync is not Scorer._run_eval_sync)
    )


def error_text(exc: BaseException) -> str:
    """One line describing a task or scorer failure."""
    if isinstance(exc, TimeoutError):
        return "TimeoutError: timed out"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, UserError) else f"{type(exc).__name__}: {text}"
