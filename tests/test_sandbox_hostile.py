"""Hostile code scorers, run as an ordinary unprivileged user: every escape they try must fail.

Each probe below is a scorer that attempts one escape and reports what it got in its score's metadata
(or fails trying). The test then checks the escape failed from the outside too: the app process is alive,
the listener saw no connection, the workspace and home are untouched, nothing was written outside the
scorer's temp folder. See tests/sandbox_hostile_support.py for how the suite drops to an unprivileged uid.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox_hostile_support import (
    PLANTED_KEY,
    REPO,
    SEGMENT_BYTES,
    SSH_SECRET,
    Unprivileged,
    find_unprivileged,
    make_world,
    run_driver,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or os.uname().sysname != "Linux", reason="Linux only")

# Each probe returns {'score': 1, 'metadata': {'got': …}} with whatever it managed to read or do.
PROBES = {
    "parent_environ": """
import os
def handler(metadata):
    got = {}
    for pid in {metadata['app_pid'], os.getppid()}:
        try:
            got[str(pid)] = open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace')
        except OSError as exc:
            got[str(pid)] = 'denied: ' + type(exc).__name__
    got['own'] = dict(os.environ)
    return {'score': 1, 'metadata': {'got': got}}
""",
    "socket": """
import socket
def handler(metadata):
    got = {}
    for family, address in [(socket.AF_INET, ('127.0.0.1', metadata['port'])), (socket.AF_UNIX, None)]:
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
            got[str(family)] = 'opened'
            if address:
                s.connect(address)
                s.sendall(b'leak')
                got[str(family)] = 'connected'
        except OSError as exc:
            got.setdefault(str(family), 'denied: ' + type(exc).__name__)
    return {'score': 1, 'metadata': {'got': got}}
""",
    "home_and_ssh": """
import os
def handler(metadata):
    got = {}
    home = metadata['home']
    for name, action in [('key', lambda: open(home + '/.ssh/id_rsa').read()),
                         ('listing', lambda: os.listdir(home)),
                         ('tilde', lambda: open(os.path.expanduser('~/.ssh/id_rsa')).read())]:
        try:
            got[name] = action()
        except OSError as exc:
            got[name] = 'denied: ' + type(exc).__name__
    return {'score': 1, 'metadata': {'got': got}}
""",
    "workspace": """
import os
def handler(metadata):
    got = {}
    ws = metadata['workspace']
    segment = ws + '/objects/seg-0001.parquet'
    for name, action in [('read', lambda: open(segment, 'rb').read().decode(errors='replace')),
                         ('listing', lambda: os.listdir(ws)),
                         ('rename', lambda: os.rename(segment, segment + '.moved')),
                         ('unlink', lambda: os.unlink(segment)),
                         ('create', lambda: open(ws + '/planted.txt', 'w').write('x')),
                         ('cwd_listing', lambda: os.listdir('.'))]:
        try:
            got[name] = repr(action())
        except OSError as exc:
            got[name] = 'denied: ' + type(exc).__name__
    return {'score': 1, 'metadata': {'got': got}}
""",
    "write_outside": """
import os, tempfile
def handler(metadata):
    got = {}
    token = metadata['token']
    targets = [metadata['escape_dir'] + '/out.txt', f'/tmp/loop-tui-escape-{token}', f'/dev/shm/loop-tui-escape-{token}',
               metadata['home'] + '/planted.txt']
    for path in targets:
        try:
            with open(path, 'w') as handle:
                handle.write('x' * 1000)
            got[path] = 'written'
        except OSError as exc:
            got[path] = 'denied: ' + type(exc).__name__
    # Its own temp folder (the working directory) stays usable.
    with open('scratch.txt', 'w') as handle:
        handle.write('fine')
    got['scratch'] = open('scratch.txt').read()
    got['tempfile'] = tempfile.gettempdir()
    return {'score': 1, 'metadata': {'got': got}}
""",
    "big_write": """
def handler(metadata):
    with open('big.bin', 'wb') as handle:
        for _ in range(45):
            handle.write(b'x' * 1_000_000)
            handle.flush()
    return 1
""",
    "many_files": """
def handler(metadata):
    for i in range(12):
        with open(f'part-{i}.bin', 'wb') as handle:
            handle.write(b'x' * 5_000_000)
    return 1
""",
    "signal_parent": """
import os, signal
def handler(metadata):
    got = {}
    for name, pid in [('app', metadata['app_pid']), ('ppid', os.getppid()), ('all', -1)]:
        try:
            os.kill(pid, signal.SIGKILL if name == 'all' else signal.SIGTERM)
            got[name] = 'sent'
        except OSError as exc:
            got[name] = 'denied: ' + type(exc).__name__
    return {'score': 1, 'metadata': {'got': got}}
""",
    "ctypes_escape": """
import ctypes, ctypes.util, os
def handler(metadata):
    libc = ctypes.CDLL(None, use_errno=True)
    got = {}
    app = metadata['app_pid']
    got['ptrace_attach'] = libc.ptrace(16, app, None, None)            # PTRACE_ATTACH
    got['ptrace_seize_ppid'] = libc.ptrace(0x4206, os.getppid(), None, None)
    got['unshare_user'] = libc.unshare(0x10000000)                      # CLONE_NEWUSER
    got['unshare_ns'] = libc.unshare(0x00020000)                        # CLONE_NEWNS
    got['umount_root'] = libc.umount2(b'/', 2)                          # MNT_DETACH
    got['mount_proc'] = libc.mount(b'proc', b'/tmp', b'proc', 0, None)
    got['chroot'] = libc.chroot(b'/')
    got['setns'] = libc.setns(0, 0)
    got['raw_socket'] = libc.syscall(41, 2, 1, 0)                      # socket(AF_INET, SOCK_STREAM) on x86_64
    got['kill_app'] = libc.kill(app, 15)
    got['tgkill_app'] = libc.syscall(234, app, app, 15)
    return {'score': 1, 'metadata': {'got': got}}
""",
    "spawn": """
import os, subprocess
def handler(metadata):
    got = {}
    try:
        got['run'] = subprocess.run(['/bin/sh', '-c', 'echo escaped'], capture_output=True, text=True).stdout
    except OSError as exc:
        got['run'] = 'denied: ' + type(exc).__name__
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        got['fork'] = 'forked'
    except OSError as exc:
        got['fork'] = 'denied: ' + type(exc).__name__
    return {'score': 1, 'metadata': {'got': got}}
""",
    # Writes a forged success to every descriptor and file object it can find, then fails for real.
    "forge": """
import gc, io, json, os
FORGED = {'score': 0.99, 'metadata': {'forged': True}}
def handler(metadata, output):
    if output == 'y':
        return 0.5
    line = json.dumps({'id': 1, 'ok': True, 'result': FORGED})
    for nid in range(0, 12):
        frame = (json.dumps({'id': nid, 'ok': True, 'result': FORGED, 'cpu': 0}) + '\\n').encode()
        for fd in range(0, 64):
            try:
                os.write(fd, frame)
            except OSError:
                pass
    for obj in gc.get_objects():
        if isinstance(obj, io.TextIOBase) and not obj.closed:
            try:
                obj.write(line + '\\n'); obj.flush()
            except Exception:
                pass
    raise ValueError('genuine failure')
""",
    "huge_result": """
def handler(metadata):
    return {'score': 1, 'metadata': {'blob': 'x' * 30_000_000}}
""",
}


def _open_folder() -> Path:
    # pytest's tmp_path sits under a 0700 folder of root's; the unprivileged uid needs a path it can reach.
    path = Path(tempfile.mkdtemp(prefix="loop-tui-hostile-"))
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="module")
def unprivileged() -> Iterator[Unprivileged]:
    base = _open_folder()
    who = None
    try:
        who, why = find_unprivileged(base)
        if who is None:
            pytest.skip(why)
        yield who
    finally:
        shutil.rmtree(base, ignore_errors=True)
        if who is not None and os.geteuid() == 0:
            # The per-user scratch root of the throwaway test uid (empty by now; no one else uses it).
            shutil.rmtree(Path(tempfile.gettempdir()) / f"loop-tui-scorers-{who.uid}", ignore_errors=True)


@pytest.fixture
def world_dir() -> Iterator[Path]:
    base = _open_folder()
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that records every connection it gets."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            received.append(conn.recv(100) or b"<connected>")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(timeout=5)
    server.close()


def _got(outcome: dict) -> dict:
    assert "result" in outcome, f"probe {outcome['probe']} failed to run at all: {outcome.get('error')}"
    return outcome["result"]["metadata"]["got"]


# Namespaces with the pivot_root jail; namespaces where mounting failed (e.g. an AppArmor-restricted
# kernel); and no namespaces at all, where Landlock and seccomp carry the whole load.
MODES = pytest.mark.parametrize(
    "policy",
    [{"use_namespaces": True}, {"use_namespaces": True, "use_jail": False}, {"use_namespaces": False}],
    ids=["namespaces", "namespaces-no-jail", "landlock-seccomp-only"],
)


@MODES
def test_hostile_scorers_fail_as_an_unprivileged_user(
    unprivileged: Unprivileged, world_dir: Path, listener: tuple[int, list[bytes]], policy: dict[str, bool]
) -> None:
    _run_and_check(unprivileged, world_dir, listener, policy)


@MODES
@pytest.mark.skipif(os.geteuid() != 0, reason="not root: the unprivileged run above is this machine's only case")
def test_hostile_scorers_fail_when_the_app_runs_as_root(
    world_dir: Path, listener: tuple[int, list[bytes]], policy: dict[str, bool]
) -> None:
    _run_and_check(Unprivileged(0, sys.executable, REPO, []), world_dir, listener, policy)


def _run_and_check(
    who: Unprivileged, world_dir: Path, listener: tuple[int, list[bytes]], policy: dict[str, bool]
) -> None:
    port, received = listener
    world = make_world(world_dir, who.uid)
    outcomes, proc = run_driver(who, world, PROBES, port=port, policy=policy, second_call=("forge",))
    assert "__alive__" in outcomes, f"the app process did not survive its scorers: {proc.returncode} {proc.stderr[-2000:]}"
    everything = json.dumps(outcomes)
    if "no sandbox for code scorers" in outcomes["parent_environ"].get("error", ""):
        # A kernel with neither namespaces nor Landlock, or no seccomp: nothing may run at all.
        assert all("no sandbox for code scorers" in o.get("error", "") for k, o in outcomes.items() if k != "__alive__")
        return

    # No secret reaches the scorer, through /proc, its environment or the home folder.
    assert PLANTED_KEY not in everything
    assert SSH_SECRET not in everything
    assert "planted-segment-bytes" not in everything
    got = _got(outcomes["parent_environ"])
    assert all(str(v).startswith("denied") for k, v in got.items() if k != "own")
    assert "OPENAI_API_KEY" not in got["own"]

    # No socket of any kind, and nothing reached the listener.
    got = _got(outcomes["socket"])
    assert all(v.startswith("denied") for v in got.values()), got
    assert received == []

    # Home and workspace are neither readable nor writable; the segment is where it was.
    assert all(v.startswith("denied") for v in _got(outcomes["home_and_ssh"]).values())
    got = _got(outcomes["workspace"])
    assert all(v.startswith("denied") for k, v in got.items() if k != "cwd_listing"), got
    segment = Path(world["workspace"]) / "objects" / "seg-0001.parquet"
    assert segment.read_bytes() == SEGMENT_BYTES
    assert sorted(os.listdir(world["workspace"])) == ["objects"]

    # Writes land only in the scorer's own temp folder, and its size is capped.
    got = _got(outcomes["write_outside"])
    assert got.pop("scratch") == "fine"
    got.pop("tempfile")
    got.pop(f"/tmp/loop-tui-escape-{world['token']}")  # inside a mount namespace, /tmp is the scorer's own tmpfs
    assert all(v.startswith("denied") for v in got.values()), got
    assert os.listdir(world["escape_dir"]) == []
    assert not os.path.exists(f"/tmp/loop-tui-escape-{world['token']}")
    assert not os.path.exists(f"/dev/shm/loop-tui-escape-{world['token']}")
    assert "error" in outcomes["big_write"], outcomes["big_write"]
    assert "error" in outcomes["many_files"], outcomes["many_files"]  # 60 MB in files under the cap each

    # The app and the worker cannot be signalled or traced; ctypes loads but every escape call fails.
    assert all(v.startswith("denied") for v in _got(outcomes["signal_parent"]).values())
    got = _got(outcomes["ctypes_escape"])
    assert all(v == -1 for v in got.values()), got
    got = _got(outcomes["spawn"])
    assert all(v.startswith("denied") for v in got.values()), got

    # A forged frame never becomes a result (the app's channel is out of reach, and a second frame on the
    # call's own pipe voids the call), and the next call is its own.
    forge = outcomes["forge"]
    assert "result channel" in forge.get("error", ""), forge
    assert '"forged"' not in everything
    assert forge.get("second") == 0.5, forge

    # A result past the cap is refused rather than carried into the app.
    assert "too large" in outcomes["huge_result"].get("error", ""), outcomes["huge_result"]


def test_with_no_sandbox_at_all_no_scorer_runs_unless_the_user_opts_in(
    unprivileged: Unprivileged, world_dir: Path, listener: tuple[int, list[bytes]]
) -> None:
    """A machine with neither namespaces nor Landlock, nor seccomp (as far as the worker can tell): as an
    ordinary user, every code scorer refuses with the sentence that names the opt-in, and none of it runs."""
    port, received = listener
    world = make_world(world_dir, unprivileged.uid)
    probes = {name: PROBES[name] for name in ("write_outside", "signal_parent", "socket")}
    nothing = {"use_namespaces": False, "use_landlock": False, "use_seccomp": False}
    outcomes, proc = run_driver(unprivileged, world, probes, port=port, policy=nothing)
    assert "__alive__" in outcomes, proc.stderr[-2000:]
    for name in probes:
        error = outcomes[name].get("error", "")
        assert "no sandbox for code scorers" in error and "LOOP_TUI_ALLOW_UNSANDBOXED_CODE=1" in error, outcomes[name]
        assert "result" not in outcomes[name]
    assert os.listdir(world["escape_dir"]) == [] and received == []
    assert not os.path.exists(f"/tmp/loop-tui-escape-{world['token']}")
