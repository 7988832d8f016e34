"""``musicapi-mock drift DIR``: replay recorded sequences against a mock and report how its answers differ.

The cassettes are grouped into sequences: a create whose answer names a ``task_id``, followed by every
later request whose path contains that id (its polls); every other request stands alone. Each sequence
runs on a key of its own: the create is sent with its recorded body, then each poll after the mock's clock
is moved on by the recorded gap (``POST /_mock/clock/advance``), the task id swapped for the mock's.

Timing is not drift: when a poll finds the mock at another point of the lifecycle than the recording
(another ``status``/``state``), the mock's clock is moved on until it gets there (up to the operation's
``x-poll`` deadline). If the mock is already past it — it reached a later recorded state sooner — that
read is not compared, and the report says so as a note. What is compared (:mod:`~.shapes`): the status,
the media type and the documented headers, and the body's shape — field presence, types, enum values and
array lengths.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

import httpx

from mockserver.cassettes.cassette import Exchange
from mockserver.cassettes.shapes import (
    Difference,
    compare_bodies,
    compare_headers,
    documented_headers,
    enum_fields,
    flatten,
    signature,
)
from mockserver.spec import ApiSpec

#: Request headers not replayed (the key is the run's own, the transport sets the rest).
NOT_SENT = frozenset({"authorization", "content-length", "host", "connection", "accept-encoding", "cookie"})
#: A key the mock refuses with 401 (its magic "Invalid signature" key): stands for a key refused live.
REFUSED_KEY = "sk_mock_invalid_signature_drift"


@dataclass(frozen=True, slots=True)
class Row:
    """One difference of one recorded exchange."""

    operation: str
    file: str
    kind: str
    field: str
    live: str
    mock: str


@dataclass
class Report:
    """What a drift run found."""

    mock: str
    exchanges: int = 0
    sequences: int = 0
    compared: Counter[str] = field(default_factory=Counter)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        """Whether any difference was found."""
        return bool(self.rows)

    def add(self, exchange: Exchange, differences: Iterable[Difference]) -> None:
        """Record the differences of one exchange."""
        operation = exchange.operation or f"{exchange.method} {exchange.path}"
        self.compared[operation] += 1
        for d in differences:
            self.rows.append(Row(operation, exchange.filename, d.kind, d.field, d.live, d.mock))

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        per_op = Counter(row.operation for row in self.rows)
        return {
            "mock": self.mock,
            "exchanges": self.exchanges,
            "sequences": self.sequences,
            "drift": self.drifted,
            "operations": {op: {"compared": n, "differences": per_op[op]} for op, n in sorted(self.compared.items())},
            "differences": [asdict(row) for row in self.rows],
            "notes": self.notes,
        }

    def table(self) -> str:
        """The report as a text table."""
        head = f"drift: {self.exchanges} recorded exchange(s) in {self.sequences} sequence(s) against {self.mock}: " + (
            f"{len(self.rows)} difference(s)" if self.rows else "no drift"
        )
        lines = [head]
        if self.rows:
            cells = [("operation", "file", "kind", "field", "live", "mock")]
            cells += [(r.operation, r.file, r.kind, r.field, r.live, r.mock) for r in self.rows]
            widths = [min(40, max(len(c[i]) for c in cells)) for i in range(6)]
            for cell in cells:
                lines.append("  ".join(value[:40].ljust(width) for value, width in zip(cell, widths, strict=True)))
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def junit(self) -> bytes:
        """The report as JUnit XML: one test case per operation, failed when it drifted."""
        suite = ET.Element("testsuite", name="musicapi-drift", tests=str(len(self.compared)))
        failures = 0
        for operation in sorted(self.compared):
            case = ET.SubElement(suite, "testcase", classname="drift", name=operation)
            rows = [r for r in self.rows if r.operation == operation]
            if rows:
                failures += 1
                failure = ET.SubElement(case, "failure", message=f"{len(rows)} difference(s) from the recording")
                failure.text = "\n".join(f"{r.file}: {r.kind} {r.field}: live {r.live}, mock {r.mock}" for r in rows)
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        root = ET.Element("testsuites")
        root.append(suite)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _task_id(exchange: Exchange) -> str | None:
    body = exchange.response_body.json
    if 200 <= exchange.status < 300 and isinstance(body, dict) and isinstance(body.get("task_id"), str):
        return str(body["task_id"])
    return None


def sequences(exchanges: Iterable[Exchange]) -> list[list[Exchange]]:
    """Creates with their later polls; every other exchange alone (in recorded order)."""
    out: list[list[Exchange]] = []
    following: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        owner = next((seq for task_id, seq in following.items() if task_id in exchange.path), None)
        if owner is not None:
            owner.append(exchange)
            continue
        seq = [exchange]
        out.append(seq)
        task_id = _task_id(exchange)
        if task_id:
            following[task_id] = seq
    return out


def _authorization(recorded: str, status: int, key: str) -> str:
    """The ``Authorization`` to replay: the run's key for a recorded bearer token (the mock's refused key
    when the recording was a 401), the recorded (redacted) value for anything else, e.g. a malformed one."""
    if recorded.lower().startswith("bearer ") and recorded.split(None, 1)[1].strip():
        return f"Bearer {REFUSED_KEY if status == 401 else key}"
    return recorded


@dataclass
class Answer:
    """The mock's answer to one replayed request."""

    status: int
    headers: dict[str, str]
    body: Any
    shape: dict[str, str]


class DriftRun:
    """Replays cassettes against one mock (``base_url``; its control plane moves the clock)."""

    def __init__(self, base_url: str, spec: ApiSpec | None = None, control_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.spec = spec or ApiSpec.load()
        self.http = httpx.Client(base_url=self.base_url, timeout=30)
        self.control_headers = {"Authorization": f"Bearer {control_token}"} if control_token else {}

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def advance(self, seconds: float) -> None:
        """Move the mock's virtual clock."""
        if seconds > 0:
            response = self.http.post(
                "/_mock/clock/advance", json={"seconds": round(seconds, 3)}, headers=self.control_headers
            )
            response.raise_for_status()

    def send(self, exchange: Exchange, path: str, key: str) -> Answer:
        """The recorded request, with ``path`` and ``key``, sent to the mock."""
        headers = {k: v for k, v in exchange.request_headers.items() if k not in NOT_SENT}
        recorded = exchange.request_headers.get("authorization")
        if recorded is not None:
            headers["authorization"] = _authorization(recorded, exchange.status, key)
        url = path + (f"?{exchange.query}" if exchange.query else "")
        content = exchange.request_body.content() or None
        response = self.http.request(exchange.method, url, headers=headers, content=content)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        enums = enum_fields(self.spec, exchange.operation)
        shape = flatten(body, enums) if body is not None else {}
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body, shape)

    def recorded_shape(self, exchange: Exchange) -> dict[str, str]:
        """The shape of a recorded answer."""
        body = exchange.response_body.json
        return flatten(body, enum_fields(self.spec, exchange.operation)) if body is not None else {}

    def differences(self, exchange: Exchange, answer: Answer) -> list[Difference]:
        """How the mock's answer differs from the recorded one."""
        out: list[Difference] = []
        if answer.status != exchange.status:
            out.append(Difference("status", "status", str(exchange.status), str(answer.status)))
        documented = documented_headers(self.spec, exchange.operation, exchange.status)
        out += compare_headers(exchange.response_headers, answer.headers, documented)
        out += compare_bodies(self.recorded_shape(exchange), answer.shape)
        return out

    def deadline(self, exchange: Exchange) -> float:
        """How far the clock may be moved to reach a recorded state (the poll's ``x-poll`` deadline)."""
        op = self.spec.operations.get(exchange.operation or "")
        raw = op.raw.get("x-poll") if op is not None else None
        return float(raw.get("deadline", 600)) if isinstance(raw, Mapping) else 600.0

    def run_sequence(self, seq: list[Exchange], report: Report) -> None:
        """Replay one sequence (see the module docs)."""
        key = f"sk_drift_{uuid.uuid4().hex[:16]}"
        ids: dict[str, str] = {}
        previous: Exchange | None = None
        for index, exchange in enumerate(seq):
            if previous is not None:
                self.advance(exchange.at - previous.at)
            previous = exchange
            path = exchange.path
            for recorded, mine in ids.items():
                path = path.replace(recorded, mine)
            answer = self.send(exchange, path, key)
            if index == 0:
                recorded_id = _task_id(exchange)
                mock_id = answer.body.get("task_id") if isinstance(answer.body, dict) else None
                if recorded_id and isinstance(mock_id, str):
                    ids[recorded_id] = mock_id
            else:
                settled = self.settle(seq, index, path, key, answer, report)
                if settled is None:
                    continue
                answer = settled
            report.add(exchange, self.differences(exchange, answer))
        if len(seq) > 1 and not ids:
            report.notes.append(f"{seq[0].filename}: the mock named no task_id, so its polls were sent as recorded")

    def settle(
        self, seq: list[Exchange], index: int, path: str, key: str, answer: Answer, report: Report
    ) -> Answer | None:
        """Move the clock until the mock is where the recording was; None when it is already past it."""
        exchange = seq[index]
        wanted = signature(self.recorded_shape(exchange))
        later = [signature(self.recorded_shape(e)) for e in seq[index + 1 :]]
        gap = exchange.at - seq[index - 1].at
        step = min(max(gap, 1.0), 15.0)
        waited, deadline = 0.0, self.deadline(exchange)
        while signature(answer.shape) != wanted and signature(answer.shape) not in later and waited < deadline:
            self.advance(step)
            waited += step
            answer = self.send(exchange, path, key)
        if signature(answer.shape) != wanted and signature(answer.shape) in later:
            report.notes.append(
                f"{exchange.filename}: the mock was already further on than the recording; not compared"
            )
            return None
        if waited:
            report.notes.append(
                f"{exchange.filename}: the mock needed {waited:.0f} s more to get where the recording was"
            )
        return answer


def run(exchanges: list[Exchange], base_url: str, control_token: str | None = None) -> Report:
    """Replay every sequence of ``exchanges`` against the mock at ``base_url``."""
    report = Report(mock=base_url, exchanges=len(exchanges))
    drift = DriftRun(base_url, control_token=control_token)
    try:
        groups = sequences(exchanges)
        report.sequences = len(groups)
        for seq in groups:
            drift.run_sequence(seq, report)
    finally:
        drift.close()
    return report
