"""`Score` and the `Scorer` base class, with autoevals' calling convention.

`Scorer()(output=..., expected=..., input=...) -> Score`; async code calls `await scorer.eval_async(...)`.
A score is in [0, 1] or `None` (skipped, left out of means), exactly as autoevals defines it.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Score:
    """One scorer's verdict on one row: a value in [0, 1] or None (skipped) plus metadata."""

    name: str
    score: float | None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Cost and token metrics of the scorer itself (LLM judges); recorded on the score span, not compared.
    metrics: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.score is not None:
            if isinstance(self.score, bool):
                self.score = float(self.score)
            if not isinstance(self.score, int | float) or math.isnan(self.score):
                raise ValueError(
                    f"score {self.name!r} must be a number in [0, 1] or None, got {self.score!r}"
                )
            if self.score < 0 or self.score > 1:
                raise ValueError(f"score {self.name!r} must be between 0 and 1, got {self.score}")

class Scorer:
    """Base class: subclasses implement `_run_eval_sync` and/or `_run_eval_async`."""

    #: Shown as the score's name; defaults to the class name, like autoevals.
    name: str | None = None

    def _name(self) -> str:
        return self.name or type(self).__name__

    def __call__(self, output: Any = None, expected: Any = None, **kwargs: Any) -> Score:
        """Score synchronously (same as `eval`)."""
        return self.eval(output, expected, **kwargs)

    def eval(self, output: Any = None, expected: Any = None, **kwargs: Any) -> Score:
        """Score synchronously."""
        return self._run_eval_sync(output, expected, **kwargs)

    async def eval_async(self, output: Any = None, expected: Any = None, **kwargs: Any) -> Score:
        """Score from async code; cheap scorers just run inline."""
        return await self._run_eval_async(output, expected, **kwargs)

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run_eval_async(output, expected, **kwargs))
        raise RuntimeError(
            f"{self._name()} calls a model: use `await scorer.eval_async(...)` inside async code"
        )

    async def _run_eval_async(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        return self._run_eval_sync(output, expected, **kwargs)

    def describe(self) -> dict[str, Any]:
        """What an experiment records about this scorer."""
        return {"name": self._name(), "type": "builtin"}
