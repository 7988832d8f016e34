"""Cassettes: one recorded request/response exchange per JSON file, redacted before it is written.

A directory holds ``recording.json`` (what was recorded: upstream, budget, spend) and one
``<seq>-<operation>.json`` per exchange, in the order they were answered. What is redacted, before any
byte is written:

* headers that carry credentials (``Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Api-Key``, the mock's
  control token, …): their value becomes ``[redacted]`` (a bearer token keeps its scheme);
* JSON fields whose name looks secret (``webhook_secret``, ``api_key``, ``token``, ``password``, …), at any
  depth, in request and response bodies;
* every value redacted so far, and the API key, wherever else it appears (a URL, an echoed message, a
  query string): the serialized file is scrubbed of them, and checked, before it is written.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mockserver.errors import ConfigError

REDACTED = "[redacted]"
#: Headers whose value is a credential.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-mock-control-token",
        "x-webhook-secret",
    }
)
#: JSON field names that hold secrets.
SECRET_FIELD = re.compile(r"(secret|token|password|passwd|api[_-]?key|authorization|credential)", re.IGNORECASE)
#: Headers not worth keeping (transport details, recomputed on replay).
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date", "server", "host"}
)
#: Authorization schemes: a header holding only one of them carries no secret.
AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest"})
#: Shorter secrets are not scrubbed from free text (they would match ordinary words).
MIN_SECRET = 6
RECORDING_FILE = "recording.json"


class CassetteError(ConfigError):
    """A cassette directory or file that cannot be read (shown as a usage error)."""


@dataclass
class Body:
    """A message body: its JSON value, or the raw bytes (base64) when it is not JSON; empty: neither."""

    json: Any = None
    base64: str | None = None

    @classmethod
    def of(cls, content: bytes, content_type: str | None) -> Body:
        """The body of ``content`` (JSON when it parses as such and is labelled JSON)."""
        if not content:
            return cls()
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            try:
                return cls(json=orjson.loads(content))
            except orjson.JSONDecodeError:
                pass
        return cls(base64=base64.b64encode(content).decode("ascii"))

    def content(self) -> bytes:
        """The bytes to send."""
        if self.base64 is not None:
            return base64.b64decode(self.base64)
        return b"" if self.json is None else orjson.dumps(self.json)

    @property
    def empty(self) -> bool:
        """Whether there is no body at all."""
        return self.json is None and self.base64 is None


@dataclass
class Exchange:
    """One recorded exchange."""

    seq: int
    #: Seconds from the start of the recording to the request.
    at: float
    #: Seconds the upstream took to answer.
    elapsed: float
    method: str
    path: str
    query: str
    #: The operationId the request went to (None: not a product operation).
    operation: str | None
    request_headers: dict[str, str]
    request_body: Body
    status: int
    response_headers: dict[str, str]
    response_body: Body

    @property
    def filename(self) -> str:
        """``00001-sonicCreate.json``."""
        return f"{self.seq:05d}-{self.operation or self.method.lower()}.json"

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Exchange:
        """An exchange read back from its file."""
        fields = dict(data)
        fields["request_body"] = Body(**fields["request_body"])
        fields["response_body"] = Body(**fields["response_body"])
        return cls(**fields)

    def header(self, name: str) -> str | None:
        """A response header (lower-case name)."""
        return self.response_headers.get(name.lower())


@dataclass
class Redactor:
    """Redacts secrets from exchanges; remembers every secret it saw so it can scrub them everywhere."""

    secrets: set[str] = field(default_factory=set)

    def remember(self, value: str) -> None:
        """A secret to scrub wherever it appears."""
        value = value.strip()
        if len(value) >= MIN_SECRET:
            self.secrets.add(value)

    def credential(self, value: str) -> str:
        """A credential header's redacted value, its secret remembered: ``Bearer <token>`` keeps its scheme
        (a lone scheme word, e.g. an empty ``Bearer``, is no secret)."""
        scheme, _, token = value.strip().partition(" ")
        if token.strip():
            self.remember(token)
            return f"{scheme} {REDACTED}"
        if scheme.lower() in AUTH_SCHEMES:
            return scheme
        self.remember(scheme)
        return REDACTED

    def headers(self, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers (lower-case names) with credentials redacted and transport headers left out."""
        out: dict[str, str] = {}
        for raw_name, value in pairs:
            name = raw_name.lower()
            if name in HOP_HEADERS:
                continue
            if name in SECRET_HEADERS:
                value = self.credential(value)
            out[name] = f"{out[name]}, {value}" if name in out else value
        return out

    def json(self, value: Any) -> Any:
        """A JSON value with secret-looking fields redacted (at any depth)."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if SECRET_FIELD.search(str(key)) and item not in (None, "", REDACTED):
                    if isinstance(item, str):
                        self.remember(item)
                    out[key] = REDACTED
                else:
                    out[key] = self.json(item)
            return out
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def body(self, body: Body) -> Body:
        """A body with secret fields redacted (raw bodies are only scrubbed, as text, in :meth:`dumps`)."""
        return Body(json=self.json(body.json), base64=body.base64) if body.json is not None else body

    def scrub(self, text: str) -> str:
        """``text`` with every remembered secret replaced."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def dumps(self, exchange: Exchange) -> bytes:
        """The exchange as file content, scrubbed of every secret, raw bodies included."""
        for body in (exchange.request_body, exchange.response_body):
            if body.base64 is not None and self.secrets:
                raw = base64.b64decode(body.base64).decode("latin-1")
                body.base64 = base64.b64encode(self.scrub(raw).encode("latin-1")).decode("ascii")
        text = self.scrub(orjson.dumps(exchange.to_json(), option=orjson.OPT_INDENT_2).decode())
        leaked = [s for s in self.secrets if s in text]
        if leaked:  # unreachable unless scrub() is broken; never write a secret
            raise CassetteError("a secret survived redaction; nothing was written")
        return text.encode()


def write(directory: Path, exchange: Exchange, redactor: Redactor) -> Path:
    """Write one exchange (already redacted field-wise) into ``directory``; its path."""
    path = directory / exchange.filename
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(redactor.dumps(exchange))
    tmp.replace(path)
    return path


def read(directory: Path) -> list[Exchange]:
    """Every exchange of a cassette directory, in recorded order."""
    if not directory.is_dir():
        raise CassetteError(f"no cassette directory at {directory}")
    exchanges = []
    for path in sorted(directory.glob("[0-9]*.json")):
        try:
            exchanges.append(Exchange.from_json(orjson.loads(path.read_bytes())))
        except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
            raise CassetteError(f"{path} is not a cassette: {exc}") from None
    return sorted(exchanges, key=lambda e: e.seq)


def files(directory: Path) -> Iterator[Path]:
    """Every file under a cassette directory (for the redaction proof)."""
    return (p for p in directory.rglob("*") if p.is_file())
