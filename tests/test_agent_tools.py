"""Mutating tools through the agent (previews, accept/reject, undo) and the pure helpers (docs, trim, secrets)."""

from __future__ import annotations

import json

from loop_tui.agent import Agent, ConfirmationRequired, Conversation, Decision, PageContext, ToolFinished
from loop_tui.agent.docsearch import docs_index
from loop_tui.agent.trim import estimate_tokens, fit_messages
from loop_tui.config import Settings
from loop_tui.redaction import scrub
from tests.test_agent_support import ScriptedProvider, collect


async def _run(ws, calls, page, answer=Decision.ACCEPT, settings=None):
    provider = ScriptedProvider([{"calls": calls}, {"text": "ok"}])
    agent = Agent(ws, settings or Settings(), provider=provider)
    conv = Conversation()
    conv.add_user("do it")
    events = await collect(agent.run(conv, page), answer=answer)
    return events, provider


def _dataset(ws, name="support-golden"):
    pid = ws.project("support-bot").id
    ds = ws.get_object("dataset", pid, name)
    rows = ws.query("SELECT id, input, expected, tags FROM dataset WHERE dataset_id = ? ORDER BY id", [ds.id])
    return ds, rows


async def test_edit_data_preview_lists_rows_and_accept_applies_undoably(sample_ws):
    ds, rows = _dataset(sample_ws)
    ops = [
        {"op": "add", "input": {"question": "Where is my parcel?"}, "expected": "Track it under Orders.", "tags": ["new"]},
        {"op": "update", "id": rows[0]["id"], "expected": "Updated answer"},
        {"op": "delete", "id": rows[1]["id"]},
    ]
    page = PageContext(page="datasets", project="support-bot", dataset_id=ds.id)
    events, provider = await _run(sample_ws, [("edit_data", {"operations": ops})], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert confirm.preview.kind == "rows"
    assert [r["op"] for r in confirm.preview.rows] == ["add", "update", "delete"]
    assert confirm.preview.rows[1]["after"]["expected"] == "Updated answer"
    assert json.loads(rows[0]["input"]) == confirm.preview.rows[1]["before"]["input"]
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.error is None and len(finished.undo_xact) == 1  # one transaction, one undo step
    _, after = _dataset(sample_ws)
    assert len(after) == len(rows)  # one added, one deleted
    by_id = {r["id"]: r for r in after}
    assert json.loads(by_id[rows[0]["id"]]["expected"]) == "Updated answer"
    assert json.loads(by_id[rows[0]["id"]]["input"]) == json.loads(rows[0]["input"])  # untouched field kept
    assert rows[1]["id"] not in by_id
    for xact in reversed(finished.undo_xact):
        sample_ws.undo(xact)
    _, restored = _dataset(sample_ws)
    assert restored == rows


async def test_edit_data_rejected_changes_nothing_and_model_is_told(sample_ws):
    ds, rows = _dataset(sample_ws)
    last_write = sample_ws.history(table="dataset", limit=1)
    page = PageContext(page="datasets", project="support-bot", dataset_id=ds.id)
    _, provider = await _run(sample_ws, [("edit_data", {"operations": [{"op": "delete", "id": rows[0]["id"]}]})],
                             page, answer=Decision.REJECT)
    assert _dataset(sample_ws)[1] == rows
    assert "declined" in provider.tool_results(1)["edit_data"]
    assert sample_ws.history(table="dataset", limit=1) == last_write  # no dataset write at all


async def test_edit_data_unknown_row_is_an_error_without_confirmation(sample_ws):
    ds, rows = _dataset(sample_ws)
    page = PageContext(page="datasets", project="support-bot", dataset_id=ds.id)
    events, provider = await _run(sample_ws, [("edit_data", {"operations": [{"op": "update", "id": "nope", "input": 1}]})], page)
    assert not any(isinstance(e, ConfirmationRequired) for e in events)
    assert "no row with id 'nope'" in provider.tool_results(1)["edit_data"]


async def test_edit_prompt_diff_and_apply(sample_ws):
    pid = sample_ws.project("support-bot").id
    pg = sample_ws.objects("playground", pid)[0]
    messages = [{"role": "system", "content": "Answer briefly and cite the article."},
                {"role": "user", "content": "{{input.question}}"}]
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    events, _ = await _run(sample_ws, [("edit_prompt", {"messages": messages, "params": {"temperature": 0}})], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert confirm.preview.kind == "diff"
    assert "+Answer briefly and cite the article." in confirm.preview.text
    assert confirm.preview.text.startswith("--- playground")
    saved = sample_ws.object_by_id(pg.id)
    assert saved.data["prompt"]["messages"] == messages and saved.data["prompt"]["params"] == {"temperature": 0}
    assert saved.data["dataset_id"] == pg.data["dataset_id"]


async def test_edit_scorers_validates_names(sample_ws):
    pid = sample_ws.project("support-bot").id
    pg = sample_ws.objects("playground", pid)[0]
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    events, provider = await _run(sample_ws, [("edit_scorers", {"scorers": ["Factuality", "NoSuchScorer"]})], page)
    assert "unknown scorer 'NoSuchScorer'" in provider.tool_results(1)["edit_scorers"]
    events, _ = await _run(sample_ws, [("edit_scorers", {"scorers": ["Levenshtein", "answer-length"]})], page)
    assert sample_ws.object_by_id(pg.id).data["scorers"] == ["Levenshtein", "answer-length"]


async def test_create_code_scorer_is_proposed_without_running_it(sample_ws):
    code = "def handler(input, output, expected, metadata):\n    return 1.0 if output else 0.0\n"
    page = PageContext(page="experiments", project="support-bot")
    events, _ = await _run(sample_ws, [("create_code_scorer", {"name": "non-empty", "code": code})], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert "tests" not in confirm.preview.details and "not run" in confirm.preview.text.lower()
    assert "+def handler(input, output, expected, metadata):" in confirm.preview.text
    assert "--- scorer non-empty (does not exist yet)" in confirm.preview.text  # not "(current)": it is new
    pid = sample_ws.project("support-bot").id
    assert sample_ws.get_object("scorer", pid, "non-empty").data["code"] == code


async def test_create_code_scorer_syntax_error_goes_back_to_model(sample_ws):
    page = PageContext(page="experiments", project="support-bot")
    events, provider = await _run(sample_ws, [("create_code_scorer", {"name": "bad", "code": "def handler(:"})], page)
    assert not any(isinstance(e, ConfirmationRequired) for e in events)
    assert "syntax error" in provider.tool_results(1)["create_code_scorer"]


async def test_create_llm_judge_says_not_run_and_checks_template(sample_ws):
    page = PageContext(page="experiments", project="support-bot")
    prompt = "Question: {{input.question}}\nAnswer: {{output}}\nIs it polite?\n(A) yes\n(B) no"
    events, _ = await _run(sample_ws, [("create_llm_judge_scorer",
                                        {"name": "polite", "prompt": prompt, "choice_scores": {"A": 1, "B": 0}})], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert "not run" in confirm.preview.text.lower()
    pid = sample_ws.project("support-bot").id
    assert sample_ws.get_object("scorer", pid, "polite").data["choice_scores"] == {"A": 1, "B": 0}
    events, provider = await _run(sample_ws, [("create_llm_judge_scorer",
                                               {"name": "p2", "prompt": "{{#x}}", "choice_scores": {"A": 1}})], page)
    assert "does not render" in provider.tool_results(1)["create_llm_judge_scorer"]


def test_docs_search_ranks_the_right_sections():
    hits = docs_index().search("undo a dataset edit")
    assert hits and any("undo" in h.title.lower() for h in hits[:2])
    assert docs_index().search("iteration limit continue")[0].title.endswith("Iteration limit and continue")
    assert docs_index().search("zzzqqq") == []


def test_fit_messages_keeps_budget_and_call_pairs():
    history = []
    for n in range(40):
        history.append({"role": "user", "content": f"question {n} " + "x" * 400})
        history.append({"role": "assistant", "content": "", "tool_calls": [{"id": f"c{n}", "name": "search_docs", "arguments": {}}]})
        history.append({"role": "tool", "tool_call_id": f"c{n}", "name": "search_docs", "content": "y" * 2000})
        history.append({"role": "assistant", "content": f"answer {n}"})
    fitted = fit_messages(history, 3000)
    assert sum(estimate_tokens(m) for m in fitted) <= 3000
    assert fitted[0]["role"] == "user" and "Summary of the earlier part" in fitted[0]["content"]
    assert "question 39" in fitted[-4]["content"]
    ids = {c["id"] for m in fitted if m["role"] == "assistant" for c in m.get("tool_calls") or []}
    assert ids == {m["tool_call_id"] for m in fitted if m["role"] == "tool"}


def test_scrub_removes_keys_and_env_values():
    env = {"MY_SERVICE_API_KEY": "abcd1234efgh5678", "PATH": "/usr/bin"}
    text = "key sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA and abcd1234efgh5678 and Bearer abcdefghijklmnop and api_key=zzzzzzzzzzzzzzzz"
    out = scrub(text, env)
    for secret in ("sk-proj-AAAA", "abcd1234efgh5678", "abcdefghijklmnop", "zzzzzzzzzzzzzzzz"):
        assert secret not in out
    assert scrub("plain text", env) == "plain text"


def _empty_playground(ws, name="fresh-task"):
    """A playground with a dataset and scorers but no prompt: where a first-time user starts."""
    pid = ws.project("support-bot").id
    ds = ws.get_object("dataset", pid, "support-golden")
    return ws.save_object("playground", pid, name, {"dataset_id": ds.id, "scorers": ["Levenshtein"]})


async def test_empty_playground_summary_says_how_to_create_the_first_prompt(sample_ws):
    pg = _empty_playground(sample_ws)
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    _, provider = await _run(sample_ws, [("get_summarized_results", {})], page)
    result = provider.tool_results(1)["get_summarized_results"]
    assert not result.startswith("Error"), result
    data = json.loads(result)
    assert data["playground"] == "fresh-task" and data["prompt"] is None
    assert data["dataset"]["name"] == "support-golden"
    assert "edit_prompt" in data["note"] and "first prompt" in data["note"]


async def test_edit_prompt_creates_the_first_prompt_of_an_empty_playground_and_undo_removes_it(sample_ws):
    pg = _empty_playground(sample_ws)
    pid = pg.project_id
    prompts_before = {p.id for p in sample_ws.objects("prompt", pid)}
    messages = [{"role": "system", "content": "Answer the customer's question."},
                {"role": "user", "content": "{{input.question}}"}]
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    events, provider = await _run(sample_ws, [("edit_prompt", {"messages": messages, "model": "gpt-4o-mini"})], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert confirm.preview.kind == "diff"
    assert "new prompt" in confirm.preview.title and "version 1" in confirm.preview.title
    assert "+Answer the customer's question." in confirm.preview.text
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.error is None, finished.text
    created = [p for p in sample_ws.objects("prompt", pid) if p.id not in prompts_before]
    assert len(created) == 1 and created[0].data["messages"] == messages and created[0].data["model"] == "gpt-4o-mini"
    assert len(sample_ws.object_versions(created[0].id)) == 1
    linked = sample_ws.object_by_id(pg.id)
    assert linked.data["prompt_id"] == created[0].id and linked.data["prompt"]["messages"] == messages
    assert linked.data["dataset_id"] == pg.data["dataset_id"]
    for xact in reversed(finished.undo_xact):
        sample_ws.undo(xact)
    assert {p.id for p in sample_ws.objects("prompt", pid)} == prompts_before
    assert sample_ws.object_by_id(pg.id).data == pg.data


async def test_edit_prompt_on_an_empty_playground_needs_messages(sample_ws):
    pg = _empty_playground(sample_ws)
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    events, provider = await _run(sample_ws, [("edit_prompt", {"params": {"temperature": 0}})], page)
    assert not any(isinstance(e, ConfirmationRequired) for e in events)
    result = provider.tool_results(1)["edit_prompt"]
    assert "no prompt yet" in result and "messages" in result
    assert "propose one with edit_prompt" not in result  # never the loop the issue reported


async def test_edit_data_creates_a_dataset_that_does_not_exist_and_undo_removes_it(sample_ws):
    pid = sample_ws.project("support-bot").id
    ops = [{"op": "add", "input": {"question": "Where is my parcel?"}, "expected": "Track it under Orders."},
           {"op": "add", "input": {"question": "Can I pay by invoice?"}, "expected": "Yes, for business accounts."}]
    page = PageContext(page="logs", project="support-bot")
    events, provider = await _run(sample_ws, [("edit_data", {"dataset": "common-failures", "operations": ops})], page)
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    assert "new dataset" in confirm.preview.title and "common-failures" in confirm.preview.title
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.error is None, finished.text
    ds = sample_ws.get_object("dataset", pid, "common-failures")
    rows = sample_ws.query("SELECT input, expected FROM dataset WHERE dataset_id = ? ORDER BY created, id", [ds.id])
    assert sorted(json.loads(r["input"])["question"] for r in rows) == ["Can I pay by invoice?", "Where is my parcel?"]
    for xact in reversed(finished.undo_xact):
        sample_ws.undo(xact)
    assert "common-failures" not in {d.name for d in sample_ws.objects("dataset", pid)}
    assert not sample_ws.query("SELECT 1 FROM dataset WHERE dataset_id = ?", [ds.id])


async def test_edit_data_new_dataset_from_a_playground_is_linked_to_it(sample_ws):
    pid = sample_ws.project("support-bot").id
    pg = sample_ws.save_object("playground", pid, "no-data", {"scorers": []})
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    ops = [{"op": "add", "input": {"question": "Hi?"}, "expected": "Hello."}]
    events, provider = await _run(sample_ws, [("edit_data", {"dataset": "starter", "operations": ops})], page)
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.error is None, finished.text
    ds = sample_ws.get_object("dataset", pid, "starter")
    assert sample_ws.object_by_id(pg.id).data["dataset_id"] == ds.id
    for xact in reversed(finished.undo_xact):
        sample_ws.undo(xact)
    assert sample_ws.object_by_id(pg.id).data == pg.data


async def test_edit_data_new_dataset_cannot_update_or_delete_rows(sample_ws):
    page = PageContext(page="logs", project="support-bot")
    ops = [{"op": "update", "id": "r1", "expected": "x"}]
    events, provider = await _run(sample_ws, [("edit_data", {"dataset": "brand-new", "operations": ops})], page)
    assert not any(isinstance(e, ConfirmationRequired) for e in events)
    assert "does not exist yet" in provider.tool_results(1)["edit_data"]
