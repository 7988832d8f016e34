"""Optional: profile mock-memory under each mix with py-spy and summarize the hottest functions."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import load
import procs
import servers
from workload import write_bodies_file, write_ids_file

if TYPE_CHECKING:
    from harness import Plan


def py_spy() -> str | None:
    """py-spy next to the running interpreter, or on PATH."""
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


_LINE = re.compile(r":\d+\)$")


def function_of(frame: str) -> str:
    """``create (mockserver/families/nuro/handlers.py:62)`` → ``create (mockserver/families/nuro/handlers.py)``."""
    return _LINE.sub(")", frame)


def summarize(collapsed: str, top: int = 15) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's ``--format raw`` (collapsed stacks).

    ``inclusive_mock`` lists only the mock's own functions (``mockserver/``), by inclusive share.
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [function_of(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def share(counter: collections.Counter[str]) -> list[dict[str, Any]]:
        return [{"frame": f, "pct": round(100 * n / total, 1)} for f, n in counter.most_common(top)] if total else []

    mock_only = collections.Counter({f: n for f, n in inclusive.items() if "mockserver/" in f})
    return {"samples": total, "self": share(own), "inclusive": share(inclusive), "inclusive_mock": share(mock_only)}


def profile_mixes(plan: Plan, settings: load.Settings, tmp: Path) -> dict[str, Any]:
    """:func:`profile_mix` for every mix of the plan."""
    spy = py_spy()
    if spy is None:
        return {"status": "skipped", "note": "py-spy not installed (pip install py-spy)"}
    profiles: dict[str, Any] = {}
    for mix in plan.mixes:
        try:
            profiles[mix] = profile_mix(spy, mix, plan, settings, tmp)
        except (procs.ServerError, servers.PreflightError, load.LoadError, OSError) as exc:
            profiles[mix] = {"status": "failed", "note": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return profiles


def profile_mix(spy: str, mix: str, plan: Plan, settings: load.Settings, tmp: Path) -> dict[str, Any]:
    """Record mock-memory while ``mix`` runs; write the raw profile next to the results."""
    spec = servers.mock_specs(servers.mock_binary(), tmp / "unused.sqlite")[0]
    raw = tmp / f"profile-{mix}.txt"
    with servers.started(spec, plan.pin) as server:
        servers.preflight(server)
        if mix == "create":
            data = write_bodies_file(tmp / "bodies.jsonl")
        else:
            data = write_ids_file(tmp / "profile-ids.txt", servers.precreate(server, plan.precreate))
        load.run_load(settings, server.base_url, mix, data, plan.warmup or 1)
        cmd = [
            spy,
            "record",
            "--format",
            "raw",
            "--rate",
            "200",
            "--duration",
            str(plan.duration),
            "--output",
            str(raw),
            "--pid",
            str(server.proc.pid),
        ]
        spy_proc = subprocess.Popen(
            procs.pinned(cmd, settings.cpus), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            result, _ = load.run_load(settings, server.base_url, mix, data, plan.duration)
            output, _ = spy_proc.communicate(timeout=plan.duration + 60)
        finally:
            if spy_proc.poll() is None:
                spy_proc.kill()
                spy_proc.wait()
    if spy_proc.returncode != 0 or not raw.exists():
        return {"status": "failed", "note": f"py-spy exited {spy_proc.returncode}: {output.strip()[-300:]}"}
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    kept = plan.out_dir / f"profile-{mix}.txt"
    shutil.copyfile(raw, kept)
    summary = summarize(raw.read_text())
    print(
        f"\nprofile of mock-memory under the {mix} mix ({result.rps:,.0f} req/s while sampled), "
        f"{summary['samples']} samples -> {kept}"
    )
    for entry in summary["self"][:12]:
        print(f"  self      {entry['pct']:5.1f}%  {entry['frame']}")
    for entry in summary["inclusive_mock"][:12]:
        print(f"  inclusive {entry['pct']:5.1f}%  {entry['frame']}")
    return {"status": "ok", "rps_while_profiled": result.rps, "raw": str(kept), **summary}
