"""Fixtures of the graph tests: one store per engine (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.store.sql_store import SqlStore
from graph.store.sqlite import SQLiteStore
from tests.graph.store_builders import postgres_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """An empty store of each engine."""
    made: SqlStore = (
        SQLiteStore(tmp_path / "store.db") if request.param == "sqlite"
        else postgres_store(f"t_{uuid.uuid4().hex[:12]}")
    )
    yield made
    made.close()
