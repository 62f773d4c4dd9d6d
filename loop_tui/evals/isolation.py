"""The app's side of the code-scorer sandbox: policy, protecting ourselves, and scratch folders.

- `configure` / `policy`: whether workers start in new namespaces, and whether code scorers may run on a
  machine that offers no sandbox at all (off unless the user opts in knowingly, see UNSANDBOXED_ENV).
- `protect_this_process`: makes the app non-dumpable, so no process of the same user (a scorer included)
  can read its environment (API keys) or memory through /proc, or ptrace it.
- scratch folders for workers that run without a mount namespace live in one per-user folder; each is
  named after the app's pid, so folders of an app that was killed are removed when the next one starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The knowing opt-in: run code scorers even where the machine has no sandbox for them.
UNSANDBOXED_ENV = "LOOP_TUI_ALLOW_UNSANDBOXED_CODE"
UNSANDBOXED_WHY = (
    "code scorers run code a model or a teammate wrote, and without a sandbox that code could read your "
    f"API keys and files and use the network; set {UNSANDBOXED_ENV}=1 to run them anyway"
)


@dataclass
class SandboxPolicy:
    """How code-scorer workers start. The `use_*` switches exist to test each layer and to diagnose a machine."""

    use_namespaces: bool = True
    use_jail: bool = True
    use_landlock: bool = True
    use_seccomp: bool = True
    allow_unsandboxed: bool = False


_policy = SandboxPolicy()
_protected = False
_swept = False


def configure(**changes: bool) -> SandboxPolicy:
    """Change the policy for workers started from now on; returns the previous one (to restore it)."""
    previous = SandboxPolicy(**vars(_policy))
    for name, value in changes.items():
        if not hasattr(_policy, name):
            raise TypeError(f"unknown sandbox policy setting {name!r}")
        setattr(_policy, name, bool(value))
    return previous


def policy() -> SandboxPolicy:
    """The current policy; the environment opt-in counts as `allow_unsandboxed`."""
    current = SandboxPolicy(**vars(_policy))
    current.allow_unsandboxed = current.allow_unsandboxed or os.environ.get(UNSANDBOXED_ENV, "") == "1"
    return current


def protect_this_process() -> bool:
    """Make the app non-dumpable (Linux); True when it is. Debuggers cannot attach afterwards."""
    global _protected
    if _protected or not sys.platform.startswith("linux"):
        return _protected
    libc = ctypes.CDLL(None, use_errno=True)
    _protected = libc.prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE, 0
    return _protected


def unshare_prefix(as_root: bool) -> list[str] | None:
    """The `unshare` command that puts a worker in new network and mount namespaces, if installed."""
    binary = shutil.which("unshare")
    if binary is None or not sys.platform.startswith("linux"):
        return None
    if as_root:
        return [binary, "--net", "--mount", "--"]
    return [binary, "--user", "--map-root-user", "--net", "--mount", "--"]


def _scratch_root() -> Path:
    root = Path(tempfile.gettempdir()) / f"loop-tui-scorers-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(root, 0o711)
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        # Someone else planted this path: never put our scratch folders under it.
        raise OSError(f"{root} is not a private folder of this user")
    os.chmod(root, 0o711)  # the throwaway uid a root app drops to must reach its own folder inside
    return root


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_scratch() -> int:
    """Remove scratch folders left by apps that no longer run (once per process); returns how many."""
    global _swept
    if _swept:
        return 0
    _swept = True
    removed = 0
    try:
        entries = list(os.scandir(_scratch_root()))
    except OSError:
        return 0
    for entry in entries:
        pid_text = entry.name.split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def new_scratch_dir(owner: tuple[int, int] | None) -> str:
    """A fresh scratch folder for one worker, owned by `owner` (uid, gid) when given."""
    sweep_stale_scratch()
    try:
        path = _scratch_root() / f"{os.getpid()}-{secrets.token_hex(6)}"
        os.mkdir(path, 0o700)
    except OSError:
        path = Path(tempfile.mkdtemp(prefix=f"loop-tui-scorer-{os.getpid()}-"))
    if owner is not None:
        os.chown(path, *owner)
    return str(path)
