"""Aggregate storage: SQLite (default) and PostgreSQL behind one interface."""

from __future__ import annotations

from graph.store.interface import Store
from graph.store.rows import EdgeRow, ServiceRow


def open_store(url: str, bucket_seconds: int = 300) -> Store:
    """Open the store named by a URL: `sqlite:///path.db`, `sqlite://:memory:` or `postgresql://…`."""
    if url.startswith("sqlite:"):
        from graph.store.sqlite import SQLiteStore

        rest = url.removeprefix("sqlite:")
        if rest.startswith("////"):
            path = "/" + rest.lstrip("/")  # sqlite:////abs.db → /abs.db
        elif rest.startswith("///"):
            path = rest[3:]  # sqlite:///relative.db → relative.db
        else:
            path = rest.removeprefix("//")  # sqlite://:memory:
        return SQLiteStore(path or "ownermap.db", bucket_seconds=bucket_seconds)
    if url.startswith(("postgresql:", "postgres:")):
        from graph.store.postgres import PostgresStore

        return PostgresStore(url, bucket_seconds=bucket_seconds)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")


__all__ = ["EdgeRow", "ServiceRow", "Store", "open_store"]
