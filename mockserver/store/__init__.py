"""State adapters of :mod:`mockserver.engine.ports`: memory (the default), SQLite (durable, shared by workers)
and PostgreSQL (shared by a fleet of instances; the optional ``postgres`` extra).

The engine never imports them; the composition root opens the one the configuration asks for.
"""

from __future__ import annotations

from mockserver.config import Config
from mockserver.engine.ports import Store
from mockserver.errors import ConfigError
from mockserver.store.memory import MemoryStore
from mockserver.store.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore", "open_store"]


def open_store(config: Config) -> Store:
    """The store ``config`` asks for: PostgreSQL at a ``postgresql://`` state, SQLite at a file, else memory."""
    if config.database:
        try:
            from mockserver.store.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError(
                f"--state {config.state.split('@')[-1] if config.state else ''}: a PostgreSQL state needs "
                f"the postgres extra: pip install 'musicapi-mock[postgres]' ({exc})"
            ) from None
        assert config.state is not None
        return PostgresStore(config.state, config.journal_size, journal_bytes=config.journal_bytes)
    if config.state:
        return SqliteStore(
            config.state,
            journal_size=config.journal_size,
            journal_bytes=config.journal_bytes,
            shared=config.workers > 1,
        )
    return MemoryStore(config.journal_size, config.journal_bytes)
