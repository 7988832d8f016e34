"""``musicapi-mock record``: a recording proxy on 127.0.0.1 in front of an upstream (the live API).

Every request is priced before it is forwarded, as the contract suite prices it (:mod:`mockserver.pricing`):
with ``--max-credits`` a billable request that does not fit the budget is refused with ``402`` (type
``budget_exceeded``) and never forwarded. Each answered exchange becomes a cassette file, redacted before
it is written (:mod:`mockserver.cassettes.cassette`). With ``--api-key-env VAR`` the proxy sends the key
of that variable upstream (clients may use any key); without it the client's own ``Authorization`` goes
through. Either way no byte of a key reaches the disk.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
import uvicorn

from mockserver.cassettes.cassette import RECORDING_FILE, Body, Exchange, Redactor, write
from mockserver.config import DEFAULT_COSTS
from mockserver.pricing import Pricing, json_body
from mockserver.spec import ApiSpec

#: Request headers not forwarded (the proxy sets its own).
DROPPED_REQUEST_HEADERS = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding"})
DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "date", "server"}
)
#: The largest request body the proxy accepts.
MAX_BODY = 16 * 1024 * 1024


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RecordingProxy:
    """The proxy, an ASGI app. ``upstream`` is a base URL; cassettes go to ``out``. ``api_key`` replaces
    the clients' key upstream; ``secrets`` are scrubbed from the cassettes besides what is seen."""

    def __init__(
        self,
        upstream: str,
        out: Path,
        *,
        api_key: str | None = None,
        max_credits: int | None = None,
        spec: ApiSpec | None = None,
        timeout: float = 120.0,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.out = out
        self.api_key = api_key
        self.limit = max_credits
        self.pricing = Pricing(spec or ApiSpec.load(), DEFAULT_COSTS)
        self.redactor = Redactor()
        for secret in (api_key, *secrets):
            if secret:
                self.redactor.remember(secret)
        self.timeout = timeout
        self.seq = 0
        self.spent = 0
        self.reserved = 0
        self.refused = 0
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC).isoformat()
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        out.mkdir(parents=True, exist_ok=True)
        self._write_summary()

    def _write_summary(self) -> None:
        summary = {
            "upstream": _without_userinfo(self.upstream),
            "started_at": self.started_at,
            "max_credits": self.limit,
            "spent": self.spent,
            "refused": self.refused,
            "exchanges": self.seq,
        }
        (self.out / RECORDING_FILE).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        """Forward one request and record it (lifespan: close the upstream client at shutdown)."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body, too_big = b"", False
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                too_big = True
            if not message.get("more_body", False) or message["type"] == "http.disconnect":
                break
        if too_big:
            await _answer(send, 413, {"type": "payload_too_large", "message": f"bodies over {MAX_BODY} bytes"})
            return
        await self.forward(scope, body, send)

    async def aclose(self) -> None:
        """Close the upstream client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def forward(self, scope: Mapping[str, Any], body: bytes, send: Any) -> None:
        """Price, forward, record, answer."""
        method, path = str(scope["method"]), str(scope["path"])
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        price = self.pricing.price(method, path, json_body(body, content_type))
        async with self._lock:
            if self.limit is not None and price and self.spent + self.reserved + price > self.limit:
                self.refused += 1
                self._write_summary()
                left = self.limit - self.spent - self.reserved
                await _answer(
                    send,
                    402,
                    {
                        "type": "budget_exceeded",
                        "error_id": "record.budget_exceeded",
                        "message": f"{method} {path} may cost {price} credits; the recording budget "
                        f"(--max-credits {self.limit}) has {left} left. The request was not forwarded.",
                    },
                )
                return
            self.reserved += price
        outgoing = [(k, v) for k, v in headers if k.lower() not in DROPPED_REQUEST_HEADERS]
        if self.api_key:
            outgoing = [(k, v) for k, v in outgoing if k.lower() != "authorization"]
            outgoing.append(("authorization", f"Bearer {self.api_key}"))
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        url = self.upstream + path + (f"?{query}" if query else "")
        at = time.monotonic() - self.started
        try:
            response = await self._client.request(method, url, headers=outgoing, content=body)
        except httpx.HTTPError as exc:
            async with self._lock:
                self.reserved -= price
            await _answer(send, 502, {"type": "bad_gateway", "message": f"upstream {self.upstream}: {exc}"})
            return
        elapsed = time.monotonic() - self.started - at
        async with self._lock:
            self.reserved -= price
            if 200 <= response.status_code < 300:
                self.spent += price
            self.seq += 1
            priced = self.pricing.find(method, path)
            exchange = Exchange(
                seq=self.seq,
                at=round(at, 4),
                elapsed=round(elapsed, 4),
                method=method,
                path=path,
                query=query,
                operation=priced.operation.operation_id if priced is not None else None,
                request_headers=self.redactor.headers(headers),
                request_body=self.redactor.body(Body.of(body, content_type)),
                status=response.status_code,
                response_headers=self.redactor.headers(response.headers.multi_items()),
                response_body=self.redactor.body(Body.of(response.content, response.headers.get("content-type"))),
            )
            write(self.out, exchange, self.redactor)
            self._write_summary()
        out_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in DROPPED_RESPONSE_HEADERS
        ]
        out_headers.append((b"content-length", str(len(response.content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
        await send({"type": "http.response.body", "body": response.content})


async def _answer(send: Any, status: int, body: Mapping[str, Any]) -> None:
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class ProxyServer:
    """An ASGI app (a :class:`RecordingProxy`) served by uvicorn on 127.0.0.1 in a daemon thread (the
    contract suite's ``--record``, tests). ``with ProxyServer(proxy) as server: server.url``."""

    def __init__(self, proxy: Any, port: int = 0) -> None:
        self.proxy = proxy
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ProxyServer:
        """Bind and serve until :meth:`stop`."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.proxy, log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the recording proxy did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
