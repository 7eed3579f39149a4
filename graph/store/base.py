"""The store interface and the SQL both engines share.

Only aggregates are stored: per edge and per service, per time bucket. Writes are upserts
that add to what is there (several ingest processes may write the same row), never
overwrite. Reads sum buckets over a window.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graph.aggregate import AggregateBatch
from graph.model import HISTOGRAM_SIZE, MAX_EXEMPLARS, Window

CLIENT_HIST = [f"ch{i}" for i in range(HISTOGRAM_SIZE)]
SERVER_HIST = [f"sh{i}" for i in range(HISTOGRAM_SIZE)]
_EXEMPLARS_CHARS = MAX_EXEMPLARS * 33 - 1  # five 32-hex ids joined by commas

EDGE_KEY_COLUMNS = ["bucket", "client", "server", "connection_type", "environment"]
EDGE_SUM_COLUMNS = [
    "calls", "failed", "client_sum", "server_sum", "queue_sum", "queue_count", *CLIENT_HIST, *SERVER_HIST,
]
EDGE_COLUMNS = [
    *EDGE_KEY_COLUMNS, "client_kind", "server_kind", *EDGE_SUM_COLUMNS, "first_seen", "last_seen", "exemplars",
]
SERVICE_COLUMNS = ["bucket", "service", "environment", "spans", "error_spans", "first_seen", "last_seen"]
# Every row also carries `seq`: the write (SQLite: a counter; PostgreSQL: the transaction id) that
# last changed it, so that a reader can fetch only what changed since it last looked (graph.store.mirror).
SEQ = "seq"


def _hist_columns_ddl() -> str:
    return ", ".join(f"{c} BIGINT NOT NULL DEFAULT 0" for c in (*CLIENT_HIST, *SERVER_HIST))


def _edge_table_ddl(name: str) -> str:
    """An edge aggregate table (the 5-minute and the hourly tables have the same columns)."""
    return f"""CREATE TABLE {name} (
        bucket BIGINT NOT NULL, client TEXT NOT NULL, server TEXT NOT NULL,
        connection_type TEXT NOT NULL, environment TEXT NOT NULL,
        client_kind TEXT NOT NULL, server_kind TEXT NOT NULL,
        calls BIGINT NOT NULL, failed BIGINT NOT NULL,
        client_sum DOUBLE PRECISION NOT NULL, server_sum DOUBLE PRECISION NOT NULL,
        queue_sum DOUBLE PRECISION NOT NULL, queue_count BIGINT NOT NULL,
        {_hist_columns_ddl()},
        first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, exemplars TEXT NOT NULL,
        PRIMARY KEY (bucket, client, server, connection_type, environment))"""


def _service_table_ddl(name: str) -> str:
    """A service sightings table (5-minute or hourly)."""
    return f"""CREATE TABLE {name} (
        bucket BIGINT NOT NULL, service TEXT NOT NULL, environment TEXT NOT NULL,
        spans BIGINT NOT NULL, error_spans BIGINT NOT NULL,
        first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        PRIMARY KEY (bucket, service, environment))"""


# Versioned schema migrations; each entry is a list of statements valid in SQLite and PostgreSQL.
MIGRATIONS: list[list[str]] = [
    [
        _edge_table_ddl("edge_buckets"),
        _service_table_ddl("service_buckets"),
        """CREATE TABLE service_hints (
            service TEXT PRIMARY KEY, hints TEXT NOT NULL, updated BIGINT NOT NULL)""",
        "CREATE INDEX edge_buckets_server ON edge_buckets (server, bucket)",
    ],
    [
        """CREATE TABLE report_runs (
            window_end BIGINT PRIMARY KEY, created_at BIGINT NOT NULL)""",
        """CREATE TABLE report_findings (
            window_end BIGINT NOT NULL, service TEXT NOT NULL, code TEXT NOT NULL,
            PRIMARY KEY (window_end, service, code))""",
    ],
    [
        # Hourly rollups of the 5-minute buckets older than FINE_SECONDS (same columns).
        _edge_table_ddl("edge_hours"),
        _service_table_ddl("service_hours"),
        # One row per claimed job run, so that only one process runs it (scheduled reports).
        """CREATE TABLE claims (
            name TEXT NOT NULL, run_key BIGINT NOT NULL, claimed_at BIGINT NOT NULL,
            PRIMARY KEY (name, run_key))""",
    ],
    [
        # When each orphan of a recorded report run became orphaned (Unix milliseconds).
        """CREATE TABLE report_orphans (
            window_end BIGINT NOT NULL, service TEXT NOT NULL, since BIGINT NOT NULL,
            PRIMARY KEY (window_end, service))""",
    ],
    [
        # Change tracking for readers that keep the recent aggregates in memory (graph.store.mirror).
        *(f"ALTER TABLE {t} ADD COLUMN seq BIGINT NOT NULL DEFAULT 0"
          for t in ("edge_buckets", "edge_hours", "service_buckets", "service_hours")),
        *(f"CREATE INDEX {t}_seq ON {t} (seq)"
          for t in ("edge_buckets", "edge_hours", "service_buckets", "service_hours")),
        # seq: SQLite's write counter; compactions/fine_cutoff/expired: what the last compaction deleted.
        "CREATE TABLE store_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO store_meta (name, value) VALUES ('seq', 0), ('compactions', 0), "
        "('fine_cutoff', 0), ('expired', 0)",
    ],
]

FINE_SECONDS = 86_400  # 5-minute buckets are kept for the last day, hourly ones beyond
FUTURE_SECONDS = 86_400  # rows whose bucket starts this far ahead of now are deleted by compaction
HOUR = 3600


def _seen_clause(table: str) -> str:
    return (
        f"first_seen = CASE WHEN excluded.first_seen < {table}.first_seen "
        f"THEN excluded.first_seen ELSE {table}.first_seen END, "
        f"last_seen = CASE WHEN excluded.last_seen > {table}.last_seen "
        f"THEN excluded.last_seen ELSE {table}.last_seen END"
    )


def _edge_conflict(table: str) -> str:
    """ON CONFLICT that adds counters, keeps the earliest first_seen, the latest last_seen."""
    sums = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in EDGE_SUM_COLUMNS)
    return (
        f"ON CONFLICT ({', '.join(EDGE_KEY_COLUMNS)}) DO UPDATE SET {sums}, {_seen_clause(table)}, seq = excluded.seq, "
        f"exemplars = CASE WHEN {table}.exemplars = '' THEN excluded.exemplars "
        f"WHEN length({table}.exemplars) >= {_EXEMPLARS_CHARS} THEN {table}.exemplars "
        f"ELSE substr({table}.exemplars || ',' || excluded.exemplars, 1, {_EXEMPLARS_CHARS}) END"
    )


def _service_conflict(table: str) -> str:
    return (
        f"ON CONFLICT (bucket, service, environment) DO UPDATE SET "
        f"spans = {table}.spans + excluded.spans, error_spans = {table}.error_spans + excluded.error_spans, "
        f"{_seen_clause(table)}, seq = excluded.seq"
    )


def edge_upsert_sql(placeholder: str) -> str:
    """INSERT … ON CONFLICT into the 5-minute edge buckets (adding)."""
    columns = [*EDGE_COLUMNS, SEQ]
    values = ", ".join([placeholder] * len(columns))
    return f"INSERT INTO edge_buckets ({', '.join(columns)}) VALUES ({values}) {_edge_conflict('edge_buckets')}"


def service_upsert_sql(placeholder: str) -> str:
    """INSERT … ON CONFLICT into the 5-minute service buckets (adding)."""
    columns = [*SERVICE_COLUMNS, SEQ]
    values = ", ".join([placeholder] * len(columns))
    return (
        f"INSERT INTO service_buckets ({', '.join(columns)}) VALUES ({values}) "
        f"{_service_conflict('service_buckets')}"
    )


def rollup_sql(placeholder: str) -> list[str]:
    """Move 5-minute buckets older than a cutoff into hourly ones (run in one transaction).

    Parameters of each statement: (seq, cutoff) for the inserts, (cutoff,) for the deletes.
    """
    p = placeholder
    edge_keys = ", ".join(EDGE_KEY_COLUMNS[1:])
    edge_select = (
        f"SELECT (bucket / {HOUR}) * {HOUR}, {edge_keys}, MIN(client_kind), MIN(server_kind), "
        + ", ".join(f"SUM({c})" for c in EDGE_SUM_COLUMNS)
        + f", MIN(first_seen), MAX(last_seen), MAX(exemplars), {p} FROM edge_buckets WHERE bucket < {p} "
        + f"GROUP BY (bucket / {HOUR}) * {HOUR}, {edge_keys}"
    )
    service_select = (
        f"SELECT (bucket / {HOUR}) * {HOUR}, service, environment, SUM(spans), SUM(error_spans), "
        f"MIN(first_seen), MAX(last_seen), {p} FROM service_buckets WHERE bucket < {p} "
        f"GROUP BY (bucket / {HOUR}) * {HOUR}, service, environment"
    )
    return [
        f"INSERT INTO edge_hours ({', '.join([*EDGE_COLUMNS, SEQ])}) {edge_select} {_edge_conflict('edge_hours')}",
        f"DELETE FROM edge_buckets WHERE bucket < {p}",
        f"INSERT INTO service_hours ({', '.join([*SERVICE_COLUMNS, SEQ])}) {service_select} "
        f"{_service_conflict('service_hours')}",
        f"DELETE FROM service_buckets WHERE bucket < {p}",
    ]


def hints_upsert_sql(placeholder: str) -> str:
    """The most recent resource hints of a service win."""
    p = placeholder
    return (
        f"INSERT INTO service_hints (service, hints, updated) VALUES ({p}, {p}, {p}) "
        "ON CONFLICT (service) DO UPDATE SET hints = excluded.hints, updated = excluded.updated "
        "WHERE excluded.updated >= service_hints.updated"
    )


Rows = list[tuple[Any, ...]]
TopologyEdge = tuple[str, str, str, str]  # client, server, client_kind, server_kind


class TopologyRows:
    """A window's edges as (client, server, client_kind, server_kind) and its services, read lazily,
    with a digest of that content when the store can give one (equal digests: equal content)."""

    def __init__(self, key: bytes | None, read: Callable[[], tuple[list[TopologyEdge], list[str]]]) -> None:
        self.key = key
        self._read = read
        self._rows: tuple[list[TopologyEdge], list[str]] | None = None

    def rows(self) -> tuple[list[TopologyEdge], list[str]]:
        """The edges and the services."""
        if self._rows is None:
            self._rows = self._read()
        return self._rows


def batch_rows(batch: AggregateBatch) -> tuple[Rows, Rows, Rows]:
    """Rows for the three upserts of one batch."""
    edge_rows = [
        (
            *key, e.client_kind, e.server_kind, e.calls, e.failed, e.client_sum, e.server_sum,
            e.queue_sum, e.queue_count, *e.client_hist, *e.server_hist, e.first_ns, e.last_ns,
            ",".join(e.exemplars),
        )
        for key, e in batch.edges.items()
    ]
    service_rows = [(*key, s.spans, s.errors, s.first_ns, s.last_ns) for key, s in batch.services.items()]
    last_seen: dict[str, int] = {}
    for (_, service, _), s in batch.services.items():
        last_seen[service] = max(last_seen.get(service, 0), s.last_ns)
    hint_rows = [
        (service, json.dumps(hints, sort_keys=True), last_seen.get(service, 0))
        for service, hints in batch.hints.items()
    ]
    return edge_rows, service_rows, hint_rows


def _both_resolutions(fine: str, hourly: str, columns: list[str], placeholder: str, env: str | None) -> str:
    """Rows of a window from the 5-minute table and the hourly table (each fact lives in one)."""
    p = placeholder
    env_clause = f" AND environment = {p}" if env is not None else ""
    cols = ", ".join(columns)
    return (
        f"SELECT {cols} FROM {fine} WHERE bucket >= {p} AND bucket < {p}{env_clause} "
        f"UNION ALL SELECT {cols} FROM {hourly} WHERE bucket >= {p} AND bucket < {p}{env_clause}"
    )


def edge_query(placeholder: str, env: str | None) -> str:
    """Edges summed over the buckets of a window (parameters: window_params twice)."""
    rows = _both_resolutions("edge_buckets", "edge_hours", EDGE_COLUMNS, placeholder, env)
    return (
        "SELECT client, server, connection_type, MIN(client_kind), MIN(server_kind), "
        + ", ".join(f"SUM({c})" for c in EDGE_SUM_COLUMNS)
        + f", MIN(first_seen), MAX(last_seen), MAX(exemplars) FROM ({rows}) AS w "
        + "GROUP BY client, server, connection_type"
    )


def service_query(placeholder: str, env: str | None) -> str:
    """Services summed over the buckets of a window (parameters: window_params twice)."""
    rows = _both_resolutions("service_buckets", "service_hours", SERVICE_COLUMNS, placeholder, env)
    return (
        "SELECT service, SUM(spans), SUM(error_spans), MIN(first_seen), MAX(last_seen) "
        f"FROM ({rows}) AS w GROUP BY service"
    )


@dataclass(slots=True)
class EdgeRow:
    """An edge summed over a window."""

    client: str
    server: str
    connection_type: str
    client_kind: str
    server_kind: str
    calls: int
    failed: int
    client_sum: float
    server_sum: float
    queue_sum: float
    queue_count: int
    client_hist: list[int]
    server_hist: list[int]
    first_seen_ns: int
    last_seen_ns: int
    exemplars: list[str] = field(default_factory=list)

    @classmethod
    def from_sql(cls, row: tuple[Any, ...]) -> EdgeRow:
        """Build from a row of `edge_query`."""
        n = HISTOGRAM_SIZE
        client, server, ctype, ck, sk, calls, failed, csum, ssum, qsum, qcount = row[:11]
        client_hist = [int(v) for v in row[11:11 + n]]
        server_hist = [int(v) for v in row[11 + n:11 + 2 * n]]
        first, last, exemplars = row[11 + 2 * n:]
        return cls(
            client, server, ctype, ck, sk, int(calls), int(failed), float(csum), float(ssum),
            float(qsum), int(qcount), client_hist, server_hist, int(first), int(last),
            exemplar_ids(exemplars or ""),
        )


def exemplar_ids(joined: str) -> list[str]:
    """The distinct trace ids of a comma-joined exemplars column (at most MAX_EXEMPLARS)."""
    return [e for e in dict.fromkeys(joined.split(",")) if e][:MAX_EXEMPLARS]


@dataclass
class EdgeTable:
    """Edges summed over a window as columns (one entry per edge); histograms are matrices with
    one edge a row. Answers about thousands of edges are computed from these without a Python
    object per edge and per counter."""

    client: list[str]
    server: list[str]
    connection_type: list[str]
    client_kind: list[str]
    server_kind: list[str]
    calls: list[int]
    failed: list[int]
    client_sum: list[float]
    server_sum: list[float]
    queue_sum: list[float]
    queue_count: list[int]
    client_hist: np.ndarray
    server_hist: np.ndarray
    first_seen_ns: list[int]
    last_seen_ns: list[int]
    exemplars: list[list[str]]
    order: list[int] | None = None  # the rows sorted by (client, server, connection_type), when known
    states: list[tuple[int, int, int]] | None = None  # per row, a name of its current state, when known

    def __len__(self) -> int:
        return len(self.client)

    def rows(self) -> list[EdgeRow]:
        """One EdgeRow per edge."""
        client_hist, server_hist = self.client_hist.tolist(), self.server_hist.tolist()
        return [
            EdgeRow(*values, client_hist[i], server_hist[i], first, last, exemplars)
            for i, (*values, first, last, exemplars) in enumerate(zip(
                self.client, self.server, self.connection_type, self.client_kind, self.server_kind, self.calls,
                self.failed, self.client_sum, self.server_sum, self.queue_sum, self.queue_count,
                self.first_seen_ns, self.last_seen_ns, self.exemplars, strict=True))
        ]

    @classmethod
    def from_rows(cls, rows: list[EdgeRow]) -> EdgeTable:
        """Columns of EdgeRows."""
        shape = (len(rows), HISTOGRAM_SIZE)
        return cls(
            [r.client for r in rows], [r.server for r in rows], [r.connection_type for r in rows],
            [r.client_kind for r in rows], [r.server_kind for r in rows], [r.calls for r in rows],
            [r.failed for r in rows], [r.client_sum for r in rows], [r.server_sum for r in rows],
            [r.queue_sum for r in rows], [r.queue_count for r in rows],
            np.array([r.client_hist for r in rows], np.int64).reshape(shape),
            np.array([r.server_hist for r in rows], np.int64).reshape(shape),
            [r.first_seen_ns for r in rows], [r.last_seen_ns for r in rows], [r.exemplars for r in rows],
        )


@dataclass
class ServiceRow:
    """A service's sightings summed over a window."""

    service: str
    spans: int
    error_spans: int
    first_seen_ns: int
    last_seen_ns: int


@dataclass
class ChangeSet:
    """What `SqlStore.read_changes` found: rows as (resolution 0 = 5-minute / 1 = hourly, row)."""

    watermark: int
    compactions: int
    fine_cutoff: int
    expired: int
    edges: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    services: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)


def bucket_range(window: Window, bucket_seconds: int) -> tuple[int, int]:
    """Bucket starts covering [window.start, window.end)."""
    start = int(window.start // bucket_seconds) * bucket_seconds
    return start, int(window.end)


def window_params(window: Window, bucket_seconds: int, env: str | None) -> list[object]:
    """Parameters of edge_query/service_query: the fine range, then the hourly range."""
    fine = list(bucket_range(window, bucket_seconds))
    hourly = list(bucket_range(window, HOUR))
    if env is not None:
        return [*fine, env, *hourly, env]
    return [*fine, *hourly]


class Store(ABC):
    """Where aggregates live. Implementations: SQLite (default) and PostgreSQL."""

    bucket_seconds: int = 300

    @abstractmethod
    def write(self, batch: AggregateBatch) -> None:
        """Add one batch in a single transaction; returns once it is durable."""

    @abstractmethod
    def edges(self, window: Window, env: str | None = None) -> list[EdgeRow]:
        """Edges with activity in the window, summed over it."""

    def edge_table(self, window: Window, env: str | None = None) -> EdgeTable:
        """`edges` as columns (stores that hold columns override this)."""
        return EdgeTable.from_rows(self.edges(window, env))

    @abstractmethod
    def services(self, window: Window, env: str | None = None) -> list[ServiceRow]:
        """Services seen in the window."""

    def window_rows(self, window: Window, env: str | None = None) -> tuple[list[ServiceRow], EdgeTable]:
        """`services` and `edge_table` of a window, for building its graph (stores that refresh
        before reads override this to refresh once)."""
        return self.services(window, env), self.edge_table(window, env)

    def topology(self, window: Window, env: str | None = None) -> TopologyRows:
        """Who calls whom in the window and which services were seen (stores that can answer
        without summing counters override this)."""
        def read() -> tuple[list[TopologyEdge], list[str]]:
            edges = [(e.client, e.server, e.client_kind, e.server_kind) for e in self.edges(window, env)]
            return edges, [s.service for s in self.services(window, env)]

        return TopologyRows(None, read)

    @abstractmethod
    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service."""

    @abstractmethod
    def record_report(
        self, window_end: int, findings: list[tuple[str, str]], created_at: int,
        orphans_since: dict[str, int] | None = None,
    ) -> None:
        """Remember the (service, code) findings of a report run and when each orphan became orphaned
        (replacing a run with the same end)."""

    @abstractmethod
    def report_orphans_since(self, window_end: int) -> dict[str, int]:
        """For the run ending at window_end: orphaned service → since (Unix milliseconds)."""

    @abstractmethod
    def report_history(self, before: int, limit: int = 60) -> list[tuple[int, set[tuple[str, str]]]]:
        """Recorded report runs ending at or before `before`, newest first, with their findings."""

    @abstractmethod
    def compact(self, now: float, retention_days: int) -> None:
        """Roll fine buckets older than a day into hourly ones; delete data past the retention."""

    @abstractmethod
    def claim(self, name: str, run_key: int, now: float) -> bool:
        """Claim one run of a job so that only one process runs it."""

    @abstractmethod
    def ping(self) -> None:
        """Raise when the store cannot be reached."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


class SqlStore(Store):
    """Everything both SQL engines share; subclasses provide connections and the placeholder."""

    placeholder = "?"

    def _init_sql(self) -> None:
        p = self.placeholder
        self._edge_upsert = edge_upsert_sql(p)
        self._service_upsert = service_upsert_sql(p)
        self._hints_upsert = hints_upsert_sql(p)

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A write transaction yielding a DB-API cursor."""

    @abstractmethod
    def _select(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run a read query and fetch all rows."""

    @abstractmethod
    def _read_snapshot(self) -> AbstractContextManager[Any]:
        """A read-only transaction seeing one consistent snapshot, yielding a DB-API cursor."""

    @abstractmethod
    def _next_seq(self, cursor: Any) -> int:
        """The change number of the current write transaction (stored in the rows it touches)."""

    @abstractmethod
    def _watermark(self, cursor: Any) -> int:
        """In a snapshot: every write not visible in it will store a seq at least this large."""

    def _apply_migrations(self, cursor: Any, now: float) -> None:
        p = self.placeholder
        cursor.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                       "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION)")
        cursor.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cursor.fetchall()}
        for version, statements in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(f"INSERT INTO schema_migrations VALUES ({p}, {p})", (version, now))

    def schema_version(self) -> int:
        """The newest applied migration."""
        return int(self._select("SELECT MAX(version) FROM schema_migrations", [])[0][0])

    def write(self, batch: AggregateBatch) -> None:
        """Add one batch in a single transaction.

        Rows go in key order so that concurrent writers (several ingest processes on one
        PostgreSQL) take row locks in the same order and cannot deadlock.
        """
        if not batch and not batch.hints:
            return
        edge_rows, service_rows, hint_rows = batch_rows(batch)
        edge_rows.sort(key=lambda r: r[:5])
        service_rows.sort(key=lambda r: r[:3])
        hint_rows.sort(key=lambda r: r[0])
        with self._transaction() as cur:
            seq = self._next_seq(cur)
            cur.executemany(self._edge_upsert, [(*row, seq) for row in edge_rows])
            cur.executemany(self._service_upsert, [(*row, seq) for row in service_rows])
            cur.executemany(self._hints_upsert, hint_rows)

    def edges(self, window: Window, env: str | None = None) -> list[EdgeRow]:
        """Edges with activity in the window, summed over it."""
        rows = self._select(edge_query(self.placeholder, env), window_params(window, self.bucket_seconds, env))
        return [EdgeRow.from_sql(row) for row in rows]

    def services(self, window: Window, env: str | None = None) -> list[ServiceRow]:
        """Services seen in the window."""
        rows = self._select(service_query(self.placeholder, env), window_params(window, self.bucket_seconds, env))
        return [ServiceRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service."""
        rows = self._select("SELECT service, hints FROM service_hints", [])
        return {service: json.loads(hints) for service, hints in rows}

    def record_report(
        self, window_end: int, findings: list[tuple[str, str]], created_at: int,
        orphans_since: dict[str, int] | None = None,
    ) -> None:
        """Remember the findings of a report run (replacing a run with the same end)."""
        p = self.placeholder
        with self._transaction() as cur:
            for table in ("report_findings", "report_orphans", "report_runs"):
                cur.execute(f"DELETE FROM {table} WHERE window_end = {p}", (window_end,))
            cur.execute(f"INSERT INTO report_runs VALUES ({p}, {p})", (window_end, created_at))
            cur.executemany(f"INSERT INTO report_findings VALUES ({p}, {p}, {p})",
                            [(window_end, service, code) for service, code in sorted(set(findings))])
            since_rows = [(window_end, service, int(since)) for service, since in sorted((orphans_since or {}).items())]
            cur.executemany(f"INSERT INTO report_orphans VALUES ({p}, {p}, {p})", since_rows)

    def report_orphans_since(self, window_end: int) -> dict[str, int]:
        """For the run ending at window_end: orphaned service → since (Unix milliseconds)."""
        rows = self._select(f"SELECT service, since FROM report_orphans WHERE window_end = {self.placeholder}",
                            [window_end])
        return {service: int(since) for service, since in rows}

    def report_history(self, before: int, limit: int = 60) -> list[tuple[int, set[tuple[str, str]]]]:
        """Recorded report runs ending at or before `before`, newest first."""
        p = self.placeholder
        ends = [row[0] for row in self._select(
            f"SELECT window_end FROM report_runs WHERE window_end <= {p} ORDER BY window_end DESC LIMIT {p}",
            [before, limit])]
        out = []
        for end in ends:
            rows = self._select(f"SELECT service, code FROM report_findings WHERE window_end = {p}", [end])
            out.append((int(end), {(service, code) for service, code in rows}))
        return out

    def _lock_for_maintenance(self, cursor: Any) -> None:
        """Serialise maintenance between processes (PostgreSQL overrides; SQLite's writer lock suffices)."""

    def compact(self, now: float, retention_days: int) -> None:
        """Roll 5-minute buckets older than a day into hourly ones; delete what is past retention."""
        with self._transaction() as cur:
            self._compact(cur, now, retention_days)

    def _compact(self, cur: Any, now: float, retention_days: int) -> None:
        """The statements of `compact`, inside the caller's transaction."""
        p = self.placeholder
        cutoff = (int(now - FINE_SECONDS) // HOUR) * HOUR
        expired = int(now - retention_days * 86_400)
        self._lock_for_maintenance(cur)
        seq = self._next_seq(cur)
        for statement in rollup_sql(p):
            cur.execute(statement, (seq, cutoff) if statement.startswith("INSERT") else (cutoff,))
        # Rows far ahead of the clock (spans with a wrong clock or forged times) are deleted too: they
        # would never age out, and every reader that loads "from a horizon on" would load them.
        future = int(now) + FUTURE_SECONDS
        for table in ("edge_hours", "service_hours", "edge_buckets", "service_buckets"):
            cur.execute(f"DELETE FROM {table} WHERE bucket < {p} OR bucket >= {p}", (expired, future))
        cur.execute(f"DELETE FROM claims WHERE claimed_at < {p}", (expired,))
        # Readers that mirror the tables (graph.store.mirror) learn from these what was deleted.
        cur.execute("UPDATE store_meta SET value = value + 1 WHERE name = 'compactions'")
        for name, value in (("fine_cutoff", cutoff), ("expired", expired)):
            cur.execute(f"UPDATE store_meta SET value = {p} WHERE name = {p} AND value < {p}", (value, name, value))

    def claim(self, name: str, run_key: int, now: float) -> bool:
        """Claim one run of a job (e.g. the weekly report ending at run_key); False if another process has."""
        p = self.placeholder
        with self._transaction() as cur:
            cur.execute(
                f"INSERT INTO claims (name, run_key, claimed_at) VALUES ({p}, {p}, {p}) "
                "ON CONFLICT (name, run_key) DO NOTHING",
                (name, run_key, int(now)),
            )
            return bool(cur.rowcount == 1)

    def read_changes(self, since: int | None, horizon: int, compactions: int, until: int | None = None) -> ChangeSet:
        """Rows changed since a watermark (all rows when `since` is None), from one snapshot.

        Only buckets at or after `horizon` (and before `until`, if given) are returned, changed
        rows included. When a compaction has run since the caller last looked (`compactions`
        differs), the rows a reader must re-read are included too: whatever is left below the
        deleted ranges (written after the compaction).
        """
        p = self.placeholder
        with self._read_snapshot() as cur:
            watermark = self._watermark(cur)
            cur.execute("SELECT name, value FROM store_meta")
            meta = {name: int(value) for name, value in cur.fetchall()}
            out = ChangeSet(watermark, meta["compactions"], meta["fine_cutoff"], meta["expired"])
            tables = (("edge_buckets", EDGE_COLUMNS, out.edges, 0), ("edge_hours", EDGE_COLUMNS, out.edges, 1),
                      ("service_buckets", SERVICE_COLUMNS, out.services, 0),
                      ("service_hours", SERVICE_COLUMNS, out.services, 1))
            for table, columns, sink, resolution in tables:
                select = f"SELECT {', '.join(columns)} FROM {table} WHERE bucket >= {p}"
                queries: list[tuple[str, tuple[object, ...]]] = []
                if since is None:
                    if until is None:
                        queries.append((select, (horizon,)))
                    else:
                        queries.append((f"{select} AND bucket < {p}", (horizon, until)))
                else:
                    # Only `seq` in the condition, so that the planner takes its index (a bucket range
                    # could make it scan the primary key); the horizon is applied below.
                    queries.append((f"SELECT {', '.join(columns)} FROM {table} WHERE seq >= {p}", (since,)))
                    if out.compactions != compactions:
                        below = max(out.expired, out.fine_cutoff if resolution == 0 else out.expired)
                        queries.append((f"{select} AND bucket < {p}", (horizon, below)))
                end = until if until is not None else float("inf")
                for sql, params in queries:
                    cur.execute(sql, params)
                    sink.extend((resolution, row) for row in cur.fetchall() if horizon <= row[0] < end)
            return out

    def ping(self) -> None:
        """Raise when the database cannot be read."""
        self._select("SELECT 1 FROM schema_migrations LIMIT 1", [])
