"""PostgreSQL store: shared by several ingest and API processes (psycopg 3 with a connection pool).

The SQL is the same as SQLite's (graph.store.sql); upserts add to what is there, so several
ingest processes can write the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from graph.store.sql_store import SqlStore

_MIGRATION_LOCK = 7_404_611  # pg_advisory_xact_lock key: one migrating process at a time


def _import_psycopg() -> tuple[Any, Any]:
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError("PostgreSQL support needs: pip install 'ownermap[postgres]'") from exc
    return psycopg, ConnectionPool


class PostgresStore(SqlStore):
    """Aggregates in PostgreSQL. `schema` puts the tables in their own schema (tests use one each)."""

    placeholder = "%s"

    def __init__(self, url: str, bucket_seconds: int = 300, schema: str | None = None,
                 min_size: int = 1, max_size: int = 8) -> None:
        psycopg, pool_class = _import_psycopg()
        self.bucket_seconds = bucket_seconds
        self.schema = schema
        kwargs: dict[str, Any] = {"autocommit": True}
        if schema:
            kwargs["options"] = f"-c search_path={schema}"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(psycopg.sql.Identifier(schema)))
        self._pool = pool_class(url, min_size=min_size, max_size=max_size, kwargs=kwargs, open=True,
                                name="ownermap")
        self._pool.wait(timeout=30)
        self._init_sql()
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._apply_migrations(cur, time.time())

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def _lock_for_maintenance(self, cursor: Any) -> None:
        """Several ingest processes may compact at once: one at a time moves the rows."""
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK + 1,))

    @contextmanager
    def _read_snapshot(self) -> Iterator[Any]:
        """A REPEATABLE READ transaction: every statement sees the same snapshot."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield cur

    def _next_seq(self, cursor: Any) -> int:
        # Concurrent writers commit out of order, so the transaction id is stored and readers
        # resume from their snapshot's xmin (see _watermark), not from the largest seq they saw.
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return int(cursor.fetchone()[0])

    def _watermark(self, cursor: Any) -> int:
        # Every transaction not visible in this snapshot has an id at least its xmin.
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return int(cursor.fetchone()[0])

    def _select(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(sql, list(params)).fetchall()

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()
