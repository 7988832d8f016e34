"""Cover images behind ``image_url``: a small PNG, deterministic from the clip id (stdlib only)."""

from __future__ import annotations

import hashlib
import struct
import zlib

SIZE = 64


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def cover_rgb(seed: str, size: int = SIZE) -> bytes:
    """The cover's pixels, ``size`` x ``size`` RGB rows: a diagonal gradient between two colours of ``seed``."""
    digest = hashlib.blake2b(seed.encode(), digest_size=6).digest()
    first, second = digest[:3], digest[3:]
    pixels = bytearray()
    for y in range(size):
        for x in range(size):
            t = (x + y) / (2 * size - 2)
            pixels += bytes(int(a + (b - a) * t) for a, b in zip(first, second, strict=True))
    return bytes(pixels)


def cover_png(seed: str) -> bytes:
    """A 64x64 RGB PNG of :func:`cover_rgb`."""
    pixels = cover_rgb(seed)
    width = 3 * SIZE
    rows = [b"\x00" + pixels[y * width : (y + 1) * width] for y in range(SIZE)]  # filter type: none
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )
