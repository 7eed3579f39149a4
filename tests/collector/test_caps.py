"""Cardinality caps through the whole ingest path (edge rules, aggregator, real SQLite, Prometheus):
2 000 distinct names in one dimension never exceed the configured cap in graph nodes, store rows
and service-graph series (DESIGN §6)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from collector.ingest import Receiver
from collector.pipeline import IngestPipeline
from graph.model import Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from ownermap.metrics import build_registry

ALL_TIME = Window(0, 2**33)
T0 = 1_700_000_000_000_000_000
NAMES = 2_000
CAP = 50

_ids = iter(range(1, 10_000_000))


def _span(resource: Resource, kind: SpanKind, attrs: dict[str, str] | None = None) -> Span:
    n = next(_ids)
    return Span(n.to_bytes(16, "big"), n.to_bytes(8, "big"), b"", resource, kind, T0, T0 + 1_000_000,
                attrs=attrs)


APP = Resource("app")

# One way per dimension to make a new node name out of a number (by the edge rules of DESIGN §2).
DIMENSIONS: dict[str, Callable[[int], Span]] = {
    "service": lambda i: _span(Resource(f"svc{i}"), SpanKind.SERVER),  # entry user → svc{i}
    "peer.service": lambda i: _span(APP, SpanKind.CLIENT, {"peer.service": f"peer{i}"}),
    "external host": lambda i: _span(APP, SpanKind.CLIENT, {"server.address": f"host{i}.example"}),
    "database": lambda i: _span(APP, SpanKind.CLIENT, {"db.system": "postgresql", "db.name": f"db{i}"}),
    "queue": lambda i: _span(APP, SpanKind.PRODUCER, {"messaging.destination.name": f"queue{i}"}),
    "entry caller": lambda i: _span(APP, SpanKind.SERVER, {"peer.service": f"caller{i}"}),
    "consumed queue": lambda i: _span(APP, SpanKind.CONSUMER, {"messaging.destination.name": f"topic{i}"}),
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "caps.db")
    yield s
    s.close()


def _series(registry: CollectorRegistry) -> list[dict[str, str]]:
    return [sample.labels for metric in registry.collect() for sample in metric.samples
            if sample.name == "traces_service_graph_request_total"]


def _distinct(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


@pytest.mark.parametrize("dimension", list(DIMENSIONS))
def test_node_names_of_every_kind_stay_within_max_services(store: SQLiteStore, dimension: str) -> None:
    pipeline = IngestPipeline(store, ttl=300.0, max_services=CAP)
    registry = build_registry(Receiver(pipeline), pipeline)
    make = DIMENSIONS[dimension]
    pipeline.ingest([make(i) for i in range(NAMES)])
    pipeline.finish()

    graph = ServiceGraph.from_store(store, ALL_TIME)
    assert 0 < len(graph.nodes) <= CAP
    db = Path(store.path)
    names = ("SELECT COUNT(*) FROM (SELECT client AS n FROM edge_buckets UNION SELECT server FROM edge_buckets "
             "UNION SELECT service FROM service_buckets)")
    assert _distinct(db, names) <= CAP
    series = _series(registry)
    assert len({s["client"] for s in series} | {s["server"] for s in series}) <= CAP
    assert len(series) <= len(graph.edges)
    assert pipeline.aggregator.stats.dropped_services > 0


def test_environments_beyond_the_cap_count_under_other(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(store, ttl=300.0, max_environments=CAP)
    registry = build_registry(Receiver(pipeline), pipeline)
    pipeline.ingest([_span(Resource("api", f"env{i}"), SpanKind.SERVER) for i in range(NAMES)])
    pipeline.finish()

    db = Path(store.path)
    for table in ("service_buckets", "edge_buckets"):
        environments = _distinct(db, f"SELECT COUNT(DISTINCT environment) FROM {table}")
        assert environments == CAP + 1, table  # the first CAP environments, then `other`
    (row,) = store.services(ALL_TIME)
    assert row.spans == NAMES  # nothing lost: the further environments count as `other`
    (other,) = store.services(ALL_TIME, env="other")
    assert other.spans == NAMES - CAP
    assert {(e.source, e.target): e.calls for e in ServiceGraph.from_store(store, ALL_TIME).edges} == {
        ("user", "api"): NAMES}
    other_total = registry.get_sample_value("ownermap_environments_other_total")
    assert other_total == 2 * (NAMES - CAP)  # each further span and its entry call


def test_the_caps_have_one_default(store: SQLiteStore) -> None:
    """Issue #22: the pipeline and the aggregator default to what Settings documents."""
    from ownermap.settings import Settings

    defaults = Settings()
    aggregator = IngestPipeline(store).aggregator
    assert (aggregator.max_services, aggregator.max_edges, aggregator.max_environments) == (
        defaults.max_services, defaults.max_edges, defaults.max_environments) == (50_000, 500_000, 50)
