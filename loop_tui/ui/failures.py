"""One place for a background worker's unexpected failure: the traceback goes to a log file, the user gets one
sentence.

Workers run with `exit_on_error=False` (a bug in one loader must not close the app), so Textual only marks the
worker as failed. `WorkerFailures.on_worker_state_changed` (mixed into every page and Loop's chat) turns that
into `record_failure` (the traceback, secrets scrubbed, appended to `log_path()`) and a sentence shown where the
data would have been. `loop-tui --debug` prints the log file's path.
"""

from __future__ import annotations

import os
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path

from textual.worker import Worker, WorkerState

LOG_NAME = "loop-tui.log"
MAX_LOG_BYTES = 1_000_000
"""Past this size the log moves to `loop-tui.log.1` (one old file kept), so it never grows without bound."""

TASKS: dict[str, tuple[str, bool]] = {
    # worker group: (what the user was waiting for, whether the sentence replaces the page's data)
    "projects": ("load the projects", True),
    "open-workspace": ("open the workspace", False),
    "import-pages": ("prepare the other pages", False),
    "ui-state": ("remember the Loop panel's width", False),
    "braintrust-sync": ("sync with Braintrust", False),
    "filter-check": ("check the filter", False),
    "experiments": ("load the experiments", True),
    "experiment": ("load the experiment", True),
    "experiment-base": ("load the base experiment", False),
    "experiment-rerun-plan": ("plan the re-run", False),
    "experiment-rerun": ("re-run the experiment", False),
    "exp-sort": ("sort the rows", False),
    "compare": ("compare the experiments", True),
    "datasets": ("load the datasets", True),
    "dataset-rows": ("load the dataset's rows", True),
    "dataset-write": ("save the change to the dataset", False),
    "dataset-history": ("load the dataset's history", False),
    "logs-page": ("load the logs", True),
    "logs-count": ("count the logs", False),
    "logs-charts": ("draw the logs charts", False),
    "logs-datasets": ("list the datasets", False),
    "logs-insert": ("add the rows to the dataset", False),
    "trace": ("load the trace", True),
    "pg-state": ("load the playground", True),
    "pg-run": ("run the playground", True),
    "pg-summary": ("summarize the run", True),
    "pg-keep": ("keep the failed run", False),
    "pg-save": ("save the prompt", False),
    "pg-compare": ("compare with the previous run", False),
    "pg-table": ("show the run's rows", False),
    "btql-check": ("check the query", False),
    "btql-schema": ("read the source's fields", False),
    "btql-run": ("run the query", True),
    "btql-history": ("read the query history", False),
    "btql-remember": ("add the query to the history", False),
    "btql-sources": ("list the data sources", False),
    "settings-save": ("save the settings", False),
    "remote-projects": ("list the remote projects", False),
    "loop-agent": ("finish Loop's run", True),
    "loop-undo": ("undo Loop's change", True),
    "loop-tune": ("tune the scorer", True),
    "loop-page-action": ("run Loop's action", False),
    "loop-history": ("read Loop's conversations", True),
    "loop-settings": ("save the settings", False),
    "loop-answer-thaw": ("redraw Loop's answer", False),
}

_lock = threading.Lock()


def log_path() -> Path:
    """The failure log: beside the settings file when `LOOP_TUI_CONFIG` points elsewhere (tests, several
    setups side by side), else `loop-tui.log` in the user's state folder."""
    if os.environ.get("LOOP_TUI_CONFIG"):
        from loop_tui.config import config_path

        return config_path().parent / LOG_NAME
    from platformdirs import user_state_dir

    return Path(user_state_dir("loop-tui")) / LOG_NAME


def record_failure(where: str, error: BaseException) -> Path | None:
    """Append `error`'s traceback (secrets scrubbed) to the log; the log's path, or None if it is unwritable."""
    from loop_tui.redaction import scrub

    text = "".join(traceback.format_exception(error))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    entry = f"--- {stamp} {where}\n{scrub(text)}\n"
    path = log_path()
    try:
        with _lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
                path.replace(path.with_name(LOG_NAME + ".1"))
            with path.open("a", encoding="utf-8") as handle:
                handle.write(entry)
    except OSError:
        return None  # a read-only state folder: the user still gets the sentence
    return path


def describe_task(worker: Worker) -> tuple[str, bool]:
    """What `worker` was doing, in the user's words, and whether its result was the page's data."""
    return TASKS.get(worker.group, ("finish a background task", False))


def failure_sentence(task: str, error: BaseException, log: Path | None) -> str:
    """One sentence for the user: what failed, the error's first line, where the details are."""
    from loop_tui.redaction import scrub
    from loop_tui.safe_text import visible

    first_line = next((line for line in str(error).splitlines() if line.strip()), "")
    reason = type(error).__name__ + (f": {first_line[:200]}" if first_line else "")
    where = f"; the details are in {log}" if log is not None else ""
    return visible(scrub(f"Could not {task} ({reason}){where}."))


class WorkerFailures:
    """Mixin for a DOM node whose workers may fail: log the traceback, then `show_worker_failure`."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker of this node ended in error: record it and tell the user in one sentence."""
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        task, in_place = describe_task(worker)
        log = record_failure(f"{type(self).__name__} worker {worker.group or worker.name!r}", worker.error)
        self.show_worker_failure(failure_sentence(task, worker.error, log), in_place)

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """Show `sentence` (in place of the data when `in_place`); nodes override to choose the place."""
        self.notify(sentence, severity="error", timeout=10)  # type: ignore[attr-defined]
