"""How much CPU *other* processes took during a measurement (the machine is shared and noisy).

A snapshot records the machine's busy and steal time (/proc/stat), the CPU time of the server's
process tree (/proc/<pid>/stat) and of this harness and its reaped children (the load generator).
Between two snapshots, busy time not accounted for by those is someone else's: a test suite running
next door, or (``steal``) another VM on the same host.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import procs

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds at one instant."""

    busy: float
    steal: float
    server: float
    ours: float


def _machine() -> tuple[float, float]:
    """(busy, steal) seconds of all CPUs since boot."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return (user + nice + system + irq + softirq) / _TICK, steal / _TICK


def _tree_cpu(pid: int) -> float:
    """utime + stime of ``pid`` and its descendants, in seconds."""
    total = 0
    for member in procs.process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def _ours() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def snapshot(server_pid: int) -> Snapshot:
    """The counters now."""
    busy, steal = _machine()
    return Snapshot(busy, steal, _tree_cpu(server_pid), _ours())


def foreign(before: Snapshot, after: Snapshot, seconds: float) -> dict[str, float]:
    """Other processes' CPU and the hypervisor's steal over ``seconds``, in % of one core."""
    if seconds <= 0:
        return {"other_cpu_pct": 0.0, "steal_pct": 0.0}
    other = (after.busy - before.busy) - (after.server - before.server) - (after.ours - before.ours)
    return {
        "other_cpu_pct": round(max(0.0, other) / seconds * 100, 1),
        "steal_pct": round((after.steal - before.steal) / seconds * 100, 1),
    }


def idle_share(seconds: float = 1.0) -> float:
    """Other processes' CPU over the next ``seconds`` (in % of one core), with no server running."""
    before = Snapshot(*_machine(), 0.0, _ours())
    time.sleep(seconds)
    after = Snapshot(*_machine(), 0.0, _ours())
    return foreign(before, after, seconds)["other_cpu_pct"]


def wait_for_quiet(max_wait: float, threshold_pct: float = 25.0) -> tuple[float, float]:
    """Wait (at most ``max_wait`` s) until others use under ``threshold_pct`` of a core; (waited s, last %)."""
    started = time.monotonic()
    share = idle_share()
    while share >= threshold_pct and time.monotonic() - started < max_wait:
        share = idle_share()
    return round(time.monotonic() - started, 1), share
