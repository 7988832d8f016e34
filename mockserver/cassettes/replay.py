"""``musicapi-mock serve --replay DIR``: recorded requests get their recorded answers, the rest the mock.

A request matches a recorded one on its method, its path (the operation's template with the same
parameters: a poll of a recorded task id, not of any id) and its body (as JSON, compared after the same
redaction the recording applied, so a body with a webhook secret still matches). Recorded answers of
the same request are served in their recorded order, the last one repeating: a create then polls
``pending``, ``running``, ``succeeded`` replays as it happened. Replayed answers carry
``X-Mock-Replay: <file>``; nothing else changes in the mock (its state does not see replayed calls).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mockserver.cassettes.cassette import Body, Exchange, Redactor, read

#: Response headers never replayed (the transport recomputes them).
NOT_REPLAYED = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "date", "server"})

Key = tuple[str, str, str, bytes]


def request_key(method: str, path: str, query: str, body: Body) -> Key:
    """What a request is matched on: method, path, query and the canonical JSON (or raw) body."""
    redacted = Redactor().body(body)
    if redacted.json is not None:
        content = orjson.dumps(redacted.json, option=orjson.OPT_SORT_KEYS)
    else:
        content = redacted.content()
    return method.upper(), path, query, content


@dataclass
class Replay:
    """The recorded answers by request, and how many times each request has been replayed."""

    answers: Mapping[Key, Sequence[Exchange]]
    served: dict[Key, int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def load(cls, directory: Path) -> Replay:
        """The cassettes of ``directory`` (:class:`~mockserver.cassettes.cassette.CassetteError` if unreadable)."""
        answers: dict[Key, list[Exchange]] = defaultdict(list)
        for exchange in read(directory):
            answers[request_key(exchange.method, exchange.path, exchange.query, exchange.request_body)].append(exchange)
        return cls(dict(answers))

    def answer(self, key: Key) -> Exchange | None:
        """The next recorded answer of a request, or None (then the mock answers)."""
        recorded = self.answers.get(key)
        if not recorded:
            return None
        index = min(self.served[key], len(recorded) - 1)
        self.served[key] += 1
        return recorded[index]

    def __len__(self) -> int:
        return sum(len(v) for v in self.answers.values())


class ReplayMiddleware:
    """Answers recorded product requests (``/api/``) from the cassettes; everything else passes through."""

    def __init__(self, app: Any, replay: Replay) -> None:
        self.app = app
        self.replay = replay

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        """Match, or pass the request on with its body intact."""
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        messages: list[Mapping[str, Any]] = []
        content = b""
        while True:
            message = await receive()
            messages.append(message)
            content += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        content_type = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"content-type"), None
        )
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        key = request_key(str(scope["method"]), str(scope["path"]), query, Body.of(content, content_type))
        recorded = self.replay.answer(key)
        if recorded is None:
            pending = list(messages)

            async def replayed_receive() -> Any:
                return pending.pop(0) if pending else await receive()

            await self.app(scope, replayed_receive, send)
            return
        payload = recorded.response_body.content()
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in recorded.response_headers.items()
            if k not in NOT_REPLAYED
        ]
        headers += [(b"content-length", str(len(payload)).encode()), (b"x-mock-replay", recorded.filename.encode())]
        await send({"type": "http.response.start", "status": recorded.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
