"""`loop-tui serve --otlp [HOST:]PORT [--project P]`: receive OpenTelemetry traces into project logs."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `serve` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="receive OpenTelemetry traces (OTLP/HTTP) into a project's logs",
        description="Receive OTLP/HTTP trace exports (POST /v1/traces, protobuf or JSON, gzip) and append each "
        "span to a project's logs. Point an app at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318.",
    )
    parser.add_argument("--otlp", metavar="[HOST:]PORT", nargs="?", const="", default="",
                        help="where to listen (default 127.0.0.1:4318)")
    parser.add_argument("--project", metavar="NAME",
                        help="project for every span (default: each span's service.name resource attribute)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM, then write everything accepted and say how much."""
    from loop_tui.interop.otlp_server import OtlpReceiver, parse_address
    from loop_tui.interop.otlp_writer import SpanWriter
    from loop_tui.store import open_workspace

    host, port = parse_address(args.otlp)
    ws = open_workspace(args.workspace)
    writer = SpanWriter(ws)
    receiver = OtlpReceiver(writer, host, port, args.project)
    target = f"project {args.project!r}" if args.project else "the project named by each span's service.name"
    print(f"receiving OpenTelemetry traces at {receiver.endpoint}/v1/traces into {target} "
          f"(workspace {ws.root}); Ctrl+C to stop", flush=True)
    receiver.serve_forever()
    stats = writer.stats
    print(f"stopped: stored {stats.written:,} of {stats.accepted:,} spans received in {stats.writes:,} writes",
          flush=True)
    if stats.written != stats.accepted:
        sys.stderr.write(f"loop-tui: {stats.accepted - stats.written:,} accepted spans could not be written\n")
        return 1
    return 0
