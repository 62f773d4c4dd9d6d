"""Catalog objects between Braintrust's API shapes and the local store's `data`.

Local prompts are `{messages, model, params, template_format}`; Braintrust's are `prompt_data: {prompt:
{type: chat, messages}, options: {model, params}, template_format}`. Local scorers are `{type: code, code}`
or `{type: llm, prompt, choice_scores, use_cot, model}`; Braintrust's are functions with
`function_type: scorer` and `function_data` (`code`) or a prompt with an `llm_classifier` parser. What the
local shape has no place for is kept under `data["_braintrust"]` (with the remote slug and `_xact_id`), so
a pull and a push give Braintrust back what it sent.
"""

from __future__ import annotations

import copy
from typing import Any

BT = "_braintrust"


def remote_xact(data: dict[str, Any]) -> str | None:
    """The remote `_xact_id` a local object version was pulled at (None: never pulled, or changed here)."""
    meta = data.get(BT)
    return str(meta["xact"]) if isinstance(meta, dict) and meta.get("xact") else None


def experiment_data(remote: dict[str, Any]) -> dict[str, Any]:
    """Local experiment data from a Braintrust experiment object."""
    known = {"id", "project_id", "name", "created", "description", "metadata", "base_exp_id", "dataset_id"}
    return {
        "description": remote.get("description") or "",
        "metadata": remote.get("metadata") or {},
        "base_experiment_id": remote.get("base_exp_id"),
        "dataset_id": remote.get("dataset_id"),
        BT: {k: v for k, v in remote.items() if k not in known},
    }


def dataset_data(remote: dict[str, Any]) -> dict[str, Any]:
    """Local dataset data from a Braintrust dataset object."""
    return {"description": remote.get("description") or "", "metadata": remote.get("metadata") or {}}


def prompt_data_to_local(remote: dict[str, Any]) -> dict[str, Any]:
    """Local prompt data from a Braintrust prompt object (one version)."""
    prompt_data = remote.get("prompt_data") or {}
    block = prompt_data.get("prompt") or {}
    options = prompt_data.get("options") or {}
    if block.get("type") == "completion":
        messages = [{"role": "user", "content": block.get("content", "")}]
    else:
        messages = list(block.get("messages") or [])
    return {
        "messages": messages,
        "model": options.get("model"),
        "params": dict(options.get("params") or {}),
        "template_format": prompt_data.get("template_format") or "mustache",
        "description": remote.get("description") or "",
        BT: {"slug": remote.get("slug"), "xact": remote.get("_xact_id"), "prompt_data": prompt_data,
             "tags": remote.get("tags"), "metadata": remote.get("metadata")},
    }


def prompt_to_remote(name: str, data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """The body of `PUT /v1/prompt` for a local prompt version."""
    meta = data.get(BT) if isinstance(data.get(BT), dict) else {}
    prompt_data = copy.deepcopy(meta.get("prompt_data") or {})
    prompt_data["prompt"] = {**(prompt_data.get("prompt") or {}), "type": "chat", "messages": data.get("messages") or []}
    prompt_data["prompt"].pop("content", None)
    prompt_data["options"] = {**(prompt_data.get("options") or {}), "model": data.get("model"),
                              "params": data.get("params") or {}}
    if data.get("template_format"):
        prompt_data["template_format"] = data["template_format"]
    return {"project_id": project_id, "name": name, "slug": meta.get("slug") or _slug(name),
            "description": data.get("description") or "", "prompt_data": prompt_data,
            "tags": meta.get("tags"), "metadata": meta.get("metadata")}


def scorer_to_local(remote: dict[str, Any]) -> dict[str, Any]:
    """Local scorer data from a Braintrust scorer function (one version)."""
    function_data = remote.get("function_data") or {}
    meta = {"slug": remote.get("slug"), "xact": remote.get("_xact_id"), "function_data": function_data,
            "prompt_data": remote.get("prompt_data")}
    if function_data.get("type") == "code":
        code = (function_data.get("data") or {}).get("code", "")
        return {"type": "code", "code": code, "description": remote.get("description") or "", BT: meta}
    prompt_data = remote.get("prompt_data") or {}
    parser = prompt_data.get("parser") or {}
    messages = (prompt_data.get("prompt") or {}).get("messages") or []
    text = "\n\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    return {"type": "llm", "prompt": text, "choice_scores": parser.get("choice_scores") or {},
            "use_cot": bool(parser.get("use_cot", True)), "model": (prompt_data.get("options") or {}).get("model"),
            "description": remote.get("description") or "", BT: meta}


def scorer_to_remote(name: str, data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """The body of `PUT /v1/function` for a local scorer version."""
    meta = data.get(BT) if isinstance(data.get(BT), dict) else {}
    body: dict[str, Any] = {"project_id": project_id, "name": name, "slug": meta.get("slug") or _slug(name),
                            "description": data.get("description") or "", "function_type": "scorer"}
    if data.get("type") == "code":
        function_data = copy.deepcopy(meta.get("function_data") or {"type": "code", "data": {
            "type": "inline", "runtime_context": {"runtime": "python", "version": "3.11"}}})
        function_data.setdefault("data", {})["code"] = data.get("code", "")
        body["function_data"] = function_data
        return body
    prompt_data = copy.deepcopy(meta.get("prompt_data") or {})
    prompt_data["prompt"] = {"type": "chat", "messages": [{"role": "user", "content": data.get("prompt", "")}]}
    prompt_data["options"] = {**(prompt_data.get("options") or {}), "model": data.get("model")}
    prompt_data["parser"] = {"type": "llm_classifier", "use_cot": bool(data.get("use_cot", True)),
                             "choice_scores": data.get("choice_scores") or {}}
    body.update(function_data={"type": "prompt"}, prompt_data=prompt_data)
    return body


def same_content(local: dict[str, Any], pulled: dict[str, Any]) -> bool:
    """Whether two local data dicts say the same thing (ignoring the sync bookkeeping)."""
    strip = lambda d: {k: v for k, v in d.items() if k != BT}  # noqa: E731
    return strip(local) == strip(pulled)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "object"
