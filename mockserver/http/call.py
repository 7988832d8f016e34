"""One request to one operation: its key, its body read once and validated, and the common preamble.

:meth:`Call.begin` is the one preamble every product call runs, in this order: the bearer key, the
gateway checks of the key (signature, expiry, QPS), the error triggers (header, ``Prefer``, fault rules,
magic values in the body's free text), and the body validated against the operation's schema.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from mockserver.catalog import CATALOG, FamilyErrors
from mockserver.engine.accounts import authenticate
from mockserver.engine.context import Context
from mockserver.engine.triggers import Forced, TriggerHeaders, forced_error, raise_forced, raise_gateway
from mockserver.errors import MockError
from mockserver.http.errors import BODY_TIMED_OUT
from mockserver.http.examples import prefer_code
from mockserver.spec import Operation

SCENARIO_HEADER = "x-mock-scenario"
#: A query integer as JSON Schema means it: ASCII digits, an optional minus, nothing else.
_INTEGER = re.compile(r"-?[0-9]{1,10}")


#: The longest bearer key accepted (real keys are a few dozen characters).
MAX_KEY_LENGTH = 1024
#: How deeply a request body may nest (the schemas need a handful of levels; the validator recurses).
MAX_DEPTH = 64


def _depth(value: Any) -> int:
    """How deeply ``value`` nests arrays and objects (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def no_texts(body: Any) -> list[Any]:
    """A body with no free text where magic values could hide."""
    return []


@dataclass(frozen=True, slots=True)
class Begun:
    """What :meth:`Call.begin` established: the key, the validated body and schema, the forced error."""

    api_key: str
    #: The validated body (``{}`` for an operation without one).
    body: Any
    #: The schema (``oneOf`` branch) the body was validated against.
    schema: Mapping[str, Any]
    forced: Forced | None


@dataclass
class Call:
    """One request to one operation, with lazy access to its key and validated body."""

    request: Request
    op: Operation
    ctx: Context
    _data: bytes | None = None
    _json: Any = None
    _parsed: bool = False
    _headers: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The request headers by lower-case name (the first of a repeated one), decoded once per request.

        Starlette's ``Headers`` scans the raw list on every look-up and raises inside ``get`` for a header
        that is absent — most look-ups of a call are of absent ones (``prefer``, ``x-mock-scenario``).
        """
        headers = self._headers
        if headers is None:
            headers = self._headers = header_map(self.request.scope)
        return headers

    @property
    def base_url(self) -> str:
        """The mock's base URL as this client reached it, for the media links it hands out."""
        public = self.ctx.config.public_url
        if public is not None:
            return public
        scope = self.request.scope
        host = self.headers.get("host")
        if host:  # the cheap, common case; Starlette's base_url parses a whole URL per request
            return f"{scope['scheme']}://{host}{scope.get('root_path', '')}"
        return str(self.request.base_url).rstrip("/")

    @property
    def now(self) -> float:
        """The virtual instant."""
        return self.ctx.clock.now()

    def path_param(self, name: str) -> str:
        """A path parameter of the operation."""
        value: str = self.request.path_params[name]
        return value

    def query_int(self, name: str) -> int:
        """An integer query parameter, checked against the operation's declared schema (400 otherwise)."""
        declared = [p for p in self.op.raw.get("parameters", ()) if p.get("name") == name and p.get("in") == "query"]
        schema: Mapping[str, Any] = declared[0]["schema"] if declared else {}
        text = self.request.query_params.get(name)
        if text is None:
            return int(schema.get("default", 0))
        if not _INTEGER.fullmatch(text):
            raise MockError(CATALOG["request.validation"], f"{name}: must be an integer (got {text!r})")
        value = int(text)
        if "minimum" in schema and value < schema["minimum"]:
            raise MockError(
                CATALOG["request.validation"], f"{name}: must be at least {schema['minimum']} (got {value})"
            )
        if "maximum" in schema and value > schema["maximum"]:
            raise MockError(CATALOG["request.validation"], f"{name}: must be at most {schema['maximum']} (got {value})")
        return value

    def trigger_headers(self) -> TriggerHeaders:
        """The headers that force errors, as plain strings."""
        headers = self.headers
        prefer = headers.get("prefer")
        if b"__code=" in self.request.scope.get("query_string", b""):  # Prism's query form of Prefer: code=
            prefer = prefer_code(self.request.query_params) or prefer
        return TriggerHeaders(headers.get(SCENARIO_HEADER), prefer)

    async def begin(
        self,
        errors: FamilyErrors,
        *,
        texts: Callable[[Any], Iterable[Any]] = no_texts,
        billable: bool = True,
    ) -> Begun:
        """The preamble of a product call: key → gateway checks → triggers → validated body.

        On a ``billable`` call a forced error that happens after the debit is left for billing to raise;
        elsewhere every forced error (but a task failure) is raised here.
        """
        ctx = self.ctx
        api_key = self.api_key()
        authenticate(ctx, errors, api_key, ctx.clock.now())
        has_body = self.op.body is not None
        raw = await self.raw_json() if has_body else None
        forced = forced_error(ctx.faults, self.op.operation_id, api_key, self.trigger_headers(), texts(raw))
        (raise_gateway if billable else raise_forced)(forced)
        body, schema = await self.body() if has_body else ({}, {})
        return Begun(api_key, body, schema, forced)

    def api_key(self) -> str:
        """The bearer token; raises 401 when it is missing or malformed."""
        header = self.headers.get("authorization")
        if header is None or not header.strip():
            raise MockError(CATALOG["auth.missing"])
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token or len(token) > MAX_KEY_LENGTH:
            raise MockError(CATALOG["auth.malformed"])
        return token

    async def raw_bytes(self) -> bytes:
        """The request body, read once, refused with 413 past the configured limit."""
        if self._data is not None:
            return self._data
        request = self.request
        limit = self.ctx.config.max_body_bytes
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise MockError(
                CATALOG["request.payload_too_large"], f"Request body too large: {declared} bytes (limit {limit})"
            )
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:  # ASGI's receive() directly: Starlette's stream() is an async generator per request
            message = await request.receive()
            if message["type"] != "http.request":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > limit:
                raise MockError(CATALOG["request.payload_too_large"], f"Request body too large (limit {limit} bytes)")
            chunks.append(chunk)
        waited = request.scope.get("extensions", {}).get(BODY_TIMED_OUT)
        if waited is not None:  # the protocol ended a body that stopped arriving
            raise MockError(CATALOG["request.timeout"], f"Request body stalled: no data for {waited:g} s")
        self._data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._data

    @property
    def received(self) -> bytes | None:
        """The request body, if the handler read it (for the journal)."""
        return self._data

    async def raw_json(self) -> Any:
        """The body parsed as JSON, after the size and content-type checks; not yet validated."""
        if self._parsed:
            return self._json
        data = await self.raw_bytes()
        if not data.strip():
            raise MockError(CATALOG["request.body_required"])
        content_type = self.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
            raise MockError(
                CATALOG["request.unsupported_media_type"],
                f"Content-Type must be application/json (got {content_type or 'none'})",
            )
        try:
            self._json = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise MockError(CATALOG["request.malformed_json"], f"Malformed JSON body: {exc}") from None
        if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _depth(self._json) > MAX_DEPTH:
            raise MockError(CATALOG["request.validation"], f"the body is nested deeper than {MAX_DEPTH} levels")
        self._parsed = True
        return self._json

    async def body(self) -> tuple[Any, Mapping[str, Any]]:
        """The body validated against the operation's schema; returns it and the schema that applied."""
        data = await self.raw_json()
        validator = self.op.body
        if validator is None:
            return data, {}
        if not validator.is_valid(data):
            violations = validator.violations(data)
            texts = dict.fromkeys(str(v) for v in violations[:5])  # one rule's message once, even if two keywords fail
            message = "; ".join(texts) or "request body does not match the schema"
            raise MockError(CATALOG["request.validation"], message)
        return data, validator.select(data)


#: A handler of one operation.
Handler = Callable[[Call], Awaitable[Response]]


def header_map(scope: Mapping[str, Any]) -> dict[str, str]:
    """A scope's headers as a dict by name (ASGI names are lower-case); a repeated header keeps its first value."""
    headers: dict[str, str] = {}
    for name, value in reversed(scope["headers"]):
        headers[name.decode("latin-1")] = value.decode("latin-1")
    return headers


def lenient_key(headers: Mapping[str, str]) -> str | None:
    """The bearer token if there is one, without raising (for the journal and logs)."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def json_or_none(data: bytes) -> Any:
    """``data`` parsed as JSON, or None when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
