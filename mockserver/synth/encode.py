"""Compressed encodings of a tune: MP3 (lameenc), M4A (AAC) and an MP4 video of the cover (PyAV).

Encoding is CPU work proportional to the length (an MP3 of 200 s takes about a quarter of a second, an
M4A several times that), so the ``/cdn`` handlers run it off the event loop and keep a bounded cache.
"""

from __future__ import annotations

import io
from typing import Any

import lameenc

from mockserver.synth.audio import SAMPLE_RATE, Tune, pcm
from mockserver.synth.images import cover_rgb

MP3_KBPS = 64
#: One video frame per this many seconds (the picture is still: the cover).
VIDEO_FRAME_SECONDS = 1
VIDEO_SIZE = 128


def mp3(tune: Tune) -> bytes:
    """The tune as a constant-bitrate mono MP3."""
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_KBPS)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_channels(1)
    encoder.set_quality(7)  # lame's fast setting: the mock's tunes are simple
    return bytes(encoder.encode(pcm(tune)) + encoder.flush())


def _audio_frames(av: Any, tune: Tune) -> Any:
    samples = pcm(tune)
    step = 2 * SAMPLE_RATE
    for offset in range(0, len(samples), step):
        chunk = samples[offset : offset + step]
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk) // 2)
        frame.planes[0].update(chunk)
        frame.sample_rate = SAMPLE_RATE
        yield frame


def m4a(tune: Tune) -> bytes:
    """The tune as AAC in an MPEG-4 audio file."""
    import av  # a large library, loaded only when an M4A or a video is asked for

    out = io.BytesIO()
    with av.open(out, mode="w", format="ipod") as container:
        stream = container.add_stream("aac", rate=SAMPLE_RATE)
        stream.layout = "mono"
        for frame in _audio_frames(av, tune):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def mp4(tune: Tune, seed: str) -> bytes:
    """A video: the cover of ``seed`` as a still picture (MPEG-4 part 2), over the tune (AAC)."""
    import av

    out = io.BytesIO()
    picture = cover_rgb(seed, VIDEO_SIZE)
    with av.open(out, mode="w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=1)
        video.width = video.height = VIDEO_SIZE
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "mono"
        for second in range(0, max(1, round(tune.duration)), VIDEO_FRAME_SECONDS):
            frame = av.VideoFrame(VIDEO_SIZE, VIDEO_SIZE, "rgb24")
            frame.planes[0].update(picture)
            frame.pts = second
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        for sound in _audio_frames(av, tune):
            for packet in audio.encode(sound):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return out.getvalue()
