"""Records to table rows and back, shared by the SQLite and the PostgreSQL store (same columns, in order)."""

from __future__ import annotations

from typing import Any, cast

import orjson

from mockserver.engine.records import Account, Attempt, Delivery, Entry, Failure, FaultRule, Reason, Task


def task_row(task: Task, unsettled: bool) -> tuple[Any, ...]:
    """A task's row (``TASK_COLUMNS``, then ``unsettled``); its result as one compact JSON blob."""
    failure, charged = task.failure, task.charged
    return (
        task.id,
        task.family,
        task.api_key,
        task.created_at,
        task.started_at,
        task.ends_at,
        orjson.dumps(task.result),
        None if failure is None else failure.error_id,
        None if failure is None else failure.at,
        None if failure is None else failure.progress,
        task.operation,
        charged[0],
        charged[1],
        int(unsettled),
    )


def account_row(account: Account) -> tuple[Any, ...]:
    """An account's row (``ACCOUNT_COLUMNS``)."""
    return (
        account.api_key,
        account.credits,
        account.extra_credits,
        account.qps,
        account.queue_capacity,
        account.expires_at,
        account.usage_limit,
        account.usage,
        int(account.invalid_signature),
    )


def entry_row(entry: Entry) -> tuple[Any, ...]:
    """A ledger entry's row without its ``seq``."""
    return (
        entry.api_key,
        entry.reason,
        entry.credits,
        entry.extra_credits,
        entry.instant,
        entry.task_id,
        entry.operation,
        entry.error_id,
    )


def delivery_row(delivery: Delivery) -> tuple[Any, ...]:
    """A delivery's row (``DELIVERY_COLUMNS``), its attempts as JSON text."""
    attempts = orjson.dumps([[a.instant, a.status, a.error] for a in delivery.attempts]).decode()
    return (
        delivery.id,
        delivery.task_id,
        delivery.platform,
        delivery.event,
        delivery.url,
        delivery.body,
        delivery.due,
        delivery.secret,
        delivery.state,
        delivery.next_at,
        attempts,
    )


def fault_row(rule: FaultRule) -> tuple[Any, ...]:
    """A fault rule's row without its ``id``."""
    return (rule.operation, rule.error_id, rule.times, rule.probability, rule.api_key, rule.at_progress, rule.hits)


#: The journal's columns, in row order (``seq`` is read after them).
JOURNAL_COLUMNS = ("instant", "method", "path", "operation", "status", "api_key", "error_id", "detail")


def journal_query(
    mark: str, size: int, api_key: str | None, limit: int | None, after: int | None
) -> tuple[str, tuple[Any, ...]]:
    """The query of ``journal_entries`` (``mark``: the driver's placeholder) and its parameters."""
    sql = (
        f"SELECT {', '.join(JOURNAL_COLUMNS)}, seq FROM journal "
        f"WHERE seq > (SELECT coalesce(max(seq), 0) FROM journal) - {mark}"
    )
    params: tuple[Any, ...] = (size,)
    if api_key is not None:
        sql += f" AND api_key = {mark}"
        params += (api_key,)
    if after is not None:
        sql += f" AND seq > {mark}"
        params += (after,)
    sql += " ORDER BY seq" if after is not None else " ORDER BY seq DESC"
    if limit:
        sql += f" LIMIT {mark}"
        params += (limit,)
    return sql, params


def journal_records(rows: list[tuple[Any, ...]], after: int | None) -> list[dict[str, Any]]:
    """Rows of :func:`journal_query` as records, oldest first (``detail`` as bytes)."""
    names = (*JOURNAL_COLUMNS, "seq")
    records = [dict(zip(names, row, strict=True)) for row in (rows if after is not None else reversed(rows))]
    for record in records:
        if record["detail"] is not None:
            record["detail"] = bytes(record["detail"])
    return records


def task_of(row: tuple[Any, ...]) -> Task:
    (
        task_id,
        family,
        api_key,
        created_at,
        started_at,
        ends_at,
        result,
        failure_error,
        failure_at,
        failure_progress,
        operation,
        charged_credits,
        charged_extra,
    ) = row
    failure = None if failure_error is None else Failure(failure_error, failure_at, failure_progress)
    return Task(
        task_id,
        family,
        api_key,
        created_at,
        started_at,
        ends_at,
        orjson.loads(result),
        failure,
        operation,
        (charged_credits, charged_extra),
    )


def account_of(row: tuple[Any, ...]) -> Account:
    api_key, credits, extra, qps, capacity, expires_at, usage_limit, usage, invalid = row
    return Account(api_key, credits, extra, qps, capacity, expires_at, usage_limit, usage, bool(invalid))


def entry_of(row: tuple[Any, ...]) -> Entry:
    seq, api_key, reason, credits, extra, instant, task_id, operation, error_id = row
    return Entry(seq, api_key, cast(Reason, reason), credits, extra, instant, task_id, operation, error_id)


def delivery_of(row: tuple[Any, ...]) -> Delivery:
    delivery_id, task_id, platform, event, url, body, due, secret, state, next_at, attempts = row
    return Delivery(
        delivery_id,
        task_id,
        platform,
        event,
        url,
        body,
        due,
        secret,
        state,
        next_at,
        [Attempt(*attempt) for attempt in orjson.loads(attempts)],
    )


def fault_of(row: tuple[Any, ...]) -> FaultRule:
    return FaultRule(*row)
