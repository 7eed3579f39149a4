"""Live catalog sources (DESIGN §3c): each keeps its last complete snapshot and says how its syncs went.

A source's `sync` returns a whole `LoadResult` or raises; a failed sync leaves the snapshot in use
untouched, so no entry turns stale because a source hiccuped. The catalog is complete once every
live source has synced at least once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ownership.catalog.backstage_api import BackstageApi, SyncError, api_base, is_backstage_source, parse_api_entities
from ownership.catalog.codeowners import PREFIX as CODEOWNERS_PREFIX
from ownership.catalog.codeowners import CodeownersSource
from ownership.catalog.model import CatalogError, LoadResult

log = logging.getLogger(__name__)


class LiveSource(Protocol):
    """Something synced as a whole: a Backstage API, a CODEOWNERS file."""

    name: str  # as shown in status and metrics (never a token)
    kind: str

    def sync(self) -> LoadResult:
        """Everything the source holds now; raises (SyncError) when that cannot be read whole."""
        ...


@dataclass(frozen=True)
class LiveOptions:
    """What live sources need from the settings."""

    backstage_token: str | None = None
    backstage_timeout: float = 30.0
    backstage_initial_wait: float = 1.0


@dataclass
class BackstageSource:
    """The Backstage catalog API at one base URL."""

    name: str
    api: BackstageApi
    kind: str = "backstage"

    def sync(self) -> LoadResult:
        """Every entity of the kinds ownermap uses, or SyncError."""
        return parse_api_entities(self.api.fetch(), f"backstage:{self.name}")


@dataclass
class BrokenSource:
    """A `--catalog` entry that cannot be used at all (its sync always fails with the reason)."""

    name: str
    kind: str
    reason: str

    def sync(self) -> LoadResult:
        """Always fails."""
        raise SyncError(self.reason)


@dataclass
class SourceStatus:
    """How a live source's syncs went (`GET /api/v1/catalog/status`)."""

    source: str
    kind: str
    last_success: float | None = None
    entities: int = 0
    errors: list[str] = field(default_factory=list)
    failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The status endpoint's object for this source."""
        when = None if self.last_success is None else datetime.fromtimestamp(self.last_success, UTC).isoformat()
        return {"source": self.source, "kind": self.kind, "last_success": when, "entities": self.entities,
                "errors": list(self.errors)}


class LiveSnapshot:
    """One live source, the snapshot in use and its status."""

    def __init__(self, source: LiveSource, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.clock = clock
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._status = SourceStatus(source.name, source.kind)

    @property
    def complete(self) -> bool:
        """Whether this source has synced whole at least once."""
        return self._status.last_success is not None

    def status(self) -> SourceStatus:
        """A copy of the status."""
        with self._lock:
            s = self._status
            return SourceStatus(s.source, s.kind, s.last_success, s.entities, list(s.errors), s.failures)

    def refresh(self) -> bool:
        """Sync once; on success the new snapshot replaces the old, on failure the old one stays."""
        try:
            result = self.source.sync()
        except Exception as exc:  # any failure keeps the previous snapshot
            expected = isinstance(exc, SyncError | CatalogError)
            message = str(exc) if expected else f"{type(exc).__name__}: {exc}"
            if not expected:
                log.exception("catalog source %s: unexpected failure", self.source.name)
            log.warning("catalog source %s: sync failed, keeping the previous snapshot: %s", self.source.name, message)
            with self._lock:
                self._status.errors = [message]
                self._status.failures += 1
            return False
        with self._lock:
            self.result = result
            self._status.last_success = self.clock()
            self._status.entities = len(result.entities)
            self._status.errors = []
        return True


def live_source(entry: str, options: LiveOptions) -> LiveSource | None:
    """The live source a `--catalog` entry names, or None for a file or directory."""
    if is_backstage_source(entry):
        shown = entry[len("backstage+"):]
        try:
            base = api_base(entry)
        except ValueError as exc:
            return BrokenSource(shown.split("@")[-1], "backstage", str(exc).replace(entry, "the entry"))
        api = BackstageApi(base, options.backstage_token, options.backstage_timeout,
                           initial_wait=options.backstage_initial_wait)
        return BackstageSource(base, api)
    if entry.startswith(CODEOWNERS_PREFIX):
        return CodeownersSource(Path(entry[len(CODEOWNERS_PREFIX):]))
    return None


def split_entries(entries: Sequence[str], options: LiveOptions) -> tuple[list[str], list[LiveSource]]:
    """`--catalog` entries as file paths and live sources."""
    paths: list[str] = []
    live: list[LiveSource] = []
    for entry in entries:
        source = live_source(str(entry), options)
        if source is None:
            paths.append(str(entry))
        else:
            live.append(source)
    return paths, live
