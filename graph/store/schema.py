"""The tables: column names, DDL and the versioned migrations (valid in SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from graph.model import HISTOGRAM_SIZE

CLIENT_HIST = [f"ch{i}" for i in range(HISTOGRAM_SIZE)]
SERVER_HIST = [f"sh{i}" for i in range(HISTOGRAM_SIZE)]

EDGE_KEY_COLUMNS = ["bucket", "client", "server", "connection_type", "environment"]
EDGE_SUM_COLUMNS = [
    "calls", "failed", "client_sum", "server_sum", "queue_sum", "queue_count", *CLIENT_HIST, *SERVER_HIST,
]
EDGE_COLUMNS = [
    *EDGE_KEY_COLUMNS, "client_kind", "server_kind", *EDGE_SUM_COLUMNS, "first_seen", "last_seen", "exemplars",
]
SERVICE_COLUMNS = ["bucket", "service", "environment", "spans", "error_spans", "first_seen", "last_seen"]
NAMESPACE_TABLES = ("service_namespaces", "service_namespace_hours")  # 5-minute, hourly
# Every row also carries `seq`: the write (SQLite: a counter; PostgreSQL: the transaction id) that
# last changed it, so that a reader can fetch only what changed since it last looked (graph.store.mirror).
SEQ = "seq"
# Positions in a row of EDGE_COLUMNS / SERVICE_COLUMNS (as read_changes returns them).
EDGE_AT = {name: i for i, name in enumerate(EDGE_COLUMNS)}
SERVICE_AT = {name: i for i, name in enumerate(SERVICE_COLUMNS)}

FINE_SECONDS = 86_400  # 5-minute buckets are kept for the last day, hourly ones beyond
FUTURE_SECONDS = 86_400  # rows whose bucket starts this far ahead of now are deleted by compaction
HOUR = 3600



def _hist_columns_ddl() -> str:
    return ", ".join(f"{c} BIGINT NOT NULL DEFAULT 0" for c in (*CLIENT_HIST, *SERVER_HIST))


def _server_hist_ddl() -> str:
    return ", ".join(f"{c} BIGINT NOT NULL DEFAULT 0" for c in SERVER_HIST)


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
    [
        # The distinct service.namespace values each service was seen with, per bucket (at most
        # graph.aggregate.MAX_NAMESPACES each): 5-minute buckets and their hourly rollups.
        *(f"""CREATE TABLE {t} (
            bucket BIGINT NOT NULL, service TEXT NOT NULL, namespace TEXT NOT NULL,
            PRIMARY KEY (bucket, service, namespace))""" for t in NAMESPACE_TABLES),
    ],
    [
        # The destinations of messaging edges, per hour (graph.store.destinations).
        """CREATE TABLE edge_destinations (
            bucket BIGINT NOT NULL, client TEXT NOT NULL, server TEXT NOT NULL,
            connection_type TEXT NOT NULL, environment TEXT NOT NULL, destination TEXT NOT NULL,
            PRIMARY KEY (bucket, client, server, connection_type, environment, destination))""",
        # Learned addresses, shared by every process (graph.store.addresses; DESIGN §2 rule 9).
        """CREATE TABLE learned_addresses (
            address TEXT NOT NULL, environment TEXT NOT NULL, service TEXT NOT NULL,
            last_seen BIGINT NOT NULL, PRIMARY KEY (address, environment, service))""",
        "CREATE INDEX learned_addresses_last_seen ON learned_addresses (last_seen)",
        # Calls from callers that never report and instrumentation signals, 5-minute and hourly
        # (graph.store.unmatched; rule 11).
        *(f"""CREATE TABLE {t} (
            bucket BIGINT NOT NULL, service TEXT NOT NULL, environment TEXT NOT NULL,
            calls BIGINT NOT NULL, failed BIGINT NOT NULL, {_server_hist_ddl()},
            unpaired BIGINT NOT NULL DEFAULT 0, unmatched BIGINT NOT NULL DEFAULT 0,
            resolved BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (bucket, service, environment))"""
          for t in ("unmatched_in_buckets", "unmatched_in_hours")),
    ],
]


def apply_migrations(cursor: Any, placeholder: str, now: float) -> None:
    """Apply the migrations not yet recorded in schema_migrations (inside the caller's transaction)."""
    p = placeholder
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
