"""One HTTP client for Braintrust's API: login, catalog objects, row pages, inserts and BTQL.

Transport rules (the same as the model providers', `llm/http_base.py`): a timeout on every request; 429,
5xx, dropped connections, timeouts and unreadable replies are retried with exponential backoff and jitter,
honouring `Retry-After`; 401/403/404 fail at once with one sentence. Every request Braintrust accepts is
safe to repeat (reads, and inserts of rows that carry their ids), so retries never duplicate data. The key
is read from its environment variable per request and is never kept on the client, logged, or put in an
error (messages are scrubbed of it and of anything shaped like a key).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loop_tui.counts import counted
from loop_tui.llm.failures import redact, retry_after_seconds
from loop_tui.redaction import scrub
from loop_tui.remote.connection import Connection
from loop_tui.remote.errors import RemoteError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("loop_tui.remote")

ROW_KINDS = ("project_logs", "experiment", "dataset")
_RETRY_STATUS = {429, 500, 502, 503, 504}
# A page loop that keeps getting cursors is stopped here (a server bug must not hang a pull forever).
MAX_PAGES = 1_000_000
# Pull pages arriving within GROUP_WAIT_S of each other are decoded together (benchmarks/results_sync.txt:
# a decode costs about as much as a page of rows before it reads one).
GROUP_WAIT_S = 0.25


@dataclass(frozen=True)
class Org:
    """The organisation the key logged in to."""

    id: str
    name: str
    api_url: str


class BraintrustClient:
    """Braintrust's REST API over one pooled `httpx.Client` (thread-safe for sequential use per thread).

    `env` replaces os.environ for the key lookup and `sleep` replaces time.sleep (tests observe delays).
    """

    def __init__(
        self,
        conn: Connection,
        *,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], Any] | None = None,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        retry_after_cap_s: float = 30.0,
    ) -> None:
        self.conn = conn
        self._env = env
        self._sleep = sleep or time.sleep
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.retry_after_cap_s = retry_after_cap_s
        self._org: Org | None = None
        self._http: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"BraintrustClient(app_url={self.conn.app_url!r}, api_key_env={self.conn.api_key_env!r})"

    def close(self) -> None:
        """Close pooled connections."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> BraintrustClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- login -----------------------------------------------------------------------------------
    def login(self) -> Org:
        """Check the key and pick the organisation (`org_name` when the key has several)."""
        if self._org is not None:
            return self._org
        reply = self.request("POST", "/api/apikey/login", base=self.conn.app_url, what="the API key login")
        orgs = reply.get("org_info") if isinstance(reply, dict) else None
        if not isinstance(orgs, list) or not orgs:
            raise RemoteError("auth", "the Braintrust key belongs to no organisation; create a key inside one")
        wanted = self.conn.org_name
        chosen = next((o for o in orgs if isinstance(o, dict) and (wanted is None or o.get("name") == wanted)), None)
        if chosen is None:
            names = ", ".join(str(o.get("name")) for o in orgs if isinstance(o, dict))
            raise RemoteError("not_found", f"the key has no organisation named {wanted!r} (it has: {names}); "
                              "fix BRAINTRUST_ORG_NAME or braintrust.org_name")
        api_url = self.conn.api_url or str(chosen.get("api_url") or "https://api.braintrust.dev")
        self._org = Org(str(chosen.get("id")), str(chosen.get("name")), api_url.rstrip("/"))
        return self._org

    @property
    def api_url(self) -> str:
        """The data API's base URL (logging in first when settings do not give one)."""
        if self.conn.api_url:
            return self.conn.api_url
        return self.login().api_url

    # ----- catalog ---------------------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        """Every project of the organisation."""
        return self._objects("/v1/project", {}, "the project list")

    def project(self, name: str) -> dict[str, Any]:
        """The project named `name` (a one-sentence error naming the others when it does not exist)."""
        found = self._objects("/v1/project", {"project_name": name}, f"project {name!r}")
        found = [p for p in found if p.get("name") == name]
        if not found:
            names = ", ".join(sorted(p.get("name", "?") for p in self.projects())[:20]) or "none"
            raise RemoteError("not_found", f"Braintrust has no project named {name!r} (projects: {names})")
        return found[0]

    def ensure_project(self, name: str) -> dict[str, Any]:
        """The project named `name`, created when missing."""
        return self.request("POST", "/v1/project", json={"name": name}, what=f"project {name!r}")

    def objects(self, kind: str, project_id: str, **params: str) -> list[dict[str, Any]]:
        """Experiments, datasets, prompts or functions of a project (latest versions)."""
        return self._objects(f"/v1/{kind}", {"project_id": project_id, **params}, f"the {kind} list")

    def create_object(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/experiment|dataset`: register an object (returns the existing one of that name)."""
        return self.request("POST", f"/v1/{kind}", json=body, what=f"{kind} {body.get('name')!r}")

    def save_function(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """`PUT /v1/prompt|function`: create, or save a new version of the object with that slug."""
        return self.request("PUT", f"/v1/{kind}", json=body, what=f"{kind} {body.get('slug')!r}")

    def _objects(self, path: str, params: dict[str, str], what: str) -> list[dict[str, Any]]:
        reply = self.request("GET", path, params=params, what=what)
        objects = reply.get("objects") if isinstance(reply, dict) else None
        if not isinstance(objects, list):
            raise RemoteError("protocol", f"Braintrust's reply for {what} has no `objects` list")
        return [o for o in objects if isinstance(o, dict)]

    # ----- rows ------------------------------------------------------------------------------------
    def pages(
        self,
        kind: str,
        object_id: str,
        *,
        limit: int = 1000,
        cursor: str | None = None,
        since_xact: str | None = None,
        since_created: str | None = None,
        ids: list[str] | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """(rows, next cursor) for each page of an object, newest `_xact_id` first, via `/btql`.

        Pages may repeat older versions of a row: the caller keeps the first (newest) per id. A cursor
        that comes back unchanged, or more than MAX_PAGES pages, ends with a `RemoteError`.
        """
        query = _rows_query(kind, object_id, limit, since_xact, since_created, ids)
        yield from self._paged(kind, object_id, query, cursor, "json", _json_page)

    def column_pages(
        self,
        kind: str,
        object_id: str,
        *,
        limit: int = 1000,
        cursor: str | None = None,
        since_xact: str | None = None,
        since_created: str | None = None,
        group_rows: int = 5_000,
    ) -> Iterator[tuple[Any, str | None]]:
        """Like `pages`, each page as Arrow in the store's columns (`page_columns.page_table`): for pulls.

        Asks for `fmt: "jsonl"` (one row per line, the next cursor in the `x-bt-cursor` header), which the
        page reader turns into columns without building a Python object per value. Downloading and
        decoding run in two threads (`prefetch`), so the next page downloads while this one is decoded.
        A page cut short (not ending in a newline) is fetched again like any unreadable reply. Pages that
        arrive together (within `GROUP_WAIT_S`, up to `group_rows` rows) are decoded as one, since each
        decode has a fixed cost about that of decoding a page; they come out as one table and the last
        page's cursor.
        """
        from loop_tui.read_ahead import prefetch_grouped

        query = _rows_query(kind, object_id, limit, since_xact, since_created, None)
        raw_pages = self._paged(kind, object_id, query, cursor, "jsonl", _jsonl_page)
        for group in prefetch_grouped(raw_pages, lambda page: page[0].count(b"\n"), group_rows, GROUP_WAIT_S):
            yield from _decoded(group, kind, object_id)

    def _paged(self, kind: str, object_id: str, query: dict[str, Any], cursor: str | None, fmt: str,
               decode: Callable[[httpx.Response], tuple[Any, str | None]]) -> Iterator[tuple[Any, str | None]]:
        """Follow the cursor through `/btql` pages of `query` (see `pages`)."""
        seen_cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            body = {"query": {**query, "cursor": cursor}, "fmt": fmt, "use_columnstore": False,
                    "query_source": "loop_tui_sync"}
            rows, next_cursor = self.request("POST", "/btql", json=body, what=f"the rows of {kind} {object_id}",
                                             decode=decode)
            if next_cursor is not None and (next_cursor == cursor or next_cursor in seen_cursors):
                raise RemoteError("endless", f"Braintrust returned the same page cursor twice for {kind} {object_id}; "
                                  "stopped paging (what was read so far is kept)")
            yield rows, next_cursor
            if next_cursor is None or not len(rows):
                return
            seen_cursors.add(next_cursor)
            cursor = next_cursor
        raise RemoteError("endless", f"paging {kind} {object_id} did not end after {MAX_PAGES:,} pages; stopped")

    def insert(self, kind: str, object_id: str, events: list[dict[str, Any]]) -> list[str]:
        """`POST /v1/{kind}/{id}/insert`; returns the row ids Braintrust recorded."""
        reply = self.request("POST", f"/v1/{kind}/{object_id}/insert", json={"events": events},
                             what=f"{kind} {object_id}")
        ids = reply.get("row_ids") if isinstance(reply, dict) else None
        if not isinstance(ids, list):
            raise RemoteError("protocol", f"Braintrust's reply to an insert into {kind} {object_id} has no `row_ids`")
        return [str(i) for i in ids]

    def btql(self, query: str, cursor: str | None = None) -> dict[str, Any]:
        """Run BTQL text on Braintrust: `{"data", "cursor", "schema"}` for one page."""
        body: dict[str, Any] = {"query": query, "fmt": "json", "query_source": "loop_tui_btql"}
        if cursor:
            body["cursor"] = cursor
        reply = self.request("POST", "/btql", json=body, what="the BTQL query")
        if not isinstance(reply, dict) or not isinstance(reply.get("data"), list):
            raise RemoteError("protocol", "Braintrust's reply to the BTQL query has no `data` list")
        return reply

    # ----- the request loop ------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        base: str | None = None,
        what: str = "the request",
        decode: Callable[[httpx.Response], Any] | None = None,
    ) -> Any:
        """Send one request with retries (see module docstring); the decoded JSON reply, or what `decode`
        makes of the response (a ValueError from it counts as an unreadable reply, retried)."""
        import httpx

        key = self.conn.api_key(self._env)
        url = (base or self.api_url) + path
        headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "gzip"}
        attempt = 0
        while True:
            failure: RemoteError | None = None
            server_wait: float | None = None
            try:
                response = self._client().request(method, url, json=json, params=params, headers=headers)
                if response.status_code < 400:
                    return decode(response) if decode is not None else response.json()
                server_wait = retry_after_seconds(response.headers)
                failure = self._http_failure(response, what, key)
            except httpx.TimeoutException:
                failure = RemoteError("timeout", f"Braintrust did not answer within {self.conn.timeout_s:g}s ({what})")
            except httpx.TransportError as exc:
                reason = self._clean(str(exc) or type(exc).__name__, key)
                failure = RemoteError("connection", f"the connection to {_origin(url)} failed while reading {what} ({reason})")
            except ValueError:  # json.JSONDecodeError: a cut or garbled page
                failure = RemoteError("protocol", f"Braintrust sent a reply for {what} that is not valid JSON")
            if failure.retryable and attempt < self.conn.max_retries:
                delay = self.retry_delay(attempt, server_wait)
                log.info("retrying %s %s in %.2fs after: %s", method, path, delay, failure.message)
                self._sleep(delay)
                attempt += 1
                continue
            if attempt and failure.retryable:
                failure = RemoteError(failure.kind, f"{failure.message} (gave up after "
                                      f"{counted(attempt, 'retry', 'retries')})", status=failure.status)
            raise failure

    def retry_delay(self, attempt: int, server_wait: float | None) -> float:
        """Seconds before retry number `attempt`: the server's `Retry-After`, else backoff with jitter."""
        if server_wait is not None:
            return min(server_wait, self.retry_after_cap_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        return ceiling * (0.5 + random.random() / 2)

    def _http_failure(self, response: httpx.Response, what: str, key: str) -> RemoteError:
        status = response.status_code
        detail = self._clean(_error_text(response), key)
        env = self.conn.api_key_env
        if status == 401:
            return RemoteError("auth", f"Braintrust refused the API key in ${env} (401); check the key or create "
                               "a new one under Settings > API keys", status=status)
        if status == 403:
            return RemoteError("forbidden", f"the API key in ${env} may not access {what} (403); ask an "
                               "organisation owner for access", status=status)
        if status == 404:
            return RemoteError("not_found", f"Braintrust has no {what} (404)", status=status)
        if status == 429:
            return RemoteError("rate_limited", f"Braintrust is rate-limiting requests (429) for {what}", status=status)
        if status >= 500:
            return RemoteError("server", f"Braintrust failed with {status} on {what}", status=status)
        return RemoteError("bad_request", f"Braintrust rejected {what} ({status}: {detail[:200]})", status=status)

    @staticmethod
    def _clean(text: str, key: str) -> str:
        return scrub(redact(text, key))

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            timeout = httpx.Timeout(self.conn.timeout_s, connect=min(self.conn.timeout_s, 10.0))
            self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        return self._http


def _rows_query(kind: str, object_id: str, limit: int, since_xact: str | None, since_created: str | None,
               ids: list[str] | None) -> dict[str, Any]:
    """The JSON AST of `select: * | from: kind(object_id)` with the sync's filters."""
    filters = []
    if since_xact:
        filters.append(_compare("gt", "_xact_id", since_xact))
    if since_created:
        filters.append(_compare("ge", "created", since_created))
    if ids is not None:
        filters.append({"op": "in", "left": _ident("id"), "right": {"op": "literal", "value": list(ids)}})
    query: dict[str, Any] = {
        "select": [{"op": "star"}],
        "from": {"op": "function", "name": _ident(kind), "args": [{"op": "literal", "value": object_id}]},
        "limit": limit,
    }
    if filters:
        query["filter"] = filters[0] if len(filters) == 1 else {"op": "and", "children": filters}
    return query


def _json_page(response: httpx.Response) -> tuple[list[dict[str, Any]], str | None]:
    """(rows, next cursor) of a `fmt: "json"` page; a reply without a `data` list is a protocol error."""
    reply = response.json()
    rows = reply.get("data") if isinstance(reply, dict) else None
    if not isinstance(rows, list):
        raise RemoteError("protocol", "Braintrust's page has no `data` list")
    return rows, reply.get("cursor") or None


def _jsonl_page(response: httpx.Response) -> tuple[bytes, str | None]:
    """(body, next cursor) of a `fmt: "jsonl"` page; a body cut short is a ValueError (fetched again)."""
    body = response.content
    if body.strip() and not body.endswith(b"\n"):
        raise ValueError("a JSON lines page that does not end with a newline")
    return body, response.headers.get("x-bt-cursor") or None


def _decoded(group: list[tuple[bytes, str | None]], kind: str, object_id: str) -> Iterator[tuple[Any, str | None]]:
    """The group's pages as one Arrow table with the last page's cursor; when that fails, page by page, so
    the pages before an unreadable one are still handed on before its one-sentence error."""
    from loop_tui.remote.page_columns import page_table

    if len(group) > 1:
        try:
            yield page_table(b"".join(raw for raw, _ in group), kind), group[-1][1]
            return
        except ValueError:
            pass
    for raw, next_cursor in group:
        try:
            page = page_table(raw, kind)
        except ValueError:
            raise RemoteError("protocol", f"Braintrust sent a page of {kind} {object_id} that is not JSON "
                              "lines; nothing of it was written (the next pull fetches it again)") from None
        yield page, next_cursor


def _ident(name: str) -> dict[str, Any]:
    return {"op": "ident", "name": [name]}


def _compare(op: str, field: str, value: str) -> dict[str, Any]:
    return {"op": op, "left": _ident(field), "right": {"op": "literal", "value": value}}


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        err = body.get("error") or body.get("message") or body.get("Message") or body
        if isinstance(err, dict):
            err = err.get("message") or json.dumps(err)
        return str(err)
    return str(body)[:300]
