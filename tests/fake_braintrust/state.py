"""What the fake Braintrust holds: one organisation's projects, objects and versioned rows, in memory.

Shapes follow what the `braintrust` Python SDK (0.48) sends and reads and the REST reference: every write
request gets one `_xact_id` (a decimal string, as Braintrust's are), rows keep every version, a row with
`_is_merge` deep-merges into the latest version, `_object_delete` is a tombstone. Reads page over the
version history newest first (`fetch` and `/btql` alike), so a later page may repeat an older version of
a row an earlier page returned — the documented behaviour clients must cope with.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

ORG_ID = "5d7c97d7-fef1-4fb6-8a7a-0b9c7e1a0001"
ORG_NAME = "acme"
# Braintrust's transaction ids are 19-digit decimal strings that only grow.
FIRST_XACT = 1000196000000000000
ROW_KINDS = ("project_logs", "experiment", "dataset")
# Fields a client sends that steer the write and are not stored on the row.
_CONTROL_FIELDS = ("_is_merge", "_merge_paths", "_parent_id", "_object_delete", "_xact_id", "_pagination_key")


def now_iso() -> str:
    """The current time as Braintrust writes `created`."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Braintrust's `_is_merge`: objects merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def encode_cursor(snapshot: int, offset: int) -> str:
    """An opaque page cursor: the snapshot the paging started from and how far it got."""
    return base64.urlsafe_b64encode(json.dumps([snapshot, offset]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Inverse of `encode_cursor`; ValueError if it is not one of ours."""
    snapshot, offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    return int(snapshot), int(offset)


class FakeState:
    """The organisation's data. Thread-safe: the HTTP server handles requests on many threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.last_xact = FIRST_XACT
        self.projects: dict[str, dict[str, Any]] = {}
        self.experiments: dict[str, dict[str, Any]] = {}
        self.datasets: dict[str, dict[str, Any]] = {}
        # prompts and functions (scorers) are versioned objects: id -> versions, oldest first
        self.prompts: dict[str, list[dict[str, Any]]] = {}
        self.functions: dict[str, list[dict[str, Any]]] = {}
        # (row kind, object id) -> every version of every row, in write order
        self.rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._latest: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # kept current on every insert
        self._sorted: dict[tuple[str, str], tuple[int, list[dict[str, Any]]]] = {}

    def next_xact(self) -> str:
        """A fresh transaction id for one write request."""
        with self.lock:
            self.last_xact += 1
            return str(self.last_xact)

    # ----- catalog ---------------------------------------------------------------------------------
    def ensure_project(self, name: str) -> dict[str, Any]:
        """`POST /v1/project`: the project named `name`, created if missing."""
        with self.lock:
            for project in self.projects.values():
                if project["name"] == name:
                    return project
            project = {"id": str(uuid.uuid4()), "org_id": ORG_ID, "name": name, "created": now_iso(),
                       "deleted_at": None, "user_id": "fake-user", "settings": None}
            self.projects[project["id"]] = project
            return project

    def ensure_object(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/experiment|dataset`: register (experiments with `ensure_new` always get a new one)."""
        table = self.experiments if kind == "experiment" else self.datasets
        with self.lock:
            project_id = body["project_id"]
            if project_id not in self.projects:
                raise KeyError(f"project {project_id}")
            name = body.get("name") or f"{kind}-{len(table) + 1}"
            same = [o for o in table.values() if o["project_id"] == project_id and o["name"] == name]
            if same and not (kind == "experiment" and body.get("ensure_new")):
                return same[0]
            if same:
                name = f"{name}-{len(same) + 1}"
            obj = {"id": str(uuid.uuid4()), "project_id": project_id, "name": name,
                   "description": body.get("description"), "created": now_iso(), "user_id": "fake-user",
                   "metadata": body.get("metadata"), "deleted_at": None}
            if kind == "experiment":
                obj.update(public=bool(body.get("public")), base_exp_id=body.get("base_exp_id"),
                           dataset_id=body.get("dataset_id"), dataset_version=body.get("dataset_version"),
                           repo_info=body.get("repo_info"), commit=None)
            table[obj["id"]] = obj
            return obj

    def save_function(self, kind: str, body: dict[str, Any], *, replace: bool) -> dict[str, Any]:
        """`POST|PUT /v1/prompt|function`: POST returns an existing slug unchanged, PUT saves a new version."""
        table = self.prompts if kind == "prompt" else self.functions
        with self.lock:
            project_id = body["project_id"]
            if project_id not in self.projects:
                raise KeyError(f"project {project_id}")
            slug = body.get("slug") or body.get("name")
            existing = next((v for v in table.values() if v[-1]["project_id"] == project_id and v[-1]["slug"] == slug), None)
            if existing and not replace:
                return existing[-1]
            fields = ("name", "description", "prompt_data", "tags", "metadata", "function_type")
            version = {"id": existing[-1]["id"] if existing else str(uuid.uuid4()), "_xact_id": self.next_xact(),
                       "project_id": project_id, "log_id": "p", "org_id": ORG_ID, "slug": slug,
                       "created": existing[-1]["created"] if existing else now_iso(),
                       **{f: body.get(f) for f in fields}}
            if kind == "function":
                version["function_data"] = body.get("function_data") or {"type": "prompt"}
            table.setdefault(version["id"], []).append(version)
            return version

    # ----- rows ------------------------------------------------------------------------------------
    def insert(self, kind: str, object_id: str, events: list[dict[str, Any]]) -> list[str]:
        """Write one request's rows as one transaction; returns their ids."""
        with self.lock:
            xact = self.next_xact()
            ids = []
            for event in events:
                ids.append(self._insert_one(kind, object_id, event, xact))
            return ids

    def _insert_one(self, kind: str, object_id: str, event: dict[str, Any], xact: str) -> str:
        versions = self.rows.setdefault((kind, object_id), [])
        newest = self._latest.setdefault((kind, object_id), {})
        row_id = str(event.get("id") or uuid.uuid4())
        latest = newest.get(row_id)
        row = {k: v for k, v in event.items() if k not in _CONTROL_FIELDS}
        if event.get("_is_merge") and latest is not None:
            row = deep_merge({k: v for k, v in latest.items() if k not in _CONTROL_FIELDS}, row)
        row["id"] = row_id
        row["_xact_id"] = xact
        row["created"] = row.get("created") or (latest or {}).get("created") or now_iso()
        row["org_id"] = ORG_ID
        if kind == "project_logs":
            row["project_id"] = object_id
            row["log_id"] = "g"
        else:
            row[f"{kind}_id"] = object_id
            owner = (self.experiments if kind == "experiment" else self.datasets).get(object_id)
            row["project_id"] = owner["project_id"] if owner else None
        if kind != "dataset":
            row.setdefault("span_id", row_id)
            row.setdefault("root_span_id", row["span_id"])
        if event.get("_object_delete"):
            row["_object_delete"] = True
        versions.append(row)
        newest[row_id] = row
        return row_id

    def latest(self, kind: str, object_id: str) -> dict[str, dict[str, Any]]:
        """The latest version of each row (tombstones included)."""
        with self.lock:
            return dict(self._latest.get((kind, object_id), {}))

    def live_rows(self, kind: str, object_id: str) -> dict[str, dict[str, Any]]:
        """The rows a reader sees now: latest versions, deleted rows left out."""
        return {i: r for i, r in self.latest(kind, object_id).items() if not r.get("_object_delete")}

    def history_desc(self, kind: str, object_id: str) -> list[dict[str, Any]]:
        """Every visible version, newest first (ids whose latest version is a tombstone left out)."""
        with self.lock:
            versions = self.rows.get((kind, object_id), [])
            cached = self._sorted.get((kind, object_id))
            if cached and cached[0] == len(versions):
                return cached[1]
            deleted = {i for i, r in self.latest(kind, object_id).items() if r.get("_object_delete")}
            ordered = sorted((r for r in versions if r["id"] not in deleted),
                             key=lambda r: (int(r["_xact_id"]), r["id"]), reverse=True)
            self._sorted[(kind, object_id)] = (len(versions), ordered)
            return ordered

    def page(
        self, kind: str, object_id: str, *, limit: int, cursor: str | None, where: Any = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of versions newest first and the cursor of the next (None at the end)."""
        snapshot, offset = decode_cursor(cursor) if cursor else (self.last_xact, 0)
        versions = self.history_desc(kind, object_id)
        if versions and int(versions[0]["_xact_id"]) > snapshot:  # written since paging began: not in this read
            versions = [r for r in versions if int(r["_xact_id"]) <= snapshot]
        if where is not None:
            versions = [r for r in versions if where(r)]
        chunk = versions[offset: offset + limit]
        seen: set[str] = set()
        page = []
        for row in chunk:  # within one page a row appears once, at its newest version
            if row["id"] not in seen:
                seen.add(row["id"])
                page.append({**row, "_pagination_key": f"p{int(row['_xact_id']):020d}"})
        more = offset + limit < len(versions)
        return page, (encode_cursor(snapshot, offset + limit) if more else None)
