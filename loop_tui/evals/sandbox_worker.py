"""The code-scorer worker: confines itself, then runs each call of the user's code in a fresh, locked child.

Started by `loop_tui.evals.sandbox` as `python -I sandbox_worker.py` (under `unshare` where the kernel
allows it) with a scrubbed environment. It speaks JSON lines with the app on stdin/stdout and never runs
user code itself: every call forks a child that closes the app's channel, confines itself (sandbox_confine)
and only then runs the user's code, sending its one result back on a pipe made for that call. The worker
reads at most `max_result_bytes`, accepts exactly one well-formed frame, then kills and reaps the child
and removes whatever it left in the scratch folder. So user code can neither reach the app's channel
nor speak for another row, and its result is size-capped.

Requests:  {"op": "init", "id", "code": str, "config": {...}}   (see sandbox.SandboxWorker._config)
           {"op": "call", "id", "kwargs": {"input", "output", "expected", "metadata"}}
Responses: {"id", "ok": true, "result", "stdout"} | {"id", "ok": false, "error", "traceback", "stdout"}
"""

import contextlib
import gc
import importlib.util
import inspect
import io
import json
import os
import platform
import resource
import select
import shutil
import signal
import sys
import time
import traceback
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_CAPTURE = 4000
# Modules user scorers commonly need: imported once here when the scorer uses them, children inherit them
# (no import per call); all of them when a child that dropped to a throwaway uid may not be able to read
# the interpreter's files (e.g. Python under /root, with no jail to bind it in).
PRELOAD = [
    "abc", "array", "ast", "base64", "bisect", "calendar", "cmath", "collections", "collections.abc", "copy",
    "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "fnmatch", "fractions", "functools",
    "hashlib", "heapq", "html", "html.parser", "itertools", "json", "keyword", "math", "numbers", "operator",
    "pprint", "random", "re", "shlex", "statistics", "string", "struct", "textwrap", "typing", "unicodedata",
    "urllib.parse", "uuid", "zlib",
    # Rarely useful to a scorer, but a root app's child must at least be able to import them and fail
    # at the confinement (seccomp, Landlock) rather than at an unreadable file.
    "ctypes", "ctypes.util", "gc", "signal", "socket", "subprocess", "tempfile",
]
EXTRA_READ_PATHS = ["/usr/share/zoneinfo", "/etc/localtime"]
FORGED = "the scorer wrote to its result channel itself (a forged or stray frame); its result was refused"


def _load_sibling(name):
    # `python -I` keeps our package off sys.path on purpose; load the helper by its path instead.
    spec = importlib.util.spec_from_file_location(f"_loop_tui_{name}", os.path.join(HERE, f"{name}.py"))
    assert spec is not None and spec.loader is not None, f"{name}.py is missing next to the worker"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _imported_names(source):
    """Every module name an import statement in `source` mentions (read with ast, nothing is run)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _preload(source, everything):
    """Import in the worker what children will need: all of PRELOAD for a child that cannot read the
    interpreter's files, else only the PRELOAD modules this scorer imports (each costs every fork time)."""
    wanted = PRELOAD if everything else [name for name in PRELOAD if name in _imported_names(source)]
    for name in wanted:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _library_paths(hidden):
    """Folders user code may read: the interpreter's own library folders and installed packages on its
    import path (never a project folder a `.pth` file added), and never one that holds a hidden folder."""
    hidden = [os.path.realpath(p) for p in hidden if p]
    prefixes = {os.path.realpath(p).rstrip("/") + "/" for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths = []
    for entry in [*sys.path, *EXTRA_READ_PATHS]:
        if not entry or not os.path.isabs(entry) or not os.path.exists(entry):
            continue
        real = os.path.realpath(entry)
        is_library = (
            entry in EXTRA_READ_PATHS
            or any(real.startswith(prefix) for prefix in prefixes)
            or os.path.basename(real) in ("site-packages", "dist-packages")
        )
        covers_hidden = any(h == real or h.startswith(real.rstrip("/") + "/") for h in hidden)
        if is_library and real != "/" and not covers_hidden and real not in paths:
            paths.append(real)
    return paths


class Confinement:
    """What this worker could set up, and how each child applies it to itself."""

    def __init__(self, config):
        self.config = config
        self.limits = config["limits"]
        self.drop_to = config.get("drop_to")
        self.scratch = os.getcwd()
        self.ruleset_fd = None
        self.seccomp = None
        self.confine = None
        self.report: dict[str, Any] = {"namespaces": bool(config.get("namespaces")), "jail": False, "landlock": 0,
                       "seccomp": False, "problems": []}

    def prepare(self):
        """Build the jail (in a namespace), the Landlock ruleset and check seccomp; records what worked."""
        if sys.platform != "linux":
            self.report["problems"].append(f"{sys.platform} has none of the Linux sandbox features")
            return
        self.confine = _load_sibling("sandbox_confine")
        self.confine.set_dumpable(False)  # children cannot read our memory or environment through /proc
        read_paths = _library_paths(self.config.get("hidden", []))
        scratch_bytes = self.limits["scratch_mb"] * 1024 * 1024
        if self.report["namespaces"] and self.config.get("jail", True):
            # The app made a scratch folder on disk in case the jail fails; hold its parent open so the
            # folder can be removed once we live in the jail (where the host's paths are gone).
            host_parent = os.open(os.path.dirname(self.scratch), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                jail = _load_sibling("sandbox_jail")
                host_name = os.path.basename(self.scratch)
                self.scratch = jail.build_jail(read_paths, scratch_bytes, platform.machine())
                self.report["jail"] = True
                with contextlib.suppress(OSError):
                    os.rmdir(host_name, dir_fd=host_parent)
            except OSError as exc:
                self.report["problems"].append(f"mount namespace: {exc}")
            finally:
                os.close(host_parent)
        os.environ["HOME"] = os.environ["TMPDIR"] = self.scratch  # children inherit it; tempfile uses it
        try:
            if self.config.get("landlock", True):
                self.ruleset_fd, self.report["landlock"] = self.confine.landlock_ruleset(
                    read_paths + ["/dev/urandom", "/dev/zero", "/dev/random"], [self.scratch, "/dev/null"]
                )
        except OSError as exc:
            self.report["problems"].append(f"landlock: {exc}")
        if self.ruleset_fd is not None:
            os.set_inheritable(self.ruleset_fd, False)
        try:
            if self.config.get("seccomp", True) and self.confine.seccomp_available():
                self.seccomp = self.confine.SeccompFilter()
                self.report["seccomp"] = True
        except OSError as exc:
            self.report["problems"].append(f"seccomp: {exc}")

    def missing(self):
        """The layers this machine lacks for a real sandbox (empty when the sandbox holds)."""
        missing = []
        if not (self.report["jail"] or self.report["landlock"]):
            missing.append("file-system isolation (mount namespaces or Landlock)")
        if not self.report["seccomp"]:
            missing.append("a system-call filter (seccomp)")
        return missing

    def enter(self):
        """In the child, before user code: limits, no privileges, then Landlock and seccomp."""
        mb = 1024 * 1024
        limits = self.limits
        for which, value in [
            (resource.RLIMIT_CPU, limits["cpu_s"]),
            (resource.RLIMIT_AS, limits["memory_mb"] * mb),
            (resource.RLIMIT_FSIZE, limits["file_size_mb"] * mb),
            (resource.RLIMIT_NOFILE, limits["open_files"]),
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_NPROC, 1),
        ]:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, (value, value))
        if self.confine is None:
            return
        self.confine.die_with_parent(signal.SIGKILL)
        if self.drop_to:
            os.setgroups([])
            os.setgid(self.drop_to[1])
            os.setuid(self.drop_to[0])
            if os.getuid() == 0 or os.geteuid() == 0:
                raise OSError("still root after setuid")
        elif self.report["namespaces"]:
            self.confine.drop_capabilities()
        if self.ruleset_fd is not None:
            self.confine.landlock_restrict(self.ruleset_fd)
            os.close(self.ruleset_fd)
        if self.seccomp is not None:
            self.seccomp.install(os.getpid())

    def clear_scratch(self):
        """Remove what the last child left, so nothing carries over between rows and the quota resets."""
        with contextlib.suppress(OSError), os.scandir(self.scratch) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def _entry_point(namespace):
    fn = namespace.get("handler")
    if callable(fn):
        return fn
    defined = [
        v for v in namespace.values() if inspect.isfunction(v) and v.__module__ == namespace.get("__name__")
    ]
    if len(defined) == 1:
        return defined[0]
    raise ValueError("define a function `handler(input, output, expected, metadata)`")


def _call(fn, kwargs):
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(**kwargs)
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return fn(**{k: v for k, v in kwargs.items() if k in names})


def _close_all_but(keep):
    start = 3
    for fd in sorted(fd for fd in keep if fd is not None and fd >= 3):
        os.closerange(start, fd)
        start = fd + 1
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    os.closerange(start, soft if 0 < soft < (1 << 20) else 1 << 20)


def _child(result_fd, code, kwargs, confinement):
    """Runs in the forked child: drop the app's channel, confine, run the user's code, write one frame."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # the app's channel (our stdin/stdout) is gone before user code exists
    _close_all_but({0, 1, 2, result_fd, confinement.ruleset_fd})
    sys.stdin = io.StringIO()
    buffer = io.StringIO()
    try:
        confinement.enter()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            namespace = {"__name__": "user_scorer", "__builtins__": __builtins__}
            exec(code, namespace)
            fn = _entry_point(namespace)
            result = None if kwargs is None else _call(fn, kwargs)
        frame = {"ok": True, "result": result, "stdout": buffer.getvalue()[:MAX_CAPTURE]}
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything, even SystemExit
        frame = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}"[:MAX_CAPTURE],
            "traceback": traceback.format_exc()[-MAX_CAPTURE:],
            "stdout": buffer.getvalue()[:MAX_CAPTURE],
        }
    try:
        data = (json.dumps(frame, default=repr) + "\n").encode()
    except (TypeError, ValueError) as exc:
        data = (json.dumps({"ok": False, "error": f"unserialisable result: {exc}"}) + "\n").encode()
    with contextlib.suppress(OSError):
        view = memoryview(data)
        while view:
            view = view[os.write(result_fd, view):]
        os.close(result_fd)  # end of frame: the worker answers without waiting for this process to exit


def _scratch_problem(path, limit_bytes, max_files=10_000):
    """A sentence when the scratch folder holds more than its quota (checked while a call runs, where no
    size-capped tmpfs enforces it), else None."""
    used, files, stack = 0, 0, [path]
    while stack:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as entries:
            for entry in entries:
                files += 1
                if files > max_files:
                    return f"the scorer created more than {max_files} files in its temp folder"
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    with contextlib.suppress(OSError):
                        info = entry.stat(follow_symlinks=False)
                        used += max(info.st_size, info.st_blocks * 512)
    if used > limit_bytes:
        return f"the scorer wrote more than {limit_bytes // (1024 * 1024)} MB in its temp folder"
    return None


def _read_result(read_fd, timeout, cap, confinement):
    """Everything the child wrote, or an error sentence (timeout, too large, over its quota)."""
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout
    # Without a jail the scratch folder is on disk with no quota of its own: check it as the call runs.
    quota = None if confinement.report["jail"] else confinement.limits["scratch_mb"] * 1024 * 1024
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, f"timed out after {timeout:g}s (the scorer process was killed)"
        ready, _, _ = select.select([read_fd], [], [], remaining if quota is None else min(remaining, 0.05))
        if quota is not None:
            problem = _scratch_problem(confinement.scratch, quota)
            if problem:
                return None, problem
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), None
        size += len(chunk)
        if size > cap:
            return None, f"the scorer's result is too large (over {cap // 1_000_000} MB)"
        chunks.append(chunk)


def _death(status):
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        hint = {"SIGXCPU": "CPU limit", "SIGKILL": "killed, likely the memory or CPU limit",
                "SIGXFSZ": "file size limit", "SIGSYS": "forbidden system call"}.get(name, "")
        return f"the scorer process died ({name}{', ' + hint if hint else ''})"
    return f"the scorer process died (exit code {os.WEXITSTATUS(status)})"


def run_in_child(code, kwargs, confinement):
    """One call in a fresh child; returns the reply body (without id) and the child's pid if unreaped.

    A child that delivered a frame is reaped after the reply is sent (`finish_child`), so the app does
    not wait for its exit; a child that failed is reaped here, since its exit status is the error.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            _child(write_fd, code, kwargs, confinement)
        finally:
            os._exit(0)
    os.close(write_fd)
    limits = confinement.limits
    try:
        data, problem = _read_result(read_fd, limits["timeout_s"], limits["max_result_bytes"], confinement)
    finally:
        os.close(read_fd)
    if problem:
        finish_child(pid, confinement)
        return {"ok": False, "error": problem}, None
    lines = [line for line in data.split(b"\n") if line.strip()]
    if not lines:
        _, status = os.waitpid(pid, 0)
        confinement.clear_scratch()
        return {"ok": False, "error": _death(status)}, None
    try:
        frame = json.loads(lines[0]) if len(lines) == 1 else None
    except ValueError:
        frame = None
    if not isinstance(frame, dict) or not isinstance(frame.get("ok"), bool):
        return {"ok": False, "error": FORGED}, pid
    return {key: frame[key] for key in ("ok", "result", "error", "traceback", "stdout") if key in frame}, pid


def finish_child(pid, confinement):
    """Make sure the call's child is gone (it has nothing left to do), reap it and empty the scratch folder."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    confinement.clear_scratch()


def main():
    proto_in, proto_out = sys.stdin.buffer, sys.stdout.buffer
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)

    def reply(message):
        proto_out.write((json.dumps(message, default=repr) + "\n").encode())
        proto_out.flush()

    confinement = code = None
    try:
        for line in proto_in:
            request = json.loads(line)
            rid = request.get("id")
            if request["op"] == "init":
                confinement = Confinement(request["config"])
                confinement.prepare()
                missing = confinement.missing()
                if missing and confinement.config.get("require", True):
                    reply({"id": rid, "ok": False, "unconfined": True, "error": "; ".join(missing)})
                    return
                try:
                    code = compile(request["code"], "<scorer>", "exec")
                except SyntaxError as exc:
                    reply({"id": rid, "ok": False, "error": f"SyntaxError: {exc}"})
                    return
                # A child that drops to a throwaway uid outside a jail may not read the interpreter's files.
                _preload(request["code"], bool(confinement.drop_to) and not confinement.report["jail"])
                # Children share these pages copy-on-write; frozen objects are never touched by their GC.
                gc.freeze()
                loaded, pid = run_in_child(code, None, confinement)
                if pid is not None:
                    finish_child(pid, confinement)
                if not loaded["ok"]:
                    reply({"id": rid, **loaded})
                    return
                reply({"id": rid, "ok": True, "result": {"isolation": confinement.report}})
            else:
                body, pid = run_in_child(code, request["kwargs"], confinement)
                reply({"id": rid, **body})
                if pid is not None:
                    finish_child(pid, confinement)  # after the reply: the app need not wait for it
    finally:
        # The app closed the channel (done, or killed): leave no scratch folder behind.
        if confinement is not None and not confinement.report["jail"]:
            shutil.rmtree(confinement.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
