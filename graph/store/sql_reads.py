"""The reads the query mirror does not hold and hands to the SQL store as they are (graph.store.mirror)."""

from __future__ import annotations

from typing import Any

from graph.model import Window
from graph.store.sql_store import SqlStore


class SqlReads:
    """Reads of small or rarely asked tables, answered by `self.store` (a mixin of QueryMirror)."""

    store: SqlStore

    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service (read from the store)."""
        return self.store.hints()

    def namespaces(self, window: Window) -> dict[str, set[str]]:
        """The `service.namespace` values each service was seen with in the window: not mirrored,
        this small query (a few rows per service and bucket) is delegated to the SQL store."""
        return self.store.namespaces(window)

    def edge_destinations(self, window: Window, env: str | None = None) -> dict[tuple[str, str, str], list[str]]:
        """The destinations of each messaging edge: not mirrored, read from the SQL store."""
        return self.store.edge_destinations(window, env)

    def unmatched_in(self, window: Window, env: str | None = None) -> dict[str, tuple[int, int]]:
        """Calls from callers that never report, per service (rule 11): read from the SQL store."""
        return self.store.unmatched_in(window, env)

    def signals(self, window: Window, env: str | None = None) -> dict[str, dict[str, int]]:
        """Per service: rule 11 calls and instrumentation signals: read from the SQL store."""
        return self.store.signals(window, env)

    def ambiguous_addresses(self, since: int) -> list[dict[str, Any]]:
        """Addresses learned for several services (rule 9): read from the SQL store."""
        return self.store.ambiguous_addresses(since)
