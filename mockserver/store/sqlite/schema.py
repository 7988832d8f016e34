"""The state file's tables and statements (one place to read when the schema changes; rows: ``store.rows``)."""

from __future__ import annotations

from mockserver.store.rows import JOURNAL_COLUMNS as JOURNAL_COLUMNS

#: Bumped when the tables change incompatibly; a file of another version is refused.
SCHEMA_VERSION = 4
#: The journal is trimmed to its size every this many records.
JOURNAL_TRIM_EVERY = 256

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 0), offset REAL NOT NULL, frozen_at REAL NOT NULL);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, family TEXT NOT NULL, api_key TEXT NOT NULL, created_at REAL NOT NULL,
    started_at REAL NOT NULL, ends_at REAL NOT NULL, result BLOB NOT NULL,
    failure_error TEXT, failure_at REAL, failure_progress INTEGER, operation TEXT NOT NULL,
    charged_credits INTEGER NOT NULL, charged_extra INTEGER NOT NULL,
    open INTEGER NOT NULL, unsettled INTEGER NOT NULL);
CREATE INDEX tasks_by_key ON tasks (api_key, open);
CREATE INDEX tasks_unsettled ON tasks (api_key) WHERE unsettled = 1;
CREATE INDEX tasks_by_age ON tasks (created_at) WHERE unsettled = 0;
CREATE TABLE clips (
    clip_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, created_at REAL NOT NULL, duration REAL NOT NULL,
    kind TEXT NOT NULL, task_id TEXT, idx INTEGER NOT NULL, extends TEXT, continue_at REAL NOT NULL);
CREATE TABLE personas (
    persona_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, name TEXT NOT NULL, clip_id TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE accounts (
    api_key TEXT PRIMARY KEY, credits INTEGER NOT NULL, extra_credits INTEGER NOT NULL, qps REAL,
    queue_capacity INTEGER, expires_at REAL, usage_limit INTEGER, usage INTEGER NOT NULL,
    invalid_signature INTEGER NOT NULL);
CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY, api_key TEXT NOT NULL, reason TEXT NOT NULL, credits INTEGER NOT NULL,
    extra_credits INTEGER NOT NULL, instant REAL NOT NULL, task_id TEXT, operation TEXT, error_id TEXT);
CREATE INDEX ledger_by_key ON ledger (api_key);
CREATE UNIQUE INDEX ledger_refund ON ledger (task_id) WHERE reason = 'refund';
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY, instant REAL NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    operation TEXT, status INTEGER NOT NULL, api_key TEXT, error_id TEXT, detail BLOB);
CREATE TABLE qps (api_key TEXT PRIMARY KEY, window TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE faults (
    id INTEGER PRIMARY KEY, operation TEXT NOT NULL, error_id TEXT NOT NULL, times INTEGER,
    probability REAL, api_key TEXT, at_progress INTEGER, hits INTEGER NOT NULL);
CREATE TABLE watches (
    task_id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, platform TEXT NOT NULL,
    base_url TEXT NOT NULL, sent TEXT NOT NULL);
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, task_id TEXT NOT NULL, platform TEXT NOT NULL,
    event TEXT NOT NULL, url TEXT NOT NULL, body BLOB NOT NULL, due REAL NOT NULL, secret TEXT NOT NULL,
    state TEXT NOT NULL, next_at REAL NOT NULL, attempts TEXT NOT NULL);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX clips_by_key ON clips (api_key, created_at);
CREATE TABLE refs (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""
#: What turns a file of schema N into schema N + 1 (applied in order when an older file is opened).
MIGRATIONS: dict[int, str] = {
    1: """
CREATE INDEX clips_by_key ON clips (api_key, created_at);
CREATE TABLE refs (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
""",
    2: "CREATE INDEX tasks_by_age ON tasks (created_at) WHERE unsettled = 0;",
    3: "ALTER TABLE journal ADD COLUMN detail BLOB;",
}
TABLES = (
    "meta",
    "sequences",
    "clock",
    "tasks",
    "clips",
    "refs",
    "personas",
    "accounts",
    "ledger",
    "journal",
    "qps",
    "faults",
    "watches",
    "deliveries",
)

TASK_COLUMNS = (
    "id, family, api_key, created_at, started_at, ends_at, result, failure_error, failure_at, "
    "failure_progress, operation, charged_credits, charged_extra"
)
PUT_TASK = (
    f"INSERT INTO tasks ({TASK_COLUMNS}, open, unsettled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) "
    "ON CONFLICT (id) DO UPDATE SET family = excluded.family, api_key = excluded.api_key, "
    "created_at = excluded.created_at, started_at = excluded.started_at, ends_at = excluded.ends_at, "
    "result = excluded.result, failure_error = excluded.failure_error, failure_at = excluded.failure_at, "
    "failure_progress = excluded.failure_progress, operation = excluded.operation, "
    "charged_credits = excluded.charged_credits, charged_extra = excluded.charged_extra, open = 1, "
    "unsettled = excluded.unsettled"
)
GET_TASK = f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?"
ACCOUNT_COLUMNS = (
    "api_key, credits, extra_credits, qps, queue_capacity, expires_at, usage_limit, usage, invalid_signature"
)
PUT_ACCOUNT = (
    f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (api_key) DO UPDATE SET credits = excluded.credits, extra_credits = excluded.extra_credits, "
    "qps = excluded.qps, queue_capacity = excluded.queue_capacity, expires_at = excluded.expires_at, "
    "usage_limit = excluded.usage_limit, usage = excluded.usage, invalid_signature = excluded.invalid_signature"
)
ENTRY_COLUMNS = "seq, api_key, reason, credits, extra_credits, instant, task_id, operation, error_id"
ADD_ENTRY = (
    "INSERT INTO ledger (api_key, reason, credits, extra_credits, instant, task_id, operation, error_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

ADD_JOURNAL = f"INSERT INTO journal ({', '.join(JOURNAL_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
#: The newest journal entry past which the details (bodies, headers) exceed the byte cap, if any.
JOURNAL_BYTES = "SELECT coalesce(sum(length(detail)), 0) FROM journal"
JOURNAL_OVER_BYTES = (
    "SELECT seq FROM (SELECT seq, sum(coalesce(length(detail), 0)) OVER (ORDER BY seq DESC) AS total FROM journal) "
    "WHERE total > ? LIMIT 1"
)
NEXT = (
    "INSERT INTO sequences (name, value) VALUES (?, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
)
RESERVE = "INSERT INTO sequences (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
DELIVERY_COLUMNS = "id, task_id, platform, event, url, body, due, secret, state, next_at, attempts"
PUT_DELIVERY = (
    f"INSERT INTO deliveries ({DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET state = excluded.state, next_at = excluded.next_at, "
    "attempts = excluded.attempts"
)
