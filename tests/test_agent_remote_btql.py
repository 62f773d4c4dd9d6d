"""Loop's BTQL tools on a remote page: a scripted model (the fake model server) calls `run_btql` and
`btql_query`; the query text reaches the fake Braintrust's `/btql` as it is, and the results and errors the
model receives have the shapes of local runs. The workspace has no local copy of the project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loop_tui.agent import Agent, Conversation, Decision, PageContext, TurnFinished
from loop_tui.config import Settings
from loop_tui.store import Workspace
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import seed_logs
from tests.test_agent_e2e import wire_tool_results

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env


async def _ask(model_server: Any, ws: Workspace, page: PageContext, calls: list[tuple[str, dict]]) -> dict[str, list[str]]:
    model_server.script([{"tool_calls": [{"name": n, "arguments": a} for n, a in calls]}, {"text": "Done."}])
    agent = Agent(ws, Settings(), provider=model_server.provider("openai"), model="openai/gpt-4o-mini")
    conv = Conversation()
    conv.add_user("how many requests?")
    events = []
    async for event in agent.run(conv, page):
        events.append(event)
        if hasattr(event, "resolve"):
            event.resolve(Decision.ACCEPT)
    assert isinstance(events[-1], TurnFinished), events[-1]
    return wire_tool_results(model_server.requests[-1].body)


def _btql_texts(fake: FakeBraintrust) -> list[str]:
    return [r.body["query"] for r in fake.requests if r.path == "/btql" and isinstance(r.body.get("query"), str)]


@pytest.mark.parametrize("page_name", ["btql", "logs"])
async def test_btql_tools_run_on_braintrust_when_the_page_is_remote(
    fake_server: Any, fake_bt_env: FakeBraintrust, tmp_path: Path, page_name: str
) -> None:
    seed_logs(fake_bt_env, 40)
    ws = Workspace.open(tmp_path / "empty-ws")  # nothing pulled: the data is only in Braintrust
    page = PageContext(page=page_name, project="support-bot", remote=True)
    count = "select: count(1) as n | from: project_logs('support-bot')"
    calls = [("btql_query", {"query": "measures: count(1) as n"})]
    if page_name == "btql":
        calls.append(("run_btql", {"query": count}))
    results = await _ask(fake_server, ws, page, calls)
    sent = sorted(_btql_texts(fake_bt_env))  # parallel calls run at once: their requests come in either order
    expected = ["measures: count(1) as n\nfrom: project_logs('support-bot')"]  # the tool's default source
    if page_name == "btql":
        expected.append(count)  # as it is
    assert sent == sorted(expected)
    assert json.loads(results["btql_query"][0]) == {"columns": ["n"], "rows": [[40]], "row_count": 1}
    if page_name == "btql":
        assert json.loads(results["run_btql"][0]) == {"columns": ["n"], "rows": [[40]], "row_count": 1}
    assert "remote" in fake_server.requests[0].body["messages"][0]["content"]  # the model is told


async def test_a_query_braintrust_rejects_comes_back_as_a_btql_error(
    fake_server: Any, fake_bt_env: FakeBraintrust, tmp_path: Path
) -> None:
    seed_logs(fake_bt_env, 3)
    ws = Workspace.open(tmp_path / "ws")
    page = PageContext(page="btql", project="support-bot", remote=True)
    bad = "select: id | from: project_logs('support-bot') | filter: nope(1)"
    results = await _ask(fake_server, ws, page, [("run_btql", {"query": bad})])
    assert _btql_texts(fake_bt_env) == [bad]
    text = results["run_btql"][0]
    assert text == "Error: BTQL bind error (remote_bind) at line 1, col 58: Braintrust: Unknown function `nope`."


async def test_braintrust_unreachable_is_one_sentence_for_the_model(
    fake_server: Any, fake_bt_env: FakeBraintrust, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINTRUST_API_KEY", "sk-wrong-key-0000000000")
    page = PageContext(page="btql", project="support-bot", remote=True)
    results = await _ask(fake_server, Workspace.open(tmp_path / "ws"), page,
                         [("run_btql", {"query": "select: id | from: project_logs('support-bot')"})])
    text = results["run_btql"][0]
    assert "refused the API key" in text and "sk-wrong" not in text
