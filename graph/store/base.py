"""Names other packages import from `graph.store.base` (kept so their imports stay valid).

The store lives in: schema.py (tables, migrations), sql.py (SQL text), rows.py (row types),
interface.py (`Store`), sql_store.py (`SqlStore`), sqlite.py and postgres.py (the engines).
"""

from __future__ import annotations

from graph.store.interface import Store
from graph.store.rows import ChangeSet, EdgeRow, EdgeTable, ServiceRow, TopologyRows, batch_rows, exemplar_ids
from graph.store.schema import FINE_SECONDS, HOUR, MIGRATIONS
from graph.store.sql import bucket_range, window_params
from graph.store.sql_store import SqlStore

__all__ = [
    "FINE_SECONDS", "HOUR", "MIGRATIONS", "ChangeSet", "EdgeRow", "EdgeTable", "ServiceRow", "SqlStore", "Store",
    "TopologyRows", "batch_rows", "bucket_range", "exemplar_ids", "window_params",
]
