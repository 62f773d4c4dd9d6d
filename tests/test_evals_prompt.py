"""Mustache rendering (no HTML escaping, JSON objects, clear missing-variable errors) and PromptSpec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop_tui.errors import UserError
from loop_tui.evals.mustache import TemplateError, render
from loop_tui.evals.prompt import PromptSpec, render_prompt


def test_no_html_escaping_in_any_tag_form() -> None:
    ctx = {"x": "<b>&\"'</b>"}
    assert render("{{x}}|{{{x}}}|{{& x}}", ctx) == "<b>&\"'</b>|<b>&\"'</b>|<b>&\"'</b>"


def test_dotted_names_objects_as_json_and_none_as_empty() -> None:
    ctx = {"input": {"question": "why?", "tags": ["a", "b"]}, "expected": None, "n": 3, "ok": True}
    assert render("{{input.question}} {{input.tags}} [{{expected}}] {{n}} {{ok}}", ctx) == (
        'why? ["a", "b"] [] 3 true'
    )
    assert render("{{input}}", ctx) == json.dumps(ctx["input"])
    assert render("{{input.tags.1}}", ctx) == "b"


def test_sections_and_inverted_sections() -> None:
    ctx = {"items": [{"n": 1}, {"n": 2}], "flag": False, "obj": {"k": "v"}, "words": ["x", "y"]}
    assert render("{{#items}}<{{n}}>{{/items}}", ctx) == "<1><2>"
    assert render("{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}", ctx) == "no"
    assert render("{{#obj}}{{k}}{{/obj}}", ctx) == "v"
    assert render("{{#words}}{{.}},{{/words}}", ctx) == "x,y,"
    assert render("{{#missing}}hidden{{/missing}}{{^missing}}shown{{/missing}}", ctx) == "shown"
    assert render("a{{! a comment }}b", ctx) == "ab"


def test_missing_variable_names_it() -> None:
    with pytest.raises(TemplateError) as err:
        render("Q: {{input.qustion}}", {"input": {"question": "q"}})
    assert "input.qustion" in str(err.value)
    assert "input" in str(err.value)


def test_malformed_templates_are_user_errors() -> None:
    with pytest.raises(TemplateError, match="never closed"):
        render("{{#a}}x", {"a": 1})
    with pytest.raises(TemplateError, match="does not match"):
        render("{{#a}}x{{/b}}", {"a": 1})
    assert issubclass(TemplateError, UserError)


def test_render_prompt_uses_row_fields_and_names_the_message() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "{{input.q}} (lang={{metadata.lang}}) exp={{expected}}"},
    ]
    out = render_prompt(messages, {"input": {"q": "Hi"}, "metadata": {"lang": "en"}})
    assert out[1]["content"] == "Hi (lang=en) exp="
    assert messages[1]["content"].startswith("{{")  # not mutated
    with pytest.raises(TemplateError, match=r"message 1 \(user\).*metadata\.lang"):
        render_prompt(messages, {"input": {"q": "Hi"}})


def test_prompt_spec_from_json_and_yaml_files(tmp_path: Path) -> None:
    data = {
        "messages": [{"role": "user", "content": "{{input}}"}],
        "model": "gpt-4o-mini",
        "params": {"temperature": 0, "response_format": {"type": "json_object"}, "seed": 3},
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    spec = PromptSpec.from_file(path)
    assert spec.model == "gpt-4o-mini" and spec.wants_json and spec.name == "p"
    params = spec.model_params()
    assert params.temperature == 0 and params.extra == {"seed": 3}
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text("messages:\n  - role: user\n    content: 'Say {{input}}'\nmodel: m\n")
    assert PromptSpec.from_file(yaml_path).render({"input": "hi"})[0]["content"] == "Say hi"


def test_prompt_spec_rejects_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(UserError, match="not valid JSON"):
        PromptSpec.from_file(bad)
    with pytest.raises(UserError, match="cannot read"):
        PromptSpec.from_file(tmp_path / "absent.json")
    with pytest.raises(UserError, match="role"):
        PromptSpec.from_dict({"messages": [{"role": "robot", "content": "x"}]})
    with pytest.raises(UserError, match="messages"):
        PromptSpec.from_dict({"messages": []})


def test_prompt_tools_accept_openai_shape() -> None:
    spec = PromptSpec.from_dict(
        {
            "messages": [{"role": "user", "content": "x"}],
            "params": {
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
            },
        }
    )
    assert spec.tools == [{"name": "f", "description": "", "parameters": {"type": "object"}}]
    assert "tools" not in spec.model_params().extra
