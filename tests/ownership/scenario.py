"""Scenarios for ownership tests: aggregates in a real SQLite store + catalog files → an analysis.

Graphs are written through graph.aggregate.Aggregator with explicit timestamps; catalogs are real
files (Backstage, owners.yaml, service.datadog.yaml) in tmp_path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from ownership.analysis import OwnershipAnalysis
from ownership.catalog import load_catalog
from ownership.findings import Finding
from ownership.identity import CatalogIndex

T0 = 1_700_000_100  # aligned to 5-minute buckets
NS = 1_000_000_000
NOW = T0 + 3600
WINDOW = Window(NOW - 7 * 86400, NOW)
API = "backstage.io/v1alpha1"

# A service carrying every documentation signal: on-call, runbook and docs.
DOCUMENTED = {"pagerduty.com/service-id": "P123", "backstage.io/techdocs-ref": "dir:."}
RUNBOOK_LINK = [{"url": "https://runbooks.example/x", "title": "Runbook"}]


# ---------------------------------------------------------------------------------------- helpers


class Telemetry:
    """Sightings and calls written through the real Aggregator into a SQLite store."""

    def __init__(self) -> None:
        self.agg = Aggregator(bucket_seconds=300)
        self._n = 0

    def seen(self, service: str, *, hints: dict[str, str] | None = None, count: int = 1,
             ts: float = T0 + 60, error: bool = False) -> Telemetry:
        resource = Resource(service, "prod", dict(hints or {}))
        for _ in range(count):
            self._n += 1
            span = Span(self._n.to_bytes(16, "big"), self._n.to_bytes(8, "big"), b"", resource, SpanKind.SERVER,
                        int(ts * NS), int(ts * NS) + 1000, error)
            self.agg.sighting(span)
        return self

    def call(self, client: str, server: str, *, count: int = 1, failed: int = 0, ts: float = T0 + 60,
             server_kind: str = NodeKind.SERVICE, ctype: str = "rpc") -> Telemetry:
        for name, kind in ((client, NodeKind.SERVICE), (server, server_kind)):
            if kind == NodeKind.SERVICE:
                self.seen(name, ts=ts)
        for i in range(count):
            self.agg.call(Call(int(ts * NS), client, NodeKind.SERVICE, server, server_kind, ctype, "prod", i < failed,
                          0.01, 0.01, b"\x01" * 16))
        return self

    def graph(self, store_path: str | Path = ":memory:") -> ServiceGraph:
        store = SQLiteStore(store_path)
        try:
            store.write(self.agg.drain())
            return ServiceGraph.from_store(store, WINDOW)
        finally:
            store.close()


def component(name: str, owner: str | None = "payments", *, annotations: dict[str, str] | None = None,
              links: list[dict[str, str]] | None = None, lifecycle: str = "production", type: str = "service",
              depends_on: list[str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "annotations": dict(DOCUMENTED if annotations is None else annotations)}
    metadata["links"] = RUNBOOK_LINK if links is None else links
    spec: dict[str, Any] = {"type": type, "lifecycle": lifecycle}
    if owner is not None:
        spec["owner"] = owner
    if depends_on is not None:
        spec["dependsOn"] = depends_on
    return {"apiVersion": API, "kind": "Component", "metadata": metadata, "spec": spec}


def group(name: str, members: list[str] | None = None, children: list[str] | None = None,
          parent: str | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "team", "children": children or []}
    if members is not None:
        spec["members"] = members
    if parent is not None:
        spec["parent"] = parent
    return {"apiVersion": API, "kind": "Group", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": spec}


def user(name: str, member_of: list[str] | None = None) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "User", "metadata": {"name": name}, "spec": {"memberOf": member_of or []}}


def resource(name: str, owner: str = "payments", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Resource", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"type": "database", "owner": owner}}


TEAM = [group("payments", members=["alice"]), user("alice", ["payments"])]


def write_catalog(directory: Path, docs: list[dict[str, Any]] | None = None,
                  extra: dict[str, str] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if docs is not None:
        (directory / "catalog-info.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    for name, text in (extra or {}).items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def index_of(directory: Path) -> CatalogIndex:
    catalog = load_catalog([directory])
    assert catalog.errors == [], [str(e) for e in catalog.errors]
    return CatalogIndex(catalog)


def analyse(tmp_path: Path, telemetry: Telemetry, docs: list[dict[str, Any]] | None = None,
            extra: dict[str, str] | None = None, **kwargs: Any) -> OwnershipAnalysis:
    directory = write_catalog(tmp_path / "catalog", docs, extra)
    return OwnershipAnalysis(telemetry.graph(), index_of(directory), **kwargs)


def codes_of(analysis: OwnershipAnalysis, service: str) -> set[str]:
    return {f.code for f in analysis.findings() if f.service == service}


def finding(analysis: OwnershipAnalysis, code: str, service: str) -> Finding:
    found = [f for f in analysis.findings([code]) if f.service == service]
    assert len(found) == 1, [f.to_dict() for f in analysis.findings()]
    return found[0]
