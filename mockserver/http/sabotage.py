"""Deliberate faults, for proving that the contract suite (``contracts/``) has teeth.

``musicapi-mock serve --fault NAME`` (repeatable) or ``Config(sabotage=("NAME", ...))`` wraps the app in
:class:`SabotageMiddleware`, a pure ASGI middleware that rewrites product responses (``/api/...``) on their
way out. The mock's own code is untouched, so each fault is isolated and costs nothing when it is off
(the middleware is not even installed). Each fault breaks one promise of the specs or documents, and
``tests/test_contracts.py`` asserts that the contract suite fails on it.

Faults never touch the control plane (``/_mock/``) or media (``/cdn/``): the suite reads the truth there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

from mockserver.engine.context import Context
from mockserver.engine.ledger import debit
from mockserver.engine.records import Entry
from mockserver.engine.settlement import refund
from mockserver.errors import ConfigError

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: ``POST /api/v1/<family>/create``.
CREATE_PATH = re.compile(r"^/api/v1/[^/]+/create$")
#: ``GET /api/v1/<family>/task/<id>``.
TASK_PATH = re.compile(r"^/api/v1/[^/]+/task/[^/]+$")
SONIC_TASK_PATH = re.compile(r"^/api/v1/sonic/task/[^/]+$")
REFUND_FLAGS = ("refund_processed", "already_refunded")


@dataclass
class Exchange:
    """One finished request/response pair a fault may rewrite in place."""

    method: str
    path: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    ctx: Context
    _json: Any = field(default=None, init=False, repr=False)
    _parsed: bool = field(default=False, init=False, repr=False)

    @property
    def content_type(self) -> str:
        """The response's media type, lower-cased, without parameters."""
        for name, value in self.headers:
            if name.lower() == b"content-type":
                return value.decode("latin-1").split(";", 1)[0].strip().lower()
        return ""

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        if not self._parsed:
            self._parsed = True
            if self.content_type == "application/json":
                try:
                    self._json = orjson.loads(self.body)
                except orjson.JSONDecodeError:
                    self._json = None
        return self._json

    def set_json(self, value: Any) -> None:
        """Replace the body with ``value`` serialized as JSON."""
        self._json = value
        self._parsed = True
        self.body = orjson.dumps(value)

    def set_header(self, name: str, value: str) -> None:
        """Replace (or add) one header."""
        key = name.lower().encode("latin-1")
        self.headers = [(k, v) for k, v in self.headers if k.lower() != key] + [(key, value.encode("latin-1"))]

    def is_create(self) -> bool:
        """A successful ``POST /api/v1/<family>/create``."""
        return self.method == "POST" and bool(CREATE_PATH.match(self.path)) and self.status == 200

    def is_task_read(self) -> bool:
        """A successful ``GET /api/v1/<family>/task/<id>`` with a JSON body."""
        return (
            self.method == "GET"
            and bool(TASK_PATH.match(self.path))
            and self.status == 200
            and isinstance(self.json(), dict)
        )


Rewrite = Callable[[Exchange], None]


@dataclass(frozen=True, slots=True)
class Fault:
    """A named deliberate fault: what it breaks, and the rewrite that breaks it."""

    name: str
    description: str
    rewrite: Rewrite


def _progress_backwards(ex: Exchange) -> None:
    body = ex.json()
    if ex.is_task_read() and body.get("status") == "running" and isinstance(body.get("progress"), int):
        body["progress"] = 99 - body["progress"]
        ex.set_json(body)


def _double_refund(ex: Exchange) -> None:
    """Every read of a refunded failed task refunds it again (ledger and balance) and says so."""
    body = ex.json()
    if not ex.is_task_read():
        return
    error = body.get("error")
    if body.get("status") != "failed" or not isinstance(error, dict) or error.get("already_refunded") is not True:
        return
    task = ex.ctx.store.get_task(str(body.get("task_id")))
    refund_entry = ex.ctx.store.refund_of(task.id) if task is not None else None
    if task is None or refund_entry is None:
        return
    store = ex.ctx.store
    with store.transaction():
        if store.get_account(task.api_key) is None:
            return
        amounts = (refund_entry.credits, refund_entry.extra_credits)
        refund(store, task.api_key, task.id, amounts, ex.ctx.clock.now(), task.operation, refund_entry.error_id)
    error["refund_processed"], error["already_refunded"] = True, False
    ex.set_json(body)


def _missing_required_field(ex: Exchange) -> None:
    body = ex.json()
    if ex.is_create() and isinstance(body, dict) and "task_id" in body:
        del body["task_id"]
        ex.set_json(body)


def _wrong_status_code(ex: Exchange) -> None:
    if ex.is_create():
        ex.status = 201


def _clip_count_one(ex: Exchange) -> None:
    body = ex.json()
    if (
        ex.method == "GET"
        and SONIC_TASK_PATH.match(ex.path)
        and isinstance(body, dict)
        and isinstance(body.get("data"), list)
        and len(body["data"]) > 1
    ):
        body["data"] = body["data"][:1]
        ex.set_json(body)


def _server_error_on_valid_body(ex: Exchange) -> None:
    if ex.is_create():
        ex.status = 500
        message = "Internal Server Error."
        if ex.path.startswith("/api/v1/nuro/"):
            ex.set_json({"type": "api_error", "message": message})
        else:
            ex.set_json({"code": 500, "message": message, "error": message, "detail": message, "type": "api_error"})


def _wrong_content_type(ex: Exchange) -> None:
    if 200 <= ex.status < 300 and ex.content_type == "application/json":
        ex.set_header("content-type", "text/plain; charset=utf-8")


def _strip_flags(node: MutableMapping[str, Any]) -> bool:
    found = False
    for name in REFUND_FLAGS:
        if name in node:
            del node[name]
            found = True
    return found


def _refund_flags_missing(ex: Exchange) -> None:
    body = ex.json()
    if not isinstance(body, dict):
        return
    changed = _strip_flags(body)
    if isinstance(body.get("error"), dict):
        changed = _strip_flags(body["error"]) or changed
    if changed:
        ex.set_json(body)


def _results(body: dict[str, Any]) -> list[MutableMapping[str, Any]]:
    """The clips/songs of a task body (``data``), or the body itself for a family without them (Nuro)."""
    data = body.get("data")
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    return [body] if "audio_url" in body else []


def _poll_data_not_array(ex: Exchange) -> None:
    body = ex.json()
    if ex.is_task_read() and isinstance(body.get("data"), list) and body["data"]:
        body["data"] = body["data"][0]
        ex.set_json(body)


def _duration_wrong_type(ex: Exchange) -> None:
    body = ex.json()
    if not ex.is_task_read():
        return
    changed = False
    for item in _results(body):
        value = item.get("duration")
        if isinstance(value, str):
            try:
                item["duration"] = float(value)
            except ValueError:
                continue
            changed = True
        elif isinstance(value, int | float) and not isinstance(value, bool):
            item["duration"], changed = f"{value:.2f}", True
    if changed:
        ex.set_json(body)


def _clip_without_audio(ex: Exchange) -> None:
    body = ex.json()
    if not ex.is_task_read():
        return
    done = body.get("status") in ("SUCCESS", "succeeded")
    changed = False
    for item in _results(body):
        if (done or item.get("state") == "succeeded") and item.get("audio_url"):
            item["audio_url"], changed = "", True
    if changed:
        ex.set_json(body)


def _debit_off_price(ex: Exchange) -> None:
    """A successful create takes one credit more than its price (a ledger debit of the same task)."""
    body = ex.json()
    if not ex.is_create() or not isinstance(body, dict) or not isinstance(body.get("task_id"), str):
        return
    store = ex.ctx.store
    task = store.get_task(body["task_id"])
    if task is None:
        return
    with store.transaction():
        account = store.get_account(task.api_key)
        if account is None or account.credits + account.extra_credits < 1:
            return
        updated, credits, extra = debit(account, 1)
        store.put_account(replace(updated, usage=account.usage))
        store.add_entry(Entry(0, task.api_key, "debit", -credits, -extra, ex.ctx.clock.now(), task.id, task.operation))


#: Every fault, by name (the ``--fault`` choices).
FAULTS: Mapping[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault("progress_backwards", "a running task's progress runs backwards (99 - progress)", _progress_backwards),
        Fault("double_refund", "a failed task is refunded again on every later read (ledger and body)", _double_refund),
        Fault("missing_required_field", "create responses lose their required task_id", _missing_required_field),
        Fault("wrong_status_code", "a successful create answers 201 instead of the documented 200", _wrong_status_code),
        Fault(
            "clip_count_one",
            "Sonic task reads return one clip instead of two (GET /api/v1/sonic/task/*)",
            _clip_count_one,
        ),
        Fault("server_error_on_valid_body", "a valid create answers 500 (after charging)", _server_error_on_valid_body),
        Fault("wrong_content_type", "successful JSON responses are labelled text/plain", _wrong_content_type),
        Fault("refund_flags_missing", "error bodies lose refund_processed/already_refunded", _refund_flags_missing),
        Fault("poll_data_not_array", "task reads answer data as one object instead of an array", _poll_data_not_array),
        Fault(
            "duration_wrong_type",
            "task reads give duration the other type (Sonic: a number, Producer/Nuro: a string)",
            _duration_wrong_type,
        ),
        Fault("clip_without_audio", "a succeeded clip or song has an empty audio_url", _clip_without_audio),
        Fault("debit_off_price", "a successful create debits one credit more than its price", _debit_off_price),
    )
}


def resolve(names: Sequence[str]) -> list[Fault]:
    """The faults called ``names``; :class:`ConfigError` for an unknown one."""
    unknown = [name for name in names if name not in FAULTS]
    if unknown:
        raise ConfigError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return [FAULTS[name] for name in dict.fromkeys(names)]


def describe() -> str:
    """One line per fault, for ``--help``."""
    return "; ".join(f"{fault.name}: {fault.description}" for fault in FAULTS.values())


class SabotageMiddleware:
    """Rewrites finished ``/api/`` responses with the configured faults (bodies are buffered)."""

    def __init__(self, app: ASGIApp, faults: Sequence[Fault], ctx: Context) -> None:
        self.app = app
        self.faults = list(faults)
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through everything but product HTTP responses, which are rewritten as a whole."""
        method = scope.get("method", "")
        if scope["type"] != "http" or method == "HEAD" or not str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            exchange = Exchange(
                method, scope["path"], start["status"], list(start.get("headers", [])), b"".join(chunks), self.ctx
            )
            for fault in self.faults:
                fault.rewrite(exchange)
            headers = [(k, v) for k, v in exchange.headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(exchange.body)).encode()))
            await send({**start, "status": exchange.status, "headers": headers})
            await send({"type": "http.response.body", "body": exchange.body, "more_body": False})

        await self.app(scope, receive, capture)


def install(app: Starlette, ctx: Context) -> None:
    """Wrap ``app`` with the faults of ``ctx.config.sabotage`` (called only when there are some)."""
    app.add_middleware(SabotageMiddleware, faults=resolve(ctx.config.sabotage), ctx=ctx)
