"""Deterministic, synthesized WAV audio served by the mock's ``audio_url`` endpoints.

A :class:`Tune` is a seed (usually a task or clip id) plus a duration. Its WAV file (mono, 16-bit
little-endian PCM at :data:`SAMPLE_RATE`) is never stored: the data section is a sequence of
fixed-length notes, each one of a few precomputed PCM buffers, so any byte range is built on demand
by slicing and joining those buffers. Note choice comes from ``blake2b`` of the seed, so the same
seed always gives the same bytes, in any process.

:func:`parse_range` turns an HTTP ``Range`` header into a byte range for :func:`read_range` /
:func:`iter_range`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "BPM",
    "HEADER_SIZE",
    "PITCHES",
    "NOTE_SAMPLES",
    "SAMPLE_RATE",
    "RangeNotSatisfiable",
    "Tune",
    "iter_range",
    "notes",
    "parse_range",
    "pcm",
    "read_range",
    "wav_header",
]

SAMPLE_RATE: int = 22050
"""Samples per second (mono, 16-bit PCM little-endian)."""

HEADER_SIZE: int = 44
"""Size in bytes of the canonical RIFF/WAVE header that precedes the samples."""

NOTE_SAMPLES: int = SAMPLE_RATE // 5
"""Samples per note (0.2 s)."""

_NOTE_BYTES = 2 * NOTE_SAMPLES
_NOTES_PER_BLOCK = 32  # one 64-byte blake2b digest per block: two bytes per note
_MAX_DATA_BYTES = 0xFFFFFFFF - 36  # the RIFF chunk size field is a uint32

# C major pentatonic over two octaves (C4 .. E5), in Hz.
_PITCHES: tuple[float, ...] = (261.63, 293.66, 329.63, 392.00, 440.00, 523.25, 587.33, 659.26)
# Peak amplitudes as fractions of full scale; the last one is the downbeat accent.
_LEVELS: tuple[float, ...] = (0.40, 0.46, 0.52, 0.58)
# Melodic steps (in scale degrees) of the random walk, indexed by 3 bits of the digest.
_STEPS: tuple[int, ...] = (-2, -1, -1, 0, 1, 1, 2, 3)
_HARMONICS: tuple[tuple[int, float], ...] = ((1, 1.0), (2, 0.25), (3, 0.08))
_ATTACK_SAMPLES = SAMPLE_RATE * 5 // 1000
_RELEASE_SAMPLES = SAMPLE_RATE * 20 // 1000
_DECAY_PER_SECOND = 2.0
_PERSON = b"musicapi-tune"


@dataclass(frozen=True, slots=True)
class Tune:
    """A deterministic tune: a seed and a duration in seconds."""

    seed: str
    duration: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise ValueError(f"duration must be a finite number > 0, got {self.duration!r}")
        if 2 * self.n_samples > _MAX_DATA_BYTES:
            raise ValueError(f"duration {self.duration!r} s is too long for a WAV file")

    @property
    def n_samples(self) -> int:
        """Number of samples: ``round(duration * SAMPLE_RATE)``."""
        return round(self.duration * SAMPLE_RATE)

    @property
    def size(self) -> int:
        """Total size of the WAV file in bytes, header included."""
        return HEADER_SIZE + 2 * self.n_samples


def wav_header(n_samples: int) -> bytes:
    """The canonical 44-byte RIFF/WAVE header for ``n_samples`` mono 16-bit PCM samples."""
    data_size = 2 * n_samples
    if not 0 <= data_size <= _MAX_DATA_BYTES:
        raise ValueError(f"n_samples out of range for a WAV file: {n_samples}")
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size
        1,  # PCM
        1,  # channels
        SAMPLE_RATE,
        SAMPLE_RATE * 2,  # byte rate
        2,  # block align
        16,  # bits per sample
        b"data",
        data_size,
    )


@functools.lru_cache(maxsize=1)
def _note_buffers() -> tuple[bytes, ...]:
    """PCM bytes of every distinct note; index ``pitch * len(_LEVELS) + level``."""
    envelope = []
    for n in range(NOTE_SAMPLES):
        # Ramps to zero at both ends so consecutive notes join without clicks.
        gain = min(1.0, n / _ATTACK_SAMPLES, (NOTE_SAMPLES - 1 - n) / _RELEASE_SAMPLES)
        envelope.append(gain * math.exp(-_DECAY_PER_SECOND * n / SAMPLE_RATE))
    buffers: list[bytes] = []
    for freq in _PITCHES:
        step = 2 * math.pi * freq / SAMPLE_RATE
        wave = [env * sum(amp * math.sin(h * step * n) for h, amp in _HARMONICS) for n, env in enumerate(envelope)]
        peak = max(abs(v) for v in wave)
        for level in _LEVELS:
            scale = level * 32767 / peak
            pcm = array("h", [round(v * scale) for v in wave])
            if sys.byteorder == "big":
                pcm.byteswap()
            buffers.append(pcm.tobytes())
    return tuple(buffers)


def _block_notes(seed: bytes, block: int) -> list[int]:
    """Buffer indices of the notes of one block: a seeded random walk over the scale."""
    digest = hashlib.blake2b(seed + block.to_bytes(8, "big"), digest_size=64, person=_PERSON).digest()
    n_pitches, n_levels = len(_PITCHES), len(_LEVELS)
    pitch = digest[0] % n_pitches
    notes: list[int] = []
    for i in range(_NOTES_PER_BLOCK):
        move, colour = digest[2 * i], digest[2 * i + 1]
        if i:
            pitch += _STEPS[move & 7]
            if pitch < 0:
                pitch = -pitch
            elif pitch >= n_pitches:
                pitch = 2 * (n_pitches - 1) - pitch
        level = n_levels - 1 if i % 4 == 0 else colour % (n_levels - 1)
        notes.append(pitch * n_levels + level)
    return notes


#: Notes between two downbeats (every fourth note is accented): a beat of four 0.2 s notes.
NOTES_PER_BEAT = 4
#: The tempo every tune has: one beat of :data:`NOTES_PER_BEAT` notes of ``NOTE_SAMPLES / SAMPLE_RATE`` s.
BPM = 60 * SAMPLE_RATE / (NOTES_PER_BEAT * NOTE_SAMPLES)
#: The frequency (Hz) of each pitch index :func:`notes` returns.
PITCHES = _PITCHES


def notes(tune: Tune) -> list[tuple[float, int, int]]:
    """The tune's notes in order: ``(start seconds, pitch index, level index)``, one per 0.2 s.

    Level index ``len(_LEVELS) - 1`` is the downbeat accent. The last note may be cut short by the end.
    """
    seed = tune.seed.encode("utf-8", "surrogatepass")
    count = -(-tune.n_samples // NOTE_SAMPLES)
    out: list[tuple[float, int, int]] = []
    n_levels = len(_LEVELS)
    for block in range(-(-count // _NOTES_PER_BLOCK)):
        for i, index in enumerate(_block_notes(seed, block)):
            number = block * _NOTES_PER_BLOCK + i
            if number >= count:
                break
            out.append((number * NOTE_SAMPLES / SAMPLE_RATE, index // n_levels, index % n_levels))
    return out


def pcm(tune: Tune) -> bytes:
    """The tune's samples (16-bit mono little-endian), without the WAV header."""
    return read_range(tune, HEADER_SIZE, tune.size)


def _check_range(tune: Tune, start: int, end: int) -> None:
    if not 0 <= start <= end <= tune.size:
        raise ValueError(f"invalid range [{start}, {end}) for a file of {tune.size} bytes")


def _segments(tune: Tune, start: int, end: int) -> Iterator[bytes | memoryview]:
    """Pieces of bytes [start, end) of the file, in order, without copying whole notes."""
    if start < HEADER_SIZE:
        yield wav_header(tune.n_samples)[start : min(end, HEADER_SIZE)]
    data_start = max(start, HEADER_SIZE) - HEADER_SIZE
    data_end = end - HEADER_SIZE
    if data_end <= data_start:
        return
    buffers = _note_buffers()
    seed = tune.seed.encode("utf-8", "surrogatepass")
    note = data_start // _NOTE_BYTES
    offset = note * _NOTE_BYTES  # file-data offset of the current note's first byte
    block, notes = -1, []
    while offset < data_end:
        if note // _NOTES_PER_BLOCK != block:
            block = note // _NOTES_PER_BLOCK
            notes = _block_notes(seed, block)
        buf = buffers[notes[note % _NOTES_PER_BLOCK]]
        lo = max(data_start - offset, 0)
        hi = min(data_end - offset, _NOTE_BYTES)
        yield buf if lo == 0 and hi == _NOTE_BYTES else memoryview(buf)[lo:hi]
        note += 1
        offset += _NOTE_BYTES


def read_range(tune: Tune, start: int, end: int) -> bytes:
    """Bytes [start, end) of the WAV file (header included at offset 0).

    Requires ``0 <= start <= end <= tune.size``; raises ``ValueError`` otherwise.
    """
    _check_range(tune, start, end)
    return b"".join(_segments(tune, start, end))


def iter_range(tune: Tune, start: int, end: int, chunk_size: int = 65536) -> Iterator[bytes]:
    """The same bytes as :func:`read_range`, in chunks of at most ``chunk_size``, for streaming.

    Every chunk but the last is exactly ``chunk_size`` bytes; an empty range yields nothing.
    Arguments are validated before the first chunk is produced.
    """
    _check_range(tune, start, end)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    return _chunks(_segments(tune, start, end), chunk_size)


def _chunks(segments: Iterator[bytes | memoryview], chunk_size: int) -> Iterator[bytes]:
    pending = bytearray()
    for segment in segments:
        view = memoryview(segment)
        while view:
            take = chunk_size - len(pending)
            pending += view[:take]
            view = view[take:]
            if len(pending) == chunk_size:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


class RangeNotSatisfiable(Exception):
    """The Range header is valid but selects nothing; answer 416 with ``Content-Range: bytes */size``."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable for a resource of {size} bytes")
        self.size = size


_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")


def _uint_key(digits: str) -> tuple[int, str]:
    """Sort key ordering decimal strings by value, without int() (which rejects > 4300 digits)."""
    stripped = digits.lstrip("0")
    return len(stripped), stripped


def _uint_capped(digits: str, cap: int) -> int:
    """``min(int(digits), cap)``, safe for arbitrarily long digit strings."""
    if _uint_key(digits) > _uint_key(str(cap)):
        return cap
    return min(int(digits), cap)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse an HTTP ``Range`` header (RFC 9110 §14.2) for a resource of ``size`` bytes.

    Returns ``(start, end_exclusive)``, or ``None`` to serve the whole body with 200. Supported forms
    are ``bytes=a-b`` (``b`` beyond the end is clamped to ``size - 1``), ``bytes=a-`` and the suffix
    ``bytes=-n`` (the last ``n`` bytes, or all of them when ``n >= size``).

    Ignored (``None``), as RFC 9110 allows a server to ignore Range: no header, an empty one, a unit
    other than ``bytes`` (the unit is case-insensitive), anything syntactically invalid (including
    ``a > b``, whitespace inside a range spec, non-ASCII digits), and any multi-range request such as
    ``bytes=0-1,5-6`` -- the mock never sends ``multipart/byteranges``, it serves the full body.
    Whitespace around the whole header and around ``=`` is tolerated (``bytes= 0-1`` parses).

    Raises :class:`RangeNotSatisfiable` for a valid range that selects no byte: ``a >= size``, a
    zero-length suffix ``bytes=-0``, or any range when ``size == 0``.
    """
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    if header is None:
        return None
    unit, sep, range_set = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    spec = _RANGE_SPEC.fullmatch(range_set.strip())
    if spec is None:
        return None
    first, last = spec.groups()
    if not first:
        if not last:
            return None
        suffix = _uint_capped(last, size)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return size - suffix, size
    if last and _uint_key(first) > _uint_key(last):
        return None
    start = _uint_capped(first, size)
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = _uint_capped(last, size - 1) + 1 if last else size
    return start, end
