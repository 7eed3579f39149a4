"""What the HTTP API needs to know from the settings (the composition root fills it in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.model import DEFAULT_OWNER_ATTRIBUTES
from ownership.oncall import OncallSettings


@dataclass
class ApiConfig:
    """API-facing configuration."""

    api_token: str | None = None
    catalog_paths: list[str] = field(default_factory=list)
    owner_attributes: list[str] = field(default_factory=lambda: list(DEFAULT_OWNER_ATTRIBUTES))
    map_max_nodes: int = 150  # the page draws at most this many nodes (else the team map, or folded stubs)
    objective_min_calls: int = 100  # fewer calls (or slices) in an objective's window: insufficient_data
    burn_min_calls: int = 10  # fewer calls in a burn pair's shorter window: no fast/slow burn
    oncall: OncallSettings = field(default_factory=OncallSettings)  # on-call load thresholds, working hours
