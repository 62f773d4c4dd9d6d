"""The code-scorer worker: runs user Python in a separate, limited process (stdlib only, no our imports).

Started by `loop_tui.evals.sandbox` as `python -I sandbox_worker.py` with a scrubbed environment and
rlimits already set. Speaks JSON lines on private copies of stdin/stdout; fds 0-2 are pointed at
/dev/null so stray prints or `os.write(1, …)` in user code cannot corrupt the protocol.

Requests:  {"op": "init", "code": str, "drop_to": [uid, gid] | null}
           {"op": "call", "id": int, "kwargs": {"input", "output", "expected", "metadata"}}
Responses: {"id", "ok": true, "result", "stdout", "cpu"} | {"id", "ok": false, "error", "traceback", "stdout", "cpu"}
"""

import contextlib
import inspect
import io
import json
import os
import resource
import sys
import traceback

# Modules user scorers commonly need, imported before privileges are dropped: the interpreter's own
# files may be unreadable to the unprivileged user (e.g. Python installed under /root).
PRELOAD = [
    "abc",
    "array",
    "ast",
    "base64",
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "collections.abc",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "enum",
    "fnmatch",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "html",
    "html.parser",
    "itertools",
    "json",
    "keyword",
    "math",
    "numbers",
    "operator",
    "pprint",
    "random",
    "re",
    "shlex",
    "statistics",
    "string",
    "struct",
    "textwrap",
    "typing",
    "unicodedata",
    "urllib.parse",
    "uuid",
    "zlib",
]
MAX_CAPTURE = 4000


def _preload():
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _drop_privileges(uid, gid):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("still running as root after setuid")


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


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdin = io.StringIO()

    def reply(message):
        try:
            text = json.dumps(message, default=repr)
        except (TypeError, ValueError) as exc:
            text = json.dumps(
                {"id": message.get("id"), "ok": False, "error": f"unserialisable result: {exc}"}
            )
        proto_out.write(text + "\n")
        proto_out.flush()

    fn = None
    for line in proto_in:
        request = json.loads(line)
        rid = request.get("id")
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                if request["op"] == "init":
                    drop_to = request.get("drop_to")
                    if drop_to:
                        _preload()
                        _drop_privileges(*drop_to)
                    namespace = {"__name__": "user_scorer", "__builtins__": __builtins__}
                    exec(compile(request["code"], "<scorer>", "exec"), namespace)
                    fn = _entry_point(namespace)
                    result = {"uid": os.getuid()}
                else:
                    result = _call(fn, request["kwargs"])
            reply(
                {
                    "id": rid,
                    "ok": True,
                    "result": result,
                    "stdout": buffer.getvalue()[:MAX_CAPTURE],
                    "cpu": _cpu(),
                }
            )
        except BaseException as exc:  # noqa: BLE001 - user code may raise anything, even SystemExit
            reply(
                {
                    "id": rid,
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}"[:MAX_CAPTURE],
                    "traceback": traceback.format_exc()[-MAX_CAPTURE:],
                    "stdout": buffer.getvalue()[:MAX_CAPTURE],
                    "cpu": _cpu(),
                }
            )
            if request.get("op") == "init":
                return


if __name__ == "__main__":
    main()
