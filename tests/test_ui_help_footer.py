"""Help and footer text (issue 11, item 13): keys as people write them, each once; whole footer hints only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loop_tui.ui.keys import key_label
from tests.test_loop_ui_support import wait_for
from tests.test_ui_hostile_data import settled
from tests.test_ui_support import make_app, screen_text

PAGES = ("playground", "experiments", "datasets", "logs", "btql", "settings")


def test_key_labels_are_written_as_people_write_them() -> None:
    assert key_label("question_mark") == "?"
    assert key_label("slash") == "/"
    assert key_label("escape,question_mark,q") == "esc or ? or q"
    assert key_label("ctrl+o") == "ctrl+o"
    assert key_label("plus") == "+"
    assert key_label("escape,backspace") == "esc or backspace"
    assert key_label("j,j") == "j"


async def test_help_lists_each_key_once_as_written(shared_sample_ws_path: Path) -> None:
    from textual.widgets import DataTable

    from loop_tui.ui.screens.help import HelpScreen

    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(120, 50)) as pilot:
        await settled(pilot)
        await app.run_action("help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and bool(app.screen.query(DataTable))
                       and app.screen.query_one(DataTable).row_count > 0)
        table = app.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        keys = [key for row in rows for key in row[0].split(" or ")]
        actions = {row[1]: row[0] for row in rows}
        assert actions["Help"] == "?" and actions["Filter"] == "/"
        assert not [k for k in keys if "_" in k or k in ("slash", "escape")]
        assert len(keys) == len(set(keys)), f"a key is listed twice: {sorted(keys)}"
        # The logs page binds esc itself, so the generic "leave field" binding it shadows is not listed.
        assert actions["Table"] == "esc" and "Leave field" not in actions


def _footer_words(app: Any) -> set[str]:
    """Every word a footer hint may show on this screen."""
    words = {"^p", "palette"}
    for _node, binding, _enabled, _tooltip in app.screen.active_bindings.values():
        words.update(app.get_key_display(binding).split())
        words.update((binding.description or "").split())
        if binding.group is not None:
            words.update(binding.group.description.split())
            words.add("".join(app.get_key_display(b) for _, b, _, _ in app.screen.active_bindings.values()
                              if b.group == binding.group))
    return words


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_footer_shows_whole_hints_only(shared_sample_ws_path: Path, size: tuple[int, int]) -> None:
    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        for page in PAGES:
            await app.run_action(f"switch_page('{page}')")
            await settled(pilot)  # until the screen stops changing: the footer measures its hints after layout
            footer = screen_text(app).splitlines()[-1]
            hints, _, palette = footer.partition("▏")
            assert palette.strip() == "^p palette", footer
            stray = sorted(set(hints.split()) - _footer_words(app))
            assert not stray, f"{page} at {size}: {stray} in {footer!r}"


def _orphan_groups(app: Any, footer: str) -> list[str]:
    """Key groups shown without their label ("123456" with no "Pages" after it)."""
    hints = footer.partition("▏")[0].split()
    orphans = []
    for _node, binding, _enabled, _tooltip in app.screen.active_bindings.values():
        if binding.group is None:
            continue
        keys = "".join(app.get_key_display(b) for _, b, _, _ in app.screen.active_bindings.values()
                       if b.group == binding.group)
        label = binding.group.description.split()
        if keys in hints:
            at = hints.index(keys)
            if hints[at + 1:at + 1 + len(label)] != label:
                orphans.append(keys)
    return orphans


@pytest.mark.parametrize("width", [96, 104, 112])
async def test_footer_fits_its_hints_after_focus_moves_and_pages_switch(shared_sample_ws_path: Path, width: int) -> None:
    # Seen in tmux at 120x40: after a question in Loop's chat, then `1` and `4`, the footer showed
    # "^o Projec▏^p paletteo" on the playground and "123456" without "Pages" on the logs page.
    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(width, 40)) as pilot:
        await settled(pilot)
        for keys in (("ctrl+l",), ("escape",), ("1",), ("4",), ("ctrl+l",), ("escape", "1"), ("4",), ("5",),
                     ("4",)):
            await pilot.press(*keys)
            await settled(pilot)

            def whole() -> bool:
                footer = screen_text(app).splitlines()[-1]
                hints, _, palette = footer.partition("▏")
                return (palette.strip() == "^p palette" and not set(hints.split()) - _footer_words(app)
                        and not _orphan_groups(app, footer))

            await wait_for(pilot, whole, timeout=5)


async def test_the_footer_is_one_widget_that_follows_the_keys(shared_sample_ws_path: Path) -> None:
    # Textual's footer is a widget per hint (~20 on a page), rebuilt, styled and measured before a page's first
    # rows; ours draws its hints itself, and still shows the keys of where the cursor is.
    from textual.widgets import Input

    from loop_tui.ui.widgets.footer import PageFooter

    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        footer = app.screen.query_one(PageFooter)
        assert not footer.children
        assert "n Next page" in screen_text(app).splitlines()[-1]
        app.screen.query_one("#logs-filter-input", Input).focus()  # the filter has other keys than the rows
        await wait_for(pilot, lambda: "n Next page" not in screen_text(app).splitlines()[-1])
        assert "^p palette" in screen_text(app).splitlines()[-1]


async def test_clicking_a_footer_hint_presses_its_key(shared_sample_ws_path: Path) -> None:
    from loop_tui.ui.widgets.footer import PageFooter

    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        footer = screen_text(app).splitlines()[-1]
        await pilot.click(PageFooter, offset=(footer.index("c Charts") + 1, 0))
        await settled(pilot)
        assert not app.screen.query_one("#logs-charts").display  # `c` hid the charts
        await pilot.click(PageFooter, offset=(footer.index("^p palette") + 3, 0))
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")


async def test_a_hovered_footer_hint_is_highlighted_and_says_what_it_does(shared_sample_ws_path: Path) -> None:
    from loop_tui.ui.widgets.footer import PageFooter

    app = make_app(shared_sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        footer_widget = app.screen.query_one(PageFooter)
        footer = screen_text(app).splitlines()[-1]
        at = footer.index("123456") + 2  # the key `3` of the pages group
        before = footer_widget.render_line(0)
        await pilot.hover(PageFooter, offset=(at, 0))
        await settled(pilot)
        assert footer_widget.tooltip == "Datasets"
        assert footer_widget.render_line(0) != before  # the hovered key has the hover background
        await pilot.hover(PageFooter, offset=(footer.index("^p"), 0))
        await settled(pilot)
        assert footer_widget.tooltip is not None and "palette" in str(footer_widget.tooltip).lower()
