"""Loop's Markdown tables: a grid while the columns fit, one stacked entry per row when they do not."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Container

from loop_tui.ui.loop.md_table import LoopMarkdown, ResponsiveTable

TABLE = """Results:

| score | mean | diff | improved | regressed | 95% CI of diff |
| --- | --- | --- | --- | --- | --- |
| Factuality | 0.733 | -0.161 | 4 | 12 | [-0.311, -0.006] |
| Relevance | 0.709 | -0.160 | 8 | 28 | [-0.249, -0.066] |
"""


class TableApp(App[None]):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.panel_width = width

    def compose(self) -> ComposeResult:
        with Container(id="panel") as panel:
            panel.styles.width = self.panel_width
            yield LoopMarkdown(TABLE)


async def _render(width: int) -> tuple[ResponsiveTable, str]:
    app = TableApp(width)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        await pilot.pause()
        table = app.query_one(ResponsiveTable)
        stacked = table.query_one(".loop-table-stacked")
        return table, str(stacked.render()) if stacked.display and table.has_class("-stacked") else ""


async def test_narrow_panel_stacks_rows_and_keeps_every_number() -> None:
    table, shown = await _render(50)
    assert table.has_class("-stacked") and table.natural_width() > 50
    for number in ("0.733", "-0.161", "[-0.311, -0.006]", "[-0.249, -0.066]", "28"):
        assert number in shown
    assert "Factuality · mean 0.733 · diff -0.161" in shown.replace("\n", " ")


async def test_wide_panel_keeps_the_grid() -> None:
    table, _ = await _render(130)
    assert not table.has_class("-stacked") and table.natural_width() <= 130


def test_an_eval_result_card_names_the_experiment_and_its_scores() -> None:
    # Seen in tmux: run_eval's card read "→ experiment, base, rows, errors, scores, metrics" (the JSON's keys).
    import json

    from loop_tui.ui.loop.summaries import result_summary

    result = {"experiment": {"id": "e1", "name": "support-playground-3"}, "base": None, "rows": 40, "errors": 2,
              "scores": {"Levenshtein": {"mean": 0.4123, "diff": 0.031}, "Factuality": {"mean": None, "diff": None}},
              "metrics": {}}
    summary = result_summary(json.dumps(result), None)
    assert summary == "support-playground-3: Levenshtein 41.2% (+3.1pp), 2 error(s)"


def test_a_change_card_says_what_was_saved_not_the_results_keys() -> None:
    # Seen in tmux: create_code_scorer's card read "→ scorer, saved, undo_xact_ids".
    import json

    from loop_tui.ui.loop.summaries import result_summary

    assert result_summary(json.dumps({"scorer": "short-answer", "saved": "created", "undo_xact_ids": [1]}),
                          None) == "scorer short-answer created"
    assert result_summary(json.dumps({"saved": "new prompt p (version 1) for playground g", "undo_xact_ids": [1]}),
                          None) == "new prompt p (version 1) for playground g"
    assert result_summary(json.dumps({"playground": "g", "scorers": ["A", "B"], "undo_xact_ids": [1]}),
                          None) == "playground g scores with A, B"


def test_the_source_the_user_picked_is_named_on_the_card() -> None:
    # Seen in tmux: after picking dataset support-golden in the source picker, the card said only "→ picked".
    import json

    from loop_tui.ui.loop.summaries import result_summary

    picked = {"picked": {"kind": "dataset", "from": "dataset('support-golden')", "rows": 40}}
    assert result_summary(json.dumps(picked), None) == "picked dataset('support-golden')"
