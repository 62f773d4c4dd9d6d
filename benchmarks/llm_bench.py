"""LLM client benchmark against the fake model server (loopback only).

Two measurements, each printed beside a baseline measured in the same run:

  concurrency  N requests at concurrency C through our provider, the server adding a fixed latency L per
               request. Baseline: the ideal N*L/C. Target ratio <= 1.2 (the eval engine's budget).
  parse        one long streamed reply (many chunks) through our provider (SSE parse + events), against
               raw httpx reading the same stream line by line without parsing. Shows our per-chunk overhead.

The server runs in a subprocess by default so its CPU does not compete with the client for the GIL
(`--in-process` to run it in a thread, as most tests do).

Usage: python benchmarks/llm_bench.py [--requests 200] [--concurrency 20] [--latency-ms 100]
       [--chunks 5000] [--provider openai|anthropic|both] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from loop_tui.llm.base import Done, TextDelta  # noqa: E402
from tests.fake_model_server import FakeModelServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-20241022"}
CHAT = [{"role": "user", "content": "Summarise the experiment in two sentences."}]


class SubprocessServer:
    """The fake server as `python -m tests.fake_model_server`, scripted over its admin routes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.openai_base_url = f"{url}/v1"

    def script(self, items: list[dict[str, Any]]) -> None:
        httpx.post(f"{self.url}/_fake/script", json=items).raise_for_status()

    def provider(self, kind: str) -> Any:
        from loop_tui.llm.anthropic import AnthropicProvider
        from loop_tui.llm.openai_compat import OpenAICompatProvider

        if kind == "anthropic":
            return AnthropicProvider(base_url=self.url, api_key_env=None)
        return OpenAICompatProvider(base_url=self.openai_base_url, api_key_env=None)


@contextlib.contextmanager
def fake_server(latency_ms: float, in_process: bool) -> Iterator[Any]:
    """A running fake server (thread or subprocess) with a fixed latency per request."""
    if in_process:
        with FakeModelServer(latency_s=latency_ms / 1000) as server:
            yield server
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_model_server", "--port", "0", "--latency-ms", str(latency_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        banner = proc.stdout.readline()
        yield SubprocessServer(banner.split(" on ", 1)[1].split(" ", 1)[0])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def concurrency_run(server: Any, kind: str, requests: int, concurrency: int) -> float:
    """Seconds to finish `requests` streamed replies with at most `concurrency` in flight."""
    provider = server.provider(kind)
    limit = asyncio.Semaphore(concurrency)
    server.script([{"text": "The candidate improved Factuality by 4 points. " * 3, "chunk_size": 6}] * requests)

    async def one() -> None:
        async with limit:
            async for event in provider.stream(CHAT, None, MODEL[kind]):
                if isinstance(event, Done):
                    return
            raise RuntimeError("stream ended without Done")

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    elapsed = time.perf_counter() - start
    await provider.aclose()
    return elapsed


async def parse_run(server: Any, kind: str, chunks: int) -> tuple[float, float]:
    """(our provider seconds, raw httpx line-reading seconds) for one reply of `chunks` text pieces."""
    item = {"text": "tok " * chunks, "chunk_size": 4}
    server.script([item])
    provider = server.provider(kind)
    start = time.perf_counter()
    count = 0
    async for event in provider.stream(CHAT, None, MODEL[kind]):
        count += isinstance(event, TextDelta)
    ours = time.perf_counter() - start
    await provider.aclose()
    assert count == chunks, count

    server.script([item])
    url = f"{server.openai_base_url}/chat/completions" if kind == "openai" else f"{server.url}/v1/messages"
    body = {"model": MODEL[kind], "messages": CHAT, "stream": True, "max_tokens": 10}
    start = time.perf_counter()
    async with httpx.AsyncClient() as client, client.stream("POST", url, json=body) as resp:
        async for _line in resp.aiter_lines():
            pass
    raw = time.perf_counter() - start
    return ours, raw


async def main_async(args: argparse.Namespace) -> None:
    kinds = ["openai", "anthropic"] if args.provider == "both" else [args.provider]
    ideal = args.requests * args.latency_ms / 1000 / args.concurrency
    for kind in kinds:
        with fake_server(args.latency_ms, args.in_process) as server:
            await concurrency_run(server, kind, args.concurrency, args.concurrency)  # warm-up
            elapsed = await concurrency_run(server, kind, args.requests, args.concurrency)
        print(f"{kind:9} concurrency: {args.requests} requests x {args.latency_ms:g} ms / {args.concurrency}: "
              f"{elapsed:.3f}s vs ideal {ideal:.3f}s -> ratio {elapsed / ideal:.2f} (target <= 1.2)")
        with fake_server(0, args.in_process) as server:
            await parse_run(server, kind, 100)  # warm-up
            ours, raw = await parse_run(server, kind, args.chunks)
        print(f"{kind:9} parse: {args.chunks} chunks in {ours:.3f}s ({args.chunks / ours:,.0f} chunks/s) vs raw "
              f"httpx lines {raw:.3f}s -> ratio {ours / raw:.2f}")


def main() -> None:
    """Parse arguments and run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--provider", choices=["openai", "anthropic", "both"], default="both")
    parser.add_argument("--in-process", action="store_true", help="run the fake server in a thread")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
