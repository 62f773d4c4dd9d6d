"""A fake Braintrust API on loopback (stdlib ThreadingHTTPServer) with injectable faults, and pytest fixtures.

Routes (shapes as the `braintrust` SDK 0.48 uses them and the REST reference documents):
`POST /api/apikey/login`, `GET /ping`, `GET /version`, `POST|GET /v1/project`, `POST|GET /v1/experiment`,
`POST|GET /v1/dataset`, `POST|PUT|GET /v1/prompt`, `POST|PUT|GET /v1/function`,
`GET /v1/experiment/{id}/summarize`, `POST /logs3`, `POST /v1/{project_logs|experiment|dataset}/{id}/insert`
and `/fetch`, `POST /btql` (JSON AST here; BTQL text through `btql_text`; `fmt: "jsonl"` answers one row per
line with the next cursor in the `x-bt-cursor` header, as Braintrust documents). Every route but login
wants `Authorization: Bearer <key>`.

Faults (`fake.fault(kind, path=…, times=…)`) apply to the next matching requests: `401`, `403`, `404`,
`429` (with `Retry-After`), `500`, `503`, `drop` (headers and half the body, then the connection closes),
`slow` (waits `delay_s` first), `malformed` (200 with a body that is not JSON), `endless` (a page whose
cursor leads back to itself).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fake_braintrust import btql_ast
from tests.fake_braintrust.state import ORG_ID, ORG_NAME, FakeState, encode_cursor

FAKE_BT_KEY = "sk-fakebraintrust-0123456789abcdef"
FAULT_KINDS = ("401", "403", "404", "429", "500", "503", "drop", "slow", "malformed", "endless")
_ERROR_TEXT = {401: "Invalid API key", 403: "Forbidden: the key cannot access this object",
               404: "Not found", 429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}


@dataclass
class Fault:
    """One injected failure: `kind` for the next `times` requests whose path starts with `path`."""

    kind: str
    path: str = "/"
    times: int = 1
    retry_after: float = 0.0
    delay_s: float = 0.5


@dataclass
class Recorded:
    """One request the server received (the key is not recorded, only whether it was right)."""

    method: str
    path: str
    body: Any
    authorized: bool
    fault: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class JsonLines:
    """A `fmt: "jsonl"` reply: the rows one per line, the next page's cursor in the `x-bt-cursor` header."""

    rows: list[dict[str, Any]]
    cursor: str | None

    def body(self) -> bytes:
        """The rows as JSON lines."""
        return "".join(json.dumps(row) + "\n" for row in self.rows).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) if "=" in p else (p, "") for p in query.split("&") if p)
        from urllib.parse import unquote_plus

        params = {k: unquote_plus(v) for k, v in params.items()}
        auth = self.headers.get("authorization", "")
        record = Recorded(method, path, body, auth == f"Bearer {fake.api_key}",
                          headers={k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"})
        fault = fake._take_fault(path)
        record.fault = fault.kind if fault else None
        fake._record(record)
        try:
            if fault and fault.kind == "slow":
                fake._stopping.wait(fault.delay_s)
            if fault and fault.kind.isdigit():
                headers = {"retry-after": f"{fault.retry_after:g}"} if fault.kind == "429" else {}
                self._json(int(fault.kind), {"error": _ERROR_TEXT[int(fault.kind)]}, headers)
                return
            if not record.authorized:
                self._json(401, {"error": _ERROR_TEXT[401]})
                return
            status, payload = fake.route(method, path, params, body, fault)
            if isinstance(payload, JsonLines) and not (fault and fault.kind in ("malformed", "drop")):
                self._raw(status, payload.body(), "application/x-ndjson",
                          headers={"x-bt-cursor": payload.cursor} if payload.cursor else None)
                return
            if isinstance(payload, JsonLines):
                payload = payload.rows
            if fault and fault.kind == "malformed":
                self._raw(200, b'{"data": [{"id": "x", "input": ', "application/json")
            elif fault and fault.kind == "drop":
                data = json.dumps(payload).encode()
                self._raw(200, data, "application/json", cut=len(data) // 2)
            else:
                self._json(status, payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(payload).encode(), "application/json", headers=headers)

    def _raw(self, status: int, data: bytes, ctype: str, *, cut: int | None = None,
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if cut is None:
            self.wfile.write(data)
            return
        self.wfile.write(data[:cut])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    fake: FakeBraintrust

    def process_request(self, request: Any, client_address: Any) -> None:
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FakeBraintrust:
    """The fake API (see module docstring): `.state` holds the data, `.requests` what arrived."""

    def __init__(self, *, api_key: str = FAKE_BT_KEY) -> None:
        self.api_key = api_key
        self.state = FakeState()
        self.requests: list[Recorded] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None

    # ----- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeBraintrust:
        """Serve on a free 127.0.0.1 port in a daemon thread."""
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True, name="fake-bt").start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeBraintrust:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL (both the app and the API URL)."""
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        """Environment variables pointing the SDK and Loop TUI at this server."""
        return {"BRAINTRUST_API_KEY": self.api_key, "BRAINTRUST_APP_URL": self.url, "BRAINTRUST_API_URL": self.url}

    # ----- faults and records ----------------------------------------------------------------------
    def fault(self, kind: str, *, path: str = "/", times: int = 1, retry_after: float = 0.0, delay_s: float = 0.5) -> None:
        """Make the next `times` requests under `path` fail with `kind` (see FAULT_KINDS)."""
        assert kind in FAULT_KINDS, kind
        with self._lock:
            self._faults.append(Fault(kind, path, times, retry_after, delay_s))

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0 and fault.kind != "endless":
                        self._faults.remove(fault)
                    return fault
        return None

    def _record(self, record: Recorded) -> None:
        with self._lock:
            self.requests.append(record)

    # ----- routing ---------------------------------------------------------------------------------
    def route(self, method: str, path: str, params: dict[str, str], body: Any, fault: Fault | None) -> tuple[int, Any]:
        """(status, JSON payload) for one authorised request."""
        parts = [p for p in path.split("/") if p]
        body = body if isinstance(body, dict) else {}
        try:
            if path == "/api/apikey/login":
                return 200, {"org_info": [{"id": ORG_ID, "name": ORG_NAME, "api_url": self.url, "proxy_url": self.url,
                                           "realtime_url": None, "git_metadata": None, "is_universal_api": None}]}
            if path == "/ping":
                return 200, {"id": "fake-user", "email": "user@example.com"}
            if path == "/version":
                return 200, {"version": "fake-1", "logs3_payload_max_bytes": 6 * 1024 * 1024}
            if path == "/logs3":
                return self._logs3(body)
            if path == "/btql":
                return self._btql(body, fault)
            if parts[:1] == ["v1"] and len(parts) == 4 and parts[3] in ("insert", "fetch"):
                return self._object_rows(parts[1], parts[2], parts[3], body, params, fault)
            if parts[:1] == ["v1"] and len(parts) == 4 and parts[3] == "summarize":
                return self._summarize(parts[2])
            if parts[:1] == ["v1"] and len(parts) in (2, 3):
                return self._catalog(method, parts[1], parts[2] if len(parts) == 3 else None, params, body)
        except btql_ast.AstError as exc:
            return 400, {"error": str(exc)}
        except KeyError as exc:
            return 404, {"error": f"not found: {exc.args[0]}"}
        return 404, {"error": f"no route {method} {path}"}

    def _catalog(self, method: str, kind: str, object_id: str | None, params: dict[str, str], body: dict) -> tuple[int, Any]:
        st = self.state
        if kind == "project":
            if method == "POST":
                return 200, st.ensure_project(body["name"])
            objects = list(st.projects.values())
            if "project_name" in params:
                objects = [p for p in objects if p["name"] == params["project_name"]]
        elif kind in ("experiment", "dataset"):
            if method == "POST":
                return 200, st.ensure_object(kind, body)
            table = st.experiments if kind == "experiment" else st.datasets
            objects = [o for o in table.values() if o["project_id"] == params.get("project_id", o["project_id"])]
            name = params.get(f"{kind}_name")
            objects = [o for o in objects if name is None or o["name"] == name]
        elif kind in ("prompt", "function"):
            if method in ("POST", "PUT"):
                return 200, st.save_function(kind, body, replace=method == "PUT")
            table = st.prompts if kind == "prompt" else st.functions
            objects = [v[-1] for v in table.values() if v[-1]["project_id"] == params.get("project_id", v[-1]["project_id"])]
            if "function_type" in params:
                objects = [o for o in objects if o.get("function_type") == params["function_type"]]
        else:
            return 404, {"error": f"unknown object type {kind}"}
        if object_id is not None:
            found = [o for o in objects if o["id"] == object_id]
            if not found:
                raise KeyError(f"{kind} {object_id}")
            return 200, found[0]
        return 200, {"objects": objects}

    def _logs3(self, body: dict) -> tuple[int, Any]:
        rows = body.get("rows")
        if not isinstance(rows, list):
            return 400, {"error": "rows: expected a list"}
        groups: dict[tuple[str, str], list[dict]] = {}
        for row in rows:
            if row.get("experiment_id"):
                key = ("experiment", row["experiment_id"])
            elif row.get("dataset_id"):
                key = ("dataset", row["dataset_id"])
            elif row.get("project_id") and row.get("log_id") == "g":
                key = ("project_logs", row["project_id"])
            else:
                return 400, {"error": "each row needs experiment_id, dataset_id or project_id with log_id 'g'"}
            groups.setdefault(key, []).append(row)
        ids = []
        for (kind, object_id), events in groups.items():
            ids += self.state.insert(kind, object_id, events)
        return 200, {"ids": ids}

    def _object_rows(self, kind: str, object_id: str, verb: str, body: dict, params: dict, fault: Fault | None) -> tuple[int, Any]:
        self._check_object(kind, object_id)
        if verb == "insert":
            events = body.get("events")
            if not isinstance(events, list):
                return 400, {"error": "events: expected a list"}
            return 200, {"row_ids": self.state.insert(kind, object_id, events)}
        limit = int(body.get("limit") or params.get("limit") or 1000)
        cursor = body.get("cursor") or params.get("cursor")
        events, next_cursor = self._page(kind, object_id, limit, cursor, None, fault)
        return 200, {"events": events, "cursor": next_cursor}

    def _btql(self, body: dict, fault: Fault | None) -> tuple[int, Any]:
        query = body.get("query")
        if isinstance(query, str):
            from tests.fake_braintrust.btql_text import run_text_query

            return run_text_query(self.state, query, body.get("cursor"))
        if not isinstance(query, dict):
            return 400, {"error": "query: expected BTQL text or a JSON AST"}
        kind, object_id = btql_ast.source(query)
        self._check_object(kind, object_id)
        limit = int(query.get("limit") or 1000)
        cursor = query.get("cursor") or body.get("cursor")
        data, next_cursor = self._page(kind, object_id, limit, cursor, btql_ast.predicate(query.get("filter")), fault)
        if body.get("fmt") == "jsonl":
            return 200, JsonLines(data, next_cursor)
        return 200, {"data": data, "cursor": next_cursor, "schema": {"type": "array"}}

    def _page(self, kind: str, object_id: str, limit: int, cursor: str | None, where: Any, fault: Fault | None):
        if fault and fault.kind == "endless":  # the first page again, with a cursor that leads back to it
            rows, _ = self.state.page(kind, object_id, limit=limit, cursor=None, where=where)
            return rows, encode_cursor(self.state.last_xact, 0)
        try:
            return self.state.page(kind, object_id, limit=limit, cursor=cursor, where=where)
        except (ValueError, TypeError):
            raise btql_ast.AstError("cursor: not a cursor this server issued") from None

    def _check_object(self, kind: str, object_id: str) -> None:
        st = self.state
        table = {"project_logs": st.projects, "experiment": st.experiments, "dataset": st.datasets}.get(kind)
        if table is None or object_id not in table:
            raise KeyError(f"{kind} {object_id}")

    def _summarize(self, experiment_id: str) -> tuple[int, Any]:
        exp = self.state.experiments[experiment_id]
        project = self.state.projects[exp["project_id"]]
        return 200, {"project_name": project["name"], "experiment_name": exp["name"],
                     "project_url": f"{self.url}/app/{ORG_NAME}/p/{project['name']}",
                     "experiment_url": f"{self.url}/app/{ORG_NAME}/p/{project['name']}/experiments/{exp['name']}",
                     "comparison_experiment_name": None, "scores": {}, "metrics": {}}

    # ----- helpers for tests -----------------------------------------------------------------------
    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Poll `predicate()` until true or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())


@pytest.fixture
def fake_bt() -> Iterator[FakeBraintrust]:
    """A started fake Braintrust, stopped after the test."""
    with FakeBraintrust() as server:
        yield server


@pytest.fixture
def fake_bt_env(fake_bt: FakeBraintrust, monkeypatch: pytest.MonkeyPatch) -> FakeBraintrust:
    """The fake Braintrust with BRAINTRUST_* env vars pointing at it (a fake key)."""
    for name in ("BRAINTRUST_ORG_NAME", "BRAINTRUST_PROXY_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_bt.env().items():
        monkeypatch.setenv(name, value)
    return fake_bt
