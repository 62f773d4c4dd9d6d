"""A killed eval leaves no code-scorer scratch folder behind (issue 12, item 8).

The app is a real subprocess that starts a sandbox worker, runs one call that writes into its scratch
folder, and is then killed with SIGKILL: it gets no chance to clean up. Inside namespaces the scratch
folder is a tmpfs that never touches the disk; without them, the worker removes its folder when the app's
channel closes, and the next app start removes folders of apps that are gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from loop_tui.evals import isolation

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's scratch handling is Linux-specific")

APP = r"""
import asyncio, json, os, sys, time
from loop_tui.evals import sandbox

# Folders are the point here, not the layers: run even on a machine that offers no sandbox.
sandbox.configure(use_namespaces=sys.argv[1] == "1", allow_unsandboxed=True)

async def main():
    worker = sandbox.SandboxWorker(
        "def handler(output):\n    open('left-behind.txt', 'w').write('x' * 1000)\n    return 1",
        sandbox.SandboxLimits(timeout_s=5),
    )
    await worker.start()
    await worker.call({"input": None, "output": "x", "expected": None, "metadata": {}})
    print(json.dumps({"tmpdir": worker.tmpdir, "worker": worker.proc.pid}), flush=True)
    time.sleep(60)  # killed here

asyncio.run(main())
"""


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _scorer_folders(app_pid: int) -> set[str]:
    """The scratch folders of one app process (named after its pid): tests running beside this one in
    other processes make and remove their own in the same place."""
    tmp = Path(tempfile.gettempdir())
    found = {str(p) for p in tmp.glob(f"loop-tui-scorer-{app_pid}-*")}
    root = tmp / f"loop-tui-scorers-{os.geteuid()}"
    if root.is_dir():
        found |= {str(p) for p in root.glob(f"{app_pid}-*")}
    return found


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("use_namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_killed_app_leaves_no_scratch_folder(use_namespaces: bool) -> None:
    app = subprocess.Popen(
        [sys.executable, "-c", APP, "1" if use_namespaces else "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        started = json.loads(app.stdout.readline())
        if started["tmpdir"]:
            assert started["tmpdir"] in _scorer_folders(app.pid)  # it exists while the app runs
        else:
            assert _scorer_folders(app.pid) == set()  # a tmpfs inside the namespace: nothing on disk
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=10)
    assert _wait_until(lambda: _pid_gone(started["worker"])), "the worker outlived the app"
    assert _wait_until(lambda: _scorer_folders(app.pid) == set()), _scorer_folders(app.pid)


def test_next_start_removes_folders_of_apps_that_are_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker killed together with its app cannot clean up; the next app start does.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    root = Path(tempfile.gettempdir()) / f"loop-tui-scorers-{os.geteuid()}"
    root.mkdir(mode=0o711, exist_ok=True)
    stale = root / f"{dead_pid}-0123456789ab"
    stale.mkdir()
    (stale / "big.bin").write_bytes(b"x" * 1000)
    mine = root / f"{os.getpid()}-ba9876543210"
    mine.mkdir()
    monkeypatch.setattr(isolation, "_swept", False)
    try:
        fresh = isolation.new_scratch_dir(None)
        assert not stale.exists()
        assert mine.exists(), "a folder of a running app is never removed"
        assert Path(fresh).is_dir()
    finally:
        for path in (stale, mine, Path(fresh)):
            if path.exists():
                os.rmdir(path)


async def test_a_worker_that_cannot_start_says_so_and_leaves_no_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Seen as an ordinary user whose interpreter path the sandbox cannot execute again: a raw
    # PermissionError traceback, and the scratch folder made for the worker stayed behind.
    from loop_tui.evals import sandbox

    not_executable = tmp_path / "python"
    not_executable.write_text("")
    monkeypatch.setattr(sandbox.sys, "executable", str(not_executable))
    monkeypatch.setattr(sandbox, "_unshare_works", sandbox._unshare_works)  # restored: the failure is not unshare's
    before = _scorer_folders(os.getpid())
    worker = sandbox.SandboxWorker("def handler(output):\n    return 1", sandbox.SandboxLimits(timeout_s=5))
    with pytest.raises(sandbox.SandboxError, match="the code-scorer worker failed to start .*Permission denied"):
        await worker.start()
    assert _scorer_folders(os.getpid()) - before == set()
