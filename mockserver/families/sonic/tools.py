"""Sonic's synchronous tools and uploads: URL rules, upload length, lyrics, tags, and what a clip's tools answer.

Everything a tool answers about a clip (its stems, MIDI notes, tempo) is derived from the clip's own
synthesized tune (:mod:`mockserver.synth`), so the answer and the files agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from mockserver.engine.records import Clip
from mockserver.engine.urls import reach
from mockserver.synth import audio, midi

#: Extra descriptors :func:`upsample_tags` adds, picked by the tags themselves.
_DESCRIPTORS = (
    "warm analog synths",
    "tight drums",
    "lush pads",
    "driving bassline",
    "airy vocals",
    "vinyl crackle",
    "bright piano",
    "cinematic strings",
    "groovy rhythm",
    "dreamy reverb",
    "punchy mix",
    "mellow guitar",
)


def public_url(url: str) -> bool:
    """Whether the vendor could fetch ``url`` (the mock never does): http(s) on a public host."""
    return reach(url) == "public"


def upload_length(url: str) -> float:
    """The length (seconds, 6–60) of the file behind an upload URL: derived from the URL, never fetched."""
    seconds = 6 + int.from_bytes(hashlib.blake2b(url.encode(), digest_size=4).digest(), "big") % 5400 / 100
    return round(seconds, 2)


def lyrics_for(description: str) -> list[dict[str, str]]:
    """Two lyrics (title and text) for a description, as ``POST /api/v1/sonic/lyrics`` answers."""
    topic = description.strip()
    results = []
    for variant in ("Whisper of", "Midnight"):
        word = topic.split()[-1].capitalize() if topic.split() else "Song"
        title = f"{variant} {word}"
        results.append(
            {
                "title": title,
                "lyrics": (
                    f"[Verse]\n{topic.capitalize()}, all I can see\nIt follows the light and it follows me\n\n"
                    f"[Chorus]\n{title}, {title.lower()}\nSing it again till the night is through"
                ),
            }
        )
    return results


def upsample_tags(tags: str) -> str:
    """The tags followed by three descriptors chosen from them (deterministic)."""
    digest = hashlib.blake2b(tags.encode(), digest_size=8).digest()
    picked: list[str] = []
    for byte in digest:
        choice = _DESCRIPTORS[byte % len(_DESCRIPTORS)]
        if choice not in picked:
            picked.append(choice)
        if len(picked) == 3:
            break
    return ", ".join([tags.strip(), *picked])


def tune(clip: Clip, part: str | None = None) -> audio.Tune:
    """The clip's tune (``part``: one of its stems), as the ``/cdn`` handlers synthesize it."""
    return audio.Tune(clip.clip_id if part is None else f"{clip.clip_id}/{part}", clip.duration)


def stems(clip: Clip, names: list[str], base_url: str) -> list[dict[str, str]]:
    """One downloadable WAV per stem."""
    return [{"name": name, "url": f"{base_url}/cdn/stems/{clip.clip_id}/{name}.wav"} for name in names]


def midi_of(clip: Clip, base_url: str) -> Mapping[str, Any]:
    """``midi_url`` and the notes per instrument: the clip's own tune, transcribed."""
    return {
        "clip_id": clip.clip_id,
        "midi_url": f"{base_url}/cdn/midi/{clip.clip_id}.mid",
        "instruments": midi.instruments(tune(clip)),
    }


def bpm_of(clip: Clip) -> float:
    """The clip's tempo (every tune is at :data:`mockserver.synth.audio.BPM`)."""
    return audio.BPM


#: The URL of each download format: the clip's audio in that encoding (m4a is real AAC, mp3 real MP3).
DOWNLOAD_SUFFIX = {"mp3": ".mp3", "m4a": ".m4a", "wav": ".wav"}


def download_files(clip_id: str, formats: list[str], base_url: str) -> dict[str, str]:
    """``{format: url}`` of a prepared download."""
    return {fmt: f"{base_url}/cdn/audio/{clip_id}{DOWNLOAD_SUFFIX[fmt]}" for fmt in formats}
