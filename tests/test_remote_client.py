"""The Braintrust client against the fake server: login, listing, paging, retries and one-sentence errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loop_tui.remote.client import BraintrustClient
from loop_tui.remote.connection import Connection
from loop_tui.remote.errors import RemoteError
from tests.fake_braintrust import FakeBraintrust, server

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env


def make_client(fake: FakeBraintrust, *, retries: int = 3, key: str | None = None) -> tuple[BraintrustClient, list[float]]:
    delays: list[float] = []
    conn = Connection(app_url=fake.url, api_url=None, org_name=None, timeout_s=2.0, max_retries=retries)
    env = {"BRAINTRUST_API_KEY": key or fake.api_key}
    return BraintrustClient(conn, env=env, sleep=delays.append), delays


def seed_logs(fake: FakeBraintrust, n: int, project: str = "support-bot") -> str:
    project_id = fake.state.ensure_project(project)["id"]
    for start in range(0, n, 100):
        fake.state.insert("project_logs", project_id, [{"id": f"span-{i:05d}", "input": i} for i in range(start, min(n, start + 100))])
    return project_id


def test_login_and_projects(fake_bt: FakeBraintrust) -> None:
    fake_bt.state.ensure_project("b-project")
    fake_bt.state.ensure_project("a-project")
    client, _ = make_client(fake_bt)
    assert client.login().name == "acme"
    assert sorted(p["name"] for p in client.projects()) == ["a-project", "b-project"]
    with pytest.raises(RemoteError, match="no project named 'nope' .projects: a-project, b-project"):
        client.project("nope")


def test_pages_cover_every_row_once_newest_first(fake_bt: FakeBraintrust) -> None:
    project_id = seed_logs(fake_bt, 250)
    client, _ = make_client(fake_bt)
    pages = list(client.pages("project_logs", project_id, limit=100))
    assert [len(rows) for rows, _ in pages] == [100, 100, 50]
    ids = [r["id"] for rows, _ in pages for r in rows]
    assert len(set(ids)) == 250
    xacts = [int(r["_xact_id"]) for rows, _ in pages for r in rows]
    assert xacts == sorted(xacts, reverse=True)


@pytest.mark.parametrize(("status", "kind", "words"), [
    ("401", "auth", "refused the API key in $BRAINTRUST_API_KEY (401)"),
    ("403", "forbidden", "may not access the project list (403)"),
    ("404", "not_found", "has no the project list (404)"),
])
def test_auth_and_missing_fail_at_once_in_one_sentence(fake_bt: FakeBraintrust, status: str, kind: str, words: str) -> None:
    client, delays = make_client(fake_bt)
    client.login()
    fake_bt.fault(status, path="/v1/project")
    with pytest.raises(RemoteError) as caught:
        client.projects()
    assert caught.value.kind == kind and words in str(caught.value)
    assert delays == [] and "\n" not in str(caught.value)
    assert fake_bt.api_key not in str(caught.value)


def test_wrong_key_is_refused_and_never_echoed(fake_bt: FakeBraintrust) -> None:
    client, _ = make_client(fake_bt, key="sk-wrong-key-abcdefghijklmnop")
    with pytest.raises(RemoteError, match="refused the API key") as caught:
        client.login()
    assert "sk-wrong" not in str(caught.value) and caught.value.exit_code == 2


def test_missing_key_says_which_variable(fake_bt: FakeBraintrust) -> None:
    conn = Connection(app_url=fake_bt.url, api_url=None, org_name=None)
    with pytest.raises(RemoteError, match=r"set the environment variable \$BRAINTRUST_API_KEY"):
        BraintrustClient(conn, env={}).login()


@pytest.mark.parametrize("fault", ["429", "500", "503", "drop", "malformed"])
def test_transient_faults_are_retried(fake_bt: FakeBraintrust, fault: str) -> None:
    project_id = seed_logs(fake_bt, 30)
    client, delays = make_client(fake_bt)
    client.login()
    fake_bt.fault(fault, path="/btql", times=2, retry_after=1.5)
    rows = [r for page, _ in client.pages("project_logs", project_id, limit=10) for r in page]
    assert len({r["id"] for r in rows}) == 30
    assert len(delays) == 2
    if fault == "429":
        assert delays == [1.5, 1.5]  # Retry-After honoured


def test_retries_give_up_with_a_count(fake_bt: FakeBraintrust) -> None:
    seed_logs(fake_bt, 1)
    client, delays = make_client(fake_bt, retries=2)
    client.login()
    fake_bt.fault("503", path="/v1/project", times=5)
    with pytest.raises(RemoteError, match=r"failed with 503 on the project list \(gave up after 2 retries\)") as caught:
        client.projects()
    assert caught.value.exit_code == 4 and len(delays) == 2


def test_slow_page_times_out_then_retries(fake_bt: FakeBraintrust) -> None:
    project_id = seed_logs(fake_bt, 5)
    conn = Connection(app_url=fake_bt.url, api_url=None, org_name=None, timeout_s=0.2, max_retries=2)
    delays: list[float] = []
    client = BraintrustClient(conn, env={"BRAINTRUST_API_KEY": fake_bt.api_key}, sleep=delays.append)
    client.login()
    fake_bt.fault("slow", path="/btql", delay_s=1.0)
    rows = [r for page, _ in client.pages("project_logs", project_id) for r in page]
    assert len(rows) == 5 and len(delays) == 1


def test_endless_cursor_is_bounded(fake_bt: FakeBraintrust) -> None:
    project_id = seed_logs(fake_bt, 20)
    client, _ = make_client(fake_bt)
    client.login()
    fake_bt.fault("endless", path="/btql", times=1000)
    with pytest.raises(RemoteError, match="same page cursor twice") as caught:
        for _ in client.pages("project_logs", project_id, limit=5):
            pass
    assert caught.value.kind == "endless"


def test_remote_status_cli(fake_bt_env: FakeBraintrust, tmp_path) -> None:
    fake_bt_env.state.ensure_project("support-bot")
    done = subprocess.run([sys.executable, "-m", "loop_tui", "remote", "status", "--format", "json",
                           "--workspace", str(tmp_path / "ws")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["org"] == "acme" and [p["name"] for p in out["projects"]] == ["support-bot"]
    assert fake_bt_env.api_key not in done.stdout + done.stderr


def test_remote_status_cli_bad_key_is_one_line_exit_2(fake_bt_env: FakeBraintrust, monkeypatch) -> None:
    monkeypatch.setenv("BRAINTRUST_API_KEY", "sk-not-the-right-key-0000000000")
    done = subprocess.run([sys.executable, "-m", "loop_tui", "remote", "status"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "refused the API key" in done.stderr
    assert "sk-not-the-right" not in done.stderr


def test_remote_status_shows_names_from_the_server_as_symbols(fake_bt_env: FakeBraintrust, tmp_path,
                                                              monkeypatch) -> None:
    from tests.fake_braintrust import server as fake_server_module

    monkeypatch.setattr(fake_server_module, "ORG_NAME", "acme\x1b]0;pwned\x07\x1b[2J")
    fake_bt_env.state.ensure_project("bot\x1b]0;pwned\x07")
    done = subprocess.run([sys.executable, "-m", "loop_tui", "remote", "status", "--workspace", str(tmp_path / "ws")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "acme␛]0;pwned␇␛[2J" in done.stdout and "bot␛]0;pwned␇" in done.stdout
