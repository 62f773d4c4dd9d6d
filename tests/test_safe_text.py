"""`loop_tui.safe_text`: the one sanitiser every output path uses (issue 12, item 9)."""

from __future__ import annotations

import json

from loop_tui.safe_text import json_controls_escaped, literal, one_line, visible

TAKEOVER = "\x1b]0;pwned\x07\x1b[2J"


def test_escape_sequences_become_control_pictures() -> None:
    assert visible(TAKEOVER) == "␛]0;pwned␇␛[2J"


def test_every_c0_control_but_newline_and_tab_is_shown_as_a_symbol() -> None:
    for code in range(0x20):
        char = chr(code)
        if char in "\n\t":
            assert visible(char) == char
        else:
            assert visible(char) == chr(0x2400 + code)
    assert visible("\x7f") == "␡"


def test_c1_controls_and_bidi_overrides_become_escapes() -> None:
    assert visible("a\x9b2Jb") == "a\\x9b2Jb"  # 8-bit CSI
    assert visible("\x85") == "\\x85"
    assert visible("admin\u202e\u2066x") == "admin\\u202e\\u2066x"


def test_one_line_and_keep() -> None:
    assert one_line("a\nb\tc\rd") == "a b c␍d"
    assert visible("a\nb", keep="") == "a␊b"


def test_printable_text_is_returned_unchanged() -> None:
    text = "héllo [bold]wörld[/] 数据 ✓ ␛"
    assert visible(text) is text
    assert visible(None) == ""
    assert visible(3.5) == "3.5"


def test_literal_is_never_markup() -> None:
    text = literal("[red]span[/" + TAKEOVER)
    assert text.plain == "[red]span[/␛]0;pwned␇␛[2J"
    assert not text.spans


def test_json_controls_escaped_keeps_the_value_and_the_terminal() -> None:
    value = {"k": "a\x9b[2J\x7f\u202eb" + TAKEOVER}
    raw = json.dumps(value, ensure_ascii=False)
    assert "\x9b" in raw  # what json.dumps leaves raw with ensure_ascii=False
    safe = json_controls_escaped(raw)
    assert json.loads(safe) == value
    assert all(c.isprintable() for c in safe)
