"""The live catalog: loaded from the configured paths, reloaded on request or when files change.

Every reload (start-up, SIGHUP, the API, the file watcher) runs in one reload thread, never on
the event loop; requests that arrive during a reload are served by a single following one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ownership.catalog import Catalog, CatalogError, load_catalog
from ownership.catalog.live import LiveOptions, LiveSnapshot, SourceStatus, split_entries
from ownership.catalog.loader import catalog_files
from ownership.coalesce import Coalescer
from ownership.identity import CatalogIndex

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    """What the last (re)load found."""

    loaded_at: float
    counts: dict[str, int]
    errors: list[CatalogError] = field(default_factory=list)
    warnings: list[CatalogError] = field(default_factory=list)
    files: int = 0
    sources: list[SourceStatus] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every live source had synced whole at least once after this load."""
        return all(status.last_success is not None for status in self.sources)

    def to_dict(self) -> dict[str, Any]:
        """The reload endpoint's answer."""
        return {
            "loaded_at": self.loaded_at,
            "files": self.files,
            "counts": self.counts,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "catalog_complete": self.complete,
            "sources": [status.to_dict() for status in self.sources],
        }


class CatalogSource:
    """Holds the current CatalogIndex; swaps it atomically on reload."""

    def __init__(self, paths: Sequence[str | Path], clock: Callable[[], float] = time.time,
                 live: LiveOptions | None = None) -> None:
        files, sources = split_entries([str(p) for p in paths], live or LiveOptions())
        self.paths = [Path(p) for p in files]
        self.live = [LiveSnapshot(source, clock) for source in sources]
        self.clock = clock
        self._lock = threading.Lock()
        self._index = CatalogIndex(Catalog(entities=[], errors=[], warnings=[], files=[]))
        self.report = LoadReport(loaded_at=0.0, counts={})
        self._fingerprint: tuple[tuple[str, float, int], ...] = ()
        self._loaded_files: list[Path] = []
        self._watcher: threading.Thread | None = None
        self._refresher: threading.Thread | None = None
        self._stop = threading.Event()
        self._log_errors = True
        self._reloads: Coalescer[LoadReport] = Coalescer(self._load, "ownermap-catalog-reload")

    @property
    def index(self) -> CatalogIndex:
        """The catalog as of the last successful load."""
        return self._index

    def reload(self, log_errors: bool = True) -> LoadReport:
        """Load every path again in the reload thread and wait for it; errors are reported (and
        logged unless `log_errors` is false), good entities are kept. Concurrent calls share one
        following reload."""
        self._log_errors = log_errors
        return self._reloads.run()

    def request_reload(self) -> None:
        """Start a reload in the reload thread and return at once (for SIGHUP on the event loop)."""
        self._reloads.request()

    @property
    def complete(self) -> bool:
        """Whether every live source has synced whole at least once (DESIGN §3c)."""
        return all(snapshot.complete for snapshot in self.live)

    def status(self) -> list[SourceStatus]:
        """How each live source's syncs went."""
        return [snapshot.status() for snapshot in self.live]

    @property
    def reloads(self) -> int:
        """How many reloads have run."""
        return self._reloads.runs

    def load_files(self) -> LoadReport:
        """Load the files now with each live source's snapshot as it is (empty before its first sync),
        without syncing: start-up need not wait for a slow or absent Backstage (the catalog says it is
        incomplete until the first sync, which `request_reload` or the refresh thread makes)."""
        with self._lock:
            self._assemble(self._current_fingerprint())
        return self.report

    def _load(self) -> LoadReport:
        """The reload itself (only ever run in the reload thread, one at a time)."""
        with self._lock:
            fingerprint = self._current_fingerprint()
            for snapshot in self.live:
                snapshot.refresh()  # a failed sync keeps that source's previous snapshot
            self._assemble(fingerprint)
        if self._log_errors:
            for error in self.report.errors[:20]:
                log.warning("catalog: %s", error)
        return self.report

    def _assemble(self, fingerprint: tuple[tuple[str, float, int], ...]) -> None:
        """Files and live snapshots into a new index and report (the caller holds the lock)."""
        catalog = load_catalog(self.paths, [snapshot.result for snapshot in self.live])
        self._index = CatalogIndex(catalog)
        self._loaded_files = [Path(f) for f in catalog.files]
        self._fingerprint = self._current_fingerprint() if catalog.files else fingerprint
        self.report = LoadReport(self.clock(), catalog.counts(), list(catalog.errors),
                                 list(catalog.warnings), len(catalog.files), self.status())

    def _current_fingerprint(self) -> tuple[tuple[str, float, int], ...]:
        """Size and mtime of every YAML file under the paths, and of every file the last load read
        (Location targets may live elsewhere under the catalog root)."""
        candidates: set[Path] = set(self._loaded_files)
        for root in self.paths:
            if root.is_file():
                candidates.add(root)
            elif root.is_dir():
                candidates.update(catalog_files(root))  # the loader's own bounded, confined scan
        entries: list[tuple[str, float, int]] = []
        for path in sorted(candidates):
            try:
                stat = path.stat()
            except OSError:
                entries.append((str(path), -1.0, -1))
                continue
            entries.append((str(path), stat.st_mtime, stat.st_size))
        return tuple(entries)

    def reload_if_changed(self) -> bool:
        """Reload when any catalog file was added, removed or modified."""
        if self._current_fingerprint() == self._fingerprint:
            return False
        self.reload()
        return True

    def watch(self, interval: float = 5.0) -> None:
        """Poll the catalog files in a background thread and reload when they change."""
        if self._watcher is not None or not self.paths:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    if self.reload_if_changed():
                        log.info("catalog reloaded after a file change")
                except Exception:
                    log.exception("catalog reload failed")

        self._watcher = threading.Thread(target=loop, name="ownermap-catalog-watch", daemon=True)
        self._watcher.start()

    def refresh_live(self, interval: float) -> None:
        """Sync the live sources (and reload) every `interval` seconds in a background thread."""
        if self._refresher is not None or not self.live:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.reload()
                except Exception:
                    log.exception("catalog refresh failed")

        self._refresher = threading.Thread(target=loop, name="ownermap-catalog-refresh", daemon=True)
        self._refresher.start()

    def close(self) -> None:
        """Stop watching and refreshing."""
        self._stop.set()
