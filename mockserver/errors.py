"""The package's exceptions, and the mechanics of the error catalog.

Every error a client can see is a :class:`MockError` carrying one :class:`ErrorSpec` of the catalog
(:mod:`mockserver.catalog` holds the data); one place, ``mockserver.http.errors.render_error``, turns it
into the family's own body format. The other exceptions are about the mock itself, not about a request,
and share one base:

* :class:`MockServerError`
  * :class:`ConfigError` — a configuration value that cannot be used (command line, scenario file);
  * :class:`SpecError` (in :mod:`mockserver.spec`) — the OpenAPI files and the handlers disagree;
  * :class:`ClockError` — an impossible clock move (backwards);
  * :class:`TaskStateError` — a lifecycle change the task's state does not allow.

The control plane turns the last two into catalog errors where a request caused them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: Error types whose errors refund a debit that was not processed (Nuro error-handling page).
REFUND_TYPES = frozenset({"api_error", "timeout", "bad_request", "forbidden"})


class MockServerError(Exception):
    """Base of the exceptions about the mock itself (not a client's request)."""


class ConfigError(MockServerError, ValueError):
    """A configuration value that cannot be used, with a message fit for the command line."""


class ClockError(MockServerError, ValueError):
    """An impossible clock operation (moving time backwards)."""


class StoreError(MockServerError):
    """The durable state could not be saved (a commit failed or rolled back); the request is not answered as done."""


class TaskStateError(MockServerError):
    """An operation that the task's state does not allow (e.g. completing a finished task)."""


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One documented (or protocol-level) error."""

    id: str
    status: int
    type: str
    message: str
    #: Operation ids that can raise it; empty means any operation.
    operations: tuple[str, ...] = ()
    #: Where the error comes from (document and section), for the generated docs.
    source: str = ""
    #: The error is raised by a task that fails after it was accepted, not by a request.
    task_failure: bool = False
    #: On a billable call, the error happens after the debit (upstream), so a refundable one refunds it.
    after_debit: bool = False
    #: Where the message a client sees varies (a field name, a task type): one real instance of it.
    example: str = ""

    @property
    def refunds(self) -> bool:
        """Whether its type qualifies for a refund (when a debit exists and was not processed)."""
        return self.type in REFUND_TYPES


@dataclass(frozen=True, slots=True)
class Refund:
    """What an error body says about credits."""

    processed: bool
    already: bool


class MockError(Exception):
    """A domain error: a catalog entry plus what this occurrence adds."""

    def __init__(
        self,
        spec: ErrorSpec,
        message: str | None = None,
        *,
        refund: Refund | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.message = message if message is not None else spec.message
        self.refund = refund
        self.headers = dict(headers or {})
        super().__init__(f"{spec.id}: {self.message}")


@dataclass(frozen=True)
class Catalog:
    """An immutable, ordered set of :class:`ErrorSpec` keyed by id."""

    entries: Mapping[str, ErrorSpec] = field(default_factory=dict)

    @classmethod
    def of(cls, *specs: ErrorSpec) -> Catalog:
        """Build a catalog; ids must be unique."""
        table: dict[str, ErrorSpec] = {}
        for spec in specs:
            if spec.id in table:
                raise ValueError(f"duplicate error id {spec.id}")
            table[spec.id] = spec
        return cls(MappingProxyType(table))

    def __getitem__(self, error_id: str) -> ErrorSpec:
        return self.entries[error_id]

    def __contains__(self, error_id: object) -> bool:
        return error_id in self.entries

    def __iter__(self) -> Iterator[ErrorSpec]:
        return iter(self.entries.values())

    def get(self, error_id: str) -> ErrorSpec | None:
        """The entry, or None."""
        return self.entries.get(error_id)

    def for_operation(self, operation_id: str) -> list[ErrorSpec]:
        """Entries that ``operation_id`` can raise."""
        return [e for e in self if not e.operations or operation_id in e.operations]
