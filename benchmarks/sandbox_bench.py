"""Per-call cost of the code-scorer sandbox vs a bare persistent worker (one JSON line each way).

The bare worker is what the sandbox was before each call got its own confined child: a `python -I`
process answering requests in a loop. Both run the same trivial handler on one warm worker; we report
medians over N calls and their ratio. Usage: python benchmarks/sandbox_bench.py [N]
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import time

from loop_tui.evals.sandbox import SandboxLimits, SandboxWorker

HANDLER = "def handler(output, expected):\n    return 1 if output == expected else 0"
BARE = (
    "import json, sys\n"
    "ns = {}\nexec(compile(sys.argv[1], '<scorer>', 'exec'), ns)\n"
    "for line in sys.stdin:\n"
    "    kw = json.loads(line)\n"
    "    sys.stdout.write(json.dumps({'ok': True, 'result': ns['handler'](kw['output'], kw['expected'])}) + '\\n')\n"
    "    sys.stdout.flush()\n"
)
PAYLOAD = {"input": "q", "output": "x", "expected": "x", "metadata": {"k": 1}}


def _cpu_s() -> float:
    """CPU seconds of this process and every reaped descendant (the workers, and their children)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


async def sandboxed(n: int) -> tuple[float, float, float, dict]:
    worker = SandboxWorker(HANDLER, SandboxLimits())
    started = time.perf_counter()
    await worker.start()
    start_s = time.perf_counter() - started
    await worker.call(PAYLOAD)
    times = []
    cpu = _cpu_s()
    for _ in range(n):
        t = time.perf_counter()
        await worker.call(PAYLOAD)
        times.append(time.perf_counter() - t)
    assert worker.proc is not None
    worker.proc.stdin.close()  # the worker exits on EOF; wait for it so its children's CPU is counted
    await worker.proc.wait()
    cpu = _cpu_s() - cpu
    await worker.kill()
    return statistics.median(times), cpu / n, start_s, worker.isolation


async def bare(n: int) -> tuple[float, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", BARE, HANDLER, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    times = []
    cpu = 0.0
    for i in range(n + 1):
        if i == 1:
            cpu = _cpu_s()
        t = time.perf_counter()
        proc.stdin.write((json.dumps(PAYLOAD) + "\n").encode())
        await proc.stdin.drain()
        await proc.stdout.readline()
        if i:
            times.append(time.perf_counter() - t)
    proc.stdin.close()
    await proc.wait()
    return statistics.median(times), (_cpu_s() - cpu) / n


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    per_call, cpu, start_s, layers = await sandboxed(n)
    baseline, baseline_cpu = await bare(n)
    print(f"layers: {json.dumps({k: v for k, v in layers.items() if k != 'problems'})}")
    print(f"worker start: {start_s * 1000:.0f} ms")
    print(f"per call (median of {n}): sandbox {per_call * 1000:.2f} ms, bare worker {baseline * 1000:.2f} ms, "
          f"ratio {per_call / baseline:.0f}x")
    print(f"CPU per call (all processes): sandbox {cpu * 1000:.2f} ms, bare worker {baseline_cpu * 1000:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
