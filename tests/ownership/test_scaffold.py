"""Scaffolded catalog-info.yaml: valid YAML, a valid Backstage Component, claimable in one PR.

Each scaffold is written to a file and loaded with the real catalog loader (zero errors), and
the round trip is checked: with the scaffold in the catalog, the service is no longer undocumented.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from ownership.analysis import OwnershipAnalysis
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex
from ownership.scaffold import backstage_name, scaffold_yaml

T0 = 1_700_000_100
NS = 1_000_000_000
NOW = T0 + 3600
WINDOW = Window(NOW - 7 * 86400, NOW)
API = "backstage.io/v1alpha1"
NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
HOSTILE = [
    "<script>alert(1)</script>",
    "it's \"quoted\"",
    "line1\nline2\r\n# not a comment: yes",
    "../x",
    "../../etc/passwd",
    "x" * 300,
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "--- !!python/object:os.system",
    "{a: b}",
    "&anchor *alias",
    "ünïcødé-服务",
    "<>",
    "unknown_service:java",
]


class Telemetry:
    def __init__(self) -> None:
        self.agg = Aggregator(bucket_seconds=300)
        self._n = 0

    def seen(self, service: str, hints: dict[str, str] | None = None) -> Telemetry:
        self._n += 1
        ts = int((T0 + 60) * NS)
        self.agg.sighting(Span(self._n.to_bytes(16, "big"), self._n.to_bytes(8, "big"), b"",
                               Resource(service, "prod", dict(hints or {})), SpanKind.SERVER, ts, ts + 1))
        return self

    def call(self, client: str, server: str, count: int = 1, server_kind: str = NodeKind.SERVICE,
             client_kind: str = NodeKind.SERVICE, ctype: str = "rpc") -> Telemetry:
        for _ in range(count):
            self.agg.call(Call(int((T0 + 60) * NS), client, client_kind, server, server_kind, ctype, "prod", False,
                          0.01, 0.01, b"\x03" * 16))
        return self

    def graph(self) -> ServiceGraph:
        store = SQLiteStore(":memory:")
        try:
            store.write(self.agg.drain())
            return ServiceGraph.from_store(store, WINDOW)
        finally:
            store.close()


def component(name: str, owner: str = "payments", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Component", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"type": "service", "lifecycle": "production", "owner": owner}}


TEAMS = [
    {"apiVersion": API, "kind": "Group", "metadata": {"name": "payments"},
     "spec": {"type": "team", "children": [], "members": ["alice"]}},
    {"apiVersion": API, "kind": "Group", "metadata": {"name": "unassigned"},
     "spec": {"type": "team", "children": [], "members": ["nobody"]}},
]


def catalog_dir(path: Path, docs: list[dict[str, Any]], *texts: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "catalog-info.yaml").write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    for i, text in enumerate(texts):
        sub = path / f"claimed{i}"
        sub.mkdir()
        (sub / "catalog-info.yaml").write_text(text, encoding="utf-8")
    return path


def index(path: Path) -> CatalogIndex:
    catalog = load_catalog([path])
    assert catalog.errors == [], [str(e) for e in catalog.errors]
    return CatalogIndex(catalog)


def load_scaffold(tmp_path: Path, text: str) -> dict[str, Any]:
    """The scaffold parses safely and is, on its own, a valid Backstage Component (zero errors)."""
    data = yaml.safe_load(text)
    assert isinstance(data, dict) and set(data) == {"apiVersion", "kind", "metadata", "spec"}
    header, _, _ = text.partition("apiVersion:")
    assert all(line.startswith("#") for line in header.splitlines()), header
    file = tmp_path / "scaffold" / "catalog-info.yaml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    catalog = load_catalog([file])
    assert catalog.errors == [], [str(e) for e in catalog.errors]
    (entity,) = catalog.entities
    assert entity.kind == "Component" and entity.type == "service"
    assert NAME_RE.match(entity.name) and len(entity.name) <= 63
    return data


# -------------------------------------------------------------------------------------- content


def test_scaffold_of_an_undocumented_service(tmp_path: Path) -> None:
    telemetry = (Telemetry().seen("checkout").seen("mystery", {"service.namespace": "Shop", "team": "payments"})
                 .call("user", "mystery", client_kind=NodeKind.USER, ctype="entry")
                 .call("mystery", "checkout", count=3).call("mystery", "mystery")
                 .call("mystery", "orders-db", server_kind=NodeKind.DATABASE, ctype="database")
                 .call("mystery", "stripe-api", server_kind=NodeKind.EXTERNAL, ctype="virtual")
                 .call("mystery", "orders", server_kind=NodeKind.MESSAGING, ctype="messaging"))
    analysis = OwnershipAnalysis(telemetry.graph(), index(catalog_dir(tmp_path / "cat", [component("checkout"),
                                                                                         *TEAMS])))
    text = analysis.scaffold("mystery")
    data = load_scaffold(tmp_path, text)
    assert data["apiVersion"] == "backstage.io/v1alpha1" and data["kind"] == "Component"
    assert data["metadata"]["name"] == "mystery"
    assert data["metadata"]["annotations"]["ownermap.io/service-names"] == "mystery"
    assert data["metadata"]["annotations"]["opentelemetry.io/service-name"] == "mystery"
    assert data["metadata"]["tags"] == ["shop"]
    assert data["spec"]["type"] == "service" and data["spec"]["lifecycle"]
    assert data["spec"]["owner"] == "group:default/payments"
    assert data["spec"]["dependsOn"] == [
        "component:default/checkout", "resource:default/orders", "resource:default/orders-db",
        "resource:default/stripe-api",
    ]
    assert "# suggested owner: payments" in text and "evidence:" in text


def test_scaffold_without_any_suggestion_says_so(tmp_path: Path) -> None:
    analysis = OwnershipAnalysis(Telemetry().seen("mystery").graph(), index(catalog_dir(tmp_path / "c", TEAMS)))
    text = analysis.scaffold("mystery")
    data = load_scaffold(tmp_path, text)
    assert data["spec"]["owner"] == "group:default/unassigned"
    assert "dependsOn" not in data["spec"]
    assert "replace group:default/unassigned" in text


def test_claiming_the_scaffold_resolves_the_orphan(tmp_path: Path) -> None:
    telemetry = (Telemetry().seen("checkout").seen("mystery_svc", {"team": "payments"})
                 .call("mystery_svc", "checkout", count=2)
                 .call("mystery_svc", "orders-db", server_kind=NodeKind.DATABASE, ctype="database"))
    graph = telemetry.graph()
    docs = [component("checkout"), *TEAMS]
    before = OwnershipAnalysis(graph, index(catalog_dir(tmp_path / "before", docs)))
    assert "undocumented" in before.of("mystery_svc").findings
    text = before.scaffold("mystery_svc")
    after = OwnershipAnalysis(graph, index(catalog_dir(tmp_path / "after", docs, text)))
    own = after.of("mystery_svc")
    assert (own.owner, own.owner_status, own.catalog_ref) == ("payments", "ok", "component:default/mystery_svc")
    assert not {"undocumented", "name_mismatch", "undeclared_dependency", "owner_not_found"} & set(own.findings)
    assert after.orphans() == []


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_stay_inert(tmp_path: Path, name: str) -> None:
    telemetry = (Telemetry().seen(name, {"team": name}).seen("checkout")
                 .call("checkout", name, count=2).call(name, "checkout")
                 .call(name, name + "-db", server_kind=NodeKind.DATABASE, ctype="database"))
    graph = telemetry.graph()
    docs = [component("checkout"), *TEAMS]
    analysis = OwnershipAnalysis(graph, index(catalog_dir(tmp_path / "cat", docs)))
    text = analysis.scaffold(name)
    data = load_scaffold(tmp_path, text)
    assert data["metadata"]["annotations"]["opentelemetry.io/service-name"] == name
    assert NAME_RE.match(data["metadata"]["name"])
    for ref in data["spec"].get("dependsOn", []):
        kind, _, rest = ref.partition(":default/")
        assert kind in ("component", "resource") and NAME_RE.match(rest) and len(rest) <= 63
    # and the claimed scaffold matches the hostile telemetry name again
    after = OwnershipAnalysis(graph, index(catalog_dir(tmp_path / "after", docs, text)))
    assert after.of(name).owner_status == "ok"
    assert "undocumented" not in after.of(name).findings


@pytest.mark.parametrize("namespace", ["shop", "Shop-EU", "--shop--", "shop.eu", "payments_team",
                                       "unknown_service:java", "../x.y", "<b>", "n" * 100])
def test_namespace_hint_becomes_a_valid_tag(tmp_path: Path, namespace: str) -> None:
    """service.namespace may hold anything; the tag made of it must still pass `catalog validate`."""
    graph = Telemetry().seen("svc", {"service.namespace": namespace}).graph()
    analysis = OwnershipAnalysis(graph, index(catalog_dir(tmp_path / "c", TEAMS)))
    data = load_scaffold(tmp_path, analysis.scaffold("svc"))
    for tag in data["metadata"].get("tags", []):
        assert re.match(r"^[a-z0-9+#]+(-[a-z0-9+#]+)*$", tag) and len(tag) <= 63


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("checkout", "checkout"), ("team/a b", "team-a-b"), ("../x", "x"), ("<script>", "script"),
     ("<>", "unnamed-service"), ("", "unnamed-service"), ("a" * 300, "a" * 63), ("-x-" + "b" * 70, "x-" + "b" * 61),
     ("Shop.Cart_v2", "Shop.Cart_v2")],
)
def test_backstage_name(raw: str, expected: str) -> None:
    assert backstage_name(raw) == expected
    assert NAME_RE.match(backstage_name(raw))


def test_backstage_name_never_ends_with_a_separator_after_truncation() -> None:
    name = "a" * 62 + "-tail"
    assert backstage_name(name) == "a" * 62
    assert NAME_RE.match(backstage_name("b" * 61 + "..c"))


def test_depends_on_kinds_and_duplicates(tmp_path: Path) -> None:
    telemetry = (Telemetry().seen("svc").seen("Cart")
                 .call("svc", "Cart").call("svc", "Cart", ctype="messaging")
                 .call("svc", "pg", server_kind=NodeKind.DATABASE, ctype="database")
                 .call("svc", "q", server_kind=NodeKind.MESSAGING, ctype="messaging")
                 .call("svc", "api.x", server_kind=NodeKind.EXTERNAL, ctype="virtual")
                 .call("user", "svc", client_kind=NodeKind.USER, ctype="entry"))
    analysis = OwnershipAnalysis(telemetry.graph(), index(catalog_dir(tmp_path / "c", TEAMS)))
    data = load_scaffold(tmp_path, analysis.scaffold("svc"))
    assert data["spec"]["dependsOn"] == ["component:default/cart", "resource:default/api.x",
                                         "resource:default/pg", "resource:default/q"]


def test_scaffold_yaml_comment_cannot_be_escaped() -> None:
    suggestions = [{"team": "payments", "confidence": 0.5,
                    "evidence": ["caller evil\napiVersion: hacked\n(3 calls)", "x\r\nkind: User"]}]
    text = scaffold_yaml("bad\nname", None, [], suggestions)
    data = yaml.safe_load(text)
    assert data["kind"] == "Component" and data["apiVersion"] == "backstage.io/v1alpha1"
    header = text.split("\napiVersion:", 1)[0]
    assert all(line.startswith("#") for line in header.splitlines())


# -------------------------------------------------------------------------------------- refs (regressions)


def test_scaffold_owner_keeps_the_team_namespace(tmp_path: Path) -> None:
    """Regression: the suggested team keeps its namespace (was group:default/…)."""
    team = {"apiVersion": API, "kind": "Group", "metadata": {"name": "payments", "namespace": "shop"},
            "spec": {"type": "team", "children": [], "members": ["alice"]}}
    checkout = component("checkout")
    checkout["metadata"]["namespace"] = "shop"
    telemetry = Telemetry().seen("checkout").seen("mystery").call("checkout", "mystery", count=3)
    graph = telemetry.graph()
    before = OwnershipAnalysis(graph, index(catalog_dir(tmp_path / "before", [team, checkout])))
    assert before.of("mystery").suggested_owners[0]["team"] == "payments"
    text = before.scaffold("mystery")
    assert yaml.safe_load(text)["spec"]["owner"] == "group:shop/payments"
    after = OwnershipAnalysis(graph, index(catalog_dir(tmp_path / "after", [team, checkout], text)))
    assert after.of("mystery").owner_status == "ok"


def test_scaffold_depends_on_names_the_matched_catalog_entities(tmp_path: Path) -> None:
    """Regression: dependsOn names the matched entity, not the telemetry alias."""
    docs = [component("cart", annotations={"opentelemetry.io/service-name": "cart-otel"}),
            {"apiVersion": API, "kind": "Resource",
             "metadata": {"name": "orders-db", "annotations": {"ownermap.io/service-names": "pg-main"}},
             "spec": {"type": "database", "owner": "payments"}}, *TEAMS]
    telemetry = (Telemetry().seen("cart-otel").seen("mystery").call("mystery", "cart-otel")
                 .call("mystery", "pg-main", server_kind=NodeKind.DATABASE, ctype="database"))
    analysis = OwnershipAnalysis(telemetry.graph(), index(catalog_dir(tmp_path / "c", docs)))
    data = yaml.safe_load(analysis.scaffold("mystery"))
    assert data["spec"]["dependsOn"] == ["component:default/cart", "resource:default/orders-db"]
