"""The CLI imports only the module of the command it runs, and `loop-tui import` loads no pydantic or asyncio."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from loop_tui.cli.main import COMMANDS, build_parser, parse_command_line
from tests.conftest import REPO


def test_the_help_lists_every_command_with_the_text_its_module_gives() -> None:
    """`loop-tui --help` with no command module imported reads exactly as with all of them registered."""
    assert build_parser(load=()).format_help() == build_parser().format_help()
    assert all(f"    {name} " in build_parser(load=()).format_help() for name in COMMANDS)


@pytest.mark.parametrize("argv", [["--help"], ["import", "--help"], ["bogus"], ["--page", "bogus", "projects"],
                                  ["import"], ["--bogus", "projects"]])
def test_the_lazy_parser_prints_and_exits_as_the_full_one(argv: list[str]) -> None:
    def run(parse) -> tuple[object, str, str]:  # type: ignore[no-untyped-def]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                parse(argv)
                code: object = None
            except SystemExit as exit_:
                code = exit_.code
        return code, out.getvalue(), err.getvalue()

    assert run(parse_command_line) == run(lambda a: build_parser().parse_args(a))


def test_a_command_parses_as_with_every_module_loaded(tmp_path: Path) -> None:
    argv = ["--workspace", str(tmp_path), "import", "logs", "f.jsonl", "--project", "p", "--workspace", "w"]
    assert vars(parse_command_line(argv)) == vars(build_parser().parse_args(argv))


def test_an_import_loads_no_other_command_nor_pydantic_nor_asyncio(tmp_path: Path) -> None:
    """Each of these cost the import's single-threaded start ~0.05-0.1 s."""
    source = tmp_path / "spans.jsonl"
    source.write_text('{"id": "a", "input": "hi", "scores": {"ok": 1}}\n', encoding="utf-8")
    code = (
        "import json, sys\n"
        "from loop_tui.cli.main import main\n"
        f"assert main(['import', 'logs', {str(source)!r}, '--project', 'p', '--workspace', {str(tmp_path / 'ws')!r}]) == 0\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('asyncio', 'pydantic')\n"
        "          or m.startswith('loop_tui.cli.') and m.endswith('_cmd') or m == 'loop_tui.config']\n"
        "print(json.dumps(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == ["loop_tui.cli.import_cmd"]
