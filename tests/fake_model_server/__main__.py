"""`python -m tests.fake_model_server --port N --script FILE.json [--latency-ms 100]`: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from tests.fake_model_server import __doc__ as package_doc
from tests.fake_model_server.server import FakeModelServer


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted: `python -m tests.fake_model_server --port N --script FILE.json`."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_model_server", description=(package_doc or "").split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--script", help="JSON file: a list of reply items or {replies, latency_ms}")
    parser.add_argument("--latency-ms", type=float, default=None, help="fixed delay before every reply")
    args = parser.parse_args(argv)
    replies: list[dict[str, Any]] = []
    latency_ms = 0.0
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            loaded = json.load(fh)
        if isinstance(loaded, dict):
            replies, latency_ms = loaded.get("replies", []), float(loaded.get("latency_ms", 0))
        else:
            replies = loaded
    if args.latency_ms is not None:
        latency_ms = args.latency_ms
    server = FakeModelServer(port=args.port, latency_s=latency_ms / 1000, replies=replies).start()
    print(f"fake model server on {server.url} (OpenAI base {server.openai_base_url}, "
          f"Anthropic base {server.anthropic_base_url}); Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
