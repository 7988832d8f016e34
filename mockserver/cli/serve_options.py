"""``musicapi-mock serve``'s options (each with an environment fallback) and the :class:`Config` they make."""

from __future__ import annotations

import argparse
import os
import urllib.parse
from collections.abc import Callable, Mapping

from mockserver.config import (
    CLOCK_MODES,
    DEFAULT_COSTS,
    ENV_PREFIX,
    ERROR_FIELDS,
    Config,
    ConfigError,
    NuroMode,
    env_default,
    parse_clock,
    parse_costs,
)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _opt_int(text: str) -> int | None:
    return None if not text.strip() else _int(text)


def _opt_float(text: str) -> float | None:
    try:
        return None if not text.strip() else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _positive_float(text: str) -> float | None:
    value = _opt_float(text)
    if value is not None and not 0 < value < 1e12:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def _public_url(text: str) -> str | None:
    if not text.strip():
        return None
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"not an http(s) base URL without query or fragment: {text!r}")
    return text.strip().rstrip("/")


def _error_fields(text: str) -> tuple[str, ...]:
    fields = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = sorted(set(fields) - set(ERROR_FIELDS))
    if unknown or "message" not in fields:
        raise ConfigError(
            f"--error-fields takes a comma-separated subset of {','.join(ERROR_FIELDS)} including message, not {text!r}"
        )
    return fields


def check_environment(parser: argparse.ArgumentParser, env: Mapping[str, str] | None = None) -> str | None:
    """The first ``MUSICAPI_MOCK_*`` value the ``serve`` options cannot use, as one line; None if all are fine.

    Each variable is held to its flag: the same type, the same choices, the same parsing.
    """
    source = os.environ if env is None else env
    checks: dict[str, Callable[[str], object]] = {
        "clock": parse_clock,
        "nuro": NuroMode.parse,
        "cost": lambda v: parse_costs([v]),
        "error_fields": _error_fields,
        "workers": lambda v: _workers(_int(v)),
    }
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "log_level_help"):
            continue
        name = ENV_PREFIX + action.dest.upper()
        raw = source.get(name)
        if raw is None:
            continue
        values = (
            [v for v in (p.strip() for p in raw.split(",")) if v]
            if action.nargs is None and isinstance(action, argparse._AppendAction)
            else [raw]
        )
        for value in values:
            try:
                convert: Callable[[str], object] | None = action.type if callable(action.type) else None
                converted = convert(value) if convert is not None else value
                if action.dest in checks:
                    checks[action.dest](value)
            except (argparse.ArgumentTypeError, ValueError) as exc:
                return f"{name}={raw!r}: {exc}"
            if action.choices is not None and converted not in action.choices:
                allowed = ", ".join(str(c) for c in action.choices)
                return f"{name}={raw!r}: must be one of {allowed}"
    return None


def _env_list(name: str) -> list[str]:
    return [part for part in env_default(name, "").split(",") if part.strip()]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        help="start the mock server",
        description="Start the mock server. Every option falls back to an environment variable.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument(
        "--host", default=env_default("host", "127.0.0.1"), help="interface to bind [env MUSICAPI_MOCK_HOST]"
    )
    serve.add_argument(
        "--port",
        type=_int,
        default=env_default("port", "8000"),
        help="port to bind; 0 picks a free port and prints it [env MUSICAPI_MOCK_PORT]",
    )
    serve.add_argument(
        "--clock",
        choices=CLOCK_MODES,
        default=env_default("clock", "fast"),
        help="instant: tasks finish at once; fast: a few seconds; realistic: as documented "
        "(30-60 s for Nuro); manual: time moves only via POST /_mock/clock/advance "
        "[env MUSICAPI_MOCK_CLOCK]",
    )
    serve.add_argument(
        "--nuro",
        default=env_default("nuro", "gone"),
        help="gone: 410 Gone (as the live service); legacy: the documented Nuro behaviour; "
        "an ISO-8601 instant: legacy until then on the virtual clock, 410 after "
        "[env MUSICAPI_MOCK_NURO]",
    )
    serve.add_argument(
        "--seed",
        type=_int,
        default=env_default("seed", "0"),
        help="seed for ids, durations and audio [env MUSICAPI_MOCK_SEED]",
    )
    serve.add_argument(
        "--scenario",
        action="append",
        default=_env_list("scenario"),
        metavar="FILE",
        help="scenario file (YAML: keys and fault rules), applied at start and on every reset; "
        "repeatable [env MUSICAPI_MOCK_SCENARIO, comma-separated]",
    )
    serve.add_argument(
        "--initial-credits",
        type=_int,
        default=env_default("initial_credits", "1000"),
        help="credits of a key seen for the first time [env MUSICAPI_MOCK_INITIAL_CREDITS]",
    )
    serve.add_argument(
        "--initial-extra-credits",
        type=_int,
        default=env_default("initial_extra_credits", "0"),
        help="extra credits of a key seen for the first time [env MUSICAPI_MOCK_INITIAL_EXTRA_CREDITS]",
    )
    serve.add_argument(
        "--cost",
        action="append",
        default=_env_list("cost"),
        metavar="OPERATION=CREDITS",
        help=f"credits per call of an operation, repeatable (defaults: "
        f"{', '.join(f'{k}={v}' for k, v in DEFAULT_COSTS.items())}) [env MUSICAPI_MOCK_COST]",
    )
    serve.add_argument(
        "--default-qps",
        type=_opt_float,
        default=env_default("default_qps", ""),
        help="requests per second allowed to a new key (default unlimited; the docs mention "
        "1 request per 3 s, i.e. 0.34) [env MUSICAPI_MOCK_DEFAULT_QPS]",
    )
    serve.add_argument(
        "--default-queue-capacity",
        type=_opt_int,
        default=env_default("default_queue_capacity", ""),
        help="unfinished tasks a new key may have at once (default unlimited) "
        "[env MUSICAPI_MOCK_DEFAULT_QUEUE_CAPACITY]",
    )
    serve.add_argument(
        "--journal-size",
        type=_int,
        default=env_default("journal_size", "10000"),
        help="API requests kept in the journal (GET /_mock/requests); 0 turns it off [env MUSICAPI_MOCK_JOURNAL_SIZE]",
    )
    serve.add_argument(
        "--journal-body-bytes",
        type=_int,
        default=env_default("journal_body_bytes", "8192"),
        help="bytes of each request and response body the journal keeps (0: none) "
        "[env MUSICAPI_MOCK_JOURNAL_BODY_BYTES]",
    )
    serve.add_argument(
        "--journal-bytes",
        type=_int,
        default=env_default("journal_bytes", str(16 << 20)),
        help="bytes of bodies and headers the whole journal keeps, oldest entries dropped first "
        "(default 16 MiB) [env MUSICAPI_MOCK_JOURNAL_BYTES]",
    )
    serve.add_argument(
        "--webhook-allow",
        action="append",
        default=_env_list("webhook_allow"),
        metavar="HOST",
        help="a host webhooks may be sent to besides loopback addresses; repeatable "
        "[env MUSICAPI_MOCK_WEBHOOK_ALLOW, comma-separated]",
    )
    serve.add_argument(
        "--sonic-not-ready-status",
        type=_int,
        choices=[200, 202],
        default=env_default("sonic_not_ready_status", "200"),
        help="HTTP status of Sonic's not-ready poll body (unconfirmed: 200 or 202) "
        "[env MUSICAPI_MOCK_SONIC_NOT_READY_STATUS]",
    )
    serve.add_argument(
        "--sonic-task-not-found-status",
        type=_int,
        choices=[400, 404],
        default=env_default("sonic_task_not_found_status", "400"),
        help='HTTP status of an unknown Sonic task id: 400 "task not found." (documented) or 404 '
        "[env MUSICAPI_MOCK_SONIC_TASK_NOT_FOUND_STATUS]",
    )
    serve.add_argument(
        "--producer-not-ready-status",
        type=_opt_int,
        choices=[None, 200, 202],
        default=env_default("producer_not_ready_status", ""),
        help="answer Producer polls of unfinished tasks with the older not_ready body and this HTTP status "
        "(202 in the older docs); default: 200 with status PENDING/RUNNING "
        "[env MUSICAPI_MOCK_PRODUCER_NOT_READY_STATUS]",
    )
    serve.add_argument(
        "--control-token",
        default=env_default("control_token", "") or None,
        help="a bearer token the control plane (/_mock/*) requires; without it, a non-loopback --host opens the "
        "control plane to loopback clients only [env MUSICAPI_MOCK_CONTROL_TOKEN]",
    )
    serve.add_argument(
        "--retain-seconds",
        type=_positive_float,
        default=env_default("retain_seconds", ""),
        help="tasks older than this (virtual seconds) read as not found, as a real service forgets them; "
        "default: kept [env MUSICAPI_MOCK_RETAIN_SECONDS]",
    )
    serve.add_argument(
        "--read-timeout",
        type=_positive_float,
        default=env_default("read_timeout", "10"),
        help="seconds a client may take to send a request's headers, or pause its body, before the mock "
        "answers 408 and closes the connection; default: 10 [env MUSICAPI_MOCK_READ_TIMEOUT]",
    )
    serve.add_argument(
        "--public-url",
        type=_public_url,
        default=env_default("public_url", ""),
        help="the base URL media links are built from, e.g. https://mock.example.test behind a proxy; "
        "default: the Host each client used [env MUSICAPI_MOCK_PUBLIC_URL]",
    )
    serve.add_argument(
        "--error-fields",
        default=env_default("error_fields", "code,message,error,detail,type"),
        help="fields of Sonic/Producer/account error bodies (their shape is unconfirmed) "
        "[env MUSICAPI_MOCK_ERROR_FIELDS]",
    )
    serve.add_argument(
        "--log-requests",
        choices=["off", "text", "json"],
        default=env_default("log_requests", "text"),
        help="one line per request on stdout, as text or JSON lines; off for speed [env MUSICAPI_MOCK_LOG_REQUESTS]",
    )
    serve.add_argument(
        "--log-tasks",
        choices=["off", "text", "json"],
        default=env_default("log_tasks", "") or None,
        help="one line when a task is created, starts running, succeeds, fails or is refunded, as text or JSON; "
        "default: as --log-requests [env MUSICAPI_MOCK_LOG_TASKS]",
    )
    serve.add_argument(
        "--state",
        metavar="FILE",
        default=env_default("state", "") or None,
        help="keep the whole state (tasks, keys, ledger, clock, fault rules, webhooks, journal) "
        "in this SQLite file: it survives restarts and is shared by --workers; or in a PostgreSQL "
        "database (postgresql://USER@HOST:PORT/DB, the postgres extra) shared by a fleet of instances; "
        "default: in memory [env MUSICAPI_MOCK_STATE]",
    )
    serve.add_argument(
        "--workers",
        type=_int,
        default=env_default("workers", "1"),
        help="worker processes; more than one shares a --state file (a temporary one, "
        "deleted on exit, when none is given) [env MUSICAPI_MOCK_WORKERS]",
    )
    serve.add_argument(
        "--replay",
        metavar="DIR",
        default=env_default("replay", "") or None,
        help="answer the requests recorded in this cassette directory (musicapi-mock record) with their "
        "recorded answers, in order; everything else as the mock [env MUSICAPI_MOCK_REPLAY]",
    )
    from mockserver.http.sabotage import FAULTS

    serve.add_argument(
        "--fault",
        action="append",
        default=_env_list("fault"),
        choices=sorted(FAULTS),
        metavar="NAME",
        help="a deliberate fault, to prove the contract suite catches it (never in normal use); "
        "repeatable: "
        + "; ".join(f"{f.name}: {f.description}" for f in FAULTS.values())
        + " [env MUSICAPI_MOCK_FAULT, comma-separated]",
    )
    serve.add_argument(
        "--log-level",
        default=env_default("log_level", "warning"),
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level [env MUSICAPI_MOCK_LOG_LEVEL]",
    )


def config_from_args(args: argparse.Namespace) -> Config:
    """Turn parsed ``serve`` arguments into a :class:`Config`."""
    return Config(
        host=args.host,
        port=args.port,
        clock=parse_clock(args.clock),
        nuro=NuroMode.parse(args.nuro),
        seed=args.seed,
        initial_credits=args.initial_credits,
        initial_extra_credits=args.initial_extra_credits,
        costs=parse_costs(args.cost),
        default_qps=args.default_qps,
        default_queue_capacity=args.default_queue_capacity,
        journal_size=args.journal_size,
        journal_body_bytes=args.journal_body_bytes,
        journal_bytes=args.journal_bytes,
        scenarios=tuple(args.scenario),
        webhook_allow=tuple(args.webhook_allow),
        sonic_not_ready_status=args.sonic_not_ready_status,
        producer_not_ready_status=args.producer_not_ready_status,
        sonic_task_not_found_status=args.sonic_task_not_found_status,
        control_token=args.control_token,
        retain_seconds=args.retain_seconds,
        public_url=args.public_url,
        read_timeout=args.read_timeout,
        error_fields=_error_fields(args.error_fields),
        request_log=args.log_requests,
        task_log=args.log_tasks,
        state=args.state,
        workers=_workers(args.workers),
        sabotage=tuple(args.fault),
        replay=args.replay,
    )


def _workers(count: int) -> int:
    if count < 1:
        raise ConfigError(f"--workers takes a whole number of at least 1, not {count}")
    return count
