"""The PostgreSQL store's tables and statements (the SQLite schema's twin; row mappers are shared).

Differences from SQLite, each for a reason: ``offset`` and ``window`` are reserved words in PostgreSQL
(``clock_offset``, ``win``); ``pos`` (a sequence) stands for SQLite's ``rowid`` where insertion order is
read; numbered rows (ledger, faults, deliveries) take ``max + 1`` inside the serialized write transaction,
so they restart at 1 after a reset, as on the other stores; journal records take a sequence's next value
(``journal_seq``, restarted by a reset), so a poll's record needs no write lock.
"""

from __future__ import annotations

from mockserver.store.sqlite.schema import (
    ACCOUNT_COLUMNS,
    DELIVERY_COLUMNS,
    ENTRY_COLUMNS,
    JOURNAL_COLUMNS,
    TABLES,
    TASK_COLUMNS,
)

__all__ = ["ACCOUNT_COLUMNS", "DELIVERY_COLUMNS", "ENTRY_COLUMNS", "JOURNAL_COLUMNS", "TABLES", "TASK_COLUMNS"]

#: Bumped when the tables change incompatibly; a database of another version is refused.
SCHEMA_VERSION = 1
#: ``pg_advisory_xact_lock`` key serializing every write transaction of the fleet (ASCII "mamk").
WRITE_LOCK = 0x6D616D6B
#: ``pg_advisory_lock`` key taken while one instance creates the schema.
SCHEMA_LOCK = 0x6D616D6C
JOURNAL_TRIM_EVERY = 256

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sequences (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 0), clock_offset DOUBLE PRECISION NOT NULL,
    frozen_at DOUBLE PRECISION NOT NULL);
CREATE SEQUENCE pos;
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, family TEXT NOT NULL, api_key TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION NOT NULL, ends_at DOUBLE PRECISION NOT NULL, result BYTEA NOT NULL,
    failure_error TEXT, failure_at DOUBLE PRECISION, failure_progress INTEGER, operation TEXT NOT NULL,
    charged_credits BIGINT NOT NULL, charged_extra BIGINT NOT NULL,
    open INTEGER NOT NULL, unsettled INTEGER NOT NULL, pos BIGINT NOT NULL DEFAULT nextval('pos'));
CREATE INDEX tasks_by_key ON tasks (api_key, open, pos);
CREATE INDEX tasks_unsettled ON tasks (api_key) WHERE unsettled = 1;
CREATE INDEX tasks_by_age ON tasks (created_at) WHERE unsettled = 0;
CREATE TABLE clips (
    clip_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    duration DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, task_id TEXT, idx INTEGER NOT NULL, extends TEXT,
    continue_at DOUBLE PRECISION NOT NULL, pos BIGINT NOT NULL DEFAULT nextval('pos'));
CREATE INDEX clips_by_key ON clips (api_key, created_at);
CREATE TABLE personas (
    persona_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, name TEXT NOT NULL, clip_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL);
CREATE TABLE accounts (
    api_key TEXT PRIMARY KEY, credits BIGINT NOT NULL, extra_credits BIGINT NOT NULL, qps DOUBLE PRECISION,
    queue_capacity BIGINT, expires_at DOUBLE PRECISION, usage_limit BIGINT, usage BIGINT NOT NULL,
    invalid_signature INTEGER NOT NULL, pos BIGINT NOT NULL DEFAULT nextval('pos'));
CREATE TABLE ledger (
    seq BIGINT PRIMARY KEY, api_key TEXT NOT NULL, reason TEXT NOT NULL, credits BIGINT NOT NULL,
    extra_credits BIGINT NOT NULL, instant DOUBLE PRECISION NOT NULL, task_id TEXT, operation TEXT,
    error_id TEXT);
CREATE INDEX ledger_by_key ON ledger (api_key);
CREATE UNIQUE INDEX ledger_refund ON ledger (task_id) WHERE reason = 'refund';
CREATE SEQUENCE journal_seq;
CREATE TABLE journal (
    seq BIGINT PRIMARY KEY DEFAULT nextval('journal_seq'), instant DOUBLE PRECISION NOT NULL,
    method TEXT NOT NULL, path TEXT NOT NULL, operation TEXT, status INTEGER NOT NULL, api_key TEXT,
    error_id TEXT, detail BYTEA);
CREATE TABLE qps (api_key TEXT PRIMARY KEY, win BYTEA NOT NULL);
CREATE TABLE faults (
    id BIGINT PRIMARY KEY, operation TEXT NOT NULL, error_id TEXT NOT NULL, times BIGINT,
    probability DOUBLE PRECISION, api_key TEXT, at_progress INTEGER, hits BIGINT NOT NULL);
CREATE TABLE watches (
    task_id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, platform TEXT NOT NULL,
    base_url TEXT NOT NULL, sent TEXT NOT NULL, pos BIGINT NOT NULL DEFAULT nextval('pos'));
CREATE TABLE deliveries (
    seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, task_id TEXT NOT NULL, platform TEXT NOT NULL,
    event TEXT NOT NULL, url TEXT NOT NULL, body BYTEA NOT NULL, due DOUBLE PRECISION NOT NULL,
    secret TEXT NOT NULL, state TEXT NOT NULL, next_at DOUBLE PRECISION NOT NULL, attempts TEXT NOT NULL);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE TABLE refs (name TEXT PRIMARY KEY, value TEXT NOT NULL)
"""

PUT_TASK = (
    f"INSERT INTO tasks ({TASK_COLUMNS}, open, unsettled) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s) "
    "ON CONFLICT (id) DO UPDATE SET family = excluded.family, api_key = excluded.api_key, "
    "created_at = excluded.created_at, started_at = excluded.started_at, ends_at = excluded.ends_at, "
    "result = excluded.result, failure_error = excluded.failure_error, failure_at = excluded.failure_at, "
    "failure_progress = excluded.failure_progress, operation = excluded.operation, "
    "charged_credits = excluded.charged_credits, charged_extra = excluded.charged_extra, open = 1, "
    "unsettled = excluded.unsettled"
)
GET_TASK = f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = %s"
PUT_ACCOUNT = (
    f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (api_key) DO UPDATE SET credits = excluded.credits, extra_credits = excluded.extra_credits, "
    "qps = excluded.qps, queue_capacity = excluded.queue_capacity, expires_at = excluded.expires_at, "
    "usage_limit = excluded.usage_limit, usage = excluded.usage, invalid_signature = excluded.invalid_signature"
)
ADD_ENTRY = (
    "INSERT INTO ledger (seq, api_key, reason, credits, extra_credits, instant, task_id, operation, error_id) "
    "VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM ledger), %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq"
)
ADD_JOURNAL = (
    f"INSERT INTO journal ({', '.join(JOURNAL_COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq"
)
JOURNAL_OVER_BYTES = (
    "SELECT seq FROM (SELECT seq, sum(coalesce(octet_length(detail), 0)) OVER (ORDER BY seq DESC) AS total "
    "FROM journal) AS sized WHERE total > %s LIMIT 1"
)
NEXT = (
    "INSERT INTO sequences (name, value) VALUES (%s, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value"
)
ADD_FAULT = (
    "INSERT INTO faults (id, operation, error_id, times, probability, api_key, at_progress, hits) "
    "VALUES ((SELECT coalesce(max(id), 0) + 1 FROM faults), %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
PUT_DELIVERY = (
    f"INSERT INTO deliveries (seq, {DELIVERY_COLUMNS}) "
    "VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM deliveries), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (id) DO UPDATE SET state = excluded.state, next_at = excluded.next_at, "
    "attempts = excluded.attempts"
)
