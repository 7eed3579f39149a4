"""Destinations of messaging edges (DESIGN §2 rule 10, the `destinations` edge field).

Kept in their own table (migration 7), one row per (hour, edge, environment, destination): the
names are listed, not counted, so hourly rows are fine enough and need no rollup; compaction
deletes them past retention like the other tables. A window lists the names seen in the hours
it touches, at most MAX_DESTINATIONS per edge (alphabetical).
"""

from __future__ import annotations

from graph.aggregate import AggregateBatch
from graph.model import MAX_DESTINATIONS, Window
from graph.store.schema import HOUR

EdgeIdentity = tuple[str, str, str]  # client, server, connection_type

TABLE = "edge_destinations"  # created by migration 7 (graph.store.schema)


def destination_rows(batch: AggregateBatch) -> list[tuple[int, str, str, str, str, str]]:
    """The rows of one batch, in key order (concurrent writers lock in the same order)."""
    rows = {
        ((bucket // HOUR) * HOUR, client, server, ctype, env, name)
        for (bucket, client, server, ctype, env), agg in batch.edges.items()
        for name in agg.destinations
    }
    return sorted(rows)


def destination_insert_sql(placeholder: str) -> str:
    """Insert one row unless present (SQLite and PostgreSQL)."""
    p = placeholder
    return f"INSERT INTO {TABLE} VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING"


def destinations_query(placeholder: str, env: str | None) -> str:
    """The distinct destinations per edge of a window (parameters: `destinations_params`)."""
    p = placeholder
    where = f"bucket >= {p} AND bucket < {p}" + (f" AND environment = {p}" if env is not None else "")
    return (f"SELECT DISTINCT client, server, connection_type, destination FROM {TABLE} WHERE {where} "
            "ORDER BY client, server, connection_type, destination")


def destinations_params(window: Window, env: str | None) -> list[object]:
    """The hours touching the window, and the environment when asked for."""
    params: list[object] = [int(window.start // HOUR) * HOUR, int(window.end)]
    return [*params, env] if env is not None else params


def edge_destinations(rows: list[tuple[object, ...]]) -> dict[EdgeIdentity, list[str]]:
    """Per edge, its first MAX_DESTINATIONS destination names (the rows come sorted)."""
    out: dict[EdgeIdentity, list[str]] = {}
    for client, server, ctype, name in rows:
        names = out.setdefault((str(client), str(server), str(ctype)), [])
        if len(names) < MAX_DESTINATIONS:
            names.append(str(name))
    return out
