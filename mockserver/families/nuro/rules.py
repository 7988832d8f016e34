"""Nuro domain rules: what its OpenAPI schema cannot say, and what a finished task reports.

Every limit here is read from ``openapi/nuro.yaml``; this module only adds the cross-field rules the
schema language cannot express, each named once:

* ``segments_total``: in v2.0 the segment durations add up to a total within the v2.0 ``duration``
  range of the schema;
* ``lone_segment``: a single segment is the whole song, so it needs the minimum total on its own;
* ``duration_matches_segments``: when both are given, ``duration`` equals the sum of the segments;
* ``language``: lyrics or description in Chinese or English (see :mod:`mockserver.engine.language`).

It also says what a finished task reports (:func:`task_body`) and how a retired Nuro answers:
the successors named by :func:`deprecation_headers` and the 410 message.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from mockserver.catalog import CATALOG
from mockserver.config import NuroMode
from mockserver.engine import language
from mockserver.engine.records import Status, Task
from mockserver.errors import MockError, Refund
from mockserver.ids import Draws, stable_index
from mockserver.spec import ApiSpec, Violation

SPEC = "nuro"
#: Where each kind of Nuro song went (the 410 message and ``Link`` headers name them).
SUCCESSORS = {"vocal": "/api/v1/sonic/create", "bgm": "/api/v1/producer/create"}


@dataclass(frozen=True)
class NuroRules:
    """The Nuro rules, bound to the loaded spec."""

    spec: ApiSpec
    _schemas: dict[str, Mapping[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def _schema(self, name: str) -> Mapping[str, Any]:
        cached = self._schemas.get(name)
        if cached is None:
            cached = self._schemas[name] = self.spec.schema(SPEC, name)
        return cached

    def cross_field_violations(self, body: Mapping[str, Any]) -> list[Violation]:
        """Violations of the rules the schema cannot express (for a schema-valid body)."""
        if body.get("type") != "bgm" or body.get("version") != "v2.0":
            return []
        segments = body.get("segments")
        if not segments:
            return []
        limits = self._schema("NuroBgmV2Request")["properties"]["duration"]
        low, high = limits["minimum"], limits["maximum"]
        total = sum(seg["duration"] for seg in segments)
        if len(segments) == 1 and total < low:
            return [
                Violation(("segments", 0, "duration"), f"a single segment must be at least {low} seconds (got {total})")
            ]
        if not low <= total <= high:
            return [Violation(("segments",), f"segment durations must add up to {low}-{high} seconds (got {total})")]
        if "duration" in body and body["duration"] != total:
            return [
                Violation(
                    ("duration",), f"must equal the sum of the segment durations ({total}), got {body['duration']}"
                )
            ]
        return []

    @staticmethod
    def texts(body: Any) -> list[Any]:
        """The free-text values of a body (where magic ``#mock:`` markers may hide)."""
        return [body.get("lyrics"), body.get("description")] if isinstance(body, dict) else []

    def check_language(self, body: Mapping[str, Any]) -> None:
        """Raise ``nuro.language_not_supported`` unless the text is Chinese or English."""
        text = body.get("lyrics") if body.get("type") == "vocal" else body.get("description")
        if isinstance(text, str) and not language.is_supported(text):
            raise MockError(CATALOG["nuro.language_not_supported"])

    def requested_duration(self, body: Mapping[str, Any], schema: Mapping[str, Any]) -> int:
        """The duration asked for: explicit, from segments, or the schema's default."""
        if body.get("segments"):
            return int(sum(seg["duration"] for seg in body["segments"]))
        if "duration" in body:
            return int(body["duration"])
        default = self.spec.default(schema, "duration")
        if default is None:  # v2.0 without segments or duration: the v1.0 default applies
            default = self.spec.default(self._schema("NuroBgmV1Request"), "duration")
        return int(default)

    def result_for(self, task_id: str, body: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
        """The result fields a finished task will report, fixed at creation."""
        rng = Draws(f"nuro-duration/{task_id}")
        requested = self.requested_duration(body, schema)
        # The service delivers slightly less than asked (199.04325 s for 200 in the docs).
        duration = round(max(0.5, requested - rng.uniform(0.3, 1.2)), 5)
        if body["type"] == "vocal":
            lyrics = str(body["lyrics"])
            seed = lyrics
            return {
                "kind": "vocal",
                "duration": duration,
                "lyrics": lyrics,  # as submitted (ERRATA N29): the vendor's rewriting is undocumented
                **{name: body.get(name) or self._predict(name, seed) for name in ("genre", "mood", "gender", "timbre")},
            }
        description = str(body["description"])
        values: dict[str, Any] = {"kind": "bgm", "duration": duration}
        for name in ("genre", "mood", "instrument", "theme"):
            chosen = body.get(name) or [self._predict(name, description, bgm=True)]
            values[name] = sys.intern(", ".join(chosen))  # few distinct values: share them across tasks
        values["prompt"] = (
            f"{description.rstrip('. ')}. Style: {values['genre']}; mood: {values['mood']}; "
            f"instruments: {values['instrument']}; theme: {values['theme']}."
        )
        return values

    def _options(self, name: str, bgm: bool) -> list[Any]:
        """The enum a predicted value is drawn from (resolved once, then cached)."""
        key = f"enum/{'bgm' if bgm else 'vocal'}/{name}"
        cached = self._schemas.get(key)
        if cached is None:
            # spec.enum reads an array property's item enum, so bgm and vocal fields read alike.
            options = self.spec.enum(SPEC, "NuroBgmV1Request" if bgm else "NuroVocalRequest", name)
            cached = self._schemas[key] = {"enum": options}
        return list(cached["enum"])

    def _predict(self, name: str, seed: str, *, bgm: bool = False) -> str:
        options = self._options(name, bgm)
        return str(options[stable_index(f"{name}/{seed}", len(options))])


def task_body(task: Task, instant: float, audio_url: str, refund: Refund | None = None) -> dict[str, Any]:
    """The get-music response of ``task`` at ``instant`` (a failed task carries its error and refund flags)."""
    view = task.view(instant)
    result = task.result
    body: dict[str, Any] = {
        "task_id": task.id,
        "status": view.status.value,
        "progress": view.progress,
        "audio_url": audio_url if view.status is Status.SUCCEEDED else "",
        "duration": result["duration"],
    }
    if result["kind"] == "vocal":
        for name in ("lyrics", "genre", "mood", "gender", "timbre"):
            body[name] = result[name]
    else:
        for name in ("genre", "mood", "prompt", "theme", "instrument"):
            body[name] = result[name]
    if view.status is Status.FAILED and view.error_id is not None:
        spec = CATALOG[view.error_id]
        error: dict[str, Any] = {"type": spec.type, "message": spec.message}
        if refund is not None:
            error["refund_processed"] = refund.processed
            error["already_refunded"] = refund.already
        body["error"] = error
    return body


def deprecation_headers(mode: NuroMode, base_url: str, kind: str | None) -> dict[str, str]:
    """``Deprecation``, ``Sunset`` and ``Link: <successor>; rel="successor-version"`` once a sunset is set."""
    if mode.sunset_at is None:
        return {}
    targets = [SUCCESSORS[kind]] if kind in SUCCESSORS else list(SUCCESSORS.values())
    return {
        "Deprecation": f"@{int(mode.sunset_at)}",
        "Sunset": formatdate(mode.sunset_at, usegmt=True),
        "Link": ", ".join(f'<{base_url}{target}>; rel="successor-version"' for target in targets),
    }
