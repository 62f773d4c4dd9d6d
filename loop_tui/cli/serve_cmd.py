"""`loop-tui serve --otlp [HOST:]PORT [--project P]`: receive OpenTelemetry traces into project logs."""

from __future__ import annotations

import argparse
import gc
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
    parser.add_argument("--buffer", metavar="SPANS", type=int, default=50_000,
                        help="spans that may wait for the writer; past it exporters are told to retry (429)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM, then write everything accepted and say how much."""
    from loop_tui.errors import UserError
    from loop_tui.interop.otlp_server import OtlpReceiver, parse_address
    from loop_tui.interop.otlp_writer import SpanWriter
    from loop_tui.store import open_workspace

    host, port = parse_address(args.otlp)
    if args.buffer < 1:
        raise UserError(f"--buffer must be at least 1 span, got {args.buffer}")
    ws = open_workspace(args.workspace)
    writer = SpanWriter(ws, max_pending_spans=args.buffer)
    receiver = OtlpReceiver(writer, host, port, args.project)
    receiver.warm_up()  # before saying it is ready: the first export is not kept waiting on imports
    # What startup loaded (~50,000 modules, classes, functions) lives as long as the process: freeze it out
    # of the collector, whose full passes otherwise walked all of it while exporters waited.
    gc.freeze()
    target = f"project {args.project!r}" if args.project else "the project named by each span's service.name"
    print(f"receiving OpenTelemetry traces at {receiver.endpoint}/v1/traces into {target} "
          f"(workspace {ws.root}); Ctrl+C to stop", flush=True)
    receiver.serve_forever()
    stats = writer.stats
    busy = "".join([
        f"; {stats.waited_requests:,} requests waited for the writer" if stats.waited_requests else "",
        f"; {stats.refused_requests:,} told to retry later (429)" if stats.refused_requests else "",
    ])
    print(f"stopped: stored {stats.written:,} of {stats.accepted:,} spans received in {stats.writes:,} writes{busy}; "
          f"at most {stats.peak_backlog:,} spans waited to be written", flush=True)
    if stats.written != stats.accepted:
        sys.stderr.write(f"loop-tui: {stats.accepted - stats.written:,} accepted spans could not be written\n")
        return 1
    return 0
