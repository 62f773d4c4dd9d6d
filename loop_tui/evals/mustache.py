"""A small mustache renderer without HTML escaping, as Braintrust and autoevals render prompts.

Supported: `{{name}}`, `{{{name}}}` and `{{& name}}` (all identical: nothing is escaped), dotted names
(`{{input.question}}`), sections `{{#x}}…{{/x}}` (lists iterate, objects push a context, truthy scalars
render once), inverted sections `{{^x}}…{{/x}}`, the implicit iterator `{{.}}` and comments `{{! … }}`.
Strings insert as they are; objects and lists insert as JSON; `None` inserts nothing.

A variable that cannot be resolved is a `TemplateError` naming it (a prompt that silently drops
`{{input.qustion}}` is worse than one that fails), while a missing *section* name is simply falsy, so
`{{#metadata.hint}}…{{/metadata.hint}}` is how a template makes a part optional.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from loop_tui.errors import UserError

_TAG = re.compile(r"\{\{(\{)?\s*([#^/!&]?)\s*(.*?)\s*(\})?\}\}", re.DOTALL)
_MISSING = object()


class TemplateError(UserError):
    """A template that cannot be parsed or rendered (unclosed section, unknown variable)."""


@dataclass
class _Text:
    text: str


@dataclass
class _Var:
    name: str


@dataclass
class _Section:
    name: str
    inverted: bool
    children: list


def _parse(template: str) -> list:
    """Turn a template into a tree of text, variables and sections."""
    root: list = []
    stack: list[tuple[str, list]] = [("", root)]
    pos = 0
    for match in _TAG.finditer(template):
        if match.start() > pos:
            stack[-1][1].append(_Text(template[pos : match.start()]))
        pos = match.end()
        triple_open, sigil, name, triple_close = match.groups()
        if sigil == "!":
            continue
        if bool(triple_open) != bool(triple_close) and sigil != "&":
            raise TemplateError(f"unbalanced braces in the tag `{match.group(0)}`")
        if not name:
            raise TemplateError(f"empty tag `{match.group(0)}` in the template")
        if sigil in ("#", "^"):
            section = _Section(name, sigil == "^", [])
            stack[-1][1].append(section)
            stack.append((name, section.children))
        elif sigil == "/":
            if len(stack) == 1 or stack[-1][0] != name:
                open_name = stack[-1][0] if len(stack) > 1 else None
                expected = f"`{{{{/{open_name}}}}}`" if open_name else "no closing tag"
                raise TemplateError(f"the closing tag `{{{{/{name}}}}}` does not match: expected {expected}")
            stack.pop()
        else:
            stack[-1][1].append(_Var(name))
    if pos < len(template):
        stack[-1][1].append(_Text(template[pos:]))
    if len(stack) > 1:
        raise TemplateError(f"the section `{{{{#{stack[-1][0]}}}}}` is never closed")
    return root


def _lookup(name: str, contexts: list[Any]) -> Any:
    """Resolve a (dotted) name against the context stack, innermost first; `_MISSING` when absent."""
    if name == ".":
        return contexts[-1]
    head, *rest = name.split(".")
    value: Any = _MISSING
    for ctx in reversed(contexts):
        if isinstance(ctx, dict) and head in ctx:
            value = ctx[head]
            break
    if value is _MISSING:
        return _MISSING
    for part in rest:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def to_text(value: Any) -> str:
    """How a value is inserted into a prompt: strings as is, None as nothing, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _render(nodes: list, contexts: list[Any], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Var):
            value = _lookup(node.name, contexts)
            if value is _MISSING:
                raise TemplateError(
                    f"the template uses `{{{{{node.name}}}}}` but the row has no `{node.name}`",
                    hint=f"available variables: {', '.join(_top_level_names(contexts)) or 'none'}",
                )
            out.append(to_text(value))
        else:
            value = _lookup(node.name, contexts)
            truthy = value is not _MISSING and bool(value)
            if node.inverted:
                if not truthy:
                    _render(node.children, contexts, out)
            elif truthy:
                items = value if isinstance(value, list) else [value]
                for item in items:
                    _render(node.children, [*contexts, item], out)


def _top_level_names(contexts: list[Any]) -> list[str]:
    names: list[str] = []
    for ctx in contexts:
        if isinstance(ctx, dict):
            names.extend(k for k in ctx if isinstance(k, str) and not k.startswith("__") and k not in names)
    return names


def render(template: str, context: dict[str, Any], *, fallback: dict[str, Any] | None = None) -> str:
    """Render a mustache template with `context` (names missing there are looked up in `fallback`).

    Unknown variables raise `TemplateError`.
    """
    out: list[str] = []
    _render(_parse(template), [fallback or {}, context], out)
    return "".join(out)
