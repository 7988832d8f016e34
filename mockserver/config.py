"""The mock's configuration: one frozen dataclass, built from flags and environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from mockserver.clock import format_instant, parse_instant
from mockserver.errors import ConfigError

__all__ = [
    "CLOCK_MODES",
    "DEFAULT_COSTS",
    "ENV_PREFIX",
    "ERROR_FIELDS",
    "ClockMode",
    "Config",
    "ConfigError",
    "NuroMode",
    "env_default",
    "format_instant",
    "is_database_url",
    "parse_clock",
    "parse_costs",
    "parse_instant",
]


def is_database_url(state: str | None) -> bool:
    """Whether a ``--state`` value is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return bool(state) and str(state).lower().startswith(("postgresql://", "postgres://"))


ClockMode = Literal["instant", "fast", "realistic", "manual"]
CLOCK_MODES: tuple[ClockMode, ...] = ("instant", "fast", "realistic", "manual")

#: When Nuro answers 410 in the default ``gone`` mode. The vendor's notice gives no date; a docs audit
#: of 2026-09-03 already saw 410s. A guess, overridable with ``--nuro <instant>``.
NURO_GONE_SINCE = "2026-09-01T00:00:00Z"

ENV_PREFIX = "MUSICAPI_MOCK_"

#: Every field a non-Nuro error body can carry (``--error-fields`` picks some of them).
ERROR_FIELDS = ("code", "message", "error", "detail", "type")

#: Credits per operation (and ``operation.task_type[.v3]`` variants). They changed over time
#: (reference §6); these are the newest documented values (docs audit of 2026-09-03, Producer docs,
#: the Nuro seeds). Polling and get-credits are free; lyrics are free (2026 skill doc).
_SONIC_CREATE: Mapping[str, int] = {
    "": 14,  # create/cover on v4.5+ or in description mode
    ".create_music.v3": 10,  # custom mode on sonic-v3-5 / sonic-v4
    ".cover_music.v3": 10,
    ".extend_music": 10,
    ".extend_upload_music": 10,
    ".persona_music": 10,
    ".remaster": 10,
    ".add_instrumental": 10,
    ".add_vocals": 10,
    ".concat_music": 2,
}
DEFAULT_COSTS: Mapping[str, int] = {
    "nuroCreate": 10,
    **{f"sonicCreate{variant}": cost for variant, cost in _SONIC_CREATE.items()},
    # the legacy suno namespace is the same operation, at the same prices
    **{f"sunoCreate{variant}": cost for variant, cost in _SONIC_CREATE.items()},
    "sonicUpload": 2,
    "sonicPersona": 1,
    # an upload plus a cover (v4.5+: 14; custom mode on v3.5/v4: 10) or an extend (10), in one call (GUESS)
    "sonicUploadCover": 16,
    "sonicUploadCover.v3": 12,
    "sonicUploadExtend": 12,
    "sonicCreateVoice": 4,
    "sonicWav": 1,
    "sonicMidi": 1,
    "sonicVox": 1,
    "sonicBpm": 1,
    "sonicUpsampleTags": 1,
    "sonicStemsBasic": 20,
    "sonicStemsFull": 50,
    "sonicDownload": 2,
    "sonicSample": 14,
    "sonicSample.v3": 10,
    "sonicMashup": 14,
    "sonicMashup.v3": 10,
    "sonicReplaceSection": 10,
    "producerCreate": 10,
    "producerUpload": 2,
    "producerDownload": 2,
    "producerLyricsCreate": 1,
    "producerVideoClip": 5,
}


@dataclass(frozen=True, slots=True)
class NuroMode:
    """How the retired Nuro family answers.

    * ``gone``: 410 Gone since :data:`NURO_GONE_SINCE`;
    * ``legacy``: the documented behaviour, with no deprecation signals;
    * ``sunset``: documented behaviour with ``Deprecation``/``Sunset`` headers until ``sunset_at`` on the
      virtual clock, 410 Gone from then on.
    """

    kind: Literal["gone", "legacy", "sunset"]
    sunset_at: float | None = None

    @classmethod
    def parse(cls, text: str) -> NuroMode:
        """``gone``, ``legacy`` or an ISO-8601 sunset instant."""
        value = text.strip()
        if value == "gone":
            return cls("gone", parse_instant(NURO_GONE_SINCE))
        if value == "legacy":
            return cls("legacy", None)
        try:
            return cls("sunset", parse_instant(value))
        except ConfigError:
            raise ConfigError(f"--nuro takes gone, legacy or an ISO-8601 instant, not {text!r}") from None

    def describe(self) -> str:
        """A short human description for the start-up banner."""
        if self.kind == "legacy":
            return "legacy (documented behaviour)"
        assert self.sunset_at is not None
        return f"{self.kind} (410 Gone from {format_instant(self.sunset_at)})"


@dataclass(frozen=True, slots=True)
class Config:
    """Everything that shapes one mock instance. Immutable; derive variants with :meth:`with_`."""

    host: str = "127.0.0.1"
    port: int = 8000
    clock: ClockMode = "fast"
    nuro: NuroMode = field(default_factory=lambda: NuroMode.parse("gone"))
    seed: int = 0
    #: Largest request body accepted, in bytes; bigger bodies get 413.
    max_body_bytes: int = 1 << 20
    #: Balance of a key seen for the first time.
    initial_credits: int = 1000
    initial_extra_credits: int = 0
    #: Credits per operation (operationId -> cost); operations not listed are free.
    costs: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_COSTS))
    #: Limits of a key seen for the first time (None: unlimited).
    default_qps: float | None = None
    default_queue_capacity: int | None = None
    #: How many API requests the journal keeps (0: none).
    journal_size: int = 10_000
    #: Bytes of each request and response body the journal keeps (longer ones are cut, and say so; 0: none).
    journal_body_bytes: int = 8192
    #: Bytes of bodies and headers the whole journal keeps; the oldest entries go first past it.
    journal_bytes: int = 16 << 20
    #: Scenario files (YAML) applied at start and after every reset.
    scenarios: tuple[str, ...] = ()

    #: HTTP status of Sonic's not-ready poll body (unconfirmed: 200 or 202; reference §2.2).
    sonic_not_ready_status: int = 200
    #: HTTP status of an unknown Sonic task: 400 "task not found." (the error page) or 404 (clients handle both).
    sonic_task_not_found_status: int = 400
    #: Producer polls of an unfinished task: None answers 200 with ``status: PENDING|RUNNING`` (the newest
    #: docs); 202 or 200 answers the older copy's ``{code: 202, type: not_ready, error}`` with that status.
    producer_not_ready_status: int | None = None
    #: A bearer token the control plane (``/_mock/*``) requires; None: open to loopback clients only when the
    #: server binds a non-loopback address (and to anyone on a loopback bind, where only this machine connects).
    control_token: str | None = None
    #: Seconds after its creation a task stays readable (None: for ever); older tasks read as not found.
    retain_seconds: float | None = None
    #: The base URL media links are built from (behind a proxy or in a container); None: as each client
    #: reached the mock (its ``Host`` header).
    public_url: str | None = None
    #: Seconds a client may take to send a request's head, or pause its body, before a 408 and a close.
    read_timeout: float = 10.0
    #: Seconds the mock waits for an upload URL on 127.0.0.1 to answer its ``HEAD`` probe.
    upload_probe_timeout: float = 2.0
    #: Fields of the non-Nuro error body (the shape is unconfirmed; every known client reads one of these).
    error_fields: tuple[str, ...] = ERROR_FIELDS
    #: Secret used to sign webhooks sent without a ``webhook_secret`` (the vendor uses one of its own).
    webhook_default_secret: str = "musicapi-mock-default-webhook-secret"
    #: Hosts webhooks may be sent to besides loopback addresses.
    webhook_allow: tuple[str, ...] = ()
    #: Request log format: ``off`` (the library's default, fastest), ``text`` or ``json`` lines on stdout.
    request_log: str = "off"
    #: The task log's format (``off``, ``text``, ``json``); None: the request log's.
    task_log: str | None = None
    #: Deliberate faults (names from ``mockserver.http.sabotage.FAULTS``) that prove the contract suite has teeth.
    sabotage: tuple[str, ...] = ()
    #: A cassette directory (``musicapi-mock record``) whose recorded requests get their recorded answers.
    replay: str | None = None
    #: A SQLite file holding the whole state (durable across restarts, shared by workers), or a PostgreSQL
    #: URL (``postgresql://USER@HOST:PORT/DB``: shared by a fleet of instances); None: memory.
    state: str | None = None
    #: Server worker processes (more than one needs ``state``; ``musicapi-mock serve`` makes a temporary one).
    workers: int = 1

    def cost(self, operation_id: str, variant: str | None = None) -> int:
        """What one call costs: ``operation.variant`` keys first (e.g. ``sonicCreate.extend_music``)."""
        if variant:
            parts = variant.split(".")
            for end in range(len(parts), 0, -1):
                key = ".".join([operation_id, *parts[:end]])
                if key in self.costs:
                    return self.costs[key]
        return self.costs.get(operation_id, 0)

    def with_(self, **changes: object) -> Config:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def database(self) -> bool:
        """Whether ``state`` names a PostgreSQL database (``postgresql://…``) rather than a SQLite file."""
        return is_database_url(self.state)

    @property
    def fleet(self) -> bool:
        """Whether other processes may share the state: several workers, or instances over one database."""
        return self.workers > 1 or self.database

    @property
    def manual_clock(self) -> bool:
        """Whether time moves only when told."""
        return self.clock == "manual"

    def to_json(self) -> str:
        """The configuration as JSON (how ``serve --workers`` hands it to its worker processes)."""
        data: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, NuroMode):
                value = {"kind": value.kind, "sunset_at": value.sunset_at}
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            data[item.name] = value
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Config:
        """The inverse of :meth:`to_json`."""
        data = json.loads(text)
        known = {item.name: item for item in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown configuration field(s): {', '.join(unknown)}")
        for name, value in data.items():
            if name == "nuro":
                data[name] = NuroMode(value["kind"], value["sunset_at"])
            elif isinstance(value, list):
                data[name] = tuple(value)
        return cls(**data)


def env_default(name: str, fallback: str, env: Mapping[str, str] | None = None) -> str:
    """The value of ``MUSICAPI_MOCK_<NAME>`` or ``fallback``."""
    source = os.environ if env is None else env
    return source.get(ENV_PREFIX + name.upper(), fallback)


def parse_costs(items: list[str]) -> dict[str, int]:
    """``["nuroCreate=10", "sonicCreate=15"]`` (or comma-joined) on top of :data:`DEFAULT_COSTS`."""
    costs = dict(DEFAULT_COSTS)
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, sep, value = part.partition("=")
            if not sep or not value.strip().isdigit():
                raise ConfigError(f"--cost takes OPERATION=CREDITS, not {part!r}")
            costs[name.strip()] = int(value)
    return costs


def parse_clock(text: str) -> ClockMode:
    """Validate a clock mode name."""
    for mode in CLOCK_MODES:
        if text == mode:
            return mode
    raise ConfigError(f"clock must be one of {', '.join(CLOCK_MODES)}, not {text!r}")
