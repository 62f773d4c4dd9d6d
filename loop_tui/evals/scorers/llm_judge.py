"""LLM-as-judge scorers: a mustache prompt, a forced `select_choice` tool call, choice -> score.

Same design as autoevals' `LLMClassifier`: the prompt gets a suffix asking the model to call
`select_choice` (with step-by-step `reasons` first when chain-of-thought is on), the tool's `choice` is an
enum of the labels, and the score is `choice_scores[choice]` with `{choice, rationale}` in metadata.
Calls go through `loop_tui.llm`, so any provider (OpenAI-compatible, Anthropic, a test double) works.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.evals.model_call import ModelHandle, call_model, open_model
from loop_tui.evals.mustache import render
from loop_tui.evals.score import Score, Scorer

JUDGES_DIR = Path(__file__).resolve().parents[2] / "data" / "judges"

NO_COT_SUFFIX = "Answer by calling `select_choice` with exactly one choice from {{__choices}}."
COT_SUFFIX = (
    "Answer by calling `select_choice`. First write out your reasoning step by step in `reasons`, so that your "
    "conclusion is well founded; do not state the answer at the start. Then set `choice` to exactly one of "
    "{{__choices}}."
)


def select_choice_tool(choices: list[str], use_cot: bool) -> dict[str, Any]:
    """The forced tool's schema: `choice` is an enum; with CoT, `reasons` comes first."""
    properties: dict[str, Any] = {}
    required = ["choice"]
    if use_cot:
        properties["reasons"] = {
            "type": "string",
            "description": "Step-by-step reasoning that leads to the choice.",
        }
        required = ["reasons", "choice"]
    properties["choice"] = {"type": "string", "enum": choices, "description": "The selected choice."}
    return {
        "name": "select_choice",
        "description": "Call this function to select a choice.",
        "parameters": {"type": "object", "properties": properties, "required": required},
    }


class LLMClassifier(Scorer):
    """A judge defined by a prompt template and a label -> score map."""

    def __init__(
        self,
        name: str,
        prompt_template: str,
        choice_scores: dict[str, float],
        *,
        model: str | None = None,
        use_cot: bool = True,
        temperature: float | None = None,
        max_tokens: int | None = None,
        provider: Any = None,
        settings: Any = None,
        **render_kwargs: Any,
    ) -> None:
        if not choice_scores:
            raise UserError(f"the judge {name!r} needs at least one choice in `choice_scores`")
        for label, value in choice_scores.items():
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise UserError(
                    f"the judge {name!r} maps choice {label!r} to {value!r}; scores must be in [0, 1]"
                )
        self.name = name
        self.prompt_template = prompt_template
        self.choice_scores = dict(choice_scores)
        self.model = model
        self.use_cot = use_cot
        self.temperature = temperature
        self.max_tokens = max(5, max_tokens) if max_tokens is not None else None
        self.provider = provider
        self.settings = settings
        self.render_kwargs = render_kwargs
        self._handle: ModelHandle | None = None

    def describe(self) -> dict[str, Any]:
        """What an experiment records about this judge."""
        return {"name": self._name(), "type": "llm", "model": self.model, "use_cot": self.use_cot}

    def build_messages(self, output: Any, expected: Any = None, **kwargs: Any) -> list[dict[str, Any]]:
        """Render the judge prompt (+ suffix) for one row; extra vars fall back to row metadata."""
        suffix = COT_SUFFIX if self.use_cot else NO_COT_SUFFIX
        template = f"{self.prompt_template}\n{suffix}"
        metadata = kwargs.get("metadata") if isinstance(kwargs.get("metadata"), dict) else {}
        context = {
            **self.render_kwargs,
            **kwargs,
            "output": output,
            "expected": expected,
            "__choices": ", ".join(self.choice_scores),
        }
        context.setdefault("input", None)
        # Metadata sits below the row in the context stack: `{{criteria}}` may come from row metadata.
        return [{"role": "user", "content": render(template, context, fallback=metadata)}]

    def check_model(self) -> None:
        """Raise now if the judge's model cannot be called (no key, unknown model), rather than once per row."""
        self._model_handle()

    def _model_handle(self) -> ModelHandle:
        if self._handle is None:
            self._handle = open_model(self.model, self.settings, self.provider)
        return self._handle

    async def aclose(self) -> None:
        """Close a provider this judge created."""
        if self._handle is not None:
            await self._handle.aclose()
            self._handle = None

    async def _run_eval_async(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        from loop_tui.llm.base import ModelParams

        messages = self.build_messages(output, expected, **kwargs)
        handle = self._model_handle()
        params = ModelParams(
            temperature=self.temperature, max_tokens=self.max_tokens, tool_choice={"name": "select_choice"}
        )
        tool = select_choice_tool(list(self.choice_scores), self.use_cot)
        reply = await call_model(
            handle.provider,
            messages,
            model=handle.model_id,
            tools=[tool],
            params=params,
            price_as=handle.name,
            settings=handle.settings,
        )
        return self.parse_reply(reply.tool_calls, metrics=reply.metrics())

    def parse_reply(self, tool_calls: list[dict[str, Any]], metrics: dict[str, float] | None = None) -> Score:
        """Turn the model's tool calls into a Score; no call, a wrong tool or an unknown choice raise."""
        if not tool_calls:
            raise ValueError(f"{self._name()}: the model did not call select_choice")
        call = tool_calls[0]
        if call.get("name") != "select_choice":
            raise ValueError(
                f"{self._name()}: the model called {call.get('name')!r} instead of select_choice"
            )
        args = call.get("arguments")
        if isinstance(args, str):
            args = json.loads(args)
        if not isinstance(args, dict):
            raise ValueError(f"{self._name()}: the model called select_choice without arguments")
        choice = str(args.get("choice", "")).strip()
        if choice not in self.choice_scores:
            raise ValueError(
                f"{self._name()}: the model chose {choice!r}, not one of {list(self.choice_scores)}"
            )
        rationale = args.get("reasons")
        if isinstance(rationale, list):
            rationale = "\n".join(str(r) for r in rationale)
        metadata: dict[str, Any] = {"choice": choice}
        if rationale is not None:
            metadata["rationale"] = rationale
        return Score(self._name(), float(self.choice_scores[choice]), metadata, metrics=dict(metrics or {}))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def load_template(name: str) -> dict[str, Any]:
    """Read a built-in judge template (`loop_tui/data/judges/<snake_name>.json`)."""
    path = JUDGES_DIR / f"{_snake(name)}.json"
    return json.loads(path.read_text(encoding="utf-8"))


class SpecFileClassifier(LLMClassifier):
    """A judge whose template is a data file named after the class (`ClosedQA` -> closed_q_a.json)."""

    def __init__(self, model: str | None = None, use_cot: bool | None = None, **kwargs: Any) -> None:
        spec = load_template(type(self).__name__)
        super().__init__(
            type(self).__name__,
            spec["prompt"],
            spec["choice_scores"],
            model=model or spec.get("model"),
            use_cot=spec.get("use_cot", True) if use_cot is None else use_cot,
            temperature=kwargs.pop("temperature", spec.get("temperature")),
            max_tokens=kwargs.pop("max_tokens", spec.get("max_tokens")),
            **kwargs,
        )


class Factuality(SpecFileClassifier):
    """Is the output factually consistent with the expected answer? (A 0.4, B 0.6, C 1, D 0, E 1)"""


class ClosedQA(SpecFileClassifier):
    """Does the output answer the input and meet `criteria`? (Y 1, N 0)"""


class Battle(SpecFileClassifier):
    """Is the output better than `expected` for the given `instructions`? (Yes 1, No 0)"""


class Humor(SpecFileClassifier):
    """Is the output funny? (Yes 1, No 0, Unsure 0.5)"""


class Security(SpecFileClassifier):
    """Is the output malicious? (Yes 0, No 1, Unsure 0.5)"""


class Sql(SpecFileClassifier):
    """Is the output SQL equivalent to the expected query? (Correct 1, Incorrect 0)"""


class Summary(SpecFileClassifier):
    """Is the output a better summary of the input than `expected`? (A 0, B 1)"""


class Translation(SpecFileClassifier):
    """Does the output translation (from `language`) mean the same as `expected`? (Y 1, N 0)"""


class Possible(SpecFileClassifier):
    """Does the output attempt the task rather than call it impossible? (A 0, B 1)"""
