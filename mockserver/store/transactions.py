"""Nested, serialized transactions and the per-request held commit, shared by the durable stores.

A store subclasses :class:`HeldTransactions` and supplies ``_begin`` (start the outermost transaction,
taking whatever lock serializes writers) and ``_end`` (commit or roll back, then let the next writer in).
:class:`Transaction` nests them (the outermost commits; a :class:`~mockserver.errors.MockError` is a domain
outcome and commits), and :meth:`HeldTransactions.request` holds a request's committed transaction open so
that its journal record commits with it: one commit per request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType

from mockserver.errors import MockError

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
                elif store._held is not REQUEST.get():  # another request's: commit it, then start afresh
                    store._release_held()
                    store._begin()
                else:  # this request's own held transaction: carry on in it
                    store._held = None
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
                    store._end(commit)
        finally:
            store._lock.release()


class HeldTransactions:
    """The transaction machinery of a durable store (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._transaction = Transaction(self)
        #: The request whose committed transaction is held open (see :meth:`request`), or None.
        self._held: object | None = None

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
            if self._held is not None:
                with self._lock:
                    self._release_held()

    def _hold(self, request: object) -> None:
        """Keep the transaction open for ``request``; commit it at the event loop's next turn at the latest."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._end(commit=True)
            return
        self._held = request
        loop.call_soon(self._release_held_soon)

    def _release_held_soon(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._release_held()

    def _release_held(self) -> None:
        """Commit the held transaction, if any."""
        if self._held is not None:
            self._held = None
            self._end(commit=True)

    def transaction(self) -> Transaction:
        """A unit of work (BEGIN IMMEDIATE … COMMIT); nested ones join the outermost."""
        return self._transaction
