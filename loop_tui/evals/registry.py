"""Scorer lookup by name: built-ins (heuristics and LLM judges) and scorers saved in a project.

Saved scorers are store `scorer` objects: `{"type": "llm", "prompt", "choice_scores", "use_cot", "model"}`
or `{"type": "code", "code"}`. A project scorer with a built-in's name wins, so a team can override one.
"""

from __future__ import annotations

from typing import Any

from loop_tui.errors import NotFoundError, UserError
from loop_tui.evals.code_scorer import CodeScorer
from loop_tui.evals.score import Scorer
from loop_tui.evals.scorers import HEURISTICS, JUDGES, LLMClassifier

BUILTINS: dict[str, type[Scorer]] = {cls.__name__: cls for cls in (*HEURISTICS, *JUDGES)}


def builtin_names() -> list[str]:
    """Names of the built-in scorers (heuristics first)."""
    return list(BUILTINS)


def is_llm_judge(name: str) -> bool:
    """True for the built-in judges that call a model."""
    return any(cls.__name__.lower() == name.lower() for cls in JUDGES)


def scorer_from_object(
    name: str, data: dict[str, Any], *, settings: Any = None, provider: Any = None
) -> Scorer:
    """Build a scorer from a saved `scorer` object's data."""
    kind = data.get("type")
    if kind == "code":
        code = data.get("code")
        if not isinstance(code, str) or not code.strip():
            raise UserError(f"the code scorer {name!r} has no `code`")
        return CodeScorer(name, code, description=data.get("description", ""))
    if kind == "llm":
        prompt = data.get("prompt")
        if isinstance(prompt, dict):  # a prompt object: use its last user message as the template
            messages = prompt.get("messages") or []
            prompt = "\n\n".join(str(m.get("content", "")) for m in messages)
        if not isinstance(prompt, str) or not prompt.strip():
            raise UserError(f"the LLM judge {name!r} has no `prompt`")
        choice_scores = data.get("choice_scores")
        if not isinstance(choice_scores, dict):
            raise UserError(f"the LLM judge {name!r} needs `choice_scores` (choice -> score)")
        return LLMClassifier(
            name,
            prompt,
            choice_scores,
            model=data.get("model"),
            use_cot=bool(data.get("use_cot", True)),
            temperature=data.get("temperature"),
            max_tokens=data.get("max_tokens"),
            provider=provider,
            settings=settings,
        )
    raise UserError(f"the scorer {name!r} has type {kind!r}; expected 'llm' or 'code'")


def saved_scorer(workspace: Any, project_id: str | None, name: str) -> Any:
    """The project's own scorer object named `name`, or None (then `name` can only be a built-in)."""
    if workspace is None or not project_id:
        return None
    try:
        return workspace.get_object("scorer", project_id, name)
    except NotFoundError:
        return None


def resolve_scorer(
    name: str,
    workspace: Any = None,
    project_id: str | None = None,
    *,
    settings: Any = None,
    judge_model: str | None = None,
    provider: Any = None,
) -> Scorer:
    """A scorer by name: a project scorer (when a workspace is given) or a built-in (case-insensitive).

    `judge_model` / `provider` are used by LLM judges that do not name their own model.
    """
    obj = saved_scorer(workspace, project_id, name)
    if obj is not None:
        scorer = scorer_from_object(obj.name, obj.data, settings=settings, provider=provider)
        if isinstance(scorer, LLMClassifier) and scorer.model is None:
            scorer.model = judge_model
        return scorer
    for builtin_name, cls in BUILTINS.items():
        if builtin_name.lower() == name.lower():
            if issubclass(cls, LLMClassifier):
                # The built-in judges fix their own name, template and choices.
                return cls(model=judge_model, provider=provider, settings=settings)  # type: ignore[call-arg]
            return cls()
    saved: list[str] = []
    if workspace is not None and project_id:
        saved = [o.name for o in workspace.objects("scorer", project_id)]
    known = ", ".join([*builtin_names(), *saved])
    raise UserError(f"unknown scorer {name!r}; choose one of: {known}")
