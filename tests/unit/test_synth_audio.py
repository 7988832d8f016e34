"""Tests for mockserver.synth.audio: synthesized WAV tunes, byte ranges and Range header parsing."""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
import struct
import subprocess
import sys
import wave
from array import array

import pytest

from mockserver.synth.audio import (
    HEADER_SIZE,
    NOTE_SAMPLES,
    SAMPLE_RATE,
    RangeNotSatisfiable,
    Tune,
    iter_range,
    parse_range,
    read_range,
    wav_header,
)

FULL_SCALE = 32767


def full_file(tune: Tune) -> bytes:
    return read_range(tune, 0, tune.size)


def samples(tune: Tune) -> array[int]:
    pcm = array("h", full_file(tune)[HEADER_SIZE:])
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm


# --- WAV format -------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [199.04325, 1, 0.3, 240, 0.00005])
def test_full_file_is_a_valid_wav_of_the_right_duration(duration: float) -> None:
    tune = Tune("task-123", duration)
    data = full_file(tune)
    assert len(data) == tune.size == HEADER_SIZE + 2 * round(duration * SAMPLE_RATE)
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == SAMPLE_RATE
        assert wav.getnframes() == tune.n_samples == round(duration * SAMPLE_RATE)
        assert abs(wav.getnframes() / wav.getframerate() - duration) <= 1 / SAMPLE_RATE
        assert len(wav.readframes(wav.getnframes())) == 2 * tune.n_samples


def test_wav_header_fields() -> None:
    header = wav_header(1000)
    assert len(header) == HEADER_SIZE
    fields = struct.unpack("<4sI4s4sIHHIIHH4sI", header)
    assert fields == (
        b"RIFF",
        36 + 2000,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        SAMPLE_RATE,
        2 * SAMPLE_RATE,
        2,
        16,
        b"data",
        2000,
    )
    assert read_range(Tune("x", 1000 / SAMPLE_RATE), 0, HEADER_SIZE) == header


def test_wav_header_rejects_sizes_a_riff_file_cannot_hold() -> None:
    with pytest.raises(ValueError):
        wav_header(-1)
    with pytest.raises(ValueError):
        wav_header(2**31)


@pytest.mark.parametrize("duration", [0, -1, math.nan, math.inf, 10**6])
def test_tune_rejects_bad_durations(duration: float) -> None:
    with pytest.raises(ValueError):
        Tune("x", duration)


# --- Sound ------------------------------------------------------------------------------------


def test_tune_is_loud_but_not_clipping() -> None:
    pcm = samples(Tune("loudness", 30))
    rms = math.sqrt(sum(v * v for v in pcm) / len(pcm))
    peak = max(abs(v) for v in pcm)
    assert rms > 0.15 * FULL_SCALE
    assert 0.35 * FULL_SCALE < peak < 0.65 * FULL_SCALE


def dominant_frequency(window: array[int]) -> float:
    crossings = sum(1 for a, b in zip(window, window[1:], strict=False) if (a < 0) != (b < 0))
    return crossings / 2 / (len(window) / SAMPLE_RATE)


@pytest.mark.parametrize("seed", ["melody-a", "melody-b", "0b8e2c1e-6f0a-4c53-9f5e-2a1d1b1b7c10"])
def test_tune_changes_pitch_over_time(seed: str) -> None:
    pcm = samples(Tune(seed, 10))
    freqs = sorted(
        dominant_frequency(pcm[i : i + NOTE_SAMPLES]) for i in range(0, len(pcm) - NOTE_SAMPLES + 1, NOTE_SAMPLES)
    )
    assert freqs[0] > 100  # an audible tone in every note, not silence
    # Cluster the estimates (each within a few Hz of its pitch; the scale's pitches are >= 30 Hz apart).
    clusters = 1 + sum(1 for lo, hi in zip(freqs, freqs[1:], strict=False) if hi - lo > 15)
    assert clusters >= 3


def test_no_clicks_between_notes() -> None:
    pcm = samples(Tune("smooth", 20))
    biggest_jump = max(abs(b - a) for a, b in zip(pcm, pcm[1:], strict=False))
    assert biggest_jump < 0.25 * FULL_SCALE


# --- Determinism ------------------------------------------------------------------------------


def test_same_seed_gives_same_bytes() -> None:
    assert full_file(Tune("same", 12.5)) == full_file(Tune("same", 12.5))


def test_different_seeds_give_different_bytes() -> None:
    first = full_file(Tune("seed-one", 12.5))
    second = full_file(Tune("seed-two", 12.5))
    assert first[:HEADER_SIZE] == second[:HEADER_SIZE]
    assert first[HEADER_SIZE:] != second[HEADER_SIZE:]


def test_duration_only_truncates_the_tune() -> None:
    short, long = Tune("prefix", 3.3), Tune("prefix", 9.0)
    assert read_range(short, HEADER_SIZE, short.size) == read_range(long, HEADER_SIZE, short.size)


def test_bytes_do_not_depend_on_the_process() -> None:
    tune = Tune("cross-process", 5)
    here = hashlib.sha256(full_file(tune)).hexdigest()
    script = (
        "import hashlib; from mockserver.synth.audio import Tune, read_range; "
        "t = Tune('cross-process', 5); print(hashlib.sha256(read_range(t, 0, t.size)).hexdigest())"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": root}
    there = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert there == here


# --- Random access ----------------------------------------------------------------------------


def interesting_ranges(size: int, rng: random.Random) -> list[tuple[int, int]]:
    note_end = HEADER_SIZE + 2 * NOTE_SAMPLES
    fixed = [
        (0, 0),
        (0, 1),
        (0, size),
        (1, 43),
        (43, 45),
        (44, 44),
        (44, 45),
        (45, 46),
        (size - 1, size),
        (size, size),
        (note_end - 1, note_end + 1),
        (note_end, note_end + 2 * NOTE_SAMPLES),
        (3, note_end + 3 * NOTE_SAMPLES + 1),
    ]
    randoms = [tuple(sorted((rng.randrange(size + 1), rng.randrange(size + 1)))) for _ in range(200)]
    short = [(s, min(size, s + rng.randrange(1, 50))) for s in (rng.randrange(size) for _ in range(100))]
    return [(s, e) for s, e in fixed if e <= size] + [(a, b) for a, b in randoms] + short


@pytest.mark.parametrize("duration", [3.3, 1.00005, 0.01])
def test_read_range_matches_slices_of_the_full_file(duration: float) -> None:
    tune = Tune("random-access", duration)
    full = full_file(tune)
    rng = random.Random(duration)
    ranges = interesting_ranges(tune.size, rng)
    assert any(s % 2 for s, _ in ranges) and any(e % 2 for _, e in ranges)
    for start, end in ranges:
        assert read_range(tune, start, end) == full[start:end], (start, end)


@pytest.mark.parametrize("chunk_size", [1, 7, 1000, 65536])
def test_iter_range_matches_read_range(chunk_size: int) -> None:
    tune = Tune("streaming", 2.7)
    rng = random.Random(chunk_size)
    ranges = [(0, tune.size), (43, 9000), (5, 6), (101, 101)]
    for _ in range(5):
        low, high = sorted((rng.randrange(tune.size + 1), rng.randrange(tune.size + 1)))
        ranges.append((low, high))
    for start, end in ranges:
        if chunk_size == 1:
            end = min(end, start + 20_000)
        chunks = list(iter_range(tune, start, end, chunk_size=chunk_size))
        assert b"".join(chunks) == read_range(tune, start, end)
        assert all(0 < len(chunk) <= chunk_size for chunk in chunks)
        assert all(len(chunk) == chunk_size for chunk in chunks[:-1])


def test_iter_range_default_chunk_size() -> None:
    tune = Tune("streaming", 240)
    chunks = list(iter_range(tune, 0, tune.size))
    assert max(len(chunk) for chunk in chunks) == 65536
    assert sum(len(chunk) for chunk in chunks) == tune.size


@pytest.mark.parametrize("bounds", [(-1, 5), (5, 4), (0, None)])
def test_out_of_bounds_ranges_are_rejected(bounds: tuple[int, int | None]) -> None:
    tune = Tune("bounds", 1)
    start, end = bounds[0], tune.size + 1 if bounds[1] is None else bounds[1]
    with pytest.raises(ValueError):
        read_range(tune, start, end)
    with pytest.raises(ValueError):
        iter_range(tune, start, end)  # raises on the call, before iteration


def test_iter_range_rejects_non_positive_chunk_size() -> None:
    with pytest.raises(ValueError):
        iter_range(Tune("bounds", 1), 0, 10, chunk_size=0)


# --- Range header -----------------------------------------------------------------------------

SIZE = 1000
HUGE = "9" * 5000  # longer than int() accepts by default


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("bytes=0-99", (0, 100)),
        ("bytes=0-0", (0, 1)),
        ("bytes=5-5", (5, 6)),
        ("bytes=100-", (100, SIZE)),
        ("bytes=999-", (999, SIZE)),
        ("bytes=-10", (SIZE - 10, SIZE)),
        ("bytes=-1000", (0, SIZE)),
        ("bytes=-5000", (0, SIZE)),
        ("bytes=990-5000", (990, SIZE)),  # end beyond the resource is clamped
        ("bytes=0-999", (0, SIZE)),
        ("bytes=007-010", (7, 11)),
        ("Bytes=0-1", (0, 2)),  # the range unit is case-insensitive
        (" bytes = 0-1 ", (0, 2)),  # whitespace around the header and "=" is tolerated ...
        ("bytes=0 - 1", None),  # ... but not inside the range spec
        ("bytes=5-2", None),  # last < first: invalid, so ignored
        ("bytes=-", None),
        ("bytes=", None),
        ("bytes", None),
        ("bytes=a-b", None),
        ("bytes=1.5-2", None),
        ("bytes=+1-2", None),
        ("bytes=\uff10-1", None),  # fullwidth digit: not an ASCII digit
        ("items=0-1", None),
        ("bytes=0-1,4-5", None),  # multiple ranges: the whole body is served instead
        ("bytes=0-1,", None),
        ("garbage", None),
        ("=0-1", None),
        pytest.param(f"bytes=0-{HUGE}", (0, SIZE), id="huge-last"),
        pytest.param(f"bytes=-{HUGE}", (0, SIZE), id="huge-suffix"),
        pytest.param(f"bytes={HUGE}1-{HUGE}", None, id="huge-first-after-huge-last"),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=-0", SIZE),  # a zero-length suffix selects nothing
        (f"bytes={SIZE}-", SIZE),
        (f"bytes={SIZE}-{SIZE + 10}", SIZE),
        ("bytes=5000-6000", SIZE),
        pytest.param(f"bytes={HUGE}-", SIZE, id="huge-first"),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-5", 0),
    ],
)
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, size)
    assert caught.value.size == size


def test_parse_range_result_feeds_read_range() -> None:
    tune = Tune("http", 1.5)
    parsed = parse_range("bytes=-100", tune.size)
    assert parsed is not None
    assert read_range(tune, *parsed) == full_file(tune)[-100:]
