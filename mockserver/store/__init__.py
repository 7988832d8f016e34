"""State stores. Memory is the default; the interface is what a durable store implements too."""

from mockserver.store.base import Store
from mockserver.store.memory import MemoryStore

__all__ = ["MemoryStore", "Store"]
