"""Deterministic media, synthesized on demand from a seed: WAV tunes, PNG covers, MIDI, MP3/M4A/MP4 encodings.

Pure functions of (seed, duration): nothing here knows tasks, stores or HTTP, so families (MIDI notes,
tempo) and the ``/cdn`` handlers read the same music.
"""
