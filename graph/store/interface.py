"""The `Store` interface: where aggregates live (SQLite by default, PostgreSQL when shared)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from graph.aggregate import AggregateBatch
from graph.model import Window
from graph.store.rows import EdgeRow, EdgeTable, ServiceRow, TopologyEdge, TopologyRows
from graph.store.series import InboundBucket


class Store(ABC):
    """Where aggregates live. Implementations: SQLite (default) and PostgreSQL."""

    bucket_seconds: int = 300

    @abstractmethod
    def write(self, batch: AggregateBatch) -> None:
        """Add one batch in a single transaction; returns once it is durable."""

    @abstractmethod
    def edges(self, window: Window, env: str | None = None) -> list[EdgeRow]:
        """Edges with activity in the window, summed over it."""

    def edge_table(self, window: Window, env: str | None = None) -> EdgeTable:
        """`edges` as columns (stores that hold columns override this)."""
        return EdgeTable.from_rows(self.edges(window, env))

    @abstractmethod
    def services(self, window: Window, env: str | None = None) -> list[ServiceRow]:
        """Services seen in the window."""

    def window_rows(self, window: Window, env: str | None = None) -> tuple[list[ServiceRow], EdgeTable]:
        """`services` and `edge_table` of a window, for building its graph (stores that refresh
        before reads override this to refresh once)."""
        return self.services(window, env), self.edge_table(window, env)

    def topology(self, window: Window, env: str | None = None) -> TopologyRows:
        """Who calls whom in the window and which services were seen (stores that can answer
        without summing counters override this)."""
        def read() -> tuple[list[TopologyEdge], list[str]]:
            edges = [(e.client, e.server, e.client_kind, e.server_kind) for e in self.edges(window, env)]
            return edges, [s.service for s in self.services(window, env)]

        return TopologyRows(None, read)

    @abstractmethod
    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service."""

    @abstractmethod
    def namespaces(self, window: Window) -> dict[str, set[str]]:
        """The distinct `service.namespace` values each service was seen with in the window."""

    @abstractmethod
    def edge_destinations(self, window: Window, env: str | None = None) -> dict[tuple[str, str, str], list[str]]:
        """Per (client, server, connection_type): the destination names of a messaging edge in the
        window (at most 5, alphabetical; DESIGN §2 rule 10)."""

    @abstractmethod
    def unmatched_in(self, window: Window, env: str | None = None) -> dict[str, tuple[int, int]]:
        """Per service: (calls, failed) from callers that never report, in the window (rule 11)."""

    @abstractmethod
    def signals(self, window: Window, env: str | None = None) -> dict[str, dict[str, int]]:
        """Per service: `calls`, `failed` (rule 11) and the instrumentation signals `unpaired`,
        `unmatched`, `resolved` of the window."""

    @abstractmethod
    def write_addresses(self, rows: list[tuple[str, str, str, int]], forget_before: int) -> None:
        """Upsert learned addresses (address, environment, service, last seen in Unix seconds; the
        latest time wins) and delete those last seen before `forget_before` (rule 9)."""

    @abstractmethod
    def learned_addresses(self, since: int) -> list[tuple[str, str, str, int]]:
        """Learned addresses last seen at or after `since` (Unix seconds)."""

    @abstractmethod
    def ambiguous_addresses(self, since: int) -> list[dict[str, Any]]:
        """Addresses learned for several services since `since`, as `{"address", "services"}`."""

    @abstractmethod
    def inbound(self, window: Window, env: str | None = None, service: str | None = None,
                cuts: Sequence[float] | None = None) -> list[InboundBucket]:
        """Calls into each service (or only `service`) per store bucket of the window, oldest first:
        every connection type but self-calls, summed over clients (and environments unless `env`).

        With `cuts` (Unix seconds; each moved down to its bucket's start), one record per service and
        span between cuts instead: from its earliest bucket to the next cut (the last: to the end of
        the window's last bucket). Sums over any run of spans equal those over their buckets."""

    @abstractmethod
    def failing(self, window: Window, env: str | None, hourly: bool, min_failed: int,
                error_ratio: float) -> list[InboundBucket]:
        """Per service, the buckets of the window (or hours, `hourly`: 5-minute buckets summed into
        their hour) in which the calls into it (as `inbound` counts them) had at least `min_failed`
        failed calls and a failed share of at least `error_ratio` (on-call episodes, §3b); without
        histograms. Only these rows leave the database."""

    @abstractmethod
    def record_report(
        self, window_end: int, findings: list[tuple[str, str]], created_at: int,
        orphans_since: dict[str, int] | None = None,
    ) -> None:
        """Remember the (service, code) findings of a report run and when each orphan became orphaned
        (replacing a run with the same end)."""

    @abstractmethod
    def report_orphans_since(self, window_end: int) -> dict[str, int]:
        """For the run ending at window_end: orphaned service → since (Unix milliseconds)."""

    @abstractmethod
    def report_history(self, before: int, limit: int = 60) -> list[tuple[int, set[tuple[str, str]]]]:
        """Recorded report runs ending at or before `before`, newest first, with their findings."""

    @abstractmethod
    def compact(self, now: float, retention_days: int) -> None:
        """Roll fine buckets older than a day into hourly ones; delete data past the retention."""

    @abstractmethod
    def claim(self, name: str, run_key: int, now: float) -> bool:
        """Claim one run of a job so that only one process runs it."""

    @abstractmethod
    def ping(self) -> None:
        """Raise when the store cannot be reached."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
