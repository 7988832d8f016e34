"""State adapters of :mod:`mockserver.engine.ports`: memory (the default) and SQLite (durable, shared by workers).

The engine never imports them; the composition root opens the one the configuration asks for.
"""

from __future__ import annotations

from mockserver.config import Config
from mockserver.engine.ports import Store
from mockserver.store.memory import MemoryStore
from mockserver.store.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore", "open_store"]


def open_store(config: Config) -> Store:
    """The store ``config`` asks for: SQLite at ``config.state``, else memory."""
    if config.state:
        return SqliteStore(
            config.state,
            journal_size=config.journal_size,
            journal_bytes=config.journal_bytes,
            shared=config.workers > 1,
        )
    return MemoryStore(config.journal_size, config.journal_bytes)
