"""Code scorers in the sandbox: results, validation, and abuse (loop, memory bomb, fork, key theft, network)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loop_tui.errors import UserError
from loop_tui.evals import isolation
from loop_tui.evals.code_scorer import CodeScorer
from loop_tui.evals.sandbox import SandboxError, SandboxLimits

LIMITS = SandboxLimits(timeout_s=1.5, memory_mb=256)
PLANTED = "sk-planted-secret-value-123"


@pytest.fixture
def planted_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("LOOP_TUI_SECRET_TOKEN", PLANTED)
    return PLANTED


async def run(code: str, limits: SandboxLimits = LIMITS, **kwargs: object) -> object:
    scorer = CodeScorer("probe", code, limits=limits)
    try:
        return await scorer.eval_async(**{"output": "a", "expected": "a", "input": "q", **kwargs})
    finally:
        await scorer.aclose()


async def test_handler_gets_only_declared_args_and_results_validate() -> None:
    score = await run("def handler(output, expected):\n    return output == expected")
    assert (score.name, score.score) == ("probe", 1.0)
    score = await run(
        "def handler(input, output, expected, metadata):\n"
        "    return {'score': 0.25, 'metadata': {'saw': [input, metadata['k']]}}",
        metadata={"k": 7},
    )
    assert score.score == 0.25 and score.metadata == {"saw": ["q", 7]}
    assert (await run("def handler(output):\n    return None")).score is None
    assert (await run("def score_it(**kw):\n    return 0.5")).score == 0.5  # the single function is the entry


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("def handler(output):\n    return 2", "outside \\[0, 1\\]"),
        ("def handler(output):\n    return float('nan')", "return a number"),
        ("def handler(output):\n    return 'good'", "return a number"),
        ("def handler(output):\n    raise KeyError('boom')", "KeyError: 'boom'"),
        ("def handler(output):\n    raise SystemExit(3)", "SystemExit"),
        ("x = 1", "define a function"),
    ],
)
async def test_bad_handlers_become_errors(code: str, message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        await run(code)


def test_syntax_error_is_a_user_error_up_front() -> None:
    with pytest.raises(UserError, match="syntax error on line 1"):
        CodeScorer("bad", "def handler(:\n  pass")


async def test_prints_and_raw_fd_writes_do_not_corrupt_the_protocol() -> None:
    code = (
        "import os\ndef handler(output):\n    print('noise')\n    os.write(1, b'{garbage\\n')\n    return 0.5"
    )
    assert (await run(code)).score == 0.5


async def test_infinite_loop_is_killed_and_worker_respawns() -> None:
    scorer = CodeScorer(
        "loop",
        "def handler(output):\n    if output == 'spin':\n        while True: pass\n    return 1",
        limits=LIMITS,
    )
    try:
        with pytest.raises(SandboxError, match="timed out"):
            await scorer.eval_async(output="spin")
        assert (await scorer.eval_async(output="ok")).score == 1.0  # a fresh worker took over
    finally:
        await scorer.aclose()


async def test_memory_bomb_is_stopped() -> None:
    # Zero-filling 256 MB takes ~0.5 s of page faults: a long deadline keeps a busy machine from turning
    # this into a timeout.
    with pytest.raises(SandboxError, match="MemoryError|died"):
        await run(
            "def handler(output):\n    blocks = []\n    while True:\n        blocks.append(bytearray(50_000_000))",
            limits=SandboxLimits(timeout_s=20, memory_mb=256),
        )


async def test_fork_is_refused() -> None:
    with pytest.raises(
        SandboxError, match="BlockingIOError|Resource temporarily unavailable|PermissionError"
    ):
        await run("import os\ndef handler(output):\n    os.fork()\n    return 1")


async def test_fork_bomb_is_contained() -> None:
    code = "import os\ndef handler(output):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass"
    with pytest.raises(SandboxError):
        await run(code)


async def test_api_keys_are_not_visible(planted_key: str) -> None:
    score = await run(
        "import os\ndef handler(output):\n    return {'score': 1, 'metadata': {'env': dict(os.environ)}}"
    )
    env = score.metadata["env"]
    assert planted_key not in repr(env)
    assert "OPENAI_API_KEY" not in env and "LOOP_TUI_SECRET_TOKEN" not in env


async def test_parent_proc_environ_is_unreadable(planted_key: str) -> None:
    code = (
        "import os\ndef handler(output):\n"
        "    try:\n        data = open(f'/proc/{os.getppid()}/environ', 'rb').read().decode(errors='replace')\n"
        "    except OSError as exc:\n        data = 'denied: ' + str(exc)\n"
        "    return {'score': 1, 'metadata': {'data': data}}"
    )
    score = await run(code)
    assert planted_key not in score.metadata["data"]
    assert score.metadata["data"].startswith("denied")


@pytest.fixture
def no_sandbox_layers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine with no sandbox at all, as far as the worker can tell."""
    monkeypatch.delenv(isolation.UNSANDBOXED_ENV, raising=False)
    previous = isolation.configure(use_namespaces=False, use_landlock=False, use_seccomp=False)
    yield
    isolation.configure(**vars(previous))


@pytest.mark.usefixtures("no_sandbox_layers")
async def test_without_any_sandbox_code_scorers_refuse_unless_the_user_opts_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = "import os\ndef handler(output):\n    open('ran.txt', 'w').write('x')\n    return 1"
    with pytest.raises(SandboxError, match=f"no sandbox for code scorers.*{isolation.UNSANDBOXED_ENV}=1"):
        await run(code)
    monkeypatch.setenv(isolation.UNSANDBOXED_ENV, "1")
    assert (await run(code)).score == 1.0


async def test_sync_call_outside_a_loop() -> None:
    scorer = CodeScorer("sync", "def handler(output, expected):\n    return 1 if output == expected else 0")
    # run in a thread-less plain call path: the scorer makes its own loop
    import asyncio

    result = await asyncio.to_thread(scorer, output="x", expected="y")
    assert result.score == 0.0


def test_scorers_may_read_only_library_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A `.pth` file (e.g. an editable install) can put a project folder on the import path; that folder
    # may hold the workspace, so only the interpreter's own folders and installed packages are granted.
    from loop_tui.evals import sandbox_worker

    project_src = tmp_path / "project" / "src"
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    project_src.mkdir(parents=True)
    site.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(project_src), str(site), str(tmp_path)])
    granted = sandbox_worker._library_paths(hidden=[])
    assert str(site.resolve()) in granted
    assert str(project_src.resolve()) not in granted and str(tmp_path.resolve()) not in granted
    assert str(site.resolve()) not in sandbox_worker._library_paths(hidden=[str(site / "workspace")])
