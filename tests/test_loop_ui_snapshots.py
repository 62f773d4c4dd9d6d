"""Snapshots of the Loop chat and its confirmation modals at 120x40 on the sample workspace."""

from __future__ import annotations

from loop_tui.agent.events import PendingCall, Preview
from loop_tui.ui.loop import messages as msg
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from loop_tui.ui.loop.transcript import AssistantAnswer
from tests.test_loop_ui_support import SIZE, make_app, wait_for
from tests.test_ui_support import settle

ANSWER = ("The most common error is **RateLimitError** (42% of errors this week):\n\n"
          "| error | count |\n|---|---|\n| RateLimitError | 10 |\n| TimeoutError | 6 |\n\n"
          "Most of them come from `claude-3-5-sonnet` between 14:00 and 16:00")
CALL = PendingCall("call_1", "btql_query", {"query": "dimensions: error | measures: count(1) as n | sort: n desc"})
RESULT = '{"row_count": 2, "columns": ["error", "n"], "rows": [["RateLimitError", 10], ["TimeoutError", 6]]}'


async def _stream(pilot, app, *, expand: bool = False) -> None:
    """Replay a run's messages up to the middle of the answer (no Done: still streaming)."""
    chat = app.chat
    chat.conversation.add_user("What are the most common errors this week?")
    await chat.transcript.mount(__import__("loop_tui.ui.loop.transcript", fromlist=["UserTurn"]).UserTurn(
        "What are the most common errors this week?"))
    run = chat._run_id  # the chat's current run: messages of any other run are ignored
    chat.post_message(msg.AgentRunStarted(run))
    chat.post_message(msg.AgentToolStarted(run, CALL))
    chat.post_message(msg.AgentToolFinished(run, CALL, RESULT, None))
    for start in range(0, len(ANSWER), 20):
        chat.post_message(msg.AgentTextDelta(run, ANSWER[start:start + 20]))
    # Deltas are joined and streamed into the Markdown in batches: wait until it has taken in all of them.
    await wait_for(pilot, lambda: _answer_source(app) == ANSWER, timeout=30)
    card = chat._cards["call_1"]
    await wait_for(pilot, lambda: card.status == "ok", timeout=30)
    if expand:
        collapsed = card.size.height
        card.action_toggle_card()
        await wait_for(pilot, lambda: card.size.height > collapsed, timeout=30)  # laid out expanded
        transcript = chat.transcript
        transcript.scroll_to_widget(card, top=True, animate=False)
        await wait_for(pilot, lambda: transcript.scroll_y == min(card.virtual_region.y, transcript.max_scroll_y), timeout=30)
    for field in app.query("Input"):  # a blinking cursor would make the picture depend on timing
        field.cursor_blink = False
    await pilot.wait_for_scheduled_animations()  # the last batch laid out and painted


def _answer_source(app) -> str:
    """The Markdown the (only) answer has taken in so far ("" before it is mounted)."""
    answers = app.chat.transcript.query(AssistantAnswer)
    return answers.first().rendered_source if answers else ""


def test_chat_mid_stream(snap_compare, sample_ws):
    """You should see the offline-model header with what it can do, the user's question, a collapsed
    btql_query card with "→ 2 row(s)", and a Markdown answer with a small table, ending mid-sentence
    ("…between 14:00 and 16:00"); the status line says "Loop is working… esc cancels"."""
    app = make_app(sample_ws, "logs")
    assert snap_compare(app, terminal_size=SIZE, run_before=lambda pilot: _stream(pilot, app))


def test_tool_card_expanded(snap_compare, sample_ws):
    """You should see the btql_query card expanded (▾): its arguments as highlighted JSON with the query,
    and its result as pretty JSON with row_count 2 and the two error rows."""
    app = make_app(sample_ws, "logs")
    assert snap_compare(app, terminal_size=SIZE, run_before=lambda pilot: _stream(pilot, app, expand=True))


def _modal_snapshot(snap_compare, sample_ws, call: PendingCall, preview: Preview) -> bool:
    app = make_app(sample_ws, "playground")

    async def push(pilot) -> None:
        app.push_screen(ConfirmChangeModal(call, preview))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmChangeModal), timeout=30)
        await settle(pilot)

    return snap_compare(app, terminal_size=SIZE, run_before=push)


def test_confirm_prompt_diff(snap_compare, sample_ws):
    """You should see "Loop wants to change something: Edit the prompt of playground support-playground",
    a unified diff with the old system line in red (-) and the new one in green (+), and the buttons
    Accept (y), Reject (n, focused) and Always allow edit_prompt (a)."""
    diff = "\n".join([
        "--- playground support-playground (current)", "+++ playground support-playground (proposed)",
        "@@ -1,4 +1,4 @@", " model: gpt-4o-mini", ' params: {"temperature": 0.2}', " [system]",
        "-You are a helpful support agent.", "+You are a concise, friendly support agent. Cite the help article.",
    ])
    preview = Preview("diff", "Edit the prompt of playground support-playground", diff)
    assert _modal_snapshot(snap_compare, sample_ws, PendingCall("c1", "edit_prompt", {}), preview)


def test_confirm_data_rows(snap_compare, sample_ws):
    """You should see "Edit dataset support-golden: add 2 rows, update 1 row" and a table with rows
    "+ add" (two), "~ before" and "~ after" for the update, columns op, id, input, expected, metadata, tags."""
    rows = [
        {"op": "add", "input": {"question": "How do I reset my password?"}, "expected": "Use the reset link."},
        {"op": "add", "input": {"question": "Can I get a refund?"}, "expected": "Yes, within 30 days.", "tags": ["refund"]},
        {"op": "update", "id": "row-42", "before": {"input": {"question": "shipping?"}, "expected": "5 days"},
         "after": {"input": {"question": "shipping?"}, "expected": "3-5 business days"}},
    ]
    preview = Preview("rows", "Edit dataset support-golden: add 2 rows, update 1 row", "", rows=rows)
    assert _modal_snapshot(snap_compare, sample_ws, PendingCall("c2", "edit_data", {}), preview)


def test_confirm_eval_cost(snap_compare, sample_ws):
    """You should see "Run an eval of support-playground on support-golden" with its scope: playground,
    dataset (20 rows), scorers Factuality and answer-length, model gpt-4o-mini, about 40 model calls,
    compare with baseline-gpt-4o-mini, and the estimated cost $0.0123 in bold."""
    details = {"playground": "support-playground", "dataset": "support-golden", "rows": 20,
               "scorers": ["Factuality", "answer-length"], "model": "gpt-4o-mini", "estimated_cost_usd": 0.0123,
               "model_calls": 40, "base_experiment": "baseline-gpt-4o-mini"}
    preview = Preview("eval", "Run an eval of support-playground on support-golden", "", details=details)
    assert _modal_snapshot(snap_compare, sample_ws, PendingCall("c3", "run_eval", {}), preview)
