"""Prompt tasks: messages with mustache templates, a model and sampling parameters.

A prompt file (JSON, or YAML when PyYAML is installed) and a store `prompt` object share one shape:
`{"messages": [{"role": "system"|"user"|"assistant", "content": "… {{input}} …"}], "model": "…",
"params": {"temperature": 0, "max_tokens": 256, "response_format": {"type": "json_object"}, "tools": [...]}}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.evals.mustache import TemplateError, render

_ROLES = {"system", "user", "assistant", "tool"}
# Params that map onto ModelParams fields; anything else is passed through in `extra`.
_KNOWN_PARAMS = {"temperature", "max_tokens", "top_p", "response_format", "tool_choice", "stop"}


@dataclass
class PromptSpec:
    """A task prompt: templated messages plus the model and parameters to run them with."""

    messages: list[dict[str, Any]]
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.messages, list) or not self.messages:
            raise UserError("a prompt needs a non-empty `messages` list")
        for i, message in enumerate(self.messages):
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                raise UserError(f"prompt message {i} needs a `role` of system, user or assistant")
            if not isinstance(message.get("content", ""), str):
                raise UserError(f"prompt message {i} needs `content` to be a string")
        if not isinstance(self.params, dict):
            raise UserError("prompt `params` must be an object")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str | None = None, id: str | None = None) -> PromptSpec:
        """Build from the prompt-file / store shape; a malformed dict is a `UserError`."""
        if not isinstance(data, dict):
            raise UserError("a prompt must be a JSON object with `messages`")
        fmt = data.get("template_format", "mustache")
        if fmt not in (None, "mustache"):
            raise UserError(f"prompt template format `{fmt}` is not supported; use mustache")
        return cls(
            messages=data.get("messages") or [],
            model=data.get("model"),
            params=dict(data.get("params") or {}),
            name=name or data.get("name"),
            id=id,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> PromptSpec:
        """Load a prompt file (.json, or .yaml/.yml when PyYAML is installed)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot read the prompt file {path}: {exc.strerror or exc}") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise UserError(
                    f"{path} is YAML but PyYAML is not installed; use a JSON prompt file"
                ) from None
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise UserError(f"the prompt file {path} is not valid YAML: {exc}") from None
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UserError(
                    f"the prompt file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
                ) from None
        return cls.from_dict(data, name=path.stem)

    @classmethod
    def from_object(cls, obj: Any) -> PromptSpec:
        """Build from a store `prompt` CatalogObject (or anything with `.data`, `.name`, `.id`)."""
        return cls.from_dict(obj.data, name=obj.name, id=obj.id)

    def to_dict(self) -> dict[str, Any]:
        """The store / prompt-file shape (what an experiment records as its prompt)."""
        return {
            "messages": self.messages,
            "model": self.model,
            "params": self.params,
            "template_format": "mustache",
        }

    def render(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """Render every message for a dataset row (`input`, `expected`, `metadata`)."""
        return render_prompt(self.messages, row)

    @property
    def wants_json(self) -> bool:
        """True when the prompt asks for a JSON response format, so the task output is parsed JSON."""
        fmt = self.params.get("response_format")
        return isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        """Tool schemas offered to the model, in the neutral `{name, description, parameters}` shape."""
        tools = self.params.get("tools")
        if not tools:
            return None
        out = []
        for tool in tools:
            # Accept the OpenAI wire shape too: {"type": "function", "function": {...}}.
            fn = tool.get("function", tool) if isinstance(tool, dict) else None
            if not isinstance(fn, dict) or not fn.get("name"):
                raise UserError("each prompt tool needs a `name` (and `parameters` JSON schema)")
            out.append(
                {
                    "name": fn["name"],
                    "description": fn.get("description", ""),
                    "parameters": fn.get("parameters") or {"type": "object", "properties": {}},
                }
            )
        return out

    def model_params(self) -> Any:
        """The prompt's params as `loop_tui.llm.base.ModelParams` (unknown keys go to `extra`)."""
        from loop_tui.llm.base import ModelParams

        known = {k: v for k, v in self.params.items() if k in _KNOWN_PARAMS}
        extra = {k: v for k, v in self.params.items() if k not in _KNOWN_PARAMS and k != "tools"}
        return ModelParams(**known, extra=extra)


def row_context(row: dict[str, Any]) -> dict[str, Any]:
    """The mustache context for a dataset row: input, expected, metadata (absent ones are empty)."""
    context = dict(row)
    context.setdefault("input", None)
    context.setdefault("expected", None)
    context.setdefault("metadata", {})
    return context


def render_prompt(messages: list[dict[str, Any]], row: dict[str, Any]) -> list[dict[str, Any]]:
    """Render templated messages for one row; a missing variable is a `TemplateError` naming it."""
    context = row_context(row)
    rendered = []
    for i, message in enumerate(messages):
        try:
            content = render(message.get("content") or "", context)
        except TemplateError as err:
            raise TemplateError(
                f"message {i} ({message.get('role')}): {err.message}", hint=err.hint
            ) from None
        rendered.append({**message, "content": content})
    return rendered
