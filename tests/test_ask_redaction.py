"""Known secrets are redacted on every output path of `loop-tui ask` (issue 12 item 14): the streamed
answer in text and jsonl, tool arguments in `tool_start`, previews, results and error messages."""

from __future__ import annotations

import json

import pytest

from loop_tui.redaction import REDACTED, scrub
from tests.conftest import run_cli
from tests.fake_model_server import FAKE_KEY

SHAPED = "sk-live-0123456789abcdefghijklmn"  # a key by its shape, in no environment variable


def _ask(ws, fmt: str, *extra: str):
    return run_cli("ask", "--workspace", str(ws.root), "--project", "support-bot", "--model", "openai/gpt-4o-mini",
                   "--format", fmt, *extra, "what is my key?", input="")


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_a_key_the_model_echoes_is_never_printed(sample_ws, fake_server_env, fmt):
    fake_server_env.script([
        {"text": f"Let me check {FAKE_KEY} first.",
         "tool_calls": [{"name": "btql_query", "arguments": {"query": f"from: project_logs | filter: input MATCH '{SHAPED}'"}}]},
        {"tool_calls": [{"name": "edit_data", "arguments": {
            "dataset": "support-golden", "operations": [{"op": "add", "input": f"key {FAKE_KEY}", "expected": SHAPED}]}}]},
        {"text": f"Your key is {FAKE_KEY} and the other one is {SHAPED}.", "chunk_size": 3},
    ])
    result = _ask(sample_ws, fmt)
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert FAKE_KEY not in stream and SHAPED not in stream
        assert "sk-" not in stream.replace(REDACTED, "")
    if fmt == "jsonl":
        events = [json.loads(line) for line in result.stdout.splitlines()]
        answer = "".join(e["delta"] for e in events if e["type"] == "text")
        started = [e for e in events if e["type"] == "tool_start"]
        assert REDACTED in json.dumps(started[0]["arguments"]) and REDACTED in json.dumps(started[1]["arguments"])
    else:
        answer = result.stdout
    assert f"Your key is {REDACTED} and the other one is {REDACTED}." in answer


def test_a_failure_message_and_a_bad_model_name_are_redacted(sample_ws, fake_server_env):
    fake_server_env.script([{"fault": "401", "echo_key": True}])
    result = _ask(sample_ws, "text")
    assert result.returncode == 4 and FAKE_KEY not in result.stderr + result.stdout
    typo = run_cli("ask", "--workspace", str(sample_ws.root), "--model", SHAPED, "hi", input="")
    assert typo.returncode == 2 and SHAPED not in typo.stderr and REDACTED in typo.stderr


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_stream_scrubber_redacts_a_key_split_across_pieces(size):
    from loop_tui.redaction import StreamScrubber

    text = f"Your key is {FAKE_KEY}, token: abcdefghijklmnop1234 and Bearer abcdefghijklmnopqrstu. Bye"
    scrubber = StreamScrubber(env={"OPENAI_API_KEY": FAKE_KEY})
    out = "".join(scrubber.feed(text[i:i + size]) for i in range(0, len(text), size)) + scrubber.flush()
    assert out == scrub(text, {"OPENAI_API_KEY": FAKE_KEY})
    assert FAKE_KEY not in out and "abcdefghijklmnop1234" not in out and "abcdefghijklmnopqrstu" not in out


async def test_agent_events_show_scrubbed_calls_and_previews(sample_ws):
    """What every UI shows (tool cards, the confirmation) comes from the events: they carry scrubbed copies."""
    from loop_tui.agent import Agent, ConfirmationRequired, Conversation, Decision, PageContext, ToolStarted
    from loop_tui.config import Settings
    from tests.test_agent_support import ScriptedProvider, collect

    pid = sample_ws.project("support-bot").id
    ds = sample_ws.get_object("dataset", pid, "support-golden")
    ops = [{"op": "add", "input": f"my key is {SHAPED}", "expected": "ok"}]
    provider = ScriptedProvider([{"calls": [("btql_query", {"query": f"select: * | filter: input MATCH '{SHAPED}'"}),
                                            ("edit_data", {"operations": ops})]}, {"text": "ok"}])
    conv = Conversation()
    conv.add_user("go")
    events = await collect(Agent(sample_ws, Settings(), provider=provider, save=False).run(
        conv, PageContext(page="datasets", project="support-bot", dataset_id=ds.id)), answer=Decision.REJECT)
    shown = json.dumps([e.call.arguments for e in events if isinstance(e, ToolStarted)])
    confirm = next(e for e in events if isinstance(e, ConfirmationRequired))
    preview = json.dumps([confirm.preview.title, confirm.preview.text, confirm.preview.rows, confirm.preview.details],
                         default=str)
    for text in (shown, preview, json.dumps(confirm.call.arguments)):
        assert SHAPED not in text and REDACTED in text
