"""`SqlStore`: the Store both SQL engines share; subclasses give connections and the placeholder.

Only aggregates are stored: per edge and per service, per time bucket. Writes are upserts
that add to what is there (several ingest processes may write the same row), never
overwrite. Reads sum buckets over a window.
"""

from __future__ import annotations

import dataclasses
import json
from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from graph.aggregate import AggregateBatch
from graph.model import Window
from graph.store.addresses import AddressRow, address_rows, address_upsert_sql, ambiguous, forget_sql, learned_sql
from graph.store.destinations import (
    TABLE as DESTINATIONS_TABLE,
)
from graph.store.destinations import (
    EdgeIdentity,
    destination_insert_sql,
    destination_rows,
    destinations_params,
    destinations_query,
    edge_destinations,
)
from graph.store.interface import Store
from graph.store.rows import ChangeSet, EdgeRow, EdgeTable, ServiceRow, batch_rows
from graph.store.schema import (
    EDGE_COLUMNS,
    FINE_SECONDS,
    FUTURE_SECONDS,
    HOUR,
    NAMESPACE_TABLES,
    SERVICE_COLUMNS,
    apply_migrations,
)
from graph.store.series import (
    InboundBucket,
    failing_query,
    inbound_buckets,
    inbound_params,
    inbound_query,
    segment_buckets,
    window_cuts,
)
from graph.store.sql import (
    edge_query,
    edge_upsert_sql,
    hints_upsert_sql,
    namespace_insert_sql,
    namespace_rollup_sql,
    namespaces_query,
    rollup_sql,
    service_query,
    service_upsert_sql,
    window_params,
)
from graph.store.unmatched import TABLES as UNMATCHED_TABLES
from graph.store.unmatched import (
    unmatched_params,
    unmatched_query,
    unmatched_rollup_sql,
    unmatched_rows,
    unmatched_rows_query,
    unmatched_upsert_sql,
)
from graph.unmatched import SIGNALS


class SqlStore(Store):
    """Everything both SQL engines share; subclasses provide connections and the placeholder."""

    placeholder = "?"

    def _init_sql(self) -> None:
        p = self.placeholder
        self._edge_upsert = edge_upsert_sql(p)
        self._service_upsert = service_upsert_sql(p)
        self._hints_upsert = hints_upsert_sql(p)
        self._namespace_insert = namespace_insert_sql(p)
        self._destination_insert = destination_insert_sql(p)
        self._unmatched_upsert = unmatched_upsert_sql(p)
        self._decoded_hints: dict[str, tuple[str, dict[str, str]]] = {}  # service → (JSON text, decoded)

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
        apply_migrations(cursor, self.placeholder, now)

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
        namespace_rows = sorted((bucket, service, namespace, bucket, service)
                                for (bucket, service), seen in batch.namespaces.items() for namespace in seen)
        with self._transaction() as cur:
            seq = self._next_seq(cur)
            cur.executemany(self._edge_upsert, [(*row, seq) for row in edge_rows])
            cur.executemany(self._service_upsert, [(*row, seq) for row in service_rows])
            cur.executemany(self._hints_upsert, hint_rows)
            if namespace_rows:
                cur.executemany(self._namespace_insert, namespace_rows)
            destinations, unmatched = destination_rows(batch), unmatched_rows(batch)
            if destinations:
                cur.executemany(self._destination_insert, destinations)
            if unmatched:
                cur.executemany(self._unmatched_upsert, unmatched)

    def edges(self, window: Window, env: str | None = None) -> list[EdgeRow]:
        """Edges with activity in the window, summed over it."""
        rows = self._select(edge_query(self.placeholder, env), window_params(window, self.bucket_seconds, env))
        return [EdgeRow.from_sql(row) for row in rows]

    def services(self, window: Window, env: str | None = None) -> list[ServiceRow]:
        """Services seen in the window."""
        rows = self._select(service_query(self.placeholder, env), window_params(window, self.bucket_seconds, env))
        return [ServiceRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def range_rows(self, fine: tuple[int, int], hours: tuple[int, int],
                   env: str | None = None) -> tuple[list[ServiceRow], EdgeTable]:
        """Services and edges summed over explicit bucket ranges of each resolution (an empty range
        reads nothing): lets a reader sum the 5-minute and the hourly rows of a window apart."""
        params: list[object] = [*fine, env, *hours, env] if env is not None else [*fine, *hours]
        edges = [EdgeRow.from_sql(row) for row in self._select(edge_query(self.placeholder, env), params)]
        services = [ServiceRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]))
                    for r in self._select(service_query(self.placeholder, env), params)]
        return services, EdgeTable.from_rows(edges)

    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service. Only texts that changed since the last read
        are decoded again: the dicts are shared between reads (never change them)."""
        rows = self._select("SELECT service, hints FROM service_hints", [])
        known = self._decoded_hints
        decoded = {}
        for service, text in rows:
            found = known.get(service)
            decoded[service] = found if found is not None and found[0] == text else (text, json.loads(text))
        self._decoded_hints = decoded
        return {service: found[1] for service, found in decoded.items()}

    def namespaces(self, window: Window) -> dict[str, set[str]]:
        """The distinct `service.namespace` values each service was seen with in the window (every
        environment; services seen without one are absent)."""
        out: dict[str, set[str]] = {}
        for service, namespace in self._select(namespaces_query(self.placeholder),
                                               window_params(window, self.bucket_seconds, None)):
            out.setdefault(service, set()).add(namespace)
        return out

    def edge_destinations(self, window: Window, env: str | None = None) -> dict[EdgeIdentity, list[str]]:
        """The destinations of each messaging edge in the window (at most 5 each)."""
        return edge_destinations(self._select(destinations_query(self.placeholder, env),
                                              destinations_params(window, env)))

    def unmatched_buckets(self, window: Window, env: str | None = None) -> list[tuple[str, int, int, int, int]]:
        """Rule 11's rows of the window as stored: (service, bucket, seconds, calls, failed)."""
        rows = self._select(unmatched_rows_query(self.placeholder, self.bucket_seconds, env),
                            unmatched_params(window, self.bucket_seconds, env))
        return [(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def unmatched_in(self, window: Window, env: str | None = None) -> dict[str, tuple[int, int]]:
        """Per service: (calls, failed) from callers that never report, in the window (rule 11)."""
        return {service: (counts["calls"], counts["failed"]) for service, counts in self.signals(window, env).items()}

    def signals(self, window: Window, env: str | None = None) -> dict[str, dict[str, int]]:
        """Per service: `calls`, `failed` (rule 11) and the instrumentation signals `unpaired`,
        `unmatched`, `resolved` of the window."""
        rows = self._select(unmatched_query(self.placeholder, env), unmatched_params(window, self.bucket_seconds, env))
        names = ("calls", "failed", *SIGNALS)
        return {str(row[0]): dict(zip(names, map(int, row[1:]), strict=True)) for row in rows}

    def write_addresses(self, rows: list[AddressRow], forget_before: int) -> None:
        """Upsert learned addresses (rule 9; the latest time wins) and forget those seen before a time."""
        with self._transaction() as cur:
            cur.executemany(address_upsert_sql(self.placeholder), sorted(rows))
            cur.execute(forget_sql(self.placeholder), (forget_before,))

    def learned_addresses(self, since: int) -> list[AddressRow]:
        """Learned addresses last seen at or after `since` (Unix seconds)."""
        return address_rows(self._select(learned_sql(self.placeholder), [since]))

    def ambiguous_addresses(self, since: int) -> list[dict[str, Any]]:
        """Addresses learned for several services since `since`: `{"address", "services"}` each."""
        return ambiguous(self.learned_addresses(since))

    def inbound(self, window: Window, env: str | None = None, service: str | None = None,
                cuts: Sequence[float] | None = None) -> list[InboundBucket]:
        """Calls into each service (or one) per bucket of the window, oldest first (self-calls left out);
        with `cuts`, per span between cuts (see `Store.inbound`)."""
        if cuts is not None:
            cuts = window_cuts(window, cuts, self.bucket_seconds)
        rows = self._select(inbound_query(self.placeholder, self.bucket_seconds, env, service, cuts),
                            inbound_params(window, self.bucket_seconds, env, service))
        if cuts is None:
            return inbound_buckets(rows)
        return segment_buckets(rows, cuts, -(-int(window.end) // self.bucket_seconds) * self.bucket_seconds)

    def series_rows(self, query: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """The rows of a graph.store.series query (`inbound_query`, `failing_query`) over explicit ranges
        (`range_params`): lets the query mirror sum parts of a window apart."""
        return self._select(query, params)

    def failing(self, window: Window, env: str | None, hourly: bool, min_failed: int,
                error_ratio: float) -> list[InboundBucket]:
        """The failing buckets of each service (see `Store.failing`), oldest first."""
        params = [*inbound_params(window, self.bucket_seconds, env, None), min_failed, error_ratio]
        return inbound_buckets(self._select(failing_query(self.placeholder, self.bucket_seconds, env, hourly), params))

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
        for statement in (*namespace_rollup_sql(p), *unmatched_rollup_sql(p)):
            cur.execute(statement, (cutoff,))
        # Rows far ahead of the clock (spans with a wrong clock or forged times) are deleted too: they
        # would never age out, and every reader that loads "from a horizon on" would load them.
        future = int(now) + FUTURE_SECONDS
        for table in ("edge_hours", "service_hours", "edge_buckets", "service_buckets", *NAMESPACE_TABLES,
                      DESTINATIONS_TABLE, *UNMATCHED_TABLES):
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

    def read_changes(self, since: int | None, horizon: int, compactions: int, until: int | None = None,
                     take: Callable[[ChangeSet], None] | None = None, chunk: int = 20_000) -> ChangeSet:
        """Rows changed since a watermark (all rows when `since` is None), from one snapshot.

        Only buckets at or after `horizon` (and before `until`, if given) are returned, changed
        rows included. When a compaction has run since the caller last looked (`compactions`
        differs), the rows a reader must re-read are included too: whatever is left below the
        deleted ranges (written after the compaction).

        With `take`, the rows are handed to it `chunk` at a time (first a call without rows, with
        what the snapshot says of compaction) instead of returned: a reader that takes in a large
        backlog never holds it all as Python rows.
        """
        p = self.placeholder
        with self._read_snapshot() as cur:
            watermark = self._watermark(cur)
            cur.execute("SELECT name, value FROM store_meta")
            meta = {name: int(value) for name, value in cur.fetchall()}
            out = ChangeSet(watermark, meta["compactions"], meta["fine_cutoff"], meta["expired"])
            if take is not None:
                take(out)

            def hand_over() -> None:
                if take is not None and (out.edges or out.services):
                    take(dataclasses.replace(out))
                    out.edges, out.services = [], []
            tables = (("edge_buckets", EDGE_COLUMNS, 0), ("edge_hours", EDGE_COLUMNS, 1),
                      ("service_buckets", SERVICE_COLUMNS, 0), ("service_hours", SERVICE_COLUMNS, 1))
            for table, columns, resolution in tables:
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
                    while rows := cur.fetchmany(chunk):
                        for row in rows:
                            if horizon <= row[0] < end:
                                (out.edges if columns is EDGE_COLUMNS else out.services).append((resolution, row))
                                if take is not None and len(out.edges) + len(out.services) >= chunk:
                                    hand_over()
                            elif row[0] < horizon:
                                out.below_horizon = True
            hand_over()
            return out

    def ping(self) -> None:
        """Raise when the database cannot be read."""
        self._select("SELECT 1 FROM schema_migrations LIMIT 1", [])
