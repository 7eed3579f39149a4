"""What the API's routes share: the store, the config, the catalog and metric sources."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.config import ApiConfig
from graph.service_graph import ServiceGraph
from graph.store.base import Store
from ownership.analysis import OwnershipAnalysis
from ownership.source import CatalogSource


@dataclass
class ApiState:
    """Held on `app.state.ownermap`; built by the composition root (or a test)."""

    config: ApiConfig
    store: Store
    catalog: CatalogSource = field(default_factory=lambda: CatalogSource([]))
    metric_sources: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.time

    def analysis(self, graph: ServiceGraph) -> OwnershipAnalysis:
        """Join a graph with the current catalog."""
        return OwnershipAnalysis(graph, self.catalog.index, self.config.owner_attributes)
