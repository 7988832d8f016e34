"""``musicapi-mock serve``: the banner, one or N workers (its options: :mod:`mockserver.cli.serve_options`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mockserver.cli.serve_options import add_parser, check_environment, config_from_args
from mockserver.config import Config

__all__ = ["GRACEFUL_SECONDS", "add_parser", "banner", "check_environment", "config_from_args", "serve"]

if TYPE_CHECKING:
    from starlette.applications import Starlette


#: Seconds a shutdown waits for requests in progress before it answers them 503.
GRACEFUL_SECONDS = 5


def serve(config: Config, log_level: str = "warning") -> None:
    """Run the server until interrupted, printing the URL it listens on."""
    from mockserver.app import create_app

    with _state_for_workers(config) as config:
        if config.workers == 1:
            _serve(config, create_app(config), log_level)
        else:
            _prepare_state(config)
            _serve(config, None, log_level)


def _serve(config: Config, app: Starlette | None, log_level: str) -> None:
    """Bind, print the banner and serve: ``app`` in this process, or ``config.workers`` worker processes."""
    import uvicorn

    from mockserver.http.protocol import GuardedConfig

    _raise_fd_limit()

    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(2048)  # connections made right after the banner queue instead of being refused
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    base = f"http://{host}:{port}"
    say = _speaker(config)
    say(f"musicapi-mock listening on {base}", url=base)
    for line in banner(config, base).splitlines():
        say(line)
    if config.state:
        say(f"  state:          {config.state} (SQLite)   workers: {config.workers}")
    if app is None:
        _run_workers(config, sock, log_level)
        say("musicapi-mock stopped")
        return
    server = uvicorn.Server(
        GuardedConfig(
            app,
            read_timeout=config.read_timeout,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM (stop accepting, finish requests in flight), then
    # re-raises the signal to the handler it found: ours, so the process ends normally and says so.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    server.run(sockets=[sock])
    app.state.mock.close()  # a state file's last buffered journal records
    say("musicapi-mock stopped")


def _speaker(config: Config) -> Callable[..., None]:
    """How the server prints its own lines: as text, or (``--log-requests json``) as JSON lines too."""
    if config.request_log != "json":

        def say_text(text: str, **fields: str) -> None:
            print(text, flush=True)

        return say_text
    import orjson

    def say_json(text: str, **fields: str) -> None:
        print(orjson.dumps({"log": "server", "message": text.strip(), **fields}).decode(), flush=True)

    return say_json


def _raise_fd_limit() -> None:
    """Open files up to the hard limit: the connection cap is the limit less a reserve (workers inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextmanager
def _state_for_workers(config: Config) -> Iterator[Config]:
    """``config``, with a temporary state file (removed afterwards) when several workers have none."""
    if config.workers == 1 or config.state:
        yield config
        return
    directory = tempfile.mkdtemp(prefix="musicapi-mock-state-")
    try:
        yield config.with_(state=os.path.join(directory, "state.sqlite3"))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _prepare_state(config: Config) -> None:
    """Before the workers start: create or open the state file, apply scenario files to a new one, and
    release deliveries a crashed run left claimed. Configuration errors surface here, once."""
    import time

    from mockserver.mock import Mock

    mock = Mock.build(config, time.time)
    try:
        mock.store.recover()
    finally:
        mock.close()


def _run_workers(config: Config, sock: socket.socket, log_level: str) -> None:
    """Serve with ``config.workers`` processes over the shared state file, until SIGINT/SIGTERM.

    Each worker builds its app with :func:`mockserver.app.app_from_env` from the configuration this
    process passes as JSON in :data:`~mockserver.app.WORKER_CONFIG_ENV`; uvicorn's supervisor restarts
    a worker that dies.
    """
    from uvicorn.supervisors import Multiprocess

    from mockserver.app import WORKER_CONFIG_ENV
    from mockserver.http.protocol import GuardedConfig

    os.environ[WORKER_CONFIG_ENV] = config.to_json()
    settings = GuardedConfig(
        "mockserver.app:app_from_env",
        read_timeout=config.read_timeout,
        factory=True,
        workers=config.workers,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )

    class Supervisor(Multiprocess):
        def terminate_all(self) -> None:
            # The parent's copy of the listening socket would keep it open while the workers drain: the
            # kernel would queue new connections nobody accepts, and reset them (ReadError) at exit.
            # Closed first, a client that arrives late is refused at once (ConnectError: never sent).
            for listening in self.sockets:
                listening.close()
            super().terminate_all()

    Supervisor(settings, sockets=[sock]).run()


def _control_access(config: Config) -> str:
    if config.control_token:
        return "needs its token (Authorization: Bearer <--control-token>)"
    if config.host in ("127.0.0.1", "::1", "localhost") or config.host.startswith("127."):
        return "this machine only (loopback bind)"
    return "loopback clients only (a non-loopback bind: set --control-token to open it)"


def banner(config: Config, base: str) -> str:
    """The start-up text after the URL line: modes, where things are, how to force an error."""
    return "\n".join(
        [
            f"  clock: {config.clock}   nuro: {config.nuro.describe()}   seed: {config.seed}",
            f"  API spec:       {base}/openapi.json   (docs: {base}/docs, control plane: {base}/_mock/docs)",
            f"  control plane:  {base}/_mock/   (spec: {base}/_mock/openapi.json)",
            f"  dashboard:      {base}/_mock/ui",
            f"  control access: {_control_access(config)}",
            f"  force an error: curl -H 'Authorization: Bearer sk_test' -H 'X-Mock-Scenario: sonic.rate_limited' "
            f"{base}/api/v1/sonic/task/any",
            f"                  (every error id: {base}/_mock/errors; magic keys, fault rules: README)",
            f"  request log:    {config.request_log}   task log: {config.task_log or config.request_log}"
            "   (--log-requests, --log-tasks: off|text|json)",
            *([f"  replay:         {config.replay} (recorded answers first)"] if config.replay else []),
            *(
                [f"  DELIBERATE FAULTS: {', '.join(config.sabotage)} (this mock breaks its contract on purpose)"]
                if config.sabotage
                else []
            ),
        ]
    )
