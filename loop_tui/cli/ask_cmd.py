"""`loop-tui ask`: one headless Loop conversation, its events printed as they stream.

Exit codes: 0 done, 2 bad input, 3 paused at the iteration limit, 4 the model provider (or budget) failed.
Confirmations: `--yes` accepts; otherwise ask on a terminal; with stdin not a terminal, decline (the
model is told the user declined). Everything printed goes through `loop_tui.redaction` first: the streamed
answer (a key split across pieces too), tool arguments, previews, results and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from loop_tui.errors import UserError
from loop_tui.safe_text import json_controls_escaped, visible

PAGES = ("playground", "experiments", "datasets", "logs", "btql")
EXIT_DONE, EXIT_LIMIT, EXIT_FAILED = 0, 3, 4


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `ask` subcommand."""
    parser = subparsers.add_parser(
        "ask",
        help="ask Loop, the assistant, one question headless",
        description="Run one Loop conversation without the UI: Loop reads your data with tools and asks "
        "before changing anything. Exit 0 done, 2 bad input, 3 iteration limit, 4 model failure.",
    )
    parser.add_argument("question", nargs="?", metavar="QUESTION", help="what to ask (omit to continue --conversation)")
    parser.add_argument("--page", choices=PAGES, help="the page Loop thinks you are on (default: from the other options)")
    parser.add_argument("--project", help="project name or id")
    parser.add_argument("--experiment", metavar="E", help="experiment name or id (experiments page)")
    parser.add_argument("--dataset", metavar="D", help="dataset name or id (datasets page)")
    parser.add_argument("--query", metavar="Q", help="the BTQL sandbox's current query (btql page)")
    parser.add_argument("--model", metavar="M", help="allowlisted model name or provider/model (default: settings, else offline)")
    parser.add_argument("--yes", action="store_true", help="accept every proposed change")
    parser.add_argument("--max-iterations", type=int, metavar="N", help="model turns before pausing (settings: agent.max_iterations)")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text")
    parser.add_argument("--conversation", metavar="ID", help="resume a saved conversation")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the conversation; returns the exit code. Every error message is scrubbed of secrets (a key pasted
    as a model name, an endpoint that echoes the key)."""
    from loop_tui.redaction import scrub

    try:
        return _run(args)
    except UserError as err:
        raise UserError(scrub(err.message), hint=scrub(err.hint) if err.hint else None) from None


def _run(args: argparse.Namespace) -> int:
    from loop_tui.agent import Agent, Conversation, load_conversation
    from loop_tui.config import load_settings
    from loop_tui.store import open_workspace

    settings = load_settings()
    if args.model:
        from loop_tui.llm import resolve_model

        resolve_model(args.model, settings)  # unknown, or outside the allowlist: one sentence, exit 2
    if args.max_iterations is not None:
        if not 1 <= args.max_iterations <= 100:
            raise UserError("--max-iterations must be between 1 and 100")
        settings.agent.max_iterations = args.max_iterations
    ws = open_workspace(args.workspace)
    page = build_page_context(ws, args)
    if args.conversation:
        conversation = load_conversation(ws, args.conversation)
        if args.question:
            conversation.add_user(args.question)
        elif not conversation.paused:
            raise UserError("that conversation is not paused; give a QUESTION to continue it")
    else:
        if not args.question or not args.question.strip():
            raise UserError("give a QUESTION, e.g. loop-tui ask \"what are the most common errors?\"")
        conversation = Conversation()
        conversation.add_user(args.question)
    agent = Agent(ws, settings, model=args.model)
    printer = (JsonlPrinter if args.format == "jsonl" else TextPrinter)(sys.stdout)
    return asyncio.run(_drive(agent, conversation, page, printer, args.yes))


def build_page_context(ws: Any, args: argparse.Namespace) -> Any:
    """The page context from the flags (names resolved to ids; the query's error from the binder)."""
    from loop_tui.agent import PageContext

    page = args.page or ("btql" if args.query else "experiments" if args.experiment else
                         "datasets" if args.dataset else "logs")
    project = ws.project(args.project) if args.project else None
    if project is None and (args.experiment or args.dataset or page == "playground"):
        projects = ws.projects()
        if len(projects) != 1:
            raise UserError("name the project with --project (needed for --experiment, --dataset and the playground)")
        project = projects[0]
    ctx = PageContext(page=page, project=project.name if project else None)
    if project is not None:  # (always set when an experiment, a dataset or the playground is asked for)
        if args.experiment:
            ctx.experiment_id = ws.get_object("experiment", project.id, args.experiment).id
        if args.dataset:
            ctx.dataset_id = ws.get_object("dataset", project.id, args.dataset).id
        if page == "playground":
            playgrounds = ws.objects("playground", project.id)
            if not playgrounds:
                raise UserError(f"project {project.name} has no playground")
            ctx.playground_id = playgrounds[0].id
    if args.query:
        ctx.btql_query = args.query
        ctx.btql_error = _query_error(ws, args.query, ctx.project)
    return ctx


def _query_error(ws: Any, query: str, project: str | None) -> str | None:
    from loop_tui import btql
    from loop_tui.agent.tools.btql_tools import describe_btql_error

    errors = btql.check(query, ws, project)
    return describe_btql_error(errors[0]) if errors else None


async def _drive(agent: Any, conversation: Any, page: Any, printer: Any, yes: bool) -> int:
    from loop_tui.agent import ConfirmationRequired, Decision, Failed, IterationLimit, TurnFinished

    code = EXIT_DONE
    async for event in agent.run(conversation, page):
        if isinstance(event, ConfirmationRequired):
            decision = Decision.ACCEPT if yes else await _ask_user(event, printer)
            event.resolve(decision)
            printer.confirm(event, decision != Decision.REJECT)
        elif isinstance(event, IterationLimit):
            code = EXIT_LIMIT
            printer.event(event, conversation.id)
        elif isinstance(event, Failed):
            code = EXIT_FAILED
            printer.event(event, conversation.id)
        elif isinstance(event, TurnFinished):
            printer.event(event, conversation.id)
        else:
            printer.event(event, conversation.id)
    printer.finish()
    return code


async def _ask_user(event: Any, printer: Any) -> Any:
    from loop_tui.agent import Decision

    if not sys.stdin.isatty():
        return Decision.REJECT
    printer.show_preview(event)
    while True:
        sys.stderr.write("Apply this change? [y]es / [n]o / [a]lways for this tool: ")
        sys.stderr.flush()
        answer = (await asyncio.to_thread(sys.stdin.readline)).strip().lower()
        if answer in ("y", "yes"):
            return Decision.ACCEPT
        if answer in ("a", "always"):
            return Decision.ALWAYS
        if answer in ("n", "no", ""):
            return Decision.REJECT


def _preview_json(preview: Any) -> dict[str, Any]:
    from loop_tui.redaction import scrub_value

    return scrub_value(json.loads(json.dumps(
        {"kind": preview.kind, "title": preview.title, "text": preview.text, "rows": preview.rows,
         "details": preview.details}, ensure_ascii=False, default=str)))


def _clean(value: Any) -> Any:
    """`value` with secrets scrubbed from every string in it (arguments, results, messages)."""
    from loop_tui.redaction import scrub_value

    return scrub_value(value)


class JsonlPrinter:
    """One JSON object per event per line (text deltas may be merged where a secret could straddle two)."""

    def __init__(self, out: Any) -> None:
        from loop_tui.redaction import StreamScrubber

        self.out = out
        self.answer = StreamScrubber()

    def _text(self, released: str) -> None:
        if released:
            self._write({"type": "text", "delta": released})

    def finish(self) -> None:
        """Print what the answer still holds back."""
        self._text(self.answer.flush())

    def _write(self, obj: dict[str, Any]) -> None:
        self.out.write(json_controls_escaped(json.dumps(obj, ensure_ascii=False, default=str)) + "\n")
        self.out.flush()

    def show_preview(self, event: Any) -> None:
        self._text(self.answer.flush())
        sys.stderr.write(visible(f"{_clean(event.preview.title)}\n{_clean(event.preview.text)}") + "\n")

    def confirm(self, event: Any, accepted: bool) -> None:
        self._text(self.answer.flush())
        self._write({"type": "confirm", "id": event.call.id, "name": event.call.name,
                     "preview": _preview_json(event.preview), "accepted": accepted})

    def event(self, event: Any, conversation_id: str) -> None:
        from loop_tui.agent import Failed, IterationLimit, TextDelta, ToolFinished, ToolStarted, TurnFinished

        if isinstance(event, TextDelta):
            self._text(self.answer.feed(event.text))
            return
        self._text(self.answer.flush())
        if isinstance(event, ToolStarted):
            self._write({"type": "tool_start", "id": event.call.id, "name": event.call.name,
                         "arguments": _clean(event.call.arguments)})
        elif isinstance(event, ToolFinished):
            body = {"error": _clean(event.error)} if event.error is not None else {"result": _clean(event.result)}
            if event.undo_xact:
                body["undo_xact"] = event.undo_xact
            self._write({"type": "tool_end", "id": event.call.id, "name": event.call.name, **body})
        elif isinstance(event, IterationLimit):
            self._write({"type": "iteration_limit", "iterations": event.iterations, "conversation_id": conversation_id})
        elif isinstance(event, Failed):
            self._write({"type": "error", "kind": event.kind, "message": _clean(event.message),
                         "conversation_id": conversation_id})
        elif isinstance(event, TurnFinished):
            self._write({"type": "done", "conversation_id": conversation_id, "cost_usd": event.cost_usd})


class TextPrinter:
    """The answer streamed as text; each tool call and result on its own line."""

    def __init__(self, out: Any) -> None:
        from loop_tui.redaction import StreamScrubber

        self.out = out
        self.mid_line = False
        self.previewed: set[str] = set()
        self.answer = StreamScrubber()

    def finish(self) -> None:
        """Print what the answer still holds back."""
        self._stream(self.answer.flush())

    def _stream(self, released: str) -> None:
        if released:
            self.out.write(visible(released))  # the model may repeat what a log row says, escapes and all
            self.out.flush()
            self.mid_line = not released.endswith("\n")

    def _line(self, text: str) -> None:
        self._stream(self.answer.flush())
        text = _clean(text)
        if self.mid_line:
            self.out.write("\n")
            self.mid_line = False
        self.out.write(visible(text) + "\n")
        self.out.flush()

    def show_preview(self, event: Any) -> None:
        self.previewed.add(event.call.id)
        self._line(f"? {event.preview.title}")
        for line in event.preview.text.splitlines():
            self._line(f"    {line}")

    def confirm(self, event: Any, accepted: bool) -> None:
        if event.call.id not in self.previewed:
            self.show_preview(event)
        self._line(f"{'✓ accepted' if accepted else '✗ declined'}: {event.call.name}")

    def event(self, event: Any, conversation_id: str) -> None:
        from loop_tui.agent import Failed, IterationLimit, TextDelta, ToolFinished, ToolStarted, TurnFinished

        if isinstance(event, TextDelta):
            self._stream(self.answer.feed(event.text))
        elif isinstance(event, ToolStarted):
            self._line(f"→ {event.call.name} {json.dumps(event.call.arguments, ensure_ascii=False)}")
        elif isinstance(event, ToolFinished):
            if event.error is not None:
                self._line(f"← {event.call.name} failed: {_one_line(event.error)}")
            else:
                self._line(f"← {event.call.name}: {_one_line(event.result or '')}")
        elif isinstance(event, IterationLimit):
            self._line(f"[paused after {event.iterations} model turns; continue with: "
                       f"loop-tui ask --conversation {conversation_id}]")
        elif isinstance(event, Failed):
            self._line("")
            sys.stderr.write(f"loop-tui: {visible(_clean(event.message))}\n")
        elif isinstance(event, TurnFinished):
            self._stream(self.answer.flush())
            if self.mid_line:
                self._line("")


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
