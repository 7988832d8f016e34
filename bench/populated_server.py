"""A mock whose memory store already holds N finished Nuro tasks, for the scaling benchmark.

``python bench/populated_server.py --tasks N [--port 0] [--ids-out FILE --ids-sample K]``

Builds the real app with ``mockserver.app.create_app`` (``--clock instant --nuro legacy``, so every
stored task is already ``succeeded``), inserts N tasks through the same call the Nuro create handler
makes — ``with billing.charge(...) as paid: tasks.start_task(ctx, paid, ..., result=rules.result_for(...))``
— cycling over
the benchmark's create bodies, writes a uniform random sample of the ids, prints how long population
took, then serves like ``musicapi-mock serve``. One API key owns every task; it starts with enough
credits to pay for all of them, so the ledger holds one debit per task, as after N HTTP creates.

A population projected (after the first slice) or measured to take longer than ``--budget`` seconds
is abandoned: the process prints a ``SKIP:`` line and exits with status 3, serving nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving import serve
from starlette.applications import Starlette
from workload import API_KEY, CREATE_BODIES, write_ids_file

from mockserver.app import create_app
from mockserver.config import Config, NuroMode
from mockserver.engine.billing import charge
from mockserver.engine.records import Task
from mockserver.engine.tasks import start_task
from mockserver.families.nuro.family import NuroFamily
from mockserver.mock import Mock

EXIT_OVER_BUDGET = 3
#: Tasks inserted before projecting the total population time.
PROBE_TASKS = 20_000


class OverBudget(Exception):
    """Populating would take longer than the budget."""


@dataclass(frozen=True)
class Prepared:
    """A create body with the schema branch the validator selects for it."""

    body: Mapping[str, Any]
    schema: Mapping[str, Any]


def bench_config(seed: int, port: int = 0) -> Config:
    """Instant clock, legacy Nuro, and (where the mock bills creates) credits for any number of tasks."""
    config = Config(port=port, clock="instant", nuro=NuroMode.parse("legacy"), seed=seed)
    if "initial_credits" in {f.name for f in dataclasses.fields(Config)}:
        config = config.with_(initial_credits=10**15)
    return config


def build_app(seed: int, port: int = 0) -> tuple[Starlette, Mock]:
    """The real mock app (instant clock, legacy Nuro) and its state."""
    app = create_app(bench_config(seed, port))
    state: Mock = app.state.mock
    return app, state


def build_state(seed: int) -> Mock:
    """Only the state (for scripts that measure the store without serving)."""
    return build_app(seed)[1]


def prepare_bodies(state: Mock) -> list[Prepared]:
    """Each benchmark body with its schema, selected exactly as ``Call.body`` does."""
    validator = state.spec.operations["nuroCreate"].body
    assert validator is not None, "nuroCreate has no request body schema"
    prepared = []
    for body in CREATE_BODIES:
        if not validator.is_valid(body):
            raise ValueError(f"benchmark body is not valid for nuroCreate: {body}")
        prepared.append(Prepared(body, validator.select(body)))
    return prepared


def task_creator(state: Mock) -> Callable[[Prepared], Task]:
    """A function storing one task for a prepared body, by the create handler's own calls."""
    nuro = next(entry.tasks for entry in state.families if entry.name == "nuro")
    assert isinstance(nuro, NuroFamily)
    rules, errors, timing, ctx = nuro.rules, nuro.errors, nuro.timing(state.config.clock), state.ctx

    def create(item: Prepared) -> Task:
        with charge(ctx, errors, "nuroCreate", API_KEY, forced=None) as paid:
            rules.check_language(item.body)
            result = rules.result_for(paid.ref_id, item.body, item.schema)
            return start_task(ctx, paid, family="nuro", timing=timing, result=result)

    return create


def insert_tasks(
    state: Mock,
    count: int,
    *,
    sample: int = 0,
    budget: float | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """Insert ``count`` tasks as the create handler does; return a random sample of ``sample`` ids.

    Raises :class:`OverBudget` if the first :data:`PROBE_TASKS` tasks project a total above ``budget``
    seconds, or if the budget runs out while inserting.
    """
    rng = rng or random.Random(0)
    wanted = set(rng.sample(range(count), min(sample, count)))
    prepared = prepare_bodies(state)
    create = task_creator(state)
    picked: list[str] = []
    started = time.perf_counter()
    for i in range(count):
        task = create(prepared[i % len(prepared)])
        if i in wanted:
            picked.append(task.id)
        if budget is not None and (i + 1) % PROBE_TASKS == 0:
            _check_budget(i + 1, count, time.perf_counter() - started, budget)
    rng.shuffle(picked)
    return picked


def _check_budget(done: int, total: int, elapsed: float, budget: float) -> None:
    projected = elapsed / done * total
    if projected > budget:
        raise OverBudget(
            f"{done} tasks in {elapsed:.1f} s: {total} would take ~{projected:.0f} s (budget {budget:.0f} s)"
        )


def main() -> int:
    """Populate, report, serve."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, required=True, help="how many finished tasks to store")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ids-out", type=Path, help="write a random sample of the stored ids here")
    parser.add_argument("--ids-sample", type=int, default=10_000, help="how many ids to write")
    parser.add_argument("--budget", type=float, default=180.0, help="give up if populating takes longer (s)")
    args = parser.parse_args()
    app, state = build_app(args.seed, args.port)
    started = time.perf_counter()
    try:
        ids = insert_tasks(state, args.tasks, sample=args.ids_sample if args.ids_out else 0, budget=args.budget)
    except OverBudget as exc:
        print(f"SKIP: {exc}", flush=True)
        return EXIT_OVER_BUDGET
    elapsed = time.perf_counter() - started
    if args.ids_out:
        write_ids_file(args.ids_out, [(API_KEY, task_id) for task_id in ids])
    del ids
    gc.collect()
    per_task = elapsed / args.tasks * 1e6 if args.tasks else 0.0
    print(f"populated {state.store.task_count()} tasks in {elapsed:.2f} s ({per_task:.1f} us/task)", flush=True)
    serve(app, "populated-mock", args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
