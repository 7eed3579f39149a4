"""What `serve`, `demo` and `ingest` build alike from the settings."""

from __future__ import annotations

import time
from collections.abc import Callable

from collector.pipeline import IngestPipeline
from graph.store import Store
from ownermap.settings import Settings
from ownership.catalog.live import LiveOptions
from ownership.source import CatalogSource


def build_pipeline(settings: Settings, store: Store, clock: Callable[[], float] = time.monotonic) -> IngestPipeline:
    """The ingest pipeline over `store`, sized and capped as the settings say (not yet started)."""
    s = settings
    return IngestPipeline(
        store, ttl=s.pairing_ttl, max_pending=s.max_pending, clock=clock,
        queue_batches=s.ingest_queue_batches, max_queued_spans=s.ingest_queue_spans,
        max_services=s.max_services, max_edges=s.max_edges, max_environments=s.max_environments,
        database_at_once=s.database_at_once, entry_node=s.entry_node,
        messaging_ttl=s.messaging_ttl, address_memory_seconds=s.address_memory * 86_400,
    )


def build_catalog(settings: Settings) -> CatalogSource:
    """The catalog the settings name: files, directories and live sources (not yet loaded)."""
    token = settings.backstage_token.get_secret_value() if settings.backstage_token else None
    return CatalogSource(settings.catalog,
                         live=LiveOptions(backstage_token=token, backstage_timeout=settings.backstage_timeout))
