"""``musicapi-mock record`` (a recording proxy) and ``musicapi-mock drift`` (the mock against a recording)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from pathlib import Path

from mockserver.errors import ConfigError


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``record`` and ``drift`` subcommands."""
    record = sub.add_parser(
        "record",
        help="a recording proxy on 127.0.0.1: forward to an upstream, write redacted cassettes",
        description="Forward every request to --upstream and write each exchange to --out as a cassette, "
        "with the API key and every secret-looking value redacted before anything touches the disk. "
        "--max-credits refuses (402, not forwarded) a billable request over the budget, priced as the "
        "contract suite prices requests.",
    )
    record.add_argument("--upstream", required=True, metavar="URL", help="the API to record, e.g. the live one")
    record.add_argument("--out", required=True, metavar="DIR", help="the cassette directory (created)")
    record.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="send the key in this environment variable upstream (clients may then use any key)",
    )
    record.add_argument("--max-credits", type=int, metavar="N", help="credit budget of the recording (default: none)")
    record.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default 8001; 0: any free port)")
    drift = sub.add_parser(
        "drift",
        help="replay a recording against the mock and report where the mock differs",
        description="Replay each recorded sequence (create, then its polls with the clock moved by the "
        "recorded gaps) against a mock and report per operation the differences in status, documented "
        "headers, field presence, types, enum values and array lengths (not ids, URLs or timestamps). "
        "Exit status 1 when anything drifted.",
    )
    drift.add_argument("dir", metavar="DIR", help="a cassette directory (musicapi-mock record --out)")
    drift.add_argument("--mock-url", metavar="URL", help="a mock you started (default: one started here)")
    drift.add_argument("--control-token", metavar="TOKEN", help="the --mock-url mock's --control-token, if any")
    drift.add_argument("--json", metavar="FILE", help="write the report as JSON")
    drift.add_argument("--junit-xml", metavar="FILE", help="write the report as JUnit XML")


def record(args: argparse.Namespace) -> int:
    """Serve the recording proxy until interrupted."""
    import uvicorn

    from mockserver.cassettes.proxy import RecordingProxy

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ConfigError(f"--api-key-env {args.api_key_env}: that environment variable is not set")
    if args.max_credits is not None and args.max_credits < 0:
        raise ConfigError("--max-credits must be 0 or more")
    if not str(args.upstream).startswith(("http://", "https://")):
        raise ConfigError(f"--upstream takes an http(s) URL, not {args.upstream!r}")
    proxy = RecordingProxy(args.upstream, Path(args.out), api_key=api_key, max_credits=args.max_credits)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)  # connections made right after the banner queue instead of being refused
    port = sock.getsockname()[1]
    budget = "none" if args.max_credits is None else f"{args.max_credits} credits"
    print(
        f"musicapi-mock record listening on http://127.0.0.1:{port} -> {args.upstream} "
        f"(cassettes: {args.out}, budget: {budget})",
        flush=True,
    )
    server = uvicorn.Server(uvicorn.Config(proxy, log_level="warning", access_log=False))
    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler it found: this
    # one, so the process ends normally and prints its summary.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    server.run(sockets=[sock])
    print(
        f"musicapi-mock record stopped: {proxy.seq} exchange(s), {proxy.spent} credit(s) spent, "
        f"{proxy.refused} refused over the budget",
        flush=True,
    )
    return 0


def drift(args: argparse.Namespace) -> int:
    """Replay the recording against a mock; print the table, write the reports; 1 on drift."""
    from mockserver.cassettes import drift as drift_run
    from mockserver.cassettes.cassette import read

    exchanges = read(Path(args.dir))
    if not exchanges:
        raise ConfigError(f"{args.dir} holds no recorded exchange")
    if args.mock_url:
        import httpx

        try:
            report = drift_run.run(exchanges, args.mock_url, control_token=args.control_token)
        except httpx.HTTPError as exc:  # unreachable, or its control plane refused (a token?)
            raise ConfigError(f"--mock-url {args.mock_url}: {exc}") from None
    else:
        from mockserver.config import Config
        from mockserver.testing import MockServer

        with MockServer(Config(clock="manual", seed=0)) as mock:
            report = drift_run.run(exchanges, mock.url)
        report.mock = "a mock started by drift (manual clock, defaults)"
    print(report.table())
    if args.json:
        import orjson

        Path(args.json).write_bytes(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2))
    if args.junit_xml:
        Path(args.junit_xml).write_bytes(report.junit())
    sys.stdout.flush()
    return 1 if report.drifted else 0
