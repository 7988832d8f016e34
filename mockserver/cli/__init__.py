"""The ``musicapi-mock`` command line: ``serve``, ``contract``, ``record``, ``drift``, ``migrate`` and ``errors``.

Start-up cost matters (every test server, every CI step): the heavy imports (uvicorn, the app, pytest)
happen inside the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mockserver import __version__
from mockserver.cli import cassettes, contract, serve
from mockserver.cli.serve import banner, config_from_args
from mockserver.errors import ConfigError

__all__ = ["banner", "build_parser", "config_from_args", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="musicapi-mock",
        description="Offline, stateful mock server and contract-test kit for MusicAPI.",
    )
    parser.add_argument("--version", action="version", version=f"musicapi-mock {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parser(sub)
    migrate = sub.add_parser(
        "migrate",
        help="map a Nuro request body (JSON file, or - for stdin) to Sonic or Producer",
        description="Print the Sonic (vocal) or Producer (bgm) request equivalent to a Nuro create body, "
        "and what has no equivalent.",
    )
    migrate.add_argument("file", help="a JSON file with a Nuro create body, or - for standard input")
    sub.add_parser(
        "errors",
        help="print the error catalog as Markdown (ERRORS.md)",
        description="Print the error catalog, its triggers and the magic keys as Markdown.",
    )
    contract.add_parser(sub)
    cassettes.add_parsers(sub)
    return parser


def _migrate(path: str) -> int:
    import json

    from mockserver.migrate import migrate

    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
        result = migrate(json.loads(text))
    except (OSError, ValueError) as exc:
        print(f"musicapi-mock migrate: {exc}", file=sys.stderr)
        return 2
    print(f"{result.method} {result.path}")
    print(json.dumps(result.body, indent=2, ensure_ascii=False))
    for note in result.approximated:
        print(f"approximated: {note}", file=sys.stderr)
    for note in result.dropped:
        print(f"no equivalent: {note}", file=sys.stderr)
    return 0


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    raise KeyError(name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["serve"]:  # the serve options fall back to variables: a bad one is named, never a traceback
        problem = serve.check_environment(_subparser(parser, "serve"))
        if problem is not None:
            parser.error(problem)
    args = parser.parse_args(words)
    try:
        if args.command == "serve":
            serve.serve(serve.config_from_args(args), args.log_level)
        elif args.command == "migrate":
            return _migrate(args.file)
        elif args.command == "contract":
            return contract.run(args)
        elif args.command == "record":
            return cassettes.record(args)
        elif args.command == "drift":
            return cassettes.drift(args)
        elif args.command == "errors":
            from mockserver.docs import errors_markdown

            sys.stdout.write(errors_markdown())
    except ConfigError as exc:
        parser.error(str(exc))
    except OSError as exc:
        print(f"musicapi-mock: {exc}", file=sys.stderr)
        return 1
    return 0
