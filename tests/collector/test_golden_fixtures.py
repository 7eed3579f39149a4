"""Golden tests over the real captures in ../shared/fixtures/traces (expected edges from its README).

Each OTLP capture must give exactly the README's non-self edges and virtual nodes, both through
`ownermap ingest` + `ownermap graph` and through `POST /v1/traces` of the OTLP/HTTP receiver
(JSON, protobuf, and one request per resource in reverse order). The Jaeger and Zipkin captures
go through `ownermap ingest`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.testclient import TestClient

from collector.ingest import Receiver
from collector.otlp_http import create_otlp_http_app
from collector.pipeline import IngestPipeline
from graph.model import NodeKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from ownermap.cli import main
from tests.collector.otlp_builders import FakeClock, otlp_json_to_protobuf

TTL = 5.0
ALL_TIME = Window(0, 4_000_000_000)
MIB = 1024 * 1024

EdgeTuple = tuple[str, str, int, int]  # source, target, calls, errors


@dataclass(frozen=True)
class Golden:
    """A capture and the README's expected graph: every non-self edge, every virtual node."""

    file: str
    edges: frozenset[EdgeTuple]
    virtual: Mapping[str, str] = field(default_factory=dict)

    @property
    def services(self) -> set[str]:
        return {name for s, t, _, _ in self.edges for name in (s, t)} - set(self.virtual)


HOTROD = Golden(
    "otlp_hotrod_dispatch_40spans.json",
    frozenset({
        ("frontend", "customer", 1, 0), ("frontend", "driver", 1, 0), ("frontend", "route", 10, 0),
        ("customer", "mysql", 1, 0), ("driver", "redis-manual", 14, 3),
        ("user", "frontend", 1, 0), ("redis-manual", "redis", 14, 3),
    }),
    {"user": NodeKind.USER, "redis": NodeKind.DATABASE},
)
OTEL_DEMO = Golden(
    "otlp_oteldemo_checkout_26spans.json",
    frozenset({
        ("load-generator", "frontend-proxy", 3, 1), ("frontend-proxy", "frontend", 3, 0),
        ("frontend", "cart", 2, 0), ("frontend", "product-catalog", 1, 0),
        ("cart", "valkey-cart", 4, 0), ("product-catalog", "astronomy-db", 1, 0),
    }),
    {"valkey-cart": NodeKind.DATABASE, "astronomy-db": NodeKind.DATABASE},
)
BOOKINFO_EDGES = frozenset({
    ("istio-ingressgateway.istio-system", "productpage.bookinfo", 1, 0),
    ("productpage.bookinfo", "details.bookinfo", 1, 0),
    ("productpage.bookinfo", "reviews.bookinfo", 1, 0),
    ("reviews.bookinfo", "ratings.bookinfo", 1, 0),
})
BOOKINFO_OTLP = Golden("otlp_istio_bookinfo_8spans_derived.json", BOOKINFO_EDGES)
BOOKINFO_TEMPO = Golden("tempoapi_istio_bookinfo_8spans.json", BOOKINFO_EDGES)
DEATHSTARBENCH = Golden(
    "jaeger_deathstarbench_socialnetwork_20traces.json",
    frozenset(
        (source, target, 20, 0)
        for source, targets in {
            "nginx-web-server": ["compose-post-service"],
            "compose-post-service": [
                "text-service", "user-service", "unique-id-service", "media-service", "post-storage-service",
                "user-timeline-service", "home-timeline-service",
            ],
            "text-service": ["url-shorten-service", "user-mention-service"],
            "home-timeline-service": ["social-graph-service"],
        }.items()
        for target in targets
    ),
)

OTLP_GOLDEN = [HOTROD, OTEL_DEMO, BOOKINFO_OTLP, BOOKINFO_TEMPO]

# Zipkin captures: only the listed pairs are oracles (calls summed over connection types).
ZIPKIN_PAIRS = [
    ("zipkin_netflix_8spans.json", {("apip", "api"): 1, ("api", "session_logs"): 1, ("apip", "evcache_g"): 1}),
    ("zipkin_messaging_kafka_28spans.json", {("servicea", "serviceb"): 3}),
    (
        "zipkin_smartthings_mobile_web_install_1041spans.json",
        {("stlogin", "platformapi"): 53, ("platformapi", "gizmo"): 52, ("strongman", "platformapi"): 30},
    ),
]


@dataclass(frozen=True)
class GraphView:
    """A graph reduced to what the README states."""

    edges: frozenset[EdgeTuple]  # non-self edges
    virtual: dict[str, str]  # node → kind, for every node that is not a service
    services: set[str]

    @classmethod
    def of(cls, nodes: list[tuple[str, str]], edges: list[EdgeTuple]) -> GraphView:
        non_self = [e for e in edges if e[0] != e[1]]
        assert len(set(non_self)) == len(non_self), f"an edge is listed twice: {sorted(non_self)}"
        return cls(
            frozenset(non_self),
            {name: kind for name, kind in nodes if kind != NodeKind.SERVICE},
            {name for name, kind in nodes if kind == NodeKind.SERVICE},
        )

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> GraphView:
        return cls.of(
            [(n["id"], n["kind"]) for n in doc["nodes"]],
            [(e["source"], e["target"], e["calls"], e["errors"]) for e in doc["edges"]],
        )

    @classmethod
    def from_service_graph(cls, graph: ServiceGraph) -> GraphView:
        return cls.of(
            [(name, node.kind) for name, node in graph.nodes.items()],
            [(e.source, e.target, e.calls, e.errors) for e in graph.edges],
        )

    def pair_calls(self) -> dict[tuple[str, str], int]:
        calls: dict[tuple[str, str], int] = {}
        for source, target, n, _ in self.edges:
            calls[(source, target)] = calls.get((source, target), 0) + n
        return calls


def assert_matches(view: GraphView, golden: Golden) -> None:
    assert sorted(view.edges) == sorted(golden.edges)
    assert view.virtual == dict(golden.virtual)
    assert view.services == golden.services


# --------------------------------------------------------------------------- through the CLI


class Cli:
    """`ownermap ingest` and `ownermap graph` in-process, on one SQLite file."""

    def __init__(self, db_path: Path) -> None:
        self.db = f"sqlite:///{db_path}"
        self.runner = CliRunner()

    def ingest(self, *files: Path) -> str:
        # The captures are years old: a database of their own takes them (beyond the default retention).
        result = self.runner.invoke(main, ["ingest", "--db", self.db, *map(str, files)],
                                    env={"OWNERMAP_MAX_SPAN_AGE_DAYS": "36500"})
        assert result.exit_code == 0, result.output
        return result.stderr

    def graph_json(self, *extra: str) -> dict[str, Any]:
        args = ["graph", "--db", self.db, "--start", "2000-01-01", "--format", "json", *extra]
        result = self.runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "x.db")


@pytest.mark.parametrize("golden", OTLP_GOLDEN, ids=lambda g: g.file)
def test_otlp_capture_through_cli(traces_dir: Path, cli: Cli, golden: Golden) -> None:
    summary = cli.ingest(traces_dir / golden.file)
    assert "0 spans rejected" in summary
    assert_matches(GraphView.from_json(cli.graph_json()), golden)


def test_deathstarbench_through_cli(traces_dir: Path, cli: Cli) -> None:
    cli.ingest(traces_dir / DEATHSTARBENCH.file)
    assert_matches(GraphView.from_json(cli.graph_json()), DEATHSTARBENCH)


@pytest.mark.parametrize(("file", "pairs"), ZIPKIN_PAIRS, ids=[f for f, _ in ZIPKIN_PAIRS])
def test_zipkin_capture_pairs_through_cli(
    traces_dir: Path, cli: Cli, file: str, pairs: dict[tuple[str, str], int]
) -> None:
    cli.ingest(traces_dir / file)
    calls = GraphView.from_json(cli.graph_json()).pair_calls()
    assert {pair: calls.get(pair) for pair in pairs} == pairs


def test_zipkin_netflix_uninstrumented_peer_is_external(traces_dir: Path, cli: Cli) -> None:
    cli.ingest(traces_dir / "zipkin_netflix_8spans.json")
    assert GraphView.from_json(cli.graph_json()).virtual["evcache_g"] == NodeKind.EXTERNAL


def test_zipkin_yelp_imports_without_error(traces_dir: Path, cli: Cli) -> None:
    summary = cli.ingest(traces_dir / "zipkin_yelp_16spans.json")
    assert "ingested 16 spans" in summary and "0 spans rejected" in summary
    assert GraphView.from_json(cli.graph_json()).edges


def test_tempo_api_and_otlp_bookinfo_give_identical_graphs(traces_dir: Path, tmp_path: Path) -> None:
    graphs = []
    for golden in (BOOKINFO_TEMPO, BOOKINFO_OTLP):
        cli = Cli(tmp_path / f"{golden.file}.db")
        cli.ingest(traces_dir / golden.file)
        doc = cli.graph_json()
        graphs.append((doc["nodes"], doc["edges"]))
    assert graphs[0] == graphs[1]
    assert len(graphs[0][1]) == len(BOOKINFO_EDGES)


def test_hotrod_self_edge_is_hidden_unless_include_self(traces_dir: Path, cli: Cli) -> None:
    cli.ingest(traces_dir / HOTROD.file)

    def self_edges(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
        return [(e["source"], e["connection_type"], e["calls"]) for e in doc["edges"] if e["source"] == e["target"]]

    assert self_edges(cli.graph_json()) == []
    assert self_edges(cli.graph_json("--include-self")) == [("mysql", "database", 1)]
    with_self = GraphView.from_json(cli.graph_json("--include-self"))
    assert with_self.edges == HOTROD.edges  # only the self edge is added


# --------------------------------------------------------------------------- through POST /v1/traces


@dataclass
class OtlpHttp:
    """The OTLP/HTTP app around a threaded pipeline whose span index runs on a fake clock."""

    client: TestClient
    pipeline: IngestPipeline
    clock: FakeClock
    store: SQLiteStore

    def post(self, body: bytes, content_type: str) -> None:
        response = self.client.post("/v1/traces", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 200, response.text
        if content_type == "application/json":
            assert response.json() == {}  # no partial success
        else:
            assert not ExportTraceServiceResponse.FromString(response.content).HasField("partial_success")

    def graph(self) -> ServiceGraph:
        """Let the TTL pass, have the worker expire and flush, then read the store."""
        self.clock.advance(TTL + 1)
        self.pipeline.tick().result(timeout=30)
        assert self.pipeline.detector.pending == 0
        return ServiceGraph.from_store(self.store, ALL_TIME)


@contextmanager
def running_otlp_http(store: SQLiteStore) -> Iterator[OtlpHttp]:
    clock = FakeClock()
    pipeline = IngestPipeline(store, ttl=TTL, clock=clock, tick_seconds=0.05)
    pipeline.start()
    app = create_otlp_http_app(Receiver(pipeline), max_request_bytes=16 * MIB, max_decompressed_bytes=64 * MIB)
    try:
        with TestClient(app) as client:
            yield OtlpHttp(client, pipeline, clock, store)
    finally:
        pipeline.stop()
        store.close()


@pytest.fixture
def otlp_http() -> Iterator[OtlpHttp]:
    # an in-memory store shared by the worker thread (writes) and the test thread (reads)
    with running_otlp_http(SQLiteStore(":memory:")) as app:
        yield app


def resource_spans_key(doc: dict[str, Any]) -> str:
    return "batches" if "batches" in doc else "resourceSpans"


def requests_for(doc: dict[str, Any], mode: str) -> list[tuple[bytes, str]]:
    """The bodies (and content types) that deliver `doc` in the given mode."""
    encoding, _, split = mode.partition("-")
    if split:
        key = resource_spans_key(doc)
        docs = [{key: [rs]} for rs in reversed(doc[key])]
    else:
        docs = [doc]
    if encoding == "json":
        return [(json.dumps(d).encode(), "application/json") for d in docs]
    return [(otlp_json_to_protobuf(d), "application/x-protobuf") for d in docs]


@pytest.mark.parametrize("mode", ["json", "protobuf", "json-per-resource-reversed", "protobuf-per-resource-reversed"])
@pytest.mark.parametrize("golden", OTLP_GOLDEN, ids=lambda g: g.file)
def test_otlp_capture_through_http(traces_dir: Path, otlp_http: OtlpHttp, golden: Golden, mode: str) -> None:
    doc = json.loads((traces_dir / golden.file).read_text())
    requests = requests_for(doc, mode)
    assert len(requests) == (len(doc[resource_spans_key(doc)]) if "per-resource" in mode else 1)
    for body, content_type in requests:
        otlp_http.post(body, content_type)
    assert_matches(GraphView.from_service_graph(otlp_http.graph()), golden)


def test_nothing_waiting_on_the_ttl_is_stored_before_the_clock_moves(traces_dir: Path, otlp_http: OtlpHttp) -> None:
    doc = json.loads((traces_dir / OTEL_DEMO.file).read_text())
    otlp_http.post(json.dumps(doc).encode(), "application/json")
    otlp_http.pipeline.tick().result(timeout=30)
    early = GraphView.from_service_graph(ServiceGraph.from_store(otlp_http.store, ALL_TIME))
    assert early.virtual == {}  # database calls are emitted when their client spans expire
    assert early.edges == {e for e in OTEL_DEMO.edges if e[1] not in OTEL_DEMO.virtual}
    assert_matches(GraphView.from_service_graph(otlp_http.graph()), OTEL_DEMO)
