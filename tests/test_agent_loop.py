"""The agent loop with a scripted provider: streaming, tool calls, confirmations, limits, errors, saving."""

from __future__ import annotations

import asyncio
import json

import pytest

from loop_tui.agent import (
    Agent,
    ConfirmationRequired,
    Conversation,
    Decision,
    Failed,
    IterationLimit,
    PageContext,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    load_conversation,
)
from loop_tui.config import Settings
from tests.test_agent_support import ScriptedProvider, collect, provider_error


def _agent(ws, turns, settings=None, **kw):
    provider = ScriptedProvider(turns)
    return Agent(ws, settings or Settings(), provider=provider, **kw), provider


def _ask(text: str) -> Conversation:
    conv = Conversation()
    conv.add_user(text)
    return conv


async def test_text_only_answer_streams_and_saves(sample_ws):
    agent, provider = _agent(sample_ws, [{"text": "Hello from Loop, all good."}])
    conv = _ask("hi")
    events = await collect(agent.run(conv, PageContext(page="logs", project="support-bot")))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello from Loop, all good."
    assert isinstance(events[-1], TurnFinished)
    saved = load_conversation(sample_ws, conv.id)
    assert saved.messages[-1] == {"role": "assistant", "content": "Hello from Loop, all good."}
    assert saved.project_id == sample_ws.project("support-bot").id
    system = provider.requests[0]["messages"][0]
    assert system["role"] == "system" and '"page": "logs"' in system["content"]


async def test_tool_call_result_goes_back_to_model(sample_ws):
    agent, provider = _agent(
        sample_ws,
        [{"calls": [("get_summarized_results", {})]}, {"text": "Summary given."}],
    )
    events = await collect(agent.run(_ask("overview?"), PageContext(page="logs", project="support-bot")))
    started = [e for e in events if isinstance(e, ToolStarted)]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [e.call.name for e in started] == ["get_summarized_results"]
    assert finished[0].error is None
    result = json.loads(provider.tool_results()["get_summarized_results"])
    pid = sample_ws.project("support-bot").id
    expected = sample_ws.query("SELECT count(*) AS n FROM project_logs WHERE project_id = ? AND is_root", [pid])[0]["n"]
    assert result["requests"] == expected
    assert isinstance(events[-1], TurnFinished)


async def test_parallel_read_only_calls_all_answered_in_order(sample_ws):
    agent, provider = _agent(
        sample_ws,
        [{"calls": [("search_docs", {"query": "undo"}), ("get_scorers", {}), ("search_docs", {"query": "budget"})]},
         {"text": "done"}],
    )
    await collect(agent.run(_ask("x"), PageContext(page="logs", project="support-bot")))
    msgs = provider.requests[1]["messages"]
    tool_msgs = [m for m in msgs if m["role"] == "tool"]
    call_ids = [c["id"] for c in msgs[-4]["tool_calls"]]
    assert [m["tool_call_id"] for m in tool_msgs] == call_ids


async def test_tool_error_is_a_tool_result_not_a_crash(sample_ws):
    agent, provider = _agent(
        sample_ws,
        [{"calls": [("get_detailed_results", {"limit": 5000})]}, {"calls": [("no_such_tool", {})]}, {"text": "ok"}],
    )
    events = await collect(agent.run(_ask("x"), PageContext(page="logs", project="support-bot")))
    errors = [e.error for e in events if isinstance(e, ToolFinished)]
    assert "invalid arguments for get_detailed_results" in errors[0]
    assert "not available" in errors[1]
    assert provider.tool_results(1)["get_detailed_results"].startswith("Error: invalid arguments")
    assert isinstance(events[-1], TurnFinished)


async def test_iteration_limit_pauses_and_continue_resumes(sample_ws):
    settings = Settings()
    settings.agent.max_iterations = 2
    loop_turn = {"calls": [("search_docs", {"query": "x"})]}
    agent, provider = _agent(sample_ws, [loop_turn, loop_turn, {"text": "finished"}], settings)
    conv = _ask("go")
    page = PageContext(page="logs", project="support-bot")
    events = await collect(agent.run(conv, page))
    assert isinstance(events[-1], IterationLimit) and conv.paused
    events = await collect(agent.run(conv, page))  # "continue": no new user message
    assert isinstance(events[-1], TurnFinished) and not conv.paused
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "finished"


async def test_continue_execution_tool_offered_only_when_paused(sample_ws):
    settings = Settings()
    settings.agent.max_iterations = 1
    agent, provider = _agent(
        sample_ws,
        [{"calls": [("search_docs", {"query": "x"})]},
         {"calls": [("continue_execution", {})]}, {"text": "resumed and done"}],
        settings,
    )
    conv = _ask("go")
    page = PageContext(page="logs", project="support-bot")
    await collect(agent.run(conv, page))
    assert "continue_execution" not in provider.offered(0)
    conv.add_user("please go on")
    settings.agent.max_iterations = 2
    events = await collect(agent.run(conv, page))
    assert "continue_execution" in provider.offered(1)
    assert "Resumed" in provider.tool_results(2)["continue_execution"]
    assert isinstance(events[-1], TurnFinished) and not conv.paused


async def test_provider_failure_is_failed_event(sample_ws):
    agent, _ = _agent(sample_ws, [provider_error()])
    events = await collect(agent.run(_ask("x"), PageContext(page="logs", project="support-bot")))
    assert isinstance(events[-1], Failed) and events[-1].kind == "provider"


async def test_budget_stops_the_conversation(sample_ws):
    settings = Settings()
    settings.agent.budget_usd = 0.0001
    provider = ScriptedProvider([{"calls": [("search_docs", {"query": "x"})]}, {"text": "never"}])
    from loop_tui.llm import Usage

    provider.usage = Usage(prompt_tokens=100_000, completion_tokens=1000)
    agent = Agent(sample_ws, settings, provider=provider, model="gpt-4o")
    events = await collect(agent.run(_ask("x"), PageContext(page="logs", project="support-bot")))
    assert isinstance(events[-1], Failed) and events[-1].kind == "budget"
    assert len(provider.requests) == 1


async def test_tool_output_is_cut_to_budget(sample_ws):
    settings = Settings()
    settings.agent.tool_output_tokens = 200
    agent, provider = _agent(sample_ws, [{"calls": [("get_detailed_results", {"limit": 50})]}, {"text": "ok"}], settings)
    await collect(agent.run(_ask("x"), PageContext(page="logs", project="support-bot")))
    content = provider.tool_results(1)["get_detailed_results"]
    assert "[output cut to about 200 of" in content and len(content) < 200 * 4 + 300


async def test_cancel_while_waiting_for_confirmation_changes_nothing(sample_ws):
    pid = sample_ws.project("support-bot").id
    ds = sample_ws.get_object("dataset", pid, "support-golden")
    before = sample_ws.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"]
    agent, _ = _agent(sample_ws, [{"calls": [("edit_data", {"operations": [{"op": "add", "input": "q"}]})]}])
    conv = _ask("add a row")
    seen = asyncio.Event()

    async def drive():
        async for event in agent.run(conv, PageContext(page="datasets", project="support-bot", dataset_id=ds.id)):
            if isinstance(event, ConfirmationRequired):
                seen.set()

    task = asyncio.create_task(drive())
    await asyncio.wait_for(seen.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    after = sample_ws.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"]
    assert after == before
    saved = load_conversation(sample_ws, conv.id)  # saved, with the unanswered call closed
    assert saved.messages[-1]["role"] == "tool" and "cancelled" in saved.messages[-1]["content"]


async def test_always_allow_stops_asking_for_that_tool(sample_ws):
    pid = sample_ws.project("support-bot").id
    ds = sample_ws.get_object("dataset", pid, "support-golden")
    add = ("edit_data", {"operations": [{"op": "add", "input": {"question": "q?"}}]})
    agent, _ = _agent(sample_ws, [{"calls": [add]}, {"calls": [add]}, {"text": "ok"}])
    page = PageContext(page="datasets", project="support-bot", dataset_id=ds.id)
    events = await collect(agent.run(_ask("add"), page), answer=Decision.ALWAYS)
    confirmations = [e for e in events if isinstance(e, ConfirmationRequired)]
    assert len(confirmations) == 1
    assert all(e.error is None for e in events if isinstance(e, ToolFinished))


async def test_long_conversation_is_trimmed_to_the_context_window(sample_ws):
    from loop_tui.agent.trim import estimate_tokens

    agent, provider = _agent(sample_ws, [{"text": "short answer"}])
    agent.context_window = 12_000
    conv = Conversation()
    for n in range(60):
        conv.add_user(f"question {n}: " + "lorem ipsum " * 150)
        conv.messages.append({"role": "assistant", "content": "answer " * 200})
    conv.add_user("the latest question")
    await collect(agent.run(conv, PageContext(page="logs", project="support-bot")))
    sent = provider.requests[0]
    total = sum(estimate_tokens(m) for m in sent["messages"]) + estimate_tokens(sent["tools"])
    assert total <= agent.context_window
    assert sent["messages"][-1]["content"].endswith("the latest question")
    assert len(conv.messages) == 122  # the saved conversation keeps everything


async def test_get_data_source_uses_the_ui_picker_when_set(sample_ws):
    agent, provider = _agent(sample_ws, [{"calls": [("get_data_source", {})]}, {"text": "ok"}])
    offered = []

    async def pick(choices):
        offered.extend(choices)
        return next(c for c in choices if c["kind"] == "dataset")

    agent.choose_source = pick
    await collect(agent.run(_ask("which data?"), PageContext(page="btql", project="support-bot")))
    picked = json.loads(provider.tool_results(1)["get_data_source"])["picked"]
    assert picked["kind"] == "dataset" and picked["from"].startswith("dataset(")
    assert {c["kind"] for c in offered} == {"logs", "experiment", "dataset"}


async def test_summary_on_the_compare_view_uses_the_page_base_not_the_recorded_one(sample_ws):
    pid = sample_ws.project("support-bot").id
    newest, middle, oldest = sample_ws.objects("experiment", pid)  # newest first
    assert newest.data.get("base_experiment_id") != oldest.id  # the page's A is not B's recorded base
    agent, provider = _agent(sample_ws, [{"calls": [("get_summarized_results", {})]}, {"text": "ok"}])
    page = PageContext(page="experiments", project="support-bot", experiment_id=newest.id, base_experiment_id=oldest.id)
    await collect(agent.run(_ask("summarize the comparison"), page))
    result = json.loads(provider.tool_results()["get_summarized_results"])
    assert result["experiment"]["id"] == newest.id and result["base"]["id"] == oldest.id
    # Naming the experiment on screen (as models do) keeps the page's base; naming another one does not.
    for named, base in ((newest.name, oldest.id), (middle.name, middle.data.get("base_experiment_id"))):
        agent, provider = _agent(sample_ws, [{"calls": [("get_summarized_results", {"experiment": named})]},
                                             {"text": "ok"}])
        await collect(agent.run(_ask("summarize"), page))
        result = json.loads(provider.tool_results()["get_summarized_results"])
        assert (result.get("base") or {}).get("id") == base
