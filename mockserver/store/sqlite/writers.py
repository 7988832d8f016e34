"""The workers' lock file (``FILE-lock``): taken blocking inside a transaction, or awaited before a request.

Several workers on one state file take turns to write through an ``flock`` on this file. Taken inside a
transaction (``BEGIN``), a busy lock blocks the worker's whole event loop until the other worker commits:
measured, half a worker's time went there and two workers were slower than one. :meth:`WriterLock.wait`
lets a request wait for it *before* its handler runs, in a thread of its own, so the event loop goes on
reading and answering other connections meanwhile; the requests that waited then run together and share
one commit (group commit).

The ``flock`` is only a way to take turns fast: SQLite's own write lock (``BEGIN IMMEDIATE`` with its busy
timeout) is what keeps the workers' writes apart, so a turn taken out of step (a background transaction
releasing the lock while a waiting thread takes it) costs speed, never correctness.
"""

from __future__ import annotations

import asyncio
import fcntl
import threading
from collections.abc import Callable


class WriterLock:
    """One process's hold of the workers' lock file."""

    def __init__(self, fd: int, idle: Callable[[], bool]) -> None:
        self.fd = fd
        #: Whether this process holds the lock (as far as it knows; see the module docstring).
        self.held = False
        self._idle = idle
        self._waiting: asyncio.Future[None] | None = None

    def acquire(self) -> None:
        """Take the lock, blocking until the other workers let go."""
        if not self.held:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.held = True

    def release(self) -> None:
        """Let the other workers in."""
        if self.held:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def wait(self) -> asyncio.Future[None] | None:
        """None if the lock is this process's (now); else a future resolved once a thread has taken it."""
        if self.held:
            return None
        loop = asyncio.get_running_loop()
        if self._waiting is None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._waiting = loop.create_future()
                threading.Thread(target=self._take, args=(loop, self._waiting), daemon=True).start()
                return self._waiting
            self.held = True
            loop.call_soon(self._release_unused)
            return None
        return self._waiting

    def _take(self, loop: asyncio.AbstractEventLoop, waiting: asyncio.Future[None]) -> None:
        # a daemon thread: a process that stops while another worker holds the lock is not kept alive
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            loop.call_soon_threadsafe(self._failed, waiting, exc)
            return
        try:
            loop.call_soon_threadsafe(self._taken, waiting)
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _taken(self, waiting: asyncio.Future[None]) -> None:
        self._waiting = None
        self.held = True
        if not waiting.done():
            waiting.set_result(None)
        # the requests that waited run first; if none of them wrote, the lock goes back
        asyncio.get_running_loop().call_soon(self._release_unused)

    def _failed(self, waiting: asyncio.Future[None], exc: OSError) -> None:
        self._waiting = None
        if not waiting.done():
            waiting.set_result(None)  # the transaction's own blocking take will raise it again

    def _release_unused(self) -> None:
        if self.held and self._idle():
            self.release()
