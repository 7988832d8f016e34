"""Map a Nuro request body to its successor: Sonic (vocal) or Producer (bgm), as the 410 notice says.

Nuro's own vendor offers no mapping (the notice says to e-mail support), so this is the mock's: it keeps
what has an equivalent and reports, field by field, what does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The Sonic model a migrated vocal request asks for.
SONIC_MODEL = "sonic-v4-5"


@dataclass
class Migration:
    """The successor call and what could not be carried over."""

    method: str
    path: str
    body: dict[str, Any]
    dropped: list[str] = field(default_factory=list)
    approximated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "dropped": self.dropped,
            "approximated": self.approximated,
        }


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def migrate(nuro: Mapping[str, Any]) -> Migration:
    """The Sonic or Producer request equivalent to a Nuro create body."""
    if not isinstance(nuro, Mapping):
        raise ValueError("not a Nuro create body: expected a JSON object")
    kind = nuro.get("type")
    if kind == "vocal":
        return _vocal(nuro)
    if kind == "bgm":
        return _bgm(nuro)
    raise ValueError(f"not a Nuro create body: type must be 'vocal' or 'bgm', got {kind!r}")


def _vocal(nuro: Mapping[str, Any]) -> Migration:
    body: dict[str, Any] = {
        "task_type": "create_music",
        "custom_mode": True,
        "mv": SONIC_MODEL,
        "prompt": str(nuro.get("lyrics", "")),
    }
    out = Migration("POST", "/api/v1/sonic/create", body)
    styles = [str(nuro[k]) for k in ("genre", "mood") if nuro.get(k)]
    if nuro.get("timbre"):
        styles.append(f"{str(nuro['timbre']).replace('_AUDIO_TIMBRE', '').lower()} voice")
        out.approximated.append("timbre -> a style in tags")
    if styles:
        body["tags"] = ", ".join(styles)
        out.approximated.append("genre/mood -> tags (Sonic takes free-text styles)")
    if nuro.get("gender"):
        body["vocal_gender"] = "f" if nuro["gender"] == "Female" else "m"
    if nuro.get("duration") is not None:
        body["duration"] = int(nuro["duration"])
        out.approximated.append("duration -> a target length (Sonic makes 2 clips of about that length)")
    for name in sorted(set(nuro) - {"type", "lyrics", "genre", "mood", "timbre", "gender", "duration"}):
        out.dropped.append(f"{name}: no Sonic equivalent")
    return out


def _bgm(nuro: Mapping[str, Any]) -> Migration:
    description = str(nuro.get("description", "")).strip()
    details = []
    for name in ("genre", "mood", "instrument", "theme"):
        values = _as_list(nuro.get(name))
        if values:
            details.append(f"{name}: {', '.join(values)}")
    sound = description + (". " + "; ".join(details) if details else "")
    body: dict[str, Any] = {"task_type": "create_music", "sound": sound, "make_instrumental": True}
    out = Migration("POST", "/api/v1/producer/create", body)
    if details:
        out.approximated.append("genre/mood/instrument/theme -> the sound prompt")
    segments = nuro.get("segments") or []
    if segments:
        body["lyrics"] = "\n".join(f"[{str(s.get('name', '')).capitalize()}]" for s in segments)
        out.approximated.append("segments -> section tags in lyrics (their durations are not honoured)")
    if nuro.get("duration") is not None:
        out.dropped.append("duration: Producer chooses the length")
    if nuro.get("version"):
        out.dropped.append("version: Producer has one model line (mv, default FUZZ-2.0)")
    for name in sorted(
        set(nuro) - {"type", "description", "genre", "mood", "instrument", "theme", "segments", "duration", "version"}
    ):
        out.dropped.append(f"{name}: no Producer equivalent")
    return out
