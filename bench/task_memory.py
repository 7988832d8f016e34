"""Where the memory of one stored task goes: tracemalloc over many inserts, plus a per-object breakdown.

Run: ``python bench/task_memory.py [--tasks 20000]``. Inserts tasks exactly as ``populated_server.py``
(and the Nuro create handler) does, then prints the traced bytes per task by allocation site (with
the source line) and, for one task of each body shape, the size of each part that the task owns
alone (objects shared with another task, such as interned keys and enum strings, are not counted).
"""

from __future__ import annotations

import argparse
import gc
import linecache
import sys
import time
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from populated_server import build_state, insert_tasks
from workload import CREATE_BODIES

from mockserver.engine.records import Task


def deep_size(obj: Any, seen: set[int] | None = None) -> int:
    """``sys.getsizeof`` of ``obj`` and everything it references (dicts, lists, tuples, slots), once each."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    children: Iterable[Any] = ()
    if isinstance(obj, dict):
        children = [*obj.keys(), *obj.values()]
    elif isinstance(obj, list | tuple | set | frozenset):
        children = obj
    elif hasattr(obj, "__slots__"):
        children = [getattr(obj, name) for name in obj.__slots__ if hasattr(obj, name)]
    return size + sum(deep_size(child, seen) for child in children)


def reachable(obj: Any) -> set[int]:
    """Ids of everything :func:`deep_size` would visit from ``obj``."""
    seen: set[int] = set()
    deep_size(obj, seen)
    return seen


def breakdown(task: Task, other: Task) -> dict[str, int]:
    """Bytes per part of ``task`` that ``other`` (a task of the same shape) does not share."""
    shared = reachable(other)
    return {
        "Task": sys.getsizeof(task),
        "id": sys.getsizeof(task.id),
        "floats": sum(sys.getsizeof(getattr(task, n)) for n in ("created_at", "started_at", "ends_at")),
        "result dict": sys.getsizeof(task.result),
        "result values": deep_size(task.result, set(shared)) - sys.getsizeof(task.result),
        "own total": deep_size(task, set(shared)),
    }


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    args = parser.parse_args()
    state = build_state(seed=1)
    insert_tasks(state, 100)  # warm caches (spec schemas, interned strings) before measuring
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    insert_tasks(state, args.tasks)
    elapsed = time.perf_counter() - started
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    print(
        f"{args.tasks} tasks: {(after - before) / args.tasks:.0f} traced bytes per task "
        f"(insert {elapsed / args.tasks * 1e6:.1f} us/task under tracemalloc)"
    )
    print("top allocation sites:")
    for stat in snapshot.statistics("lineno")[:10]:
        frame = stat.traceback[0]
        source = linecache.getline(frame.filename, frame.lineno).strip()
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        print(f"  {stat.size / args.tasks:6.0f} B/task  {where:22} {source[:90]}")
    store_tasks: dict[str, Task] = state.store._tasks  # type: ignore[attr-defined]
    stored = list(store_tasks.values())
    shapes = len(CREATE_BODIES)
    print("bytes each task owns alone (sys.getsizeof, shared objects excluded):")
    for i, body in enumerate(CREATE_BODIES):
        shape = f"{body['type']} {body.get('version', '')}".strip()
        task, other = stored[100 + shapes + i], stored[100 + 2 * shapes + i]
        parts = ", ".join(f"{name} {size}" for name, size in breakdown(task, other).items())
        print(f"  {shape:9} {parts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
