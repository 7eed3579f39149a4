"""Learned addresses in the store (DESIGN §2 rule 9): table `learned_addresses` (migration 7).

One row per (address, environment, service) with the time (Unix seconds) it was last learned,
shared by every process; rows older than `address_memory` are deleted as new ones are written.
"""

from __future__ import annotations

from typing import Any

TABLE = "learned_addresses"
AddressRow = tuple[str, str, str, int]  # address, environment, service, last seen


def address_upsert_sql(placeholder: str) -> str:
    """Insert a learned address, or move its last-seen time forward (SQLite and PostgreSQL)."""
    p = placeholder
    return (f"INSERT INTO {TABLE} (address, environment, service, last_seen) VALUES ({p}, {p}, {p}, {p}) "
            "ON CONFLICT (address, environment, service) DO UPDATE SET last_seen = CASE "
            f"WHEN excluded.last_seen > {TABLE}.last_seen THEN excluded.last_seen ELSE {TABLE}.last_seen END")


def forget_sql(placeholder: str) -> str:
    """Delete the addresses last seen before a time."""
    return f"DELETE FROM {TABLE} WHERE last_seen < {placeholder}"


def learned_sql(placeholder: str) -> str:
    """The addresses last seen at or after a time."""
    return f"SELECT address, environment, service, last_seen FROM {TABLE} WHERE last_seen >= {placeholder}"


def address_rows(rows: list[tuple[Any, ...]]) -> list[AddressRow]:
    """Typed rows of `learned_sql`."""
    return [(str(a), str(e), str(s), int(t)) for a, e, s, t in rows]


def ambiguous(rows: list[AddressRow]) -> list[dict[str, Any]]:
    """Addresses learned for several services (in any environment): they stay virtual nodes.
    Sorted by address; each with its services, sorted."""
    services: dict[str, set[str]] = {}
    for address, _, service, _ in rows:
        services.setdefault(address, set()).add(service)
    return [{"address": a, "services": sorted(s)} for a, s in sorted(services.items()) if len(s) > 1]
