"""Scrub anything that looks like a secret before it reaches a model, a transcript or the screen.

Two nets: the exact values of environment variables whose names say they hold a secret
(`*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`), and the shapes of common key formats
(OpenAI/Anthropic `sk-…`, `Bearer …`, AWS access keys, GitHub and Slack tokens, `api_key=…`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
_SECRET_ENV = re.compile(r"(_API_KEY|_KEY|_TOKEN|_SECRET|_PASSWORD)$", re.IGNORECASE)
_PATTERNS = [
    re.compile(r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9_\-\.=]{12,}"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"xox[abprs]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"(?i)((?:api[_-]?key|secret|token|password)[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9_\-\.]{12,})"),
]


def _env_secrets(env: Mapping[str, str]) -> list[str]:
    # Short values ("1", "true") would redact ordinary words; real keys are long.
    return sorted({v for k, v in env.items() if _SECRET_ENV.search(k) and len(v) >= 8}, key=len, reverse=True)


def scrub(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with secret-looking substrings replaced by `[redacted]`."""
    if not text:
        return text
    for value in _env_secrets(os.environ if env is None else env):
        text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def scrub_value(value: Any, env: Mapping[str, str] | None = None) -> Any:
    """Scrub every string inside a JSON-like value (dicts, lists, strings)."""
    if isinstance(value, str):
        return scrub(value, env)
    if isinstance(value, dict):
        return {k: scrub_value(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, env) for v in value]
    return value
