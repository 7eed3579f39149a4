"""What the API's routes share: the store, the config, the ownership lens and metric sources."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.config import ApiConfig
from api.views import NoCatalogLens, OwnershipLens
from graph.service_graph import ServiceGraph
from graph.store.base import Store


def _no_catalog_lens(graph: ServiceGraph) -> OwnershipLens:
    return NoCatalogLens()


@dataclass
class ApiState:
    """Held on `app.state.ownermap`; built by the composition root (or a test)."""

    config: ApiConfig
    store: Store
    lens_factory: Callable[[ServiceGraph], OwnershipLens] = _no_catalog_lens
    metric_sources: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
