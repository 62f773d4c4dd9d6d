#!/usr/bin/env python3
"""Fail when code or tests use a private attribute or module of a dependency (issue 14).

Private internals change without notice in any release, so every use of one is a break waiting for the next
upgrade. The check reads code only (comments and strings are blanked with `tokenize`, so a docstring may
still *name* an internal) and knows the forms that were found in this project: private Textual modules
(`textual._compositor`), private attributes of Textual objects (`._bindings`, `._keymap`, ...), httpcore's
pool internals, and swapping an object's class at runtime (`x.__class__ = ...`).

`ALLOWED` (now empty) lists files allowed a pattern. It may only shrink: a listed file that no longer uses
its pattern fails the check too, so a fixed file must leave the list.

    python .ci/check_private_api.py        # exit 0 clean, 1 with one line per finding
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("loop_tui", "tests", "benchmarks")

# name -> pattern over a line of code (strings and comments blanked).
PATTERNS: dict[str, re.Pattern[str]] = {
    "private textual module": re.compile(r"\btextual(\.\w+)*\._\w"),
    "private httpcore module or pool internals": re.compile(
        r"\bhttpcore(\.\w+)*\._\w|\b_assign_requests_to_connections\b|\w*(pool|transport)\w*\._(pool|connections|requests)\b"
    ),
    "class swapped at runtime": re.compile(r"\.__class__\s*=(?!=)"),
    "._bindings": re.compile(r"\._bindings\b"),
    "._keymap": re.compile(r"\._keymap\b"),
    "._screen_stacks": re.compile(r"\._screen_stacks\b"),
    "._compositor": re.compile(r"\._compositor\b"),
    "._notifications": re.compile(r"\._notifications\b"),
    "._highlights": re.compile(r"\._highlights\b"),
    "._styles_cache": re.compile(r"\._styles_cache\b"),
    "TextArea._build_highlight_map": re.compile(r"\b_build_highlight_map\b"),
}

# Files allowed a pattern, with the patterns (none remain: every use was replaced by a public API). Each
# entry is checked to still be needed. Never add one for new code.
ALLOWED: dict[str, set[str]] = {}


def code_lines(source: str) -> list[str]:
    """The source's lines with every comment and string literal blanked (line numbers kept)."""
    lines = [list(line) for line in source.splitlines()]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source.splitlines()
    for tok in tokens:
        if tok.type not in (tokenize.COMMENT, tokenize.STRING):
            continue
        (srow, scol), (erow, ecol) = tok.start, tok.end
        for row in range(srow, erow + 1):
            chars = lines[row - 1]
            start = scol if row == srow else 0
            end = ecol if row == erow else len(chars)
            chars[start:end] = " " * (end - start)
    return ["".join(chars) for chars in lines]


def findings(root: Path = ROOT) -> list[tuple[str, int, str]]:
    """(file relative to root, line, pattern name) for every use of a private dependency API."""
    found: list[tuple[str, int, str]] = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for number, line in enumerate(code_lines(path.read_text(encoding="utf-8")), 1):
                found += [(rel, number, name) for name, pattern in PATTERNS.items() if pattern.search(line)]
    return found


def problems(root: Path = ROOT) -> list[str]:
    """One sentence per finding not allowed, and per allowlist entry no longer needed."""
    found = findings(root)
    out = [
        f"{rel}:{number}: uses a private API of a dependency ({name})"
        for rel, number, name in found
        if name not in ALLOWED.get(rel, set())
    ]
    used = {(rel, name) for rel, _, name in found}
    out += [
        f"{rel}: allowlisted for {name!r} but no longer uses it: remove the entry from ALLOWED"
        for rel, names in sorted(ALLOWED.items())
        for name in sorted(names)
        if (rel, name) not in used
    ]
    return out


def main() -> int:
    """Print the problems; exit 1 if there are any."""
    found = problems()
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} problem(s): use the dependency's public API (see .ci/check_private_api.py)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
