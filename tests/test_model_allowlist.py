"""The model allowlist is an administrator's rule on every path that calls a model (issue 13 item 3): the
CLI (`ask`, `eval --model/--judge-model`), Loop's tools, evals and judges refuse a model outside it with
one sentence; the offline model is always allowed; an allowlist nobody wrote, or an empty one, allows all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loop_tui.agent import Agent, ConfirmationRequired, Conversation, Decision, PageContext
from loop_tui.config import Settings, load_settings, save_settings
from loop_tui.errors import UserError
from loop_tui.llm import resolve_model
from loop_tui.llm.resolve import ModelNotAllowed
from tests.conftest import run_cli
from tests.test_agent_support import ScriptedProvider, collect


def _write_allowlist(names: list[str]) -> Path:
    path = Path(os.environ["LOOP_TUI_CONFIG"])
    settings = Settings()
    settings.models.allowlist = names
    save_settings(settings, path)
    return path


def _refusal(stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "not in the model allowlist (gpt-4.1)" in lines[0] and "models.allowlist" in lines[0]


def test_ask_with_a_model_outside_the_allowlist_exits_2_before_any_request(sample_ws, fake_server_env):
    _write_allowlist(["gpt-4.1"])
    result = run_cli("ask", "--workspace", str(sample_ws.root), "--model", "claude-4.1-opus", "hi", input="")
    assert result.returncode == 2, result.stderr
    _refusal(result.stderr)
    assert fake_server_env.requests == []
    offline = run_cli("ask", "--workspace", str(sample_ws.root), "--model", "offline", "how do I set a budget?", input="")
    assert offline.returncode == 0, offline.stderr


@pytest.mark.parametrize("flag", ["--model", "--judge-model"])
def test_eval_with_a_model_outside_the_allowlist_exits_2(sample_ws, fake_server_env, flag):
    _write_allowlist(["gpt-4.1"])
    result = run_cli("--workspace", str(sample_ws.root), "eval", "--project", "support-bot", "--prompt", "support-answer",
                     "--dataset", "support-golden", "--scorer", "ExactMatch", flag, "claude-4.1-opus")
    assert result.returncode == 2, result.stderr
    _refusal(result.stderr)
    assert fake_server_env.requests == []


def test_eval_of_a_prompt_whose_own_model_is_not_allowed_exits_2(sample_ws, fake_server_env):
    _write_allowlist(["gpt-4.1"])  # the sample prompt uses gpt-4o-mini
    result = run_cli("--workspace", str(sample_ws.root), "eval", "--project", "support-bot", "--prompt", "support-answer",
                     "--dataset", "support-golden", "--scorer", "ExactMatch")
    assert result.returncode == 2 and "not in the model allowlist" in result.stderr
    assert fake_server_env.requests == []


def test_aliases_on_the_same_endpoint_are_allowed_and_others_are_not():
    settings = Settings()
    settings.models.allowlist = ["gpt-4.1", "claude-4-sonnet", "ollama/llama3"]
    for name in ("gpt-4.1", "openai/gpt-4.1", "claude-4-sonnet", "anthropic/claude-4-sonnet", "ollama/llama3", "offline"):
        resolve_model(name, settings, env={})
    for name in ("claude-4.1-opus", "braintrust/gpt-4.1", "vllm/llama3", "openai/gpt-4o-mini"):
        with pytest.raises(ModelNotAllowed, match="not in the model allowlist"):
            resolve_model(name, settings, env={})
    settings.models.default = "o3"
    with pytest.raises(ModelNotAllowed):
        resolve_model(None, settings, env={})


def test_an_allowlist_nobody_wrote_or_an_empty_one_allows_every_model():
    fresh = Settings()
    assert resolve_model("openai/gpt-4o-mini", fresh, env={}).model_id == "gpt-4o-mini"
    path = Path(os.environ["LOOP_TUI_CONFIG"])
    fresh.ui.theme = "nord"
    save_settings(fresh, path)  # saving other settings does not turn the suggestions into a rule
    assert "allowlist" not in path.read_text() and load_settings(path).models.allowlist_rule() is None
    assert load_settings(path).models.allowlist == fresh.models.allowlist  # the pickers still offer them
    _write_allowlist([])
    resolve_model("ollama/llama3", load_settings(path), env={})
    _write_allowlist(["gpt-4.1"])
    with pytest.raises(UserError):
        resolve_model("ollama/llama3", load_settings(path), env={})


def _playground_page(ws):
    pid = ws.project("support-bot").id
    pg = ws.objects("playground", pid)[0]
    return PageContext(page="playground", project="support-bot", playground_id=pg.id)


@pytest.mark.parametrize("call", [
    ("edit_prompt", {"model": "claude-4.1-opus"}),
    ("run_eval", {"model": "claude-4.1-opus"}),
    ("create_llm_judge_scorer", {"name": "j", "prompt": "{{output}} (A) ok (B) bad", "choice_scores": {"A": 1, "B": 0},
                                 "model": "claude-4.1-opus"}),
    ("test_scorer", {"name": "j", "prompt": "{{output}} (A) ok (B) bad", "choice_scores": {"A": 1, "B": 0},
                     "model": "claude-4.1-opus"}),
    ("run_eval", {}),  # the playground's own prompt names gpt-4o-mini
])
async def test_loop_tools_refuse_a_model_outside_the_allowlist_before_asking(sample_ws, call):
    settings = Settings()
    settings.models.allowlist = ["gpt-4.1"]
    provider = ScriptedProvider([{"calls": [call]}, {"text": "ok"}])
    agent = Agent(sample_ws, settings, provider=provider, save=False)
    conv = Conversation()
    conv.add_user("go")
    events = await collect(agent.run(conv, _playground_page(sample_ws)), answer=Decision.ACCEPT)
    assert not any(isinstance(e, ConfirmationRequired) for e in events)
    assert "not in the model allowlist (gpt-4.1)" in provider.tool_results(1)[call[0]]


async def test_a_judge_pinned_to_a_model_outside_the_allowlist_stops_the_eval_before_any_request(sample_ws, fake_server_env):
    """The playground's run and the eval CLI both go through run_experiment; the sample's `helpfulness` judge
    pins gpt-4o-mini, which the allowlist leaves out: the run is refused before any request or write."""
    from loop_tui.evals import run_experiment
    from loop_tui.evals.prompt import PromptSpec

    settings = Settings()
    settings.models.allowlist = ["gpt-4.1"]
    pid = sample_ws.project("support-bot").id
    before = len(sample_ws.objects("experiment", pid))
    prompt = PromptSpec.from_dict({"messages": [{"role": "user", "content": "{{input}}"}], "model": "openai/gpt-4.1"})
    with pytest.raises(ModelNotAllowed, match="'gpt-4o-mini' is not in the model allowlist"):
        await run_experiment(sample_ws, pid, prompt, "support-golden", ["helpfulness"], settings=settings)
    assert fake_server_env.requests == []
    assert len(sample_ws.objects("experiment", pid)) == before
