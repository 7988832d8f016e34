"""The MIDI transcription of a tune: a Standard MIDI File (mido) and the same notes as JSON.

The notes are the tune's own (:func:`mockserver.synth.audio.notes`), so the MIDI file, its JSON and the
audio agree note for note, at the tune's tempo (:data:`~mockserver.synth.audio.BPM`).
"""

from __future__ import annotations

import io
import math
from typing import Any

import mido

from mockserver.synth.audio import BPM, NOTE_SAMPLES, PITCHES, SAMPLE_RATE, Tune, notes

TICKS_PER_BEAT = 480
#: The instrument (track) name every transcription has.
LEAD = "Lead"
_VELOCITIES = (72, 84, 96, 112)


def _midi_number(frequency: float) -> int:
    return round(69 + 12 * math.log2(frequency / 440.0))


def instruments(tune: Tune) -> list[dict[str, Any]]:
    """``[{name, notes: [{pitch, start, end, velocity}]}]``: one instrument, every note of the tune."""
    length = NOTE_SAMPLES / SAMPLE_RATE
    listed = [
        {
            "pitch": _midi_number(PITCHES[pitch]),
            "start": round(start, 3),
            "end": round(min(start + length, tune.duration), 3),
            "velocity": _VELOCITIES[level],
        }
        for start, pitch, level in notes(tune)
    ]
    return [{"name": LEAD, "notes": listed}]


def midi_file(tune: Tune) -> bytes:
    """A type-1 Standard MIDI File: a tempo track and one note track."""
    song = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    tempo = mido.MidiTrack()
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0))
    tempo.append(mido.MetaMessage("end_of_track", time=0))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=LEAD, time=0))
    ticks = TICKS_PER_BEAT * NOTE_SAMPLES * BPM / (60 * SAMPLE_RATE)  # ticks per note
    previous_end = 0
    for note in instruments(tune)[0]["notes"]:
        start = round(note["start"] * SAMPLE_RATE / NOTE_SAMPLES * ticks)
        end = max(start + 1, round(note["end"] * SAMPLE_RATE / NOTE_SAMPLES * ticks))
        track.append(mido.Message("note_on", note=note["pitch"], velocity=note["velocity"], time=start - previous_end))
        track.append(mido.Message("note_off", note=note["pitch"], velocity=0, time=end - start))
        previous_end = end
    track.append(mido.MetaMessage("end_of_track", time=0))
    song.tracks.extend([tempo, track])
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()
