"""Helpers shared by the sync tests: a client on the fake, seeded projects, the local workspace's rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loop_tui.remote.client import BraintrustClient
from loop_tui.remote.connection import Connection
from tests.fake_braintrust.server import FakeBraintrust


def client_for(fake: FakeBraintrust, *, retries: int = 3, timeout_s: float = 5.0) -> tuple[BraintrustClient, list[float]]:
    """A client on the fake that records its retry delays instead of sleeping."""
    delays: list[float] = []
    conn = Connection(app_url=fake.url, api_url=None, org_name=None, timeout_s=timeout_s, max_retries=retries)
    return BraintrustClient(conn, env={"BRAINTRUST_API_KEY": fake.api_key}, sleep=delays.append), delays


def seed_logs(fake: FakeBraintrust, n: int, project: str = "support-bot", per_write: int = 100) -> str:
    """`n` root spans in a project's logs, written `per_write` per transaction; returns the project id."""
    project_id = fake.state.ensure_project(project)["id"]
    for start in range(0, n, per_write):
        fake.state.insert("project_logs", project_id, [
            {"id": f"span-{i:06d}", "input": {"i": i}, "output": f"out {i}", "scores": {"ok": i % 2},
             "span_attributes": {"name": "answer", "type": "llm"}, "created": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"}
            for i in range(start, min(n, start + per_write))])
    return project_id


def local_rows(workspace: Path | Any, table: str, object_id: str) -> dict[str, dict[str, Any]]:
    """The latest local rows of an object in Braintrust's format, by id."""
    from loop_tui.store import Workspace
    from loop_tui.store.schema import row_to_braintrust

    ws = workspace if hasattr(workspace, "read_rows") else Workspace.open(workspace, create=False)
    return {r["id"]: row_to_braintrust(table, r) for r in ws.read_rows(table, object_id).to_pylist()}


def btql_requests(fake: FakeBraintrust) -> list[dict[str, Any]]:
    """The JSON AST queries the fake received on /btql, in order."""
    return [r.body["query"] for r in fake.requests if r.path == "/btql" and isinstance(r.body, dict)]
