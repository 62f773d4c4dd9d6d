"""BTQL run on Braintrust: the text goes to /btql as it is, pages come back as Arrow, errors as BtqlError."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loop_tui.btql.errors import BtqlError
from loop_tui.remote.remote_btql import query_error, rows_to_arrow, run_remote
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import client_for, seed_logs

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env


def test_query_text_is_sent_as_is_and_pages_come_back(fake_bt: FakeBraintrust) -> None:
    seed_logs(fake_bt, 25)
    client, _ = client_for(fake_bt)
    query = "select: id, input, scores | from: project_logs('support-bot') | sort: id | limit: 10"
    first = run_remote(client, query)
    assert [r.body["query"] for r in fake_bt.requests if r.path == "/btql"] == [query]
    assert first.table.num_rows == 10 and first.cursor
    rows = first.table.to_pylist()
    assert rows[0]["id"] == "span-000000" and json.loads(rows[0]["input"]) == {"i": 0}
    ids = [r["id"] for r in rows]
    cursor = first.cursor
    while cursor:
        page = run_remote(client, query, cursor)
        ids += page.table.column("id").to_pylist()
        cursor = page.cursor
    assert ids == sorted(f"span-{i:06d}" for i in range(25))


def test_a_rejected_query_is_a_btql_error_with_its_place(fake_bt: FakeBraintrust) -> None:
    seed_logs(fake_bt, 1)
    client, _ = client_for(fake_bt)
    with pytest.raises(BtqlError) as caught:
        run_remote(client, "select: id | from: project_logs('support-bot') | filter: nope(1)")
    err = caught.value
    assert err.kind in ("parse", "bind") and err.message.startswith("Braintrust: ")
    assert err.line == 1 and err.col > 1


def test_query_error_parses_positions() -> None:
    err = query_error("Braintrust rejected the BTQL query (400: Expected an expression at line 2, column 9)")
    assert (err.kind, err.line, err.col) == ("parse", 2, 9)


def test_mixed_and_nested_columns_become_json_text() -> None:
    table = rows_to_arrow([{"a": 1, "b": {"x": 1}, "c": "s"}, {"a": 2.5, "b": [1], "c": 3}])
    assert [f.metadata[b"btql_type"] for f in table.schema] == [b"num", b"json", b"json"]


def test_cli_btql_remote(fake_bt_env: FakeBraintrust, tmp_path) -> None:
    seed_logs(fake_bt_env, 3)
    done = subprocess.run([sys.executable, "-m", "loop_tui", "btql", "--remote", "--format", "json",
                           "select: count(1) as n | from: project_logs('support-bot')"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"] == [{"n": 3}]
    bad = subprocess.run([sys.executable, "-m", "loop_tui", "btql", "--remote", "--format", "json",
                          "select: | from: project_logs('support-bot')"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["message"].startswith("Braintrust: ")
