"""Nested, serialized transactions and the per-request held commit, shared by the durable stores.

A store subclasses :class:`HeldTransactions` and supplies ``_begin`` (start the outermost transaction,
taking whatever lock serializes writers) and ``_end`` (commit or roll back, then let the next writer in).
:class:`Transaction` nests them (the outermost commits; a :class:`~mockserver.errors.MockError` is a domain
outcome and commits), and :meth:`HeldTransactions.request` holds a request's committed transaction open so
that its journal record commits with it: one commit per request.

With :attr:`HeldTransactions.group_commit` (the SQLite store), the held transaction goes further: the
requests of one turn of the event loop all write into it, it commits once at the next turn, and each of
them answers only after that commit (:meth:`HeldTransactions.settled`). One commit per turn instead of
one per request, under load a commit for dozens of creates.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType

from mockserver.errors import MockError, StoreError

log = logging.getLogger("musicapi_mock")

#: The API request the running code serves (see :meth:`SqliteStore.request`): an identity, or None.
REQUEST: ContextVar[object | None] = ContextVar("musicapi_mock_request", default=None)


class Transaction:
    """``with store.transaction():`` — BEGIN IMMEDIATE … COMMIT (outermost only), serialized per store."""

    __slots__ = ("_store",)

    def __init__(self, store: HeldTransactions) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        if store._depth == 0:
            try:
                if store._held is None:
                    store._begin()
                elif store._held is REQUEST.get() or store.group_commit:
                    # this request's own held transaction, or the turn's group: carry on in it
                    store._held = None
                else:  # another request's: commit it, then start afresh
                    store._release_held()
                    store._begin()
            except BaseException:
                store._lock.release()
                raise
        store._depth += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        store = self._store
        try:
            store._depth -= 1
            if store._depth == 0:
                commit = exc_type is None or issubclass(exc_type, MockError)
                request = REQUEST.get()
                if commit and request is not None:
                    store._hold(request)
                else:
                    store._close(commit)
        finally:
            store._lock.release()


class HeldTransactions:
    """The transaction machinery of a durable store (see the module docstring)."""

    #: Whether the requests of one event-loop turn share one commit (see the module docstring).
    group_commit = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._transaction = Transaction(self)
        #: The request whose committed transaction is held open (see :meth:`request`), or None.
        self._held: object | None = None
        #: Group commit: what the requests of the held transaction await, resolved when it commits.
        self._group: asyncio.Future[None] | None = None
        self._commit_scheduled = False

    def _begin(self) -> None:
        """Start the outermost transaction."""
        raise NotImplementedError

    def _end(self, commit: bool) -> None:
        """Commit (or roll back) the outermost transaction."""
        raise NotImplementedError

    @contextmanager
    def request(self) -> Iterator[None]:
        """One API request (around its handler and its journal record).

        A transaction it commits is *held* open instead, so that what follows in the same stretch of
        synchronous code — the request's journal record — commits with it: one commit per create
        rather than two. The hold ends when the request ends (before its answer is sent), when the
        request pauses (``await``: the event loop's next turn), or when another request needs the
        database, whichever comes first. A request never answers before its writes are committed.
        """
        token = REQUEST.set(object())
        try:
            yield
        finally:
            REQUEST.reset(token)
            if self._held is not None and not self.group_commit:
                with self._lock:
                    self._release_held()

    def settled(self) -> Awaitable[None] | None:
        """What a request that just left :meth:`request` awaits before it answers: the commit of the turn's
        held transaction, which holds what it wrote or may have read; None when nothing is uncommitted.

        Raises :class:`~mockserver.errors.StoreError` (when awaited) if that transaction rolled back.
        """
        if self._held is None:
            return None
        with self._lock:
            if self._held is None:
                return None
            if self._group is None:
                self._group = asyncio.get_running_loop().create_future()
            return self._group

    def writable(self) -> Awaitable[None] | None:
        """What a request awaits before its handler so that it may write (None: nothing to wait for)."""
        return None

    def settle_now(self) -> None:
        """Commit at once what :meth:`settled` waits for (a request cancelled while it waited)."""
        with self._lock:
            if self._depth == 0:
                self._release_held()

    def _hold(self, request: object) -> None:
        """Keep the transaction open for ``request``; commit it at the event loop's next turn at the latest."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._close(commit=True)
            return
        self._held = request
        if not self._commit_scheduled:
            self._commit_scheduled = True
            loop.call_soon(self._release_held_soon)

    def _release_held_soon(self) -> None:
        with self._lock:
            self._commit_scheduled = False
            if self._depth == 0:
                try:
                    self._release_held()
                except Exception as exc:  # the requests of the group were told (StoreError): no traceback
                    log.error("a group commit failed and was rolled back: %s", exc)

    def _release_held(self) -> None:
        """Commit the held transaction, if any."""
        if self._held is not None:
            self._held = None
            self._close(commit=True)

    def _close(self, commit: bool) -> None:
        """End the outermost transaction; the requests waiting on it learn how it went."""
        group, self._group = self._group, None
        try:
            self._end(commit)
        except BaseException as exc:
            _settle(group, StoreError(f"the state could not be saved: {exc}"))
            raise
        _settle(group, None if commit else StoreError("the state of this request was rolled back"))

    def transaction(self) -> Transaction:
        """A unit of work (BEGIN IMMEDIATE … COMMIT); nested ones join the outermost."""
        return self._transaction


def _settle(group: asyncio.Future[None] | None, error: Exception | None) -> None:
    """Resolve the requests' future from whichever thread ended the transaction."""
    if group is None or group.done():
        return
    loop = group.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if error is None:
        resolve = group.set_result
        if running is loop:
            resolve(None)
        else:
            loop.call_soon_threadsafe(lambda: None if group.done() else resolve(None))
    elif running is loop:
        group.set_exception(error)
    else:
        loop.call_soon_threadsafe(lambda: None if group.done() else group.set_exception(error))
