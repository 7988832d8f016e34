"""What the benchmark sends: the request bodies, the API key and the paths, in one place.

The create mix cycles over :data:`CREATE_BODIES` (vocal and bgm, v1.0 and v2.0, with and without
the optional fields the mock otherwise predicts), so it exercises the common create code paths
rather than one body. Every body is valid for ``openapi/nuro.yaml`` and accepted by the mock in
``--nuro legacy`` mode and by Prism.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

API_KEY = "bench"
#: The load generators switch to a fresh API key every this many creates (``bench-<thread>-<n>``):
#: the mock gives each new key a starting balance and a create costs credits, so one key would run
#: dry after a few dozen creates. 50 creates need 500 credits at 10 per create.
KEY_EVERY = 50
CREATE_PATH = "/api/v1/nuro/create"
TASK_PATH = "/api/v1/nuro/task/"

_LYRICS = (
    "[verse] Morning light on the river, the city wakes up slow, "
    "I keep your letters in my pocket everywhere I go. "
    "[chorus] Sing it loud, sing it clear, every road leads back to here, "
    "sing it loud, sing it clear, I will hold you near. "
    "[verse] Paper boats and summer rain, we were young and unafraid, "
    "every promise that we made is a song we never played. "
    "[outro] Sing it loud, sing it clear."
)

#: The create mix, in the order the load generators cycle through them.
CREATE_BODIES: tuple[dict[str, Any], ...] = (
    {
        "type": "vocal",
        "lyrics": _LYRICS,
        "genre": "Pop",
        "mood": "Happy",
        "gender": "Female",
        "timbre": "Warm",
        "duration": 60,
    },
    {"type": "vocal", "lyrics": _LYRICS},
    {"type": "bgm", "description": "calm piano for a rainy afternoon", "duration": 30},
    {
        "type": "bgm",
        "version": "v1.0",
        "description": "Upbeat corporate background music for presentation",
        "duration": 45,
        "genre": ["corporate", "upbeat"],
        "mood": ["positive", "energetic"],
        "instrument": ["piano", "guitar"],
        "theme": ["motivational"],
    },
    {
        "type": "bgm",
        "version": "v2.0",
        "description": "Cinematic trailer music with dramatic build-up",
        "segments": [
            {"name": "intro", "duration": 15},
            {"name": "verse", "duration": 30},
            {"name": "chorus", "duration": 45},
            {"name": "outro", "duration": 10},
        ],
    },
)


def encoded_bodies() -> list[bytes]:
    """The create bodies as compact JSON, one per element."""
    return [orjson.dumps(body) for body in CREATE_BODIES]


def write_bodies_file(path: Path) -> Path:
    """Write the create bodies one per line (what ``lua/create.lua`` and the Python generator read)."""
    path.write_bytes(b"\n".join(encoded_bodies()) + b"\n")
    return path


def rotating_key(prefix: str, sent: int) -> str:
    """The API key for the ``sent``-th create of one client: a new key every :data:`KEY_EVERY`."""
    return f"{API_KEY}-{prefix}-{sent // KEY_EVERY}"


def write_ids_file(path: Path, pairs: list[tuple[str, str]]) -> Path:
    """Write ``API_KEY TASK_ID`` lines (what ``lua/poll.lua`` and the Python generator read)."""
    path.write_text("".join(f"{key} {task_id}\n" for key, task_id in pairs), encoding="ascii")
    return path


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """The ``(api key, task id)`` pairs of an ids file."""
    pairs = []
    for line in read_lines(path):
        key, task_id = line.split()
        pairs.append((key, task_id))
    return pairs


def read_lines(path: Path) -> list[str]:
    """The non-empty lines of a bodies or ids file."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
