"""`sync push`: send what changed locally since the last sync to Braintrust.

Rows go through `POST /v1/{dataset|experiment}/{id}/insert` as whole rows (the local row is complete, so
no merge is needed); local deletes go as `_object_delete` markers; prompt and scorer versions go through
`PUT /v1/prompt|function`. Before sending, the rows about to be sent are looked up in Braintrust: one
changed there since the last sync too is a conflict, reported by id and not sent, unless `prefer` says
which side wins (`remote` writes Braintrust's version here instead). After sending, the object is pulled
incrementally so the local copies carry Braintrust's new `_xact_id`s and the next push starts clean.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loop_tui.counts import counted
from loop_tui.remote import objects as ob
from loop_tui.remote.client import BraintrustClient
from loop_tui.remote.errors import RemoteError
from loop_tui.remote.local_rows import changed_since, latest_versions, max_xact, to_event, to_local
from loop_tui.remote.pull import Cancelled, ObjectReport, PullOptions, SyncReport, _Puller
from loop_tui.remote.sync_state import ObjectState, ProjectState, load_state, now_iso, save_state, sync_lock

PUSH_OBJECTS = ("datasets", "prompts", "scorers", "experiments")
_CHUNK = 200  # events per insert request


@dataclass
class PushOptions:
    """What to push and how to settle conflicts."""

    objects: tuple[str, ...] = PUSH_OBJECTS
    dry_run: bool = False
    prefer: str | None = None  # None, "local" or "remote"
    # Checked between objects (an object's rows are sent and settled whole: stopping inside one would
    # leave rows sent that the next push mistakes for changes made in Braintrust).
    cancel: threading.Event | None = None
    progress: Callable[[str, int, int], None] | None = None  # (object label, objects done, objects in all)


def push_project(ws: Any, client: BraintrustClient, project_name: str, options: PushOptions | None = None) -> SyncReport:
    """Push one local project (see module docstring)."""
    options = options or PushOptions()
    project = ws.project(project_name)
    with sync_lock(ws.root):
        state = load_state(ws.root, project.id, project.name)
        try:
            remote_project = client.project(project.name)
        except RemoteError as err:
            if err.kind != "not_found":
                raise
            remote_project = {"id": "(new)", "name": project.name} if options.dry_run else client.ensure_project(project.name)
        pusher = _Pusher(ws, client, state, options, SyncReport(project.name), remote_project["id"])
        work: list[tuple[Callable[..., ObjectReport], str, Any]] = []
        for kind, table in (("datasets", "dataset"), ("experiments", "experiment")):
            if kind in options.objects:
                work += [(pusher.rows, table, obj) for obj in ws.objects(table, project.id)]
        for kind, table in (("prompts", "prompt"), ("scorers", "scorer")):
            if kind in options.objects:
                work += [(pusher.versioned, table, obj) for obj in ws.objects(table, project.id)]
        for done, (push_one, table, obj) in enumerate(work):
            if options.cancel is not None and options.cancel.is_set():
                save_state(ws.root, state)
                raise Cancelled(f"push cancelled after {done} of {counted(len(work), 'object')} (those were sent whole); "
                                "run it again to send the rest")
            if options.progress:
                options.progress(f"{table} {obj.name}", done, len(work))
            push_one(table, obj)
        if not options.dry_run:
            state.last_push = now_iso()
            save_state(ws.root, state)
        return pusher.report


class _Pusher:
    def __init__(self, ws: Any, client: BraintrustClient, state: ProjectState, options: PushOptions,
                 report: SyncReport, remote_project_id: str) -> None:
        self.ws = ws
        self.client = client
        self.state = state
        self.options = options
        self.report = report
        self.remote_project_id = remote_project_id

    def _remote_object(self, table: str, obj: Any) -> str | None:
        """The remote id of a local experiment or dataset, registering it in Braintrust when new."""
        st = self.state.get(table, obj.id)
        if st is not None:
            return st.remote_id
        if self.options.dry_run:
            return None
        body: dict[str, Any] = {"project_id": self.remote_project_id, "name": obj.name,
                                "description": obj.data.get("description") or None}
        if table == "experiment":
            body["metadata"] = obj.data.get("metadata") or None
        remote = self.client.create_object(table, body)
        return str(remote["id"])

    def rows(self, table: str, obj: Any) -> ObjectReport:
        """Push the changed rows of one experiment or dataset."""
        st = self.state.get(table, obj.id)
        result = ObjectReport(table, obj.name)
        self.report.objects.append(result)
        if st is None:  # never synced: every row is new there
            changed = {r["id"]: {**r, "_object_delete": False} for r in self.ws.read_rows(table, obj.id).to_pylist()}
        else:
            changed = changed_since(self.ws, table, obj.id, st.local_xact, st.own_xacts)
            for row_id in set(st.conflicts) - set(changed):
                changed.update(latest_versions(self.ws, table, obj.id, [row_id]))
        remote_id = self._remote_object(table, obj)
        conflicts = self._conflicts(table, st, remote_id, list(changed)) if st is not None else {}
        if self.options.prefer == "remote" and conflicts and not self.options.dry_run:
            self._take_remote(table, obj.id, st, conflicts)
        send = [r for i, r in changed.items() if i not in conflicts or self.options.prefer == "local"]
        result.conflicts = sorted(conflicts) if not self.options.prefer else []
        if self.options.dry_run:
            result.would_send = [{"id": r["id"], "action": "delete" if r.get("_object_delete") else "upsert"} for r in send]
            result.conflicts = sorted(conflicts)
            return result
        events = [to_event(table, r) for r in send]
        for start in range(0, len(events), _CHUNK):
            self.client.insert(table, remote_id, events[start: start + _CHUNK])
        result.written = sum(1 for e in events if not e.get("_object_delete"))
        result.deleted = len(events) - result.written
        st = self.state.ensure(table, obj.id, remote_id, obj.name)
        st.conflicts = {i: str(conflicts[i].get("_xact_id") or st.conflicts.get(i) or "") for i in result.conflicts}
        self._refresh(table, obj.id, remote_id, st)
        st.last_push = now_iso()
        return result

    def _conflicts(self, table: str, st: ObjectState, remote_id: str | None, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Rows among `ids` changed in Braintrust since the last sync (and ones already known to conflict)."""
        if not ids or remote_id is None:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start: start + 500]
            for page, _ in self.client.pages(table, remote_id, since_xact=st.remote_xact, ids=chunk):
                for row in page:
                    out.setdefault(str(row["id"]), row)
        for row_id in st.conflicts:
            if row_id in ids and row_id not in out:
                out[row_id] = {}
        return out

    def _take_remote(self, table: str, local_id: str, st: ObjectState, conflicts: dict[str, dict[str, Any]]) -> None:
        """`--prefer remote`: write Braintrust's versions of the conflicting rows here."""
        missing = [i for i, r in conflicts.items() if not r]
        if missing and st.remote_id:
            for page, _ in self.client.pages(table, st.remote_id, ids=missing):
                for row in page:
                    conflicts[str(row["id"])] = conflicts.get(str(row["id"])) or row
        upserts = [to_local(r) for r in conflicts.values() if r and not r.get("_object_delete")]
        if upserts:
            self.ws.apply_changes(table, local_id, upserts=upserts, project_id=self.state.project_id,
                                  description="sync push: took Braintrust's version")
        for row_id in conflicts:
            st.conflicts.pop(row_id, None)

    def _refresh(self, table: str, local_id: str, remote_id: str, st: ObjectState) -> None:
        """Pull the object back so local rows carry Braintrust's new transaction ids; local changes are now sent."""
        st.local_xact = max_xact(self.ws, table, local_id)
        st.own_xacts = []
        puller = _Puller(self.ws, self.client, self.state, PullOptions(), SyncReport(self.state.project_name))
        puller.rows(table, local_id, remote_id, st.name)

    def versioned(self, kind: str, obj: Any) -> ObjectReport:
        """Push the current version of a prompt or scorer when it changed here since the last sync."""
        result = ObjectReport(kind, obj.name)
        self.report.objects.append(result)
        st = self.state.get(kind, obj.id)
        if st is not None and obj.xact_id <= st.local_xact and obj.id not in st.conflicts:
            return result
        wire = "prompt" if kind == "prompt" else "function"
        remote_now = None
        if st is not None:
            extra = {"function_type": "scorer"} if kind == "scorer" else {}
            remote_now = next((o for o in self.client.objects(wire, self.remote_project_id, **extra)
                               if o.get("id") == st.remote_id), None)
        changed_there = remote_now is not None and str(remote_now.get("_xact_id")) != str(st.remote_xact)
        if (changed_there or (st is not None and obj.id in st.conflicts)) and self.options.prefer != "local":
            if self.options.prefer == "remote" and remote_now is not None and not self.options.dry_run:
                data = ob.prompt_data_to_local(remote_now) if kind == "prompt" else ob.scorer_to_local(remote_now)
                saved = self.ws.save_object(kind, self.state.project_id, obj.name, data, id=obj.id)
                st.local_xact, st.remote_xact = saved.xact_id, str(remote_now.get("_xact_id"))
                st.conflicts.pop(obj.id, None)
                return result
            result.conflicts = [obj.id]
            return result
        if self.options.dry_run:
            result.would_send = [{"id": obj.id, "action": "new version"}]
            return result
        to_remote = ob.prompt_to_remote if kind == "prompt" else ob.scorer_to_remote
        saved = self.client.save_function(wire, to_remote(obj.name, obj.data, self.remote_project_id))
        st = self.state.ensure(kind, obj.id, str(saved["id"]), obj.name)
        st.remote_xact = str(saved.get("_xact_id") or "")
        st.local_xact = obj.xact_id
        st.conflicts.pop(obj.id, None)
        st.last_push = now_iso()
        result.written = 1
        return result


def plan_summary(report: SyncReport) -> tuple[str, list[str]]:
    """What a `--dry-run` report says: one line of counts, then one line per object with something to send."""
    planned = [item["action"] for obj in report.objects for item in obj.would_send]
    conflicts = report.totals()["conflicts"]
    head = (f"would send to {report.project}: {counted(planned.count('upsert'), 'row')}, "
            f"{counted(planned.count('delete'), 'delete')}, {counted(planned.count('new version'), 'new version')}; "
            f"{counted(conflicts, 'conflict')} (changed on both sides: not sent)")
    lines = []
    for obj in report.objects:
        if obj.would_send or obj.conflicts:
            actions = [item["action"] for item in obj.would_send]
            counts = ", ".join(counted(actions.count(a), a) for a in dict.fromkeys(actions))
            note = f"; {counted(len(obj.conflicts), 'conflict')}, not sent" if obj.conflicts else ""
            lines.append(f"{obj.kind} {obj.name!r}: {counts or 'nothing to send'}{note}")
    return head, lines


def report_sentence(report: SyncReport, verb: str) -> str:
    """A finished pull's or push's counts in one sentence ("pushed P: 1 row, 0 deleted, 2 conflicts")."""
    totals = report.totals()
    return (f"{verb} {report.project}: {counted(totals['written'], 'row')}, {totals['deleted']:,} deleted, "
            f"{counted(totals['conflicts'], 'conflict')}")
