"""A bounded cache of encoded media (MP3, M4A, MP4, MIDI): encoding costs CPU, storing costs memory.

Files are deterministic, so a cached file is never stale; the cache only trades memory for encode time,
with a byte bound (least recently used out first). Encoding runs in a worker thread so the event loop
keeps answering; two requests for the same file while it encodes share one encode.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

#: Bytes of encoded files kept at most.
DEFAULT_BYTES = 64 * 1024 * 1024


class EncodedCache:
    """Least-recently-used encoded files, at most ``max_bytes`` of them."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def get(self, key: str, encode: Callable[[], bytes]) -> bytes:
        """The file called ``key``, encoded by ``encode`` (in a thread) when it is not cached."""
        cached = self._files.get(key)
        if cached is not None:
            self._files.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            data = await asyncio.to_thread(encode)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failed encode is the requester's error, not the loop's
            raise
        finally:
            del self._pending[key]
        future.set_result(data)
        self._put(key, data)
        return data

    def _put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        self._files[key] = data
        self._size += len(data)
        while self._size > self.max_bytes:
            _, evicted = self._files.popitem(last=False)
            self._size -= len(evicted)
