"""Text from data, made safe to show on a terminal: control characters become visible symbols.

A log row, a project name or a model's answer can hold terminal control sequences
(`ESC ]0;title BEL` sets the window title, `ESC [2J` clears the screen). Written raw, they act on the
user's terminal instead of being read. `visible()` is the one function every output path uses (the
CLI's tables and messages, every widget of the app): C0 controls become their Unicode control pictures
(ESC → ␛, BEL → ␇, CR → ␍), DEL becomes ␡, and C1 controls and the bidirectional overrides that can
reorder what a line appears to say ("Trojan Source") become `\\x9b` / `\\u202e` escapes.

Markup is the other half of "text from data is data": `literal()` wraps sanitised text in a
`rich.text.Text`, which Textual widgets, tree labels, option prompts, border titles and table cells
show as written, never parsing `[bold]` or `[/` as markup.

Plain Python (no Textual), so the CLI can use it; rich is imported only by `literal()`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

# Bidirectional embeddings, overrides and isolates: invisible, and they reorder the text after them.
_BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))

LINE_BREAKS = "\n\t"
"""The controls `visible()` keeps by default: where the output is multi-line, a newline and a tab are layout."""


@lru_cache(maxsize=8)
def _table(keep: str) -> dict[int, str]:
    table: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}  # ␀ … ␟
    table[0x7F] = "␡"
    table.update({code: f"\\x{code:02x}" for code in range(0x80, 0xA0)})
    table.update({code: f"\\u{code:04x}" for code in _BIDI_CONTROLS})
    for char in keep:
        table.pop(ord(char), None)
    return table


def visible(text: Any, *, keep: str = LINE_BREAKS) -> str:
    """`text` (anything, via `str()`) with every terminal control character shown as a visible symbol.

    `keep` names the controls left as they are: newline and tab by default, `""` for one-line output
    (where a newline would break a table row and is shown as ␊).
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if text.isprintable():  # the common case: nothing to translate
        return text
    return text.translate(_table(keep))


def one_line(text: Any) -> str:
    """`visible(text)` for a single line: newlines and tabs become spaces, every other control a symbol."""
    return visible(text).replace("\n", " ").replace("\t", " ")


def json_controls_escaped(json_text: str) -> str:
    """JSON text with DEL, C1 and bidi controls written as `\\uXXXX` escapes: the same JSON value, safe to print.

    `json.dumps(..., ensure_ascii=False)` escapes C0 controls but writes these raw; outside strings JSON has
    none of them, so replacing them everywhere never changes what the JSON means.
    """
    if json_text.isascii() and "\x7f" not in json_text:
        return json_text
    return json_text.translate(_JSON_ESCAPES)


_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), *_BIDI_CONTROLS)}


def escaped_markup(text: Any) -> str:
    """Sanitised `text` as a markup string that shows as written: for the few places whose value must stay a
    `str` (a DataTable cell read back with `get_row`); everywhere else `literal()` is simpler."""
    from rich.markup import escape

    return escape(visible(text))


def literal(text: Any, style: str = "") -> Text:
    """Sanitised `text` as a `rich.text.Text`: shown by Textual exactly as written, never parsed as markup."""
    from rich.text import Text

    return Text(visible(text), style=style)
