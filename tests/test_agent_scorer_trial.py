"""Scorers through the agent: trying one is its own confirmed step (test_scorer) on the page's own rows or
the rows named by id; editing a judge keeps what the call leaves out (issue 12 item 1, issue 13 item 7)."""

from __future__ import annotations

import json

from loop_tui.agent import Agent, ConfirmationRequired, Conversation, Decision, PageContext
from loop_tui.config import Settings
from tests.test_agent_support import ScriptedProvider, collect

ECHO_ID = "def handler(input, output, expected, metadata):\n    return {'score': 1, 'metadata': {'q': input}}\n"


async def _run(ws, calls, page, answer=Decision.ACCEPT, settings=None):
    provider = ScriptedProvider([{"calls": calls}, {"text": "ok"}])
    agent = Agent(ws, settings or Settings(), provider=provider, save=False)
    conv = Conversation()
    conv.add_user("do it")
    events = await collect(agent.run(conv, page), answer=answer)
    return events, provider


def _ids(ws, table, where, params):
    return [r["id"] for r in ws.query(f"SELECT id FROM {table} WHERE {where} ORDER BY created, id", params)]


async def test_test_scorer_asks_first_and_runs_only_after_yes(sample_ws):
    page = PageContext(page="experiments", project="support-bot")
    call = ("test_scorer", {"name": "always-one", "code": "def handler(output):\n    return 1.0\n"})
    events, provider = await _run(sample_ws, [call], page, answer=Decision.REJECT)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert confirm.preview.title == "Run the code of scorer always-one on 3 rows in the sandbox?"
    assert "declined" in provider.tool_results(1)["test_scorer"]
    events, provider = await _run(sample_ws, [call], page)
    result = json.loads(provider.tool_results(1)["test_scorer"])
    assert result["tried_on"] == 3 and [r["score"] for r in result["results"]] == [1.0, 1.0, 1.0]


async def test_on_the_logs_page_a_scorer_is_tried_on_log_rows(sample_ws):
    pid = sample_ws.project("support-bot").id
    log_ids = set(_ids(sample_ws, "project_logs", "project_id = ? AND is_root", [pid]))
    page = PageContext(page="logs", project="support-bot")
    events, provider = await _run(sample_ws, [("test_scorer", {"name": "x", "code": ECHO_ID})], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert confirm.preview.details["row_ids"] and set(confirm.preview.details["row_ids"]) <= log_ids
    rows = json.loads(provider.tool_results(1)["test_scorer"])["results"]
    assert {r["row"] for r in rows} <= log_ids


async def test_row_ids_pick_the_labelled_rows_and_unknown_ids_are_named(sample_ws):
    pid = sample_ws.project("support-bot").id
    experiment = sample_ws.objects("experiment", pid)[-1]
    chosen = _ids(sample_ws, "experiment", "experiment_id = ? AND is_root", [experiment.id])[-2:]
    page = PageContext(page="logs", project="support-bot")
    call = ("test_scorer", {"name": "x", "code": ECHO_ID, "row_ids": chosen})
    events, provider = await _run(sample_ws, [call], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert confirm.preview.details["row_ids"] == chosen
    assert [r["row"] for r in json.loads(provider.tool_results(1)["test_scorer"])["results"]] == chosen
    events, provider = await _run(sample_ws, [("test_scorer", {"name": "x", "code": ECHO_ID,
                                                               "row_ids": ["no-such-row"]})], page)
    assert not any(isinstance(e, ConfirmationRequired) for e in events)
    assert "no row with id no-such-row" in provider.tool_results(1)["test_scorer"]


async def test_editing_a_judge_keeps_its_description_and_pinned_model(sample_ws):
    pid = sample_ws.project("support-bot").id
    before = sample_ws.get_object("scorer", pid, "helpfulness").data
    assert before.get("model") and before.get("description")
    page = PageContext(page="experiments", project="support-bot")
    prompt = "Is {{output}} helpful for {{input}}?\n(A) yes\n(B) no"
    await _run(sample_ws, [("create_llm_judge_scorer", {"name": "helpfulness", "prompt": prompt,
                                                         "choice_scores": {"A": 1, "B": 0}})], page)
    after = sample_ws.get_object("scorer", pid, "helpfulness").data
    assert after["prompt"] == prompt
    assert after["model"] == before["model"] and after["description"] == before["description"]
    await _run(sample_ws, [("create_llm_judge_scorer", {"name": "helpfulness", "prompt": prompt, "model": "gpt-4.1",
                                                         "description": "new", "choice_scores": {"A": 1, "B": 0}})], page)
    changed = sample_ws.get_object("scorer", pid, "helpfulness").data
    assert changed["model"] == "gpt-4.1" and changed["description"] == "new"


async def test_editing_a_code_scorer_keeps_its_description(sample_ws):
    pid = sample_ws.project("invoice-extraction").id
    before = sample_ws.get_object("scorer", pid, "total-matches").data
    assert before.get("description")
    page = PageContext(page="experiments", project="invoice-extraction")
    await _run(sample_ws, [("create_code_scorer", {"name": "total-matches", "code": "def handler():\n    return 1\n"})], page)
    assert sample_ws.get_object("scorer", pid, "total-matches").data["description"] == before["description"]


async def test_trying_a_judge_sends_rows_only_after_yes(sample_ws, fake_server_env):
    page = PageContext(page="experiments", project="support-bot")
    call = ("test_scorer", {"name": "j", "prompt": "Is {{output}} right? (A) yes (B) no", "choice_scores": {"A": 1, "B": 0},
                            "model": "openai/gpt-4o-mini", "row_ids": None})
    events, provider = await _run(sample_ws, [call], page, answer=Decision.REJECT)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert confirm.preview.title.startswith("Send 3 rows to openai/gpt-4o-mini")
    assert fake_server_env.requests == []
    fake_server_env.script([{"tool_calls": [{"name": "select_choice", "arguments": {"reasons": "ok", "choice": "A"}}]}] * 3)
    events, provider = await _run(sample_ws, [call], page)
    results = json.loads(provider.tool_results(1)["test_scorer"])["results"]
    assert [r.get("score") for r in results] == [1, 1, 1], results
    assert len(fake_server_env.requests) == 3
