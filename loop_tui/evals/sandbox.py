"""Out-of-process sandbox for user code scorers: a persistent, limited worker per scorer.

Isolation, in layers (see evals-research.md §5):
- a separate `python -I` process (no user site-packages, no PYTHON* variables) in its own session and
  process group, started in a private temp dir with a minimal environment: no API keys, nothing else
  from our environment;
- rlimits set before exec: CPU seconds, address space, file size, open files, no core dumps, and
  RLIMIT_NPROC=1 so the worker cannot fork (when we run as root, where NPROC is not enforced, the
  worker drops to a throwaway uid/gid first, which also hides /proc/<our pid>/environ from it);
- no network when `unshare --net` works (root on Linux);
- a wall-clock deadline per call in the parent: on expiry the whole process group is SIGKILLed and
  the next call starts a fresh worker. A worker that dies (CPU limit, OOM) is respawned the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKER_SCRIPT = Path(__file__).with_name("sandbox_worker.py")
_MAX_LINE = 8 * 1024 * 1024


class SandboxError(Exception):
    """A code-scorer call failed: user exception, timeout, crash or a bad result."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-worker limits. `cpu_s` is cumulative per worker; workers are recycled at `recycle_cpu_s`."""

    timeout_s: float = 10.0
    cpu_s: int = 30
    recycle_cpu_s: float = 20.0
    memory_mb: int = 512
    file_size_mb: int = 10
    open_files: int = 64


def _minimal_env(home: str) -> dict[str, str]:
    # Deliberately not derived from os.environ: nothing of ours (keys, tokens, paths) reaches user code.
    return {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}


def _set_limits(limits: SandboxLimits) -> None:
    """Runs in the child between fork and exec (keep it async-signal-simple)."""
    import resource

    mb = 1024 * 1024
    wanted = [
        (resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1)),
        (resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb)),
        (resource.RLIMIT_FSIZE, (limits.file_size_mb * mb, limits.file_size_mb * mb)),
        (resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NPROC, (1, 1)),
    ]
    for which, value in wanted:
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            # Some platforms refuse a limit (macOS and RLIMIT_AS); the others and the wall-clock
            # deadline still apply, and Linux (where this matters most) supports them all.
            pass


_unshare_ok: bool | None = None  # learnt once per process: does `unshare --net` work here?


class SandboxWorker:
    """One persistent worker process running one scorer's code."""

    def __init__(self, code: str, limits: SandboxLimits) -> None:
        self.code = code
        self.limits = limits
        self.proc: asyncio.subprocess.Process | None = None
        self.tmpdir: str | None = None
        self.cpu = 0.0
        self.network_isolated = False
        self._next_id = 0

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        """Spawn the process and load the code; raises SandboxError if the code does not load."""
        global _unshare_ok
        use_unshare = os.geteuid() == 0 and _unshare_ok is not False and shutil.which("unshare") is not None
        try:
            await self._spawn(use_unshare)
            if use_unshare:
                _unshare_ok = True
        except _SpawnFailed:
            if not use_unshare:
                raise SandboxError("the code-scorer worker failed to start") from None
            _unshare_ok = False
            await self._spawn(False)

    async def _spawn(self, use_unshare: bool) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="loop-tui-scorer-")
        drop_to = None
        if os.geteuid() == 0:
            ident = random.randrange(1_000_000_000, 2_000_000_000)
            drop_to = [ident, ident]
            os.chown(self.tmpdir, ident, ident)
        argv = [sys.executable, "-I", str(WORKER_SCRIPT)]
        if use_unshare:
            argv = [shutil.which("unshare") or "unshare", "--net", "--", *argv]
        self.proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self.tmpdir,
            env=_minimal_env(self.tmpdir),
            start_new_session=True,
            preexec_fn=lambda: _set_limits(self.limits),
            limit=_MAX_LINE,
        )
        self.network_isolated = use_unshare
        try:
            await self._request(
                {"op": "init", "code": self.code, "drop_to": drop_to}, timeout=self.limits.timeout_s
            )
        except _SpawnFailed:
            await self.kill()
            raise
        except SandboxError:
            await self.kill()
            raise

    async def _request(self, message: dict[str, Any], timeout: float) -> Any:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self._next_id += 1
        message["id"] = self._next_id
        try:
            self.proc.stdin.write((json.dumps(message, default=str) + "\n").encode())
            await self.proc.stdin.drain()
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            await self.kill()
            raise SandboxError(f"timed out after {timeout:g}s (the scorer process was killed)") from None
        except (BrokenPipeError, ConnectionResetError, ValueError):
            line = b""
        if not line:
            status = await self._exit_status()
            await self.kill()
            if message["op"] == "init":
                raise _SpawnFailed(status)
            raise SandboxError(f"the scorer process died ({status})")
        response = json.loads(line)
        self.cpu = float(response.get("cpu") or 0.0)
        if not response.get("ok"):
            error = response.get("error") or "unknown error"
            raise SandboxError(
                error if message["op"] != "init" else f"the scorer code failed to load: {error}"
            )
        return response.get("result")

    async def _exit_status(self) -> str:
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), 2)
        except TimeoutError:
            return "no response"
        if code < 0:
            sig = signal.Signals(-code).name
            hint = {"SIGXCPU": "CPU limit", "SIGKILL": "killed, likely the memory or CPU limit"}.get(sig, "")
            return f"{sig}{', ' + hint if hint else ''}"
        return f"exit code {code}"

    async def call(self, kwargs: dict[str, Any]) -> Any:
        """Run the handler once; raises SandboxError on any failure (the worker is killed if it hung)."""
        result = await self._request({"op": "call", "kwargs": kwargs}, timeout=self.limits.timeout_s)
        if self.cpu > self.limits.recycle_cpu_s:
            await self.kill()  # RLIMIT_CPU is cumulative: start afresh before a healthy worker hits it
        return result

    async def kill(self) -> None:
        """Kill the worker's whole process group and remove its temp dir."""
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def kill_now(self) -> None:
        """Synchronous kill, for cleanup outside the worker's event loop."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


class _SpawnFailed(SandboxError):
    """The worker exited before answering `init` (e.g. `unshare` not permitted here)."""
