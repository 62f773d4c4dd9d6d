"""Helpers shared by CLI commands: tables on a terminal, JSON on stdout.

Text from data never reaches the terminal raw (issue 12): table cells go through `one_line()` (control
characters shown as ␛, ␇…, newlines as spaces) and JSON keeps its escapes for the controls a terminal acts on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from loop_tui.safe_text import json_controls_escaped, one_line


def print_json(value: Any) -> None:
    """Pretty JSON on stdout (dates and other objects as strings)."""
    text = json.dumps(value, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write(json_controls_escaped(text) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain, aligned text table (no colours, so it pipes cleanly)."""
    cells = [[("" if v is None else one_line(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    sys.stdout.write(line.rstrip() + "\n")
    for row in cells:
        sys.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
