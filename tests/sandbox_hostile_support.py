"""Runs hostile code scorers in the sandbox as an ordinary, unprivileged user, for tests/test_sandbox_hostile.py.

CI runs as root, where many escapes are closed by accident (the worker dropped to a throwaway uid). The
normal case is an ordinary user, so the suite drops to one explicitly: it copies the `loop_tui` package
to a world-readable temp folder, finds an interpreter that user can run, and starts a small driver as that
uid with `setpriv`. The driver plays the app: it holds a planted API key in its environment, has a home
folder with `~/.ssh/id_rsa` and a workspace, and asks the sandbox to run each hostile scorer.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLANTED_KEY = "sk-planted-parent-key-7f3a9c"
SSH_SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- planted-ssh-secret-51ab"
SEGMENT_BYTES = b"PAR1 planted-segment-bytes PAR1"

# The driver runs as the unprivileged user: it imports the copied package and runs each scorer once
# (twice for `second_call`), printing one JSON line per probe.
DRIVER = r'''
import asyncio, json, os, sys
from loop_tui.evals import sandbox

spec = json.loads(sys.argv[1])
sandbox.configure(**spec["policy"])
limits = sandbox.SandboxLimits(timeout_s=spec["timeout_s"], memory_mb=256, file_size_mb=8)

async def one(name, code, context):
    worker = sandbox.SandboxWorker(code, limits)
    outcome = {"probe": name}
    calls = [("result", "error", "x")] + ([("second", "second_error", "y")] if name in spec["second_call"] else [])
    try:
        for key, error_key, output in calls:
            try:
                if not worker.alive:
                    await worker.start()
                outcome["isolation"] = worker.isolation
                outcome[key] = await worker.call({"input": None, "output": output, "expected": None, "metadata": context})
            except sandbox.SandboxError as exc:
                outcome[error_key] = str(exc)
    finally:
        await worker.kill()
    print(json.dumps(outcome, default=repr), flush=True)

async def main():
    context = {**spec["context"], "app_pid": os.getpid()}
    for name, code in spec["probes"].items():
        await one(name, code, context)
    print(json.dumps({"probe": "__alive__", "pid": os.getpid()}), flush=True)

asyncio.run(main())
'''


@dataclass
class Unprivileged:
    """How to run the driver as an ordinary user: the uid, the interpreter and the package copy."""

    uid: int
    python: str
    package_root: Path
    prefix: list[str]


def _readable_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for root, _dirs, files in os.walk(dest):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


def find_unprivileged(tmp: Path) -> tuple[Unprivileged | None, str]:
    """Set up a way to run as an unprivileged uid, or say why there is none."""
    if os.geteuid() != 0:
        # Already an ordinary user: run the code under test as it is.
        return Unprivileged(os.geteuid(), sys.executable, REPO, []), ""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None, "running as root and `setpriv` (util-linux) is missing, so the suite cannot drop to a user"
    # An unused uid: a hostile `kill(-1, …)` that got through could only hit this test's own processes.
    uid = random.randrange(61000, 64000)
    prefix = [setpriv, "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--"]
    root = tmp / "pkg"
    root.mkdir()
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o755)
    _readable_tree(REPO / "loop_tui", root / "loop_tui")
    for candidate in dict.fromkeys([sys.executable, getattr(sys, "_base_executable", ""), "/usr/bin/python3"]):
        if not candidate:
            continue
        # The interpreter must run as that uid, start itself again (the sandbox does), and import the copy.
        check = (
            "import sys, subprocess, loop_tui; assert sys.version_info >= (3, 11); "
            f"assert loop_tui.__file__.startswith({str(root)!r}); "
            "subprocess.run([sys.executable, '-I', '-c', 'pass'], check=True)"
        )
        probe = subprocess.run(
            [*prefix, candidate, "-c", check],
            capture_output=True,
            timeout=20,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
            cwd="/",
        )
        if probe.returncode == 0:
            return Unprivileged(uid, candidate, root, prefix), ""
    return None, "no Python >= 3.11 on this machine is readable by an unprivileged uid"


def make_world(tmp: Path, uid: int) -> dict[str, str]:
    """A home with an SSH key and a workspace with a segment, owned by `uid`."""
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SSH_SECRET)
    workspace = tmp / "workspace"
    (workspace / "objects").mkdir(parents=True)
    (workspace / "objects" / "seg-0001.parquet").write_bytes(SEGMENT_BYTES)
    escape_dir = tmp / "escape"
    escape_dir.mkdir()
    for path in [home, home / ".ssh", home / ".ssh" / "id_rsa", workspace, workspace / "objects",
                 workspace / "objects" / "seg-0001.parquet", escape_dir]:
        os.chown(path, uid, uid) if os.geteuid() == 0 else None
    os.chmod(home / ".ssh", 0o700)
    os.chmod(home / ".ssh" / "id_rsa", 0o600)
    token = secrets.token_hex(6)  # names the files an escape would create, so leftovers never confuse a run
    return {"home": str(home), "workspace": str(workspace), "escape_dir": str(escape_dir), "token": token}


def run_driver(
    who: Unprivileged,
    world: dict[str, str],
    probes: dict[str, str],
    *,
    port: int,
    policy: dict[str, bool],
    second_call: tuple[str, ...] = (),
    timeout_s: float = 10.0,
) -> tuple[dict[str, dict], subprocess.CompletedProcess]:
    """Run every probe in the sandbox as `who`; returns the outcome per probe and the finished process."""
    spec = {
        "probes": probes,
        "context": {**world, "port": port, "planted": PLANTED_KEY},
        "policy": policy,
        "second_call": list(second_call),
        "timeout_s": timeout_s,
    }
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": world["home"],
        "PYTHONPATH": str(who.package_root),
        "OPENAI_API_KEY": PLANTED_KEY,
        "TMPDIR": "/tmp",
    }
    proc = subprocess.run(
        [*who.prefix, who.python, "-c", DRIVER, json.dumps(spec)],
        cwd=world["workspace"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30 + 3 * timeout_s * len(probes),
    )
    outcomes = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            outcome = json.loads(line)
            outcomes[outcome["probe"]] = outcome
    return outcomes, proc
