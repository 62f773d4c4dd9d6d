"""Out-of-process sandbox for user code scorers: one confined worker per scorer, a fresh child per call.

Layers (README "Code scorers and the sandbox" says what they do and do not protect against):
- the app makes itself non-dumpable (isolation.protect_this_process), so a same-user process cannot read
  its environment or memory through /proc, nor ptrace it;
- the worker is a separate `python -I` process in its own session, with a minimal environment (no API
  keys, nothing else of ours) and no core dumps;
- where the kernel allows it, the worker starts in new user, network and mount namespaces (`unshare`) and
  pivots into a minimal root: the interpreter's libraries read-only and a size-capped tmpfs at /tmp, no
  home, no workspace, no /proc, no network at all (sandbox_jail);
- each call runs in a child forked for it that closes the app's channel, drops every privilege, applies
  rlimits (CPU, memory, file size, open files, no fork), Landlock (reads only the libraries, writes only
  the scratch folder, no TCP) and a seccomp filter (no sockets, ptrace, signals to others, exec, mounts),
  then runs the user's code (sandbox_confine, sandbox_worker);
- results are one frame per call on a pipe made for that call, size-capped by the worker and again here;
- deadlines: the worker kills a call past its timeout; if the worker itself stops answering, the whole
  process group is SIGKILLed here and the next call starts a fresh worker.
When neither namespaces nor Landlock, or no seccomp, is available, code scorers refuse to run unless the
user opts in (isolation.UNSANDBOXED_ENV).
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loop_tui.evals import isolation
from loop_tui.evals.isolation import configure

__all__ = ["SandboxError", "SandboxLimits", "SandboxWorker", "configure"]

WORKER_SCRIPT = Path(__file__).with_name("sandbox_worker.py")
MAX_RESULT_BYTES = 1_000_000
# A reply is one result plus captured output and a traceback: the worker caps them, this bounds the rest.
_MAX_LINE = MAX_RESULT_BYTES + 64 * 1024
_GRACE_S = 5.0  # the worker enforces the call's deadline; this one catches a worker that stopped answering


class SandboxError(Exception):
    """A code-scorer call failed: user exception, timeout, crash or a bad result."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-call limits (each call runs in a fresh child, so CPU seconds are per call)."""

    timeout_s: float = 10.0
    cpu_s: int = 30
    memory_mb: int = 512
    file_size_mb: int = 10
    scratch_mb: int = 32
    open_files: int = 64


def _minimal_env(tmp: str) -> dict[str, str]:
    # Deliberately not derived from os.environ: nothing of ours (keys, tokens, paths) reaches user code.
    return {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:  # the app's folder was deleted under it
        return ""


def _app_folders() -> list[str]:
    """The default workspace and the settings folder (when the settings module can load)."""
    try:  # the settings module loads its dependencies (platformdirs) only when the paths are asked for
        from loop_tui.config import config_path, default_workspace_path

        return [str(default_workspace_path()), str(config_path().parent)]
    except ImportError:  # e.g. the hostile-scorer suite runs the sandbox alone, without our dependencies
        return []


def _set_worker_limits() -> None:
    """Runs in the worker between fork and exec (keep it simple): no core dumps of a process with data."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


_unshare_works: bool | None = None  # learnt once per process: may we start workers under `unshare`?


class SandboxWorker:
    """One worker process for one scorer's code; each call runs in a fresh confined child of it."""

    def __init__(self, code: str, limits: SandboxLimits) -> None:
        self.code = code
        self.limits = limits
        self.proc: asyncio.subprocess.Process | None = None
        self.tmpdir: str | None = None
        self.isolation: dict[str, Any] = {}
        self._next_id = 0

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        """Spawn the worker, confine it and load the code; raises SandboxError if any of that fails."""
        global _unshare_works
        isolation.protect_this_process()
        prefix = isolation.unshare_prefix(os.geteuid() == 0) if isolation.policy().use_namespaces else None
        if prefix is not None and _unshare_works is not False:
            try:
                await self._spawn(prefix)
                _unshare_works = True
                return
            except _SpawnFailed:
                _unshare_works = False  # e.g. unprivileged user namespaces are disabled here
        try:
            await self._spawn(None)
        except _SpawnFailed as exc:
            raise SandboxError(f"the code-scorer worker failed to start ({exc})") from None

    def _config(self, in_namespaces: bool, drop_to: list[int] | None) -> dict[str, Any]:
        limits = asdict(self.limits)
        limits["max_result_bytes"] = MAX_RESULT_BYTES
        policy = isolation.policy()
        return {
            "limits": limits,
            "namespaces": in_namespaces,
            "jail": policy.use_jail,
            "landlock": policy.use_landlock,
            "seccomp": policy.use_seccomp,
            "drop_to": drop_to,
            "require": not policy.allow_unsandboxed,
            # Never granted to the scorer even if the interpreter lives beneath them.
            "hidden": [os.path.expanduser("~"), _cwd(), *_app_folders()],
        }

    async def _spawn(self, prefix: list[str] | None) -> None:
        drop_to = None
        if os.geteuid() == 0:
            # As root, each call's child drops to a throwaway uid: no root-owned file, no process of ours.
            ident = random.randrange(1_000_000_000, 2_000_000_000)
            drop_to = [ident, ident]
        # A folder on disk that the worker removes when the app goes away (or the next app start does);
        # a worker that builds its jail swaps it for a tmpfs that vanishes with it, and removes it at once.
        self.tmpdir = isolation.new_scratch_dir((drop_to[0], drop_to[1]) if drop_to else None)
        argv = [*(prefix or []), sys.executable, "-I", str(WORKER_SCRIPT)]
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                cwd=self.tmpdir,
                env=_minimal_env(self.tmpdir),
                start_new_session=True,
                preexec_fn=_set_worker_limits,
                limit=_MAX_LINE,
            )
        except OSError as exc:  # e.g. the interpreter cannot be executed again by this user
            self._remove_tmpdir()
            raise _SpawnFailed(f"{exc.strerror or exc}: {exc.filename or argv[0]}") from None
        init = {"op": "init", "code": self.code, "config": self._config(prefix is not None, drop_to)}
        try:
            result = await self._request(init, timeout=self.limits.timeout_s + _GRACE_S)
        except SandboxError:
            await self.kill()
            raise
        self.isolation = result.get("isolation") or {}
        if self.isolation.get("jail"):
            self.tmpdir = None  # the worker removed it: its scratch folder is a tmpfs in its namespace

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
        except ValueError:  # a line past the limit: only a broken worker sends one
            await self.kill()
            raise SandboxError("the scorer's reply was too large") from None
        except (BrokenPipeError, ConnectionResetError):
            line = b""
        if not line:
            status = await self._exit_status()
            await self.kill()
            if message["op"] == "init":
                raise _SpawnFailed(status)
            raise SandboxError(f"the scorer process died ({status})")
        response = json.loads(line)
        if response.get("id") != message["id"]:
            await self.kill()
            raise SandboxError("the scorer's reply did not match its request; the worker was stopped")
        if response.get("unconfined"):
            raise SandboxError(
                f"this machine offers no sandbox for code scorers (missing {response.get('error')}): "
                f"{isolation.UNSANDBOXED_WHY}"
            )
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
            return signal.Signals(-code).name
        return f"exit code {code}"

    async def call(self, kwargs: dict[str, Any]) -> Any:
        """Run the handler once in a fresh child; raises SandboxError on any failure of that call."""
        return await self._request({"op": "call", "kwargs": kwargs}, timeout=self.limits.timeout_s + _GRACE_S)

    async def kill(self) -> None:
        """Kill the worker's whole process group and remove its scratch folder."""
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
        self._remove_tmpdir()

    def kill_now(self) -> None:
        """Synchronous kill, for cleanup outside the worker's event loop."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None
        self._remove_tmpdir()

    def _remove_tmpdir(self) -> None:
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


class _SpawnFailed(SandboxError):
    """The worker exited before answering `init` (e.g. `unshare` not permitted here)."""
