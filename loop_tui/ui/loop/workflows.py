"""Loop's workflows: each builds the right request (and page context) and sends it to the chat.

`WORKFLOWS` lists them as data the app shell registers — binding id, key, palette title "Loop: …" and
page — and `run_workflow(chat, workflow_id)` runs one. Requests are written so a language model has
what it needs and the offline model recognises the ones it can answer (summaries, regressions, errors,
fix/explain a BTQL query) — and no others: it matches keywords, so a request that names a tool like
get_summarized_results ("summar…") or holds two apostrophes or "about …" (read as a search term) would get a
wrong offline answer instead of its honest "a language model is needed".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loop_tui.agent import PageContext
    from loop_tui.ui.loop.chat import LoopChat


@dataclass(frozen=True)
class Workflow:
    """One workflow entry: where it lives, its key, its palette title, and what it does."""

    id: str
    key: str
    title: str
    page: str
    kind: str  # "send" (ask now), "prefill" (start the request, the user finishes it), "ask", "tune", "query"
    prompt: Callable[[PageContext], str] | str

    @property
    def binding_id(self) -> str:
        """The remappable binding id (settings ui.keybindings)."""
        return f"loop.{self.page}.{self.id}"

    @property
    def action(self) -> str:
        """The action string the page's binding runs (see `LoopPageMixin`)."""
        return f"loop_workflow('{self.id}')"


def _query_block(ctx: PageContext) -> str:
    query = ctx.btql_query or "(the editor is empty)"
    return f"\n\nThe query:\n```sql\n{query}\n```"


def _fix_prompt(ctx: PageContext) -> str:
    error = ctx.btql_error or "(no error recorded: run it to see what fails)"
    return ("Fix this BTQL query. Find the cause from the error, its position and hint, check the fix with run_btql, "
            f"and give the whole corrected query in one ```sql code block.{_query_block(ctx)}\n\nThe error:\n{error}")


# Worded as requests, not "what is …?" questions: the offline model reads those as documentation look-ups.
LOGS_QUESTIONS = [
    "What are the most common errors in the last 7 days?",
    "Show the error rate by model.",
    "Show the token usage and cost by day.",
    "Which requests were the slowest?",
    "What are the most common kinds of user input? Group similar requests and count them.",
    "How many users come back on later days (retention by first-seen day)? Show it week by week.",
]

WORKFLOWS: list[Workflow] = [
    # Playground
    Workflow("generate_prompt", "P", "Loop: generate prompt", "playground", "send",
             "Generate a prompt for this playground's task. Read the dataset rows (get_detailed_results) to learn "
             "the input and expected shapes, then propose the prompt with edit_prompt, using mustache variables "
             "({{input}}, {{input.field}}) the rows provide."),
    Workflow("optimize_prompt", "O", "Loop: optimize prompt", "playground", "send",
             "Optimize the playground prompt. Read the scores of the last run and its worst rows "
             "(get_detailed_results), propose one improved prompt with edit_prompt (I will review the diff), "
             "and once I accept it run the eval with run_eval and report the score change against the previous run."),
    Workflow("prompt_to_chat", "C", "Loop: discuss the prompt", "playground", "prefill",
             "About the playground prompt: "),
    Workflow("generate_dataset", "D", "Loop: generate dataset", "playground", "send",
             "Generate a dataset for the task of this playground: read its prompt first, then add "
             "10 varied rows with edit_data (inputs that fit the variables of the prompt, and expected "
             "answers), including edge cases."),
    Workflow("optimize_dataset", "B", "Loop: improve dataset", "playground", "send",
             "Improve the playground's dataset: read its rows, find duplicates, ambiguous or wrong expected values "
             "and missing cases, and propose the fixes with edit_data (explain each change briefly)."),
    Workflow("scorers", "S", "Loop: generate or edit scorers", "playground", "send",
             "Review the playground's scorers (get_scorers) against the task. Propose scorers that measure what "
             "matters here (create_code_scorer for checkable properties, create_llm_judge_scorer for judgement), "
             "test them on a few rows, and switch the playground to them with edit_scorers."),
    Workflow("tune_scorer", "T", "Loop: tune scorer", "playground", "tune", ""),
    # Experiments
    Workflow("summarize", "S", "Loop: summarize experiment", "experiments", "send",
             "Summarize this experiment and interpret it: score means, the differences from its base experiment, "
             "whether they are real (confidence intervals), and what to look at next."),
    Workflow("regressions", "R", "Loop: find regressions", "experiments", "send",
             "What regressed in this experiment compared with its base experiment? Explain each regression with "
             "example rows (input, both outputs, scores)."),
    # Datasets
    Workflow("generate_rows", "N", "Loop: generate rows", "datasets", "prefill",
             "Generate 10 more rows for this dataset, following the shape of the existing rows, covering "),
    Workflow("rows_from_logs", "L", "Loop: rows from logs", "datasets", "send",
             "Find logged requests that should become test cases for this dataset (errors, low scores, unusual "
             "inputs) with btql_query, and add them with edit_data following the shape of the existing rows: the "
             "input of the log as input, and a correct answer as expected."),
    # Logs
    Workflow("ask", "A", "Loop: ask about logs", "logs", "ask", ""),
    Workflow("common_errors", "E", "Loop: most common errors", "logs", "send", LOGS_QUESTIONS[0]),
    Workflow("scorer_from_logs", "S", "Loop: scorer from logs", "logs", "send",
             "Look at recent logs with btql_query to find what goes wrong in this app's outputs, then write a "
             "scorer that catches it (create_code_scorer or create_llm_judge_scorer), test it on logged rows, "
             "and tell me how often it fires."),
    # BTQL sandbox
    Workflow("write_query", "W", "Loop: write query", "btql", "query", "Write a BTQL query that "),
    Workflow("fix_query", "F", "Loop: fix with Loop", "btql", "query", _fix_prompt),
    Workflow("explain_results", "X", "Loop: explain results", "btql", "send",
             lambda ctx: "Explain this query and what its results show, and suggest follow-up queries."
             + _query_block(ctx)),
    Workflow("modify_query", "M", "Loop: modify this query", "btql", "query", "Modify this query to "),
]

_BY_ID = {w.id: w for w in WORKFLOWS}


def workflows_for(page: str) -> list[Workflow]:
    """The workflows offered on `page`."""
    return [w for w in WORKFLOWS if w.page == page]


def get_workflow(workflow_id: str) -> Workflow:
    """A workflow by id (KeyError when unknown)."""
    return _BY_ID[workflow_id]


def prompt_for(workflow: Workflow, ctx: PageContext) -> str:
    """The request text of a workflow in this page context."""
    return workflow.prompt(ctx) if callable(workflow.prompt) else workflow.prompt


def run_workflow(chat: LoopChat, workflow_id: str) -> None:
    """Start a workflow in `chat` (send its request, prefill it, or open its modal)."""
    workflow = get_workflow(workflow_id)
    ctx = chat.page_context()
    text = prompt_for(workflow, ctx)
    # What PageContext has no field for (e.g. the experiments a compare view shows) the page adds to the request.
    note = getattr(chat.screen, "loop_request_note", None)
    if workflow.kind == "send" and note is not None:
        text += note(workflow.id)
    if workflow.kind == "send":
        chat.send(text)
    elif workflow.kind == "prefill":
        chat.prefill(text)
    elif workflow.kind == "ask":
        _ask_logs_question(chat)
    elif workflow.kind == "tune":
        from loop_tui.ui.loop.tune import start_tune_scorer

        start_tune_scorer(chat)
    elif workflow.kind == "query":
        original = ctx.btql_query or ""
        if workflow.id == "fix_query":
            chat.send(text, after=lambda answer: offer_query(chat, original, answer))
        else:
            chat.prefill(text)
            chat.after_run(lambda answer: offer_query(chat, original, answer))
    else:
        raise ValueError(f"workflow {workflow_id!r} has unknown kind {workflow.kind!r}")


def _ask_logs_question(chat: LoopChat) -> None:
    from loop_tui.ui.loop.question import QuestionModal

    def chosen(question: str | None) -> None:
        if question is None:
            return
        if question == "":
            chat.prefill("")
        else:
            chat.send(question)

    chat.app.push_screen(QuestionModal("Ask Loop about these logs", LOGS_QUESTIONS), chosen)


_CODE_BLOCK = re.compile(r"```[ \t]*(?:sql|btql|BTQL|SQL)?[ \t]*\n(.*?)```", re.DOTALL)


def last_query_block(answer: str) -> str | None:
    """The last fenced code block of an answer (the query Loop proposes), or None."""
    blocks = [b.strip() for b in _CODE_BLOCK.findall(answer) if b.strip()]
    return blocks[-1] if blocks else None


def typed_answer_hook(chat: LoopChat) -> Callable[[str], None] | None:
    """What to do with the answer to a request the user typed: on the BTQL page, a query at the end of the
    answer is offered for the editor (as the page's own workflows do), so "group this by model" ends in the
    editor after a yes, not only in a code block."""
    ctx = chat.page_context()
    if ctx.page != "btql":
        return None
    original = ctx.btql_query or ""
    return lambda answer: offer_query(chat, original, answer)


def offer_query(chat: LoopChat, original: str, answer: str) -> None:
    """If Loop's answer ends with a query, show it as a diff against the editor's and offer to apply it."""
    proposed = last_query_block(answer)
    if proposed is None or proposed.strip() == original.strip():
        return
    import difflib

    from loop_tui.agent.events import Decision, PendingCall, Preview
    from loop_tui.ui.loop.confirm import ConfirmChangeModal

    diff = "\n".join(difflib.unified_diff(original.splitlines(), proposed.splitlines(),
                                          "query (editor)", "query (Loop)", lineterm=""))
    preview = Preview(kind="diff", title="Put Loop's query in the editor", text=diff or proposed)
    modal = ConfirmChangeModal(PendingCall("btql-editor", "btql editor", {}), preview, allow_always=False)

    def answered(decision: Decision | None) -> None:
        if decision in (Decision.ACCEPT, Decision.ALWAYS):
            chat.post_message(chat.QueryAccepted(proposed))
            chat.notice("Loop's query is in the editor.", "success")
        else:
            chat.notice("Kept the editor's query.")

    chat.app.push_screen(modal, answered)
