"""Code scorers: `def handler(input, output, expected, metadata) -> float | dict | None` in a sandbox.

The handler receives only the arguments it declares (like Braintrust). It may return a number or bool
in [0, 1], None (skipped), a dict `{"score", "name"?, "metadata"?}`, or a list of such dicts. Anything
else, an exception, a timeout or a crashed worker becomes an error for that row's score; the run goes on.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from loop_tui.errors import UserError
from loop_tui.evals.sandbox import SandboxError, SandboxLimits, SandboxWorker
from loop_tui.evals.score import Score, Scorer


class CodeScorer(Scorer):
    """A user Python scorer run out of process: a small pool of sandboxed workers, a fresh child per call."""

    def __init__(
        self,
        name: str,
        code: str,
        *,
        limits: SandboxLimits | None = None,
        pool_size: int = 2,
        description: str = "",
    ) -> None:
        try:
            compile(code, f"<scorer {name}>", "exec")
        except SyntaxError as exc:
            raise UserError(
                f"the code scorer {name!r} has a syntax error on line {exc.lineno}: {exc.msg}"
            ) from None
        self.name = name
        self.code = code
        self.description = description
        self.limits = limits or SandboxLimits()
        self.pool_size = max(1, pool_size)
        self._idle: list[SandboxWorker] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def describe(self) -> dict[str, Any]:
        """What an experiment records about this scorer."""
        return {"name": self._name(), "type": "code"}

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Workers' pipes belong to the loop that made them: a new loop (e.g. a sync call) starts afresh.
            for worker in self._idle:
                worker.kill_now()
            self._idle = []
            self._slots = asyncio.Semaphore(self.pool_size)
            self._loop = loop

    async def _run_eval_async(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        self._bind_loop()
        assert self._slots is not None
        payload = {
            "input": kwargs.get("input"),
            "output": output,
            "expected": expected,
            "metadata": kwargs.get("metadata") or {},
        }
        async with self._slots:
            worker = self._idle.pop() if self._idle else SandboxWorker(self.code, self.limits)
            try:
                if not worker.alive:
                    await worker.start()
                result = await worker.call(payload)
            except SandboxError as exc:
                raise SandboxError(f"{self._name()}: {exc}") from None
            finally:
                if worker.alive:
                    self._idle.append(worker)
                else:
                    await worker.kill()
        return self.to_score(result)

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        async def once() -> Score:
            try:
                return await self._run_eval_async(output, expected, **kwargs)
            finally:
                await self.aclose()

        return asyncio.run(once())

    def to_score(self, result: Any) -> Score:
        """Validate a handler's return value (no clamping: out-of-range is an error, like autoevals)."""
        if isinstance(result, list):
            if len(result) != 1:
                raise SandboxError(
                    f"{self._name()}: return one score (lists of several are not supported here)"
                )
            result = result[0]
        name, metadata = self._name(), dict[str, Any]()
        if isinstance(result, dict):
            if "score" not in result:
                raise SandboxError(f"{self._name()}: a returned dict needs a `score` key")
            metadata = result.get("metadata") or {}
            if not isinstance(metadata, dict):
                raise SandboxError(f"{self._name()}: `metadata` must be an object")
            result = result["score"]
        if result is None:
            return Score(name, None, metadata)
        if isinstance(result, bool):
            result = float(result)
        if not isinstance(result, int | float) or math.isnan(result) or math.isinf(result):
            raise SandboxError(
                f"{self._name()}: returned {result!r}; return a number in [0, 1], a dict or None"
            )
        if not 0 <= result <= 1:
            raise SandboxError(f"{self._name()}: returned {result}, outside [0, 1]")
        return Score(name, float(result), metadata)

    async def aclose(self) -> None:
        """Stop every worker of this scorer."""
        idle, self._idle = self._idle, []
        for worker in idle:
            await worker.kill()
