"""The benchmark run: load benchmark (server × mix) and scaling benchmark, then table, JSON and chart.

Entry point: ``python bench/run.py`` (see ``bench/README.md``). Every server is a subprocess started
on a free port and stopped in a ``finally``; every load is bounded by its duration.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import load
import noise
import procs
import profiling
import report
import servers
from workload import write_bodies_file, write_ids_file

BENCH = Path(__file__).resolve().parent
LOAD_CPUS = {1}
Row = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """What this run does, resolved from the command line (``--smoke`` changes the defaults)."""

    smoke: bool
    duration: int
    warmup: int
    connections: int
    threads: int
    precreate: int
    load_bench: bool
    scaling: bool
    scaling_sizes: tuple[int, ...]
    scaling_duration: int
    scaling_sample: int
    populate_budget: float
    with_prism: bool
    only: frozenset[str] | None
    mixes: tuple[str, ...]
    loadgen: str
    pin: bool
    install: bool
    profile: bool
    quiet_wait: float
    out_dir: Path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Load and scaling benchmark of musicapi-mock against Prism and a bare Starlette app.",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="short run for CI: no Prism, 1 s loads, tiny scaling sizes; fails only on errors",
    )
    p.add_argument("--duration", type=int, help="seconds per measured load (default 10; smoke 1)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up load before each measurement (default 2; smoke 1)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--precreate", type=int, help="tasks created before the poll mix (default 1000; smoke 100)")
    p.add_argument("--scaling", action="store_true", help="run only the scaling benchmark")
    p.add_argument("--no-scaling", action="store_true", help="skip the scaling benchmark")
    p.add_argument("--scaling-sizes", help="comma-separated task counts (default 1000,100000,1000000; smoke 100,1000)")
    p.add_argument("--scaling-duration", type=int, help="seconds per scaling poll load (default 5; smoke 1)")
    p.add_argument(
        "--populate-budget",
        type=float,
        default=180.0,
        help="skip a scaling size whose population would take longer (s)",
    )
    p.add_argument(
        "--servers",
        help="comma-separated subset: mock-memory,mock-sqlite,mock-memory-2workers,starlette-hello,prism,wiremock",
    )
    p.add_argument("--mixes", default="create,poll", help="comma-separated subset of create,poll")
    p.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk, installed with apt-get if missing, else the Python generator",
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin servers to CPU 0 and the load to CPU 1")
    p.add_argument("--no-install", action="store_true", help="never run apt-get or npm")
    p.add_argument(
        "--profile", action="store_true", help="also profile mock-memory under each mix with py-spy (if installed)"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        help="before each measurement, wait up to this many seconds for other processes to use "
        "under 25%% of a core (default 20; smoke 0)",
    )
    p.add_argument("--out", type=Path, help="results directory (default bench/results; smoke bench/results/smoke)")
    return p.parse_args(argv)


def _pick(value: Any, full: Any, smoke: Any, is_smoke: bool) -> Any:
    if value is not None:
        return value
    return smoke if is_smoke else full


def resolve_plan(args: argparse.Namespace) -> Plan:
    """Apply the defaults of a full or smoke run."""
    smoke = bool(args.smoke)
    sizes_text = _pick(args.scaling_sizes, "1000,100000,1000000", "100,1000", smoke)
    only = frozenset(s.strip() for s in args.servers.split(",")) if args.servers else None
    return Plan(
        smoke=smoke,
        duration=_pick(args.duration, 10, 1, smoke),
        warmup=_pick(args.warmup, 2, 1, smoke),
        connections=args.connections,
        threads=args.threads,
        precreate=_pick(args.precreate, 1000, 100, smoke),
        load_bench=not args.scaling,
        scaling=not args.no_scaling,
        scaling_sizes=tuple(int(s) for s in sizes_text.split(",") if s.strip()),
        scaling_duration=_pick(args.scaling_duration, 5, 1, smoke),
        scaling_sample=10_000,
        populate_budget=args.populate_budget,
        with_prism=not smoke,
        only=only,
        mixes=tuple(m.strip() for m in args.mixes.split(",") if m.strip()),
        loadgen=args.loadgen,
        pin=not args.no_pin and procs.can_pin(),
        install=not args.no_install,
        profile=bool(args.profile),
        quiet_wait=_pick(args.quiet_wait, 20.0, 0.0, smoke),
        out_dir=args.out or (BENCH / "results" / ("smoke" if smoke else "")),
    )


def load_settings(plan: Plan) -> load.Settings:
    """wrk if possible (installing it when allowed), else the Python generator."""
    wrk = None if plan.loadgen == "python" else load.ensure_wrk(plan.install)
    if wrk is None and plan.loadgen == "wrk":
        raise SystemExit("--loadgen wrk: wrk is not available")
    cpus = LOAD_CPUS if plan.pin else None
    if wrk is None:
        return load.Settings("python", plan.connections, 1, cpus)
    return load.Settings("wrk", plan.connections, plan.threads, cpus, wrk_path=wrk)


# --- load benchmark ------------------------------------------------------------------------------------


def server_specs(plan: Plan, tmp: Path) -> list[servers.ServerSpec]:
    """Every server of the table, available or not, filtered by ``--servers``."""
    specs = servers.mock_specs(servers.mock_binary(), tmp / "mock-state.sqlite")
    specs.append(servers.hello_spec())
    if plan.with_prism and (plan.only is None or "prism" in plan.only):
        specs.append(servers.prism_spec(plan.install))
    if plan.with_prism and (plan.only is None or "wiremock" in plan.only):
        specs.append(servers.wiremock_spec(plan.install))
    return [s for s in specs if plan.only is None or s.name in plan.only]


def _data_file(server: procs.Server, mix: str, plan: Plan, tmp: Path) -> Path:
    if mix == "create":
        return write_bodies_file(tmp / "bodies.jsonl")
    pairs = servers.precreate(server, plan.precreate)
    return write_ids_file(tmp / f"ids-{server.name}.txt", pairs)


def _settle(row: Row, plan: Plan) -> None:
    """Give a busy machine a (bounded) chance to calm down before measuring; record what was seen."""
    if plan.quiet_wait > 0:
        waited, share = noise.wait_for_quiet(plan.quiet_wait)
        row["quiet_wait_s"], row["other_cpu_before_pct"] = waited, share


def _judge(row: Row, strict: bool) -> None:
    """Set ``status``: a strict server fails on any non-2xx answer or socket error."""
    problems = []
    if row["non_2xx"]:
        problems.append(f"{row['non_2xx']} non-2xx")
    if row["socket_errors"]:
        problems.append(f"{row['socket_errors']} socket errors")
    if problems and strict:
        row["status"], row["note"] = "failed", ", ".join(problems)
    else:
        row["status"] = "ok"
        if problems:
            row["note"] = ", ".join(problems) + " (reported only)"


def measure(spec: servers.ServerSpec, mix: str, plan: Plan, settings: load.Settings, tmp: Path) -> Row:
    """Start ``spec`` fresh, pre-flight it, warm it up, measure one mix, read its peak RSS, stop it."""
    row: Row = {
        "server": spec.name,
        "mix": mix,
        "status": "",
        "note": spec.note,
        "server_command": shlex.join(servers.command_line(spec)),
    }
    if spec.version:
        row["version"] = spec.version
    if not spec.available:
        row["status"] = "not available yet" if "not available yet" in spec.note else "unavailable"
        row["note"] = spec.note.replace("not available yet: ", "").strip()
        return row
    spec = servers.with_state_file(spec, tmp / f"{spec.name}-{mix}.sqlite")
    _settle(row, plan)
    try:
        with servers.started(spec, plan.pin, timeout=60 if spec.kind == "mock" else 90) as server:
            row["preflight"] = servers.preflight(server)
            data = _data_file(server, mix, plan, tmp)
            warmup = max(plan.warmup, spec.min_warmup)
            if warmup:
                load.run_load(settings, server.base_url, mix, data, warmup)
            if spec.min_warmup:
                row["warmup_s"] = warmup
            before, started_at = noise.snapshot(server.proc.pid), time.monotonic()
            result, raw = load.run_load(settings, server.base_url, mix, data, plan.duration)
            row.update(noise.foreign(before, noise.snapshot(server.proc.pid), time.monotonic() - started_at))
            row["peak_rss_mb"] = round(procs.tree_kb(server.proc.pid, "VmHWM") / 1024, 1)
            row["processes"] = len(procs.process_tree(server.proc.pid))
            row.update(result.as_dict())
            row["load_command"] = shlex.join(
                load.display_command(settings, "http://127.0.0.1:PORT", mix, data, plan.duration)
            )
            row["load_output"] = raw
            _judge(row, spec.strict)
            if spec.note and not row.get("note"):
                row["note"] = spec.note
    except (procs.ServerError, servers.PreflightError, load.LoadError, OSError) as exc:
        row["status"], row["note"] = "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        row["error"] = str(exc)
    return row


def _progress(row: Row) -> str:
    if row.get("rps") is None:
        return f"  {row['server']:22} {row['mix']:6} {row['status']} {row.get('note', '')}"
    return (
        f"  {row['server']:22} {row['mix']:6} {row['rps']:>9,.0f} req/s  p50 {row['p50_ms']:.2f} ms  "
        f"p99 {row['p99_ms']:.2f} ms  RSS {row.get('peak_rss_mb', 0):.0f} MB  "
        f"other CPU {row.get('other_cpu_pct', 0):.0f}%  {row['status']} {row.get('note', '')}"
    )


def load_benchmark(plan: Plan, settings: load.Settings, tmp: Path) -> list[Row]:
    """Every server × mix."""
    rows = []
    for spec in server_specs(plan, tmp):
        for mix in plan.mixes:
            row = measure(spec, mix, plan, settings, tmp)
            print(_progress(row), flush=True)
            rows.append(row)
    return rows


# --- scaling benchmark -------------------------------------------------------------------------------------


def populated_spec(tasks: int, plan: Plan, ids_file: Path) -> servers.ServerSpec:
    """The populated mock launcher for ``tasks`` stored tasks."""
    args = [
        sys.executable,
        str(BENCH / "populated_server.py"),
        "--tasks",
        str(tasks),
        "--port",
        "0",
        "--budget",
        str(plan.populate_budget),
    ]
    if tasks:
        args += ["--ids-out", str(ids_file), "--ids-sample", str(plan.scaling_sample)]
    return servers.ServerSpec(f"populated-{tasks}", "populated", args)


def _populate_seconds(lines: Sequence[str]) -> float | None:
    for line in lines:
        if line.startswith("populated "):
            return float(line.split(" in ", 1)[1].split()[0])
    return None


def measure_populated(tasks: int, base_kb: int | None, plan: Plan, settings: load.Settings, tmp: Path) -> Row:
    """Start a mock holding ``tasks`` tasks; its RSS, memory per task and poll latency."""
    ids_file = tmp / f"scaling-ids-{tasks}.txt"
    spec = populated_spec(tasks, plan, ids_file)
    row: Row = {"tasks": tasks, "status": "", "server_command": shlex.join(spec.args)}
    if tasks:
        _settle(row, plan)
    try:
        with servers.started(spec, plan.pin, timeout=plan.populate_budget + 120) as server:
            row["populate_s"] = _populate_seconds(list(server.output))
            time.sleep(0.5)  # let uvicorn finish starting, the same for every size
            rss_kb = procs.tree_kb(server.proc.pid, "VmRSS")
            row["rss_kb"], row["rss_mb"] = rss_kb, round(rss_kb / 1024, 1)
            if tasks and base_kb is not None:
                row["bytes_per_task"] = round((rss_kb - base_kb) * 1024 / tasks, 1)
            if tasks:
                if plan.warmup:
                    load.run_load(settings, server.base_url, "poll", ids_file, min(plan.warmup, 2))
                before, started_at = noise.snapshot(server.proc.pid), time.monotonic()
                result, _ = load.run_load(settings, server.base_url, "poll", ids_file, plan.scaling_duration)
                row.update(noise.foreign(before, noise.snapshot(server.proc.pid), time.monotonic() - started_at))
                row.update(result.as_dict())
                row["peak_rss_mb"] = round(procs.tree_kb(server.proc.pid, "VmHWM") / 1024, 1)
                _judge(row, strict=True)
            else:
                row["status"] = "ok"
                row["note"] = "baseline"
    except procs.ServerError as exc:
        skip = next((line for line in str(exc).splitlines() if line.startswith("SKIP:")), None)
        row["status"], row["note"] = ("skipped", skip[5:].strip()) if skip else ("failed", str(exc)[:300])
    except (load.LoadError, OSError) as exc:
        row["status"], row["note"] = "failed", f"{type(exc).__name__}: {str(exc)[:300]}"
    return row


def scaling_benchmark(plan: Plan, settings: load.Settings, tmp: Path) -> list[Row]:
    """Baseline (0 tasks), then each size."""
    base = measure_populated(0, None, plan, settings, tmp)
    print(f"  scaling baseline: RSS {base.get('rss_mb', '-')} MB {base['status']}", flush=True)
    rows = [base]
    base_kb = base.get("rss_kb")
    for tasks in plan.scaling_sizes:
        row = measure_populated(tasks, base_kb, plan, settings, tmp)
        print(
            f"  scaling {tasks:>9,} tasks: populate {row.get('populate_s', '-')} s  RSS {row.get('rss_mb', '-')} MB"
            f"  {row.get('bytes_per_task', '-')} B/task  p50 {row.get('p50_ms', '-')} ms  "
            f"p99 {row.get('p99_ms', '-')} ms  other CPU {row.get('other_cpu_pct', '-')}%  {row['status']} "
            f"{row.get('note', '')}",
            flush=True,
        )
        rows.append(row)
    return rows


# --- the run ---------------------------------------------------------------------------------------------------


def describe_load(settings: load.Settings) -> dict[str, Any]:
    """The load generator and how it is run, for the results file."""
    info: dict[str, Any] = {
        "tool": settings.tool,
        "connections": settings.connections,
        "threads": settings.threads,
        "cpus": sorted(settings.cpus) if settings.cpus else None,
        "key_every": settings.key_every,
    }
    if settings.wrk_path:
        info["version"] = load.wrk_version(settings.wrk_path)
    return info


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything the plan asks for; exit 1 if any server failed to start or answered errors."""
    plan = resolve_plan(parse_args(argv))
    started_at = datetime.now(UTC)
    settings = load_settings(plan)
    print(
        f"load generator: {settings.tool} ({settings.threads} thread(s), {settings.connections} connections, "
        f"{plan.duration} s after {plan.warmup} s warm-up)"
        + (
            f"; servers pinned to CPU {sorted(servers.SERVER_CPUS)}, load to CPU {sorted(LOAD_CPUS)}"
            if plan.pin
            else "; not pinned"
        ),
        flush=True,
    )
    rows: list[Row] = []
    scaling_rows: list[Row] = []
    profile: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="musicapi-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if plan.load_bench:
            print("load benchmark:", flush=True)
            rows = load_benchmark(plan, settings, tmp)
        if plan.scaling and plan.scaling_sizes:
            print("scaling benchmark:", flush=True)
            scaling_rows = scaling_benchmark(plan, settings, tmp)
        if plan.profile:
            profile = profiling.profile_mixes(plan, settings, tmp)
    ratio_rows = report.ratios(rows)
    result: dict[str, Any] = {
        "kind": "smoke" if plan.smoke else "full",
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "command": shlex.join([Path(sys.executable).name, "bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": report.machine_info(),
        "load": {
            **describe_load(settings),
            "duration_s": plan.duration,
            "warmup_s": plan.warmup,
            "precreated_tasks": plan.precreate,
            "server_cpus": sorted(servers.SERVER_CPUS) if plan.pin else None,
        },
        "rows": rows,
        "ratios": ratio_rows,
        "targets": report.TARGETS,
        "scaling": {"sizes": list(plan.scaling_sizes), "duration_s": plan.scaling_duration, "rows": scaling_rows},
        "profile": profile,
    }
    failed = [r for r in rows + scaling_rows if r["status"] == "failed"]
    result["ok"] = not failed
    print_summary(rows, ratio_rows, scaling_rows)
    latest, stamped = report.write_json(result, plan.out_dir)
    title = (
        f"musicapi-mock benchmark ({result['kind']}, {settings.tool}, {plan.connections} conns, "
        f"{plan.duration} s) — {result['machine']['cpu_model']} ×{result['machine']['nproc']}"
    )
    chart = report.write_chart(rows, scaling_rows, plan.out_dir / "latest.png", title)
    print(f"\nresults: {latest} (copy: {stamped.name})" + (f"; chart: {chart}" if chart else ""))
    if failed:
        print(
            "FAILED: "
            + "; ".join(f"{r.get('server', r.get('tasks'))} {r.get('mix', '')}: {r['note']}" for r in failed),
            file=sys.stderr,
        )
        return 1
    return 0


def print_summary(rows: Sequence[Row], ratio_rows: Sequence[Row], scaling_rows: Sequence[Row]) -> None:
    """The tables."""
    if rows:
        print("\n" + report.load_table(rows))
    if ratio_rows:
        print("\nratios (req/s) and the issue's targets (reported, not asserted):\n" + report.ratio_table(ratio_rows))
    if scaling_rows:
        print(
            "\nscaling (memory per task = (RSS with N tasks - RSS with 0) / N):\n" + report.scaling_table(scaling_rows)
        )
