"""SQLite store (the embedded default): WAL mode, one connection per thread."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from graph.aggregate import AggregateBatch
from graph.model import Window
from graph.store.base import (
    MIGRATIONS,
    EdgeRow,
    ServiceRow,
    Store,
    batch_rows,
    bucket_range,
    edge_query,
    edge_upsert_sql,
    hints_upsert_sql,
    service_query,
    service_upsert_sql,
)


class SQLiteStore(Store):
    """Aggregates in one SQLite file. Safe for one writer thread and many readers, and for
    other processes (the CLI) reading the same file while `serve` writes."""

    def __init__(self, path: str | Path, bucket_seconds: int = 300) -> None:
        self.path = str(path)
        self.bucket_seconds = bucket_seconds
        # ":memory:" would give every thread its own empty database: share one in-memory database
        # between this store's connections instead (it lives while a connection is open).
        self._uri = self.path == ":memory:"
        if self._uri:
            self.path = f"file:ownermap-{uuid.uuid4().hex}?mode=memory&cache=shared"
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        if not self._uri:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._migrate()
        self._edge_upsert = edge_upsert_sql("?")
        self._service_upsert = service_upsert_sql("?")
        self._hints_upsert = hints_upsert_sql("?")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False, uri=self._uri
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a crash of this process
            # (SIGKILL); only an operating-system crash could lose the last commits.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any error)."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version in done:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, time.time()))

    def schema_version(self) -> int:
        """The newest applied migration."""
        return int(self._conn().execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])

    def write(self, batch: AggregateBatch) -> None:
        """Add one batch in a single transaction."""
        if not batch and not batch.hints:
            return
        edge_rows, service_rows, hint_rows = batch_rows(batch)
        with self._transaction() as conn:
            conn.executemany(self._edge_upsert, edge_rows)
            conn.executemany(self._service_upsert, service_rows)
            conn.executemany(self._hints_upsert, hint_rows)

    def edges(self, window: Window, env: str | None = None) -> list[EdgeRow]:
        """Edges with activity in the window, summed over it."""
        params: list[object] = list(bucket_range(window, self.bucket_seconds))
        if env is not None:
            params.append(env)
        rows = self._conn().execute(edge_query("?", env), params).fetchall()
        return [EdgeRow.from_sql(row) for row in rows]

    def services(self, window: Window, env: str | None = None) -> list[ServiceRow]:
        """Services seen in the window."""
        params: list[object] = list(bucket_range(window, self.bucket_seconds))
        if env is not None:
            params.append(env)
        rows = self._conn().execute(service_query("?", env), params).fetchall()
        return [ServiceRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service."""
        rows = self._conn().execute("SELECT service, hints FROM service_hints").fetchall()
        return {service: json.loads(hints) for service, hints in rows}

    def record_report(self, window_end: int, findings: list[tuple[str, str]], created_at: int) -> None:
        """Remember the findings of a report run (replacing a run with the same end)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM report_findings WHERE window_end = ?", (window_end,))
            conn.execute("DELETE FROM report_runs WHERE window_end = ?", (window_end,))
            conn.execute("INSERT INTO report_runs VALUES (?, ?)", (window_end, created_at))
            conn.executemany("INSERT INTO report_findings VALUES (?, ?, ?)",
                             [(window_end, service, code) for service, code in set(findings)])

    def report_history(self, before: int, limit: int = 60) -> list[tuple[int, set[tuple[str, str]]]]:
        """Recorded report runs ending at or before `before`, newest first."""
        conn = self._conn()
        ends = [row[0] for row in conn.execute(
            "SELECT window_end FROM report_runs WHERE window_end <= ? ORDER BY window_end DESC LIMIT ?",
            (before, limit))]
        out = []
        for end in ends:
            rows = conn.execute("SELECT service, code FROM report_findings WHERE window_end = ?", (end,))
            out.append((int(end), {(service, code) for service, code in rows}))
        return out

    def ping(self) -> None:
        """Raise when the database cannot be read."""
        self._conn().execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
