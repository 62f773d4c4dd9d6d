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
    return _scrub_with(text, _env_secrets(os.environ if env is None else env))


def _scrub_with(text: str, secrets: list[str]) -> str:
    for value in secrets:
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


class StreamScrubber:
    """Scrub text that arrives in pieces (a streamed answer), where a key may be split across two pieces.

    It holds back the last few words, since a secret and the words that mark one ("Bearer …",
    `api_key = "…"`) span at most three of them, and releases text only up to the whitespace before them.
    Every released part is scrubbed whole, so the output equals `scrub` of the whole text. A very long run
    without whitespace is released at the last character no key contains, so the stream never stalls.
    """

    HOLD_WORDS = 3
    MAX_HOLD = 4096
    _WORD = re.compile(r"\S+")
    _NOT_IN_KEYS = re.compile(r"[^A-Za-z0-9_\-.=+/]")

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        # Read once: a stream lasts one answer, and scanning the environment for every piece of a fast
        # stream cost more than the rest of the chat's work on it.
        self._secrets = _env_secrets(os.environ if env is None else env)
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Take the next piece; returns the scrubbed text that is now safe to show (maybe empty)."""
        self._pending += piece
        cut = self._safe_cut(self._pending)
        if cut <= 0:
            return ""
        released, self._pending = self._pending[:cut], self._pending[cut:]
        return _scrub_with(released, self._secrets) if released else released

    def flush(self) -> str:
        """The rest of the stream, scrubbed (call at the end of the answer)."""
        released, self._pending = self._pending, ""
        return _scrub_with(released, self._secrets) if released else released

    def _safe_cut(self, text: str) -> int:
        words = list(self._WORD.finditer(text))
        if len(words) > self.HOLD_WORDS:
            cut = words[-self.HOLD_WORDS].start()
        elif len(text) > self.MAX_HOLD:
            last = None
            for last in self._NOT_IN_KEYS.finditer(text, 0, len(text) - 256):  # noqa: B007 - want the last
                pass
            cut = last.end() if last else 0
        else:
            return 0
        # Never split a secret from the words that mark it ("token: …"): cut before any match it crosses.
        for start, end in sorted(_secret_spans(text, self._secrets), reverse=True):
            if start < cut < end:
                cut = start
        return cut


def _secret_spans(text: str, secrets: list[str]) -> list[tuple[int, int]]:
    """Where `scrub` would redact in `text` (start, end), whole matches including their marking words."""
    spans = []
    for value in secrets:
        start = text.find(value)
        while start >= 0:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    for pattern in _PATTERNS:
        spans += [m.span() for m in pattern.finditer(text)]
    return spans
