"""The narrow read-only interface the API reads windows through.

A SQL `Store` serves it by summing in the database; `graph.store.mirror.QueryMirror` serves it
from memory (older days summed in SQL). Readers do not know which: `graph.reads.GraphReader`
builds graphs and topologies from either and keeps its caches inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from graph.model import Window
from graph.store.rows import EdgeTable, ServiceRow, TopologyRows
from graph.store.series import InboundBucket


class WindowReads(Protocol):
    """What a window's graph is built from; nothing here writes."""

    bucket_seconds: int

    def window_rows(self, window: Window, env: str | None = None) -> tuple[list[ServiceRow], EdgeTable]:
        """The services and the edges of a window, from one look at the data."""
        ...

    def topology(self, window: Window, env: str | None = None) -> TopologyRows:
        """Who calls whom and which services were seen (with a content digest when known)."""
        ...

    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service."""
        ...

    def namespaces(self, window: Window) -> dict[str, set[str]]:
        """The distinct `service.namespace` values each service was seen with in the window."""
        ...

    def inbound(self, window: Window, env: str | None = None, service: str | None = None,
                cuts: Sequence[float] | None = None) -> list[InboundBucket]:
        """Calls into each service (or one) per store bucket of the window (or span between cuts)."""
        ...

    def failing(self, window: Window, env: str | None, hourly: bool, min_failed: int,
                error_ratio: float) -> list[InboundBucket]:
        """Per service, the buckets (or hours) of the window in which calls into it were failing."""
        ...

    def edge_destinations(self, window: Window, env: str | None = None) -> dict[tuple[str, str, str], list[str]]:
        """Per (client, server, connection_type): the destination names of a messaging edge (at most 5)."""
        ...

    def ambiguous_addresses(self, since: int) -> list[dict[str, Any]]:
        """Addresses learned for several services since `since` (rule 9), `{"address", "services"}`."""
        ...

    def unmatched_in(self, window: Window, env: str | None = None) -> dict[str, tuple[int, int]]:
        """Per service: (calls, failed) from callers that never report, in the window (rule 11)."""
        ...

    def signals(self, window: Window, env: str | None = None) -> dict[str, dict[str, int]]:
        """Per service: `calls`, `failed` from callers that never report (rule 11) and the
        instrumentation signals `unpaired`, `unmatched`, `resolved`, in the window."""
        ...
