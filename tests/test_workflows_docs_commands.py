"""Every `loop-tui …` command shown in the bundled docs (what Loop's search_docs quotes) and the README
parses with the real argparse parser: a user who copies one never meets "unrecognized arguments"."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from loop_tui.cli.main import build_parser
from tests.conftest import REPO

DOC_FILES = [*sorted((REPO / "loop_tui" / "docs").glob("*.md")), REPO / "README.md"]
TYPED_PLACEHOLDERS = {"DATE": "2026-01-02"}  # placeholders whose option parses its value
_CHOICES = re.compile(r"invalid choice: '1' \(choose from '?([^',)]+)")


def documented_commands(path: Path) -> list[str]:
    """The `loop-tui …` commands in one Markdown file: inline code spans and lines of code blocks."""
    text = path.read_text(encoding="utf-8")
    found: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        lines = block.replace("\\\n", " ").splitlines()
        for i, line in enumerate(lines):
            match = re.search(r"(?:^|\|\s*)(loop-tui\b.*)$", line.strip())
            if not match:
                continue
            command = match.group(1)
            for more in lines[i + 1:]:  # a synopsis continued on indented lines
                if not more.startswith((" ", "\t")) or not more.strip().startswith("["):
                    break
                command += " " + more.strip()
            found.append(command)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [span.replace("\\|", "|") for span in re.findall(r"`(loop-tui\b[^`]*)`", prose)]
    return found


def example_argv(command: str) -> list[str]:
    """A synopsis made concrete: optional groups kept, first of each alternative, placeholders filled."""
    command = re.sub(r"\[[^\[\]]*(?:…|\.\.\.)[^\[\]]*\]", " ", command)  # "[--scorer S …]": repeat groups
    command = re.sub(r"\(([^()|]*?)\s*\|[^()]*\)", r"\1", command)  # "(--prompt NAME | --prompt-file F)"
    command = command.replace("[", " ").replace("]", " ")
    argv = []
    for token in shlex.split(command, comments=True)[1:]:
        if re.fullmatch(r"[\w.-]+(?:\|[\w.-]+)+", token):
            token = token.split("|")[0]
        elif re.fullmatch(r"[A-Z][A-Z_]*", token):
            token = TYPED_PLACEHOLDERS.get(token, "1")
        argv.append(token)
    return argv


def parse_error(argv: list[str]) -> str | None:
    """None when the real parser accepts `argv`, else its one-line error."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exit_:
            return stderr.getvalue().strip() or f"exit {exit_.code}"
    return None


def parses(argv: list[str]) -> str | None:
    """Like `parse_error`, retrying a filled-in placeholder with the first choice its option allows."""
    for _ in range(len(argv) + 1):
        error = parse_error(argv)
        choice = _CHOICES.search(error or "")
        if not choice or "1" not in argv:
            return error
        argv[argv.index("1")] = choice.group(1)
    return error


COMMANDS = [(path.name, command) for path in DOC_FILES for command in documented_commands(path)]


def test_the_docs_show_commands_at_all() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"README.md", "cli.md", "datasets.md", "btql.md"} <= names
    assert len(COMMANDS) > 30


def names_a_command(argv: list[str]) -> bool:
    """A mention such as `loop-tui btql --explain`: the subcommand exists and its help lists every flag."""
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), contextlib.suppress(SystemExit):
        build_parser().parse_args([argv[0], "--help"])
    flags = [a.split("=")[0] for a in argv[1:] if a.startswith("-")]
    return bool(help_text.getvalue()) and len(flags) == len(argv) - 1 and all(
        re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", help_text.getvalue()) for f in flags)


@pytest.mark.parametrize(("doc", "command"), COMMANDS, ids=[f"{n}:{c[:60]}" for n, c in COMMANDS])
def test_documented_command_parses(doc: str, command: str) -> None:
    argv = example_argv(command)
    error = parses(argv)
    if error and "the following arguments are required" in error and names_a_command(argv):
        return  # prose naming a command (`loop-tui eval`), not an invocation
    assert error is None, f"{doc}: `{command}` → {argv}: {error}"


def test_a_wrong_command_is_caught() -> None:
    """The check itself can fail: the commands the docs used to show are rejected."""
    assert parses(example_argv("loop-tui history --project P")) is not None
    assert parses(example_argv("loop-tui history undo XACT_ID")) is not None
    assert parses(example_argv("loop-tui history --undo XACT")) is None
    assert not names_a_command(["btql", "--no-such-flag"]) and names_a_command(["btql", "--explain"])
