"""Turning HTTP failures into `ProviderError`s with one clear sentence, and keeping keys out of them.

Every message built here goes through `redact()` with the request's API key, so a server that echoes
the key back (OpenAI's "Incorrect API key provided: ..." does, partially) can never leak it into an
error, a log line or a saved transcript.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from loop_tui.llm.base import ProviderError

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
_CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens|"
    r"input is too long|exceeds the (?:model'?s? )?(?:maximum|context)",
    re.IGNORECASE,
)
_MAX_API_MESSAGE = 300


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of `secret` in `text` with `***` (no-op for empty secrets)."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def api_error_details(body: bytes | str) -> tuple[str, str]:
    """(message, code-or-type) from an error body in OpenAI, Anthropic or Ollama shape; raw text otherwise."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text.strip()[:_MAX_API_MESSAGE], ""
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, str):  # Ollama / some proxies: {"error": "model 'x' not found"}
            return error[:_MAX_API_MESSAGE], ""
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("detail") or "")
            code = str(error.get("code") or error.get("type") or "")
            return message[:_MAX_API_MESSAGE], code
    return text.strip()[:_MAX_API_MESSAGE], ""


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The server's requested wait: `retry-after-ms` (milliseconds) wins over `retry-after` (seconds)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP-date: rare from model APIs, fall back to our own backoff
        if seconds >= 0:
            return seconds
    return None


def is_context_length(message: str, code: str) -> bool:
    """Whether an API error says the prompt does not fit the model's context window."""
    return code in ("context_length_exceeded", "string_above_max_length") or bool(
        _CONTEXT_PATTERNS.search(message)
    )


def classify_http_error(
    status: int,
    body: bytes | str,
    *,
    provider: str,
    model: str,
    api_key_env: str | None,
    secret: str | None,
) -> ProviderError:
    """Map a non-2xx response to a `ProviderError` whose message names the env var or model, never the key."""
    message, code = api_error_details(body)
    message = redact(message, secret)
    detail = f": {message}" if message else ""
    if status in (401, 403):
        where = f"the key in ${api_key_env}" if api_key_env else f"the {provider} provider's api_key_env setting"
        verb = "rejected the API key" if status == 401 else "refused access with this API key"
        return ProviderError("auth", f"{provider} {verb} (HTTP {status}); check {where}.", status)
    if status == 404 or code in ("model_not_found", "not_found_error"):
        return ProviderError(
            "not_found",
            f"{provider} does not know the model '{model}' (HTTP {status}){detail}; check the model name.",
            status,
        )
    if status in (400, 413, 422) and is_context_length(message, code):
        return ProviderError(
            "context_length", f"the conversation is too long for '{model}'{detail}", status
        )
    if status == 429:
        if code == "insufficient_quota":  # out of credit: waiting will not help
            return ProviderError("rate_limit", f"{provider} account is out of quota{detail}", status)
        return ProviderError("rate_limit", f"{provider} rate limit reached (HTTP 429){detail}", status, True)
    if status in RETRYABLE_STATUS or status >= 500:
        return ProviderError("server", f"{provider} server error (HTTP {status}){detail}", status, True)
    return ProviderError("bad_request", f"{provider} rejected the request (HTTP {status}){detail}", status)


def classify_stream_error(
    error: Any, *, provider: str, model: str, secret: str | None
) -> ProviderError:
    """Map an error object that arrived inside a 200 stream (Anthropic `event: error`, OpenAI-compatible `data: {"error"}`)."""
    if isinstance(error, dict):
        message = redact(str(error.get("message") or ""), secret)[:_MAX_API_MESSAGE]
        code = str(error.get("type") or error.get("code") or "")
    else:
        message, code = redact(str(error), secret)[:_MAX_API_MESSAGE], ""
    detail = f": {message}" if message else ""
    if code in ("overloaded_error", "api_error", "server_error", "internal_server_error"):
        return ProviderError("server", f"{provider} failed mid-reply ({code}){detail}", None, True)
    if code in ("rate_limit_error", "rate_limit_exceeded"):
        return ProviderError("rate_limit", f"{provider} rate limit reached mid-reply{detail}", None, True)
    if is_context_length(message, code):
        return ProviderError("context_length", f"the conversation is too long for '{model}'{detail}")
    if code in ("authentication_error", "permission_error"):
        return ProviderError("auth", f"{provider} rejected the API key mid-reply{detail}")
    if code == "not_found_error":
        return ProviderError("not_found", f"{provider} does not know the model '{model}'{detail}")
    if code == "invalid_request_error":
        return ProviderError("bad_request", f"{provider} rejected the request{detail}")
    return ProviderError("server", f"{provider} reported an error mid-reply{detail}", None, True)


# Where advice is shown decides its words: a command line has flags, the app has fields and pages, and a
# message that may reach either (Loop's tools, the store) names neither.
_MODEL_CHOICE = {
    "cli": "pick another model with --model",
    "playground": "choose another model in the playground's model field",
    "app": "choose another model",
    "any": "choose another model",
}
_IN_APP = ("playground", "app")


def model_unavailable_advice(reason: str, model: str | None, key_env: str | None, where: str) -> tuple[str, str]:
    """(what is wrong, what to do) when a model cannot be called at all, in the terms of `where`.

    reason: "no_key" (its key's environment variable is unset) or "offline" (only the built-in offline model
    is configured). where: "cli", "playground" (its model field), "app" (another page) or "any" (unknown: no
    flag, no field). A pure function of its arguments.
    """
    choose = _MODEL_CHOICE.get(where, _MODEL_CHOICE["any"])
    restart = " and restart Loop TUI" if where in _IN_APP else ""
    if reason == "offline":
        keys = "or add a provider on the Settings page" if where in _IN_APP else "or a provider in the settings"
        return (
            "evals need a language model, but only the built-in offline model is configured:",
            f"set OPENAI_API_KEY or ANTHROPIC_API_KEY ({keys}){restart}, then {choose}.",
        )
    name = f" {model!r}" if model else ""
    variable = f"the environment variable {key_env}" if key_env else "its provider's api_key_env setting"
    return f"no API key for the model{name}:", f"set {variable}{restart}, or {choose}."
