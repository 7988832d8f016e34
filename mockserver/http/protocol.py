"""The HTTP/1.1 protocol the mock serves with: uvicorn's httptools one, guarded against slow and huge requests.

uvicorn alone waits forever for a request's headers or body and buffers headers of any size, so stalled
connections pile up until the process runs out of file descriptors (the audit's D11), and at shutdown it
closes idle keep-alive connections under a request the client just wrote (D14). This subclass adds:

* read deadlines: a new connection must start a request within ``timeout_keep_alive`` seconds, send its
  request line and headers within ``read_timeout`` seconds (:data:`READ_TIMEOUT` unless configured), and
  never pause a body for longer than that;
* size limits while reading, before the parser collects it all: a request target of at most
  :data:`MAX_URL_BYTES` (414) and a head of at most :data:`MAX_HEAD_BYTES` raw bytes (431; the app's own
  rule, :data:`~mockserver.http.endpoint.MAX_HEADER_BYTES` of names and values, applies below it);
* a connection cap below the file-descriptor limit: at the cap a new connection evicts the connection that
  has been idle or stalled in its headers longest, so stalled clients cannot lock out working ones;
* a draining shutdown: an idle keep-alive connection stays open :data:`DRAIN_LINGER` seconds, and a
  request arriving meanwhile is answered (``Connection: close``) instead of being cut off.

Refusals are answered by the app itself, in the family's error format (the path selects it): the protocol
starts a request whose scope carries :data:`REFUSAL` and the app's refusal middleware renders it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import urllib.parse
from asyncio import TimerHandle
from typing import Any, Literal

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from mockserver.http.endpoint import MAX_HEADER_BYTES
from mockserver.http.errors import BODY_TIMED_OUT, REFUSAL

#: Seconds from a request's first byte to the end of its headers, and a body's longest pause (the default).
READ_TIMEOUT = 10.0
#: Bytes of a request target (path and query).
MAX_URL_BYTES = 16 * 1024
#: Raw bytes of a request head (request line, headers, separators) read before it is refused unseen.
MAX_HEAD_BYTES = MAX_URL_BYTES + MAX_HEADER_BYTES + 16 * 1024
#: Seconds an idle keep-alive connection stays open once shutdown begins.
DRAIN_LINGER = 2.0
#: Seconds between two looks at the connections' read deadlines (at most; a quarter of a shorter timeout).
SWEEP = 1.0
#: Seconds a refused connection reads (and drops) what its client still sends, so the answer is not lost.
LINGER = 2.0
#: File descriptors kept out of the connection cap (state files, webhook sockets, logs).
FD_RESERVE = 64

log = logging.getLogger("musicapi_mock")
Phase = Literal["idle", "head", "body", "busy"]


@functools.cache
def connection_cap() -> int:
    """Connections served at once: the file-descriptor limit less :data:`FD_RESERVE` (at least 16)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, soft - FD_RESERVE) if soft != resource.RLIM_INFINITY else 65536


class GuardedConfig(uvicorn.Config):
    """uvicorn's configuration, serving with :class:`GuardedHttpProtocol` and its ``read_timeout``."""

    def __init__(self, app: Any, *, read_timeout: float = READ_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(app, http=GuardedHttpProtocol, **kwargs)
        self.read_timeout = read_timeout


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with read deadlines, size limits, a connection cap and a draining shutdown.

    Deadlines cost no timer and next to nothing per request (this class overrides two of the parser's
    per-request callbacks, none that reads the clock): one sweep per server, every :data:`SWEEP` seconds
    at most while connections are open, notes which connections are in a request's head or body and
    refuses those that made no progress for ``read_timeout`` seconds.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made_at = 0.0
        #: Bytes received so far (the sweep's measure of progress).
        self.received = 0
        self._head_start = 0
        self._head_scope: object = None
        self._refused = False
        self._draining = False
        #: What the sweep saw last: (phase, marker of progress, since when).
        self.seen: tuple[Phase, int, float] = ("idle", 0, 0.0)
        self.read_timeout: float = getattr(self.config, "read_timeout", READ_TIMEOUT)

    # --- connection ---
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept, evicting the longest-stalled connection at the cap, and arm the wait for a first request."""
        super().connection_made(transport)
        self.made_at = self.loop.time()
        if len(self.connections) > connection_cap():
            self._evict_one()
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
        _Sweeper.of(self).start()

    def _evict_one(self) -> None:
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedHttpProtocol) and c is not self and c.phase() in ("idle", "head")
        ]
        if waiting:
            oldest = min(waiting, key=lambda c: c.made_at)
            log.warning("connection cap (%d) reached: closed the connection stalled longest", connection_cap())
            oldest.transport.close()

    def phase(self) -> Phase:
        """Where the connection is: between requests, in a head, in a body, or waiting for the app's answer."""
        cycle = self.cycle
        if self.scope is not None and (cycle is None or cycle.scope is not self.scope):
            return "head"  # a message began (a new scope) and no request was made of it yet
        if cycle is None or cycle.response_complete:
            return "idle"
        return "body" if cycle.more_body else "busy"

    def data_received(self, data: bytes) -> None:
        """Parse ``data``, refusing a head that grows past the limits before the parser collects it."""
        if self._refused:
            return
        self.received += len(data)
        HttpToolsProtocol.data_received(self, data)  # not super(): this runs for every request
        cycle = self.cycle
        if self._draining and cycle is not None:
            cycle.keep_alive = False  # a request that arrived during shutdown: answered, then closed
        if self.scope is not None and (cycle is None or cycle.scope is not self.scope) and not self._refused:
            # in a head: counted from the chunk it began in
            if self._head_scope is not self.scope:
                self._head_scope, self._head_start = self.scope, self.received - len(data)
            if len(self.url) > MAX_URL_BYTES:
                self._refuse("request.uri_too_long", f"Request target too long (limit {MAX_URL_BYTES} bytes)")
            elif self.received - self._head_start > MAX_HEAD_BYTES:
                self._refuse("request.headers_too_large", f"Request head too large (limit {MAX_HEAD_BYTES} bytes)")

    def shutdown(self) -> None:
        """Graceful shutdown: finish the request in progress; give an idle connection a moment to send one."""
        self._draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        elif self.phase() == "idle":
            self._unset_keepalive_if_required()
            self.timeout_keep_alive_task = self.loop.call_later(DRAIN_LINGER, self.timeout_keep_alive_handler)
        # mid-head: the request is answered, then the connection closed (data_received)

    # --- parser callbacks ---
    def on_headers_complete(self) -> None:
        """The head is in: refuse an overlong target, else the app starts."""
        if self._refused:
            return
        if len(self.url) > MAX_URL_BYTES:
            self._refuse("request.uri_too_long", f"Request target too long (limit {MAX_URL_BYTES} bytes)")
            return
        HttpToolsProtocol.on_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        """Ignore what follows a refusal."""
        if not self._refused:
            HttpToolsProtocol.on_body(self, body)

    def on_message_complete(self) -> None:
        """Ignore what follows a refusal."""
        if not self._refused:
            HttpToolsProtocol.on_message_complete(self)

    def send_400_response(self, msg: str) -> None:
        """A request the parser rejects: answered in the API's format, not uvicorn's plain text."""
        self._refuse("request.invalid_http", "Invalid HTTP request: the request line or a header is malformed")

    # --- deadlines ---
    def check_deadline(self, now: float) -> None:
        """Note the phase and progress; refuse a head or a body that made none for ``read_timeout`` seconds."""
        if self._refused:
            return
        phase, marker = self.phase(), self.received
        seen_phase, seen_marker, since = self.seen
        if phase != seen_phase or marker != seen_marker or phase not in ("head", "body"):
            self.seen = (phase, marker, now)
        elif now - since >= self.read_timeout:
            if phase == "head":
                self._refuse("request.timeout", f"Request headers not received within {self.read_timeout:g} s")
            else:
                self._body_timed_out()

    def _body_timed_out(self) -> None:
        cycle = self.cycle
        if cycle is None or self.transport.is_closing():
            return
        self._refused = True
        if cycle.response_started:
            self.transport.close()
            return
        # the app is waiting for the rest: end the body and let the app's body reader answer 408
        scope: Any = self.scope
        scope.setdefault("extensions", {})[BODY_TIMED_OUT] = self.read_timeout
        cycle.more_body = False
        cycle.keep_alive = False
        cycle.message_event.set()
        self.flow.pause_reading()

    # --- refusals ---
    def _refuse(self, error_id: str, message: str) -> None:
        """Stop reading and have the app answer ``error_id`` (then close), or just close mid-answer."""
        self._refused = True
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        log.info("refused a request: %s", message)
        path = _path_of(self.url if self.phase() == "head" else b"")
        scope: Any = {
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "root_path": self.root_path,
            "method": _method_of(self.parser),
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": b"",
            "headers": [],
            "state": {},
            "extensions": {REFUSAL: (error_id, message)},
        }
        self.cycle = RequestResponseCycle(
            scope=scope,
            transport=_Lingering(self.transport, self.loop),  # type: ignore[arg-type]
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=False,
            on_response=lambda: None,
        )
        self.cycle.more_body = False
        self._start_asgi_task(self.cycle, self.app)


class _Sweeper:
    """Checks the read deadlines of one server's connections, every :data:`SWEEP` seconds while any is open."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set[Any], interval: float) -> None:
        self.loop = loop
        self.connections = connections
        self.interval = interval
        self.handle: TimerHandle | None = None

    @staticmethod
    def of(protocol: GuardedHttpProtocol) -> _Sweeper:
        """The sweeper of ``protocol``'s server (kept on uvicorn's per-server state)."""
        state: Any = protocol.server_state
        sweeper: _Sweeper | None = getattr(state, "musicapi_mock_sweeper", None)
        if sweeper is None:
            sweeper = _Sweeper(protocol.loop, protocol.connections, min(SWEEP, protocol.read_timeout / 4))
            state.musicapi_mock_sweeper = sweeper
        return sweeper

    def start(self) -> None:
        """Sweep from now on, if not already."""
        if self.handle is None:
            self.handle = self.loop.call_later(self.interval, self.sweep)

    def sweep(self) -> None:
        """Check every connection; go on while there are any."""
        self.handle = None
        now = self.loop.time()
        for connection in list(self.connections):
            if isinstance(connection, GuardedHttpProtocol):
                connection.check_deadline(now)
        if self.connections:
            self.start()


class _Lingering:
    """A transport whose ``close`` lingers: a refusal's answer must reach a client that is still sending.

    Closed at once with unread input, a socket sends a reset, and the client's kernel may drop the answer
    before it is read. So the write side is shut (FIN after the answer), the rest of the input is read
    and discarded (the refused protocol ignores it), and the socket is closed when the client closes or
    after :data:`LINGER` seconds.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        """Half-close now, close for good after :data:`LINGER` seconds."""
        transport = self._transport
        if transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
            self._loop.call_later(LINGER, transport.close)
        else:
            transport.close()


def _path_of(url: bytes) -> str:
    """The path of a (possibly partial) request target, to pick the error format; ``/`` if none."""
    try:
        raw = httptools.parse_url(url).path or b"/"
    except httptools.HttpParserInvalidURLError:
        raw = url.split(b"?", 1)[0] or b"/"
    path = urllib.parse.unquote(raw.decode("latin-1"))
    return path if path.startswith("/") else "/"


def _method_of(parser: httptools.HttpRequestParser) -> str:
    try:
        return str(parser.get_method().decode("ascii"))
    except (httptools.HttpParserError, UnicodeDecodeError):
        return "GET"
