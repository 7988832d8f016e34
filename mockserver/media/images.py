"""Cover images behind ``image_url``: a small PNG, deterministic from the clip id (stdlib only)."""

from __future__ import annotations

import hashlib
import struct
import zlib

SIZE = 64


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def cover_png(seed: str) -> bytes:
    """A 64x64 RGB PNG: a diagonal gradient between two colours derived from ``seed``."""
    digest = hashlib.blake2b(seed.encode(), digest_size=6).digest()
    first, second = digest[:3], digest[3:]
    rows = []
    for y in range(SIZE):
        row = bytearray(b"\x00")  # filter type: none
        for x in range(SIZE):
            t = (x + y) / (2 * SIZE - 2)
            row += bytes(int(a + (b - a) * t) for a, b in zip(first, second, strict=True))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )
