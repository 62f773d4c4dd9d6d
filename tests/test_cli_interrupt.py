"""Ctrl-C during a command's DuckDB query ends it as any Ctrl-C does: `loop-tui: interrupted`, exit code 130.

Seen on `loop-tui import`: a Ctrl-C while the commit counted repeated ids printed DuckDB's
`RuntimeError: Query interrupted` as a traceback and exited 1 (DuckDB turns the KeyboardInterrupt it
catches mid-query into that RuntimeError). When the signal lands is up to DuckDB (it may also hold it until
the query ends, then Python raises KeyboardInterrupt), so the script below repeats a real query interrupted
by a real SIGINT until DuckDB has answered with its RuntimeError at least once.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = r"""
import argparse, contextlib, io, json, os, signal, threading
import duckdb
from loop_tui.cli import main as cli

raised = []

def query_interrupted_by_ctrl_c(args):
    con = duckdb.connect()
    started = threading.Event()

    def mark():
        started.set()
        return 3

    con.create_function("query_started", mark, [], "BIGINT", side_effects=True)

    def press_ctrl_c():
        started.wait(30)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    try:  # ~0.5 s when DuckDB holds the signal until the end
        con.execute("SELECT count(*) FROM range(300000000) t(i) WHERE i % 7 = (SELECT query_started())").fetchall()
    except BaseException as exc:
        raised.append(type(exc).__name__)
        raise
    return 0

cli.parse_command_line = lambda argv=None: argparse.Namespace(func=query_interrupted_by_ctrl_c)
runs = []
for _ in range(20):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = cli.main([])
        except BaseException as exc:
            code = type(exc).__name__
    runs.append([code, err.getvalue()])
    if "RuntimeError" in raised:
        break
print(json.dumps({"runs": runs, "raised": raised}))
"""


def test_ctrl_c_during_a_duckdb_query_is_interrupted_and_exit_130() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert "RuntimeError" in result["raised"], result  # DuckDB's own report of the Ctrl-C was exercised
    assert all(run == [130, "loop-tui: interrupted\n"] for run in result["runs"]), result


def test_running_out_of_memory_is_one_sentence_and_a_failed_exit(monkeypatch, capsys) -> None:
    # An import of a file holding one line of many GB ran out of memory with a traceback (the scanner's and
    # Python's MemoryError); the write it had begun is discarded either way (all-or-nothing).
    from loop_tui.cli import main as cli
    from loop_tui.cli import projects_cmd

    def out_of_memory(_args):
        raise MemoryError

    monkeypatch.setattr(projects_cmd, "run", out_of_memory)
    assert cli.main(["projects"]) == 1
    err = capsys.readouterr().err
    assert err == "loop-tui: ran out of memory; the command stopped (a write it had begun was not committed)\n"
