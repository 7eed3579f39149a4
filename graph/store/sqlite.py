"""SQLite store (the embedded default): WAL mode, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graph.store.sql_store import SqlStore


class SQLiteStore(SqlStore):
    """Aggregates in one SQLite file. Safe for one writer thread and many readers, and for
    other processes (the CLI) reading the same file while `serve` writes."""

    placeholder = "?"

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
        self._init_sql()
        with self._transaction() as cur:
            self._apply_migrations(cur, time.time())

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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any error)."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.cursor()
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _select(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return self._conn().execute(sql, tuple(params)).fetchall()

    @contextmanager
    def _read_snapshot(self) -> Iterator[sqlite3.Cursor]:
        """A deferred transaction: in WAL mode its reads share one snapshot."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn.cursor()
        finally:
            conn.execute("COMMIT")

    def _next_seq(self, cursor: Any) -> int:
        # Writers are serialised by SQLite's lock: a counter orders the writes as they commit.
        cursor.execute("UPDATE store_meta SET value = value + 1 WHERE name = 'seq'")
        cursor.execute("SELECT value FROM store_meta WHERE name = 'seq'")
        return int(cursor.fetchone()[0])

    def _watermark(self, cursor: Any) -> int:
        cursor.execute("SELECT value + 1 FROM store_meta WHERE name = 'seq'")
        return int(cursor.fetchone()[0])

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
