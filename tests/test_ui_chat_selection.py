"""A visible mouse selection in Loop's chat (issue 11 item 11): dragging over an answer highlights the text,
and ctrl+c copies it to the clipboard and the fallback file, with a notice."""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.clipboard import CLIPBOARD_FILE
from loop_tui.ui.loop import LoopChat
from loop_tui.ui.loop.frozen import FrozenLines
from loop_tui.ui.loop.transcript import AssistantAnswer
from loop_tui.ui.ui_state import state_file
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, settle


async def test_dragging_over_an_answer_shows_the_selection_and_ctrl_c_copies_it(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        chat = app.screen.query_one(LoopChat)
        assert chat.send("how do I filter the logs?")
        await wait_for(pilot, lambda: not chat.running)
        answer = chat.query(AssistantAnswer).first()
        # Frozen at the panel's final width (a scrollbar appearing narrows it: the answer is drawn again),
        # and laid out on screen, where the mouse can reach it.
        await wait_for(pilot, lambda: answer.frozen and answer._frozen_width == answer.size.width
                       and len(answer.children) == 1 and bool(answer.query_one(FrozenLines).region), timeout=10)
        lines = answer.query_one(FrozenLines)
        top = chat.transcript.region.y - lines.region.y  # the first row not scrolled out of view
        row = next(i for i, text in enumerate(lines.texts) if i >= top and len(text.strip()) > 12)
        start = len(lines.texts[row]) - len(lines.texts[row].lstrip())

        await pilot.mouse_down(lines, offset=(start, row))
        await pilot.hover(lines, offset=(start + 8, row + 1))
        await pilot.mouse_up(lines, offset=(start + 8, row + 1))
        selected = app.screen.get_selected_text()
        assert selected and selected.startswith(lines.texts[row][start:].rstrip())
        assert selected.splitlines()[1] == lines.texts[row + 1][: start + 9]

        # The selection is drawn: the selected cells carry the selection style, the others do not.
        selection_bg = app.screen.get_component_rich_style("screen--selection").bgcolor
        drawn = lines.render_line(row)
        highlighted = "".join(s.text for s in drawn if s.style is not None and s.style.bgcolor == selection_bg)
        assert highlighted.strip() == lines.texts[row][start:].strip()
        # ... and stays readable: the text keeps a colour of its own, not the selection's background.
        assert all(s.style.color != s.style.bgcolor for s in drawn if s.text.strip() and s.style is not None
                   and s.style.bgcolor == selection_bg)
        before = "".join(s.text for s in lines.render_line(row - 1) if s.style is not None and s.style.bgcolor == selection_bg) if row else ""
        assert not before.strip()

        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.clipboard == selected, timeout=10)
        assert state_file(CLIPBOARD_FILE).read_text(encoding="utf-8") == selected
