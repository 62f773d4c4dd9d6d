"""The advice for a model that cannot be called is worded for the place that shows it."""

from __future__ import annotations

import pytest

from loop_tui.evals.model_call import ModelUnavailable
from loop_tui.llm.failures import model_unavailable_advice


@pytest.mark.parametrize("reason", ["no_key", "offline"])
def test_only_the_command_line_is_told_about_flags(reason: str) -> None:
    texts = {where: " ".join(model_unavailable_advice(reason, "gpt-4o-mini", "OPENAI_API_KEY", where))
             for where in ("cli", "playground", "app", "any")}
    assert "--model" in texts["cli"]
    assert all("--" not in text for where, text in texts.items() if where != "cli")
    assert "the playground's model field" in texts["playground"]
    assert "OPENAI_API_KEY" in texts["playground"] and "restart Loop TUI" in texts["playground"]


def test_the_error_of_an_uncallable_model_names_no_flag_unless_asked() -> None:
    err = ModelUnavailable("no_key", "gpt-4o-mini", "OPENAI_API_KEY")
    assert "--model" not in str(err)  # what Loop's tools and other pages show
    assert err.advice("cli").endswith("or pick another model with --model.")
    assert err.advice("playground") == (
        "no API key for the model 'gpt-4o-mini': set the environment variable OPENAI_API_KEY and restart Loop TUI, "
        "or choose another model in the playground's model field."
    )
