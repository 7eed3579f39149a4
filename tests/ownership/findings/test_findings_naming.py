"""Rules about a seen service's name: undocumented, name_mismatch, unnamed_service (ownership/findings/naming.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ownership.scenario import (
    DOCUMENTED,
    TEAM,
    WINDOW,
    Telemetry,
    analyse,
    codes_of,
    component,
    finding,
)

# ---------------------------------------------------------------------------------------- undocumented


def test_undocumented_service_seen_without_entry(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("mystery"), [component("checkout"), *TEAM])
    assert codes_of(analysis, "mystery") == {"undocumented"}
    assert codes_of(analysis, "checkout") == set()
    own = analysis.of("mystery")
    assert (own.owner, own.owner_status, own.catalog_ref, own.catalog) == (None, "undocumented", None, None)
    f = finding(analysis, "undocumented", "mystery")
    assert f.severity == "high" and f.owner is None


def test_undocumented_only_for_services_seen_in_the_window(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("checkout").seen("long-gone", ts=WINDOW.start - 3 * 86400)
    analysis = analyse(tmp_path, telemetry, [component("checkout"), *TEAM])
    assert "long-gone" not in analysis.graph.nodes
    assert [f.service for f in analysis.findings(["undocumented"])] == []

# ---------------------------------------------------------------------------------------- names


def test_name_mismatch_suggests_the_telemetry_name_as_alias(tmp_path: Path) -> None:
    docs = [component("checkout-service"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout_service"), docs)
    assert codes_of(analysis, "checkout_service") == {"undocumented", "name_mismatch"}
    f = finding(analysis, "name_mismatch", "checkout_service")
    assert f.data == {"entity": "component:default/checkout-service", "suggested_alias": "checkout_service"}
    assert "ownermap.io/service-names" in f.detail and "checkout_service" in f.detail
    assert f.owner == "payments"
    # one gap, reported once: the near-matched entry is not also stale (DESIGN §3)
    assert analysis.findings(["stale"]) == []
    assert f.catalog_ref == "component:default/checkout-service"


@pytest.mark.parametrize("telemetry_name", ["Checkout.Service", "CHECKOUT_SERVICE", "checkout.service"])
def test_name_mismatch_after_case_and_separator_normalisation(tmp_path: Path, telemetry_name: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen(telemetry_name), [component("checkout-service"), *TEAM])
    assert "name_mismatch" in codes_of(analysis, telemetry_name)


def test_name_mismatch_with_a_namespace_prefix(tmp_path: Path) -> None:
    shop = component("checkout")
    shop["metadata"]["namespace"] = "shop"
    analysis = analyse(tmp_path, Telemetry().seen("shop.checkout"), [shop, *TEAM])
    assert finding(analysis, "name_mismatch", "shop.checkout").data["entity"] == "component:shop/checkout"


def test_declared_alias_fixes_name_mismatch(tmp_path: Path) -> None:
    docs = [component("checkout-service", annotations={**DOCUMENTED, "ownermap.io/service-names": "checkout_service"}),
            *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout_service"), docs)
    assert analysis.findings() == []
    assert analysis.of("checkout_service").catalog_ref == "component:default/checkout-service"


def test_unrelated_names_are_no_mismatch(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkouts"), [component("checkout"), *TEAM])
    assert codes_of(analysis, "checkouts") == {"undocumented"}


@pytest.mark.parametrize("name", ["unknown_service", "unknown_service:java", "unknown_service:python3.12"])
def test_unnamed_service(tmp_path: Path, name: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen(name), [*TEAM])
    assert codes_of(analysis, name) == {"unnamed_service", "undocumented"}
    assert finding(analysis, "unnamed_service", name).severity == "high"
    assert "OTEL_SERVICE_NAME" in finding(analysis, "unnamed_service", name).detail


@pytest.mark.parametrize("name", ["unknown-service", "unknown_services", "my_unknown_service"])
def test_names_that_only_look_unnamed(tmp_path: Path, name: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen(name), [*TEAM])
    assert "unnamed_service" not in codes_of(analysis, name)


# ---------------------------------------------------------------------------------------- namespaces


def _namespaced(name: str, namespace: str, owner: str) -> dict[str, object]:
    doc = component(name, owner=owner)
    doc["metadata"]["namespace"] = namespace
    return doc


NAMESPACED_PAIR = [_namespaced("api", "payments", "group:default/payments"),
                   _namespaced("api", "search", "group:default/search"),
                   *TEAM, {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "search"},
                           "spec": {"type": "team", "children": [], "members": ["alice"]}}]


@pytest.mark.parametrize("key", ["service.namespace", "k8s.namespace.name"])
def test_the_namespace_hint_chooses_the_entry(tmp_path: Path, key: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("api", hints={key: "search"}), NAMESPACED_PAIR)
    own = analysis.of("api")
    assert (own.owner, own.owner_status, own.catalog_ref) == ("search", "ok", "component:search/api")
    # the entry not seen is stale, told apart from the seen one by its catalog_ref
    assert {(f.code, f.service, f.catalog_ref) for f in analysis.findings()} == {
        ("stale", "api", "component:payments/api")}


@pytest.mark.parametrize("hints", [{}, {"service.namespace": "elsewhere"}])
def test_ambiguous_match_without_a_usable_hint(tmp_path: Path, hints: dict[str, str]) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("api", hints=hints), NAMESPACED_PAIR)
    own = analysis.of("api")
    assert (own.owner, own.owner_status, own.catalog_ref) == (None, "ambiguous", None)
    assert {(f.code, f.service) for f in analysis.findings()} == {("ambiguous_match", "api")}
    f = finding(analysis, "ambiguous_match", "api")
    assert f.data["candidates"] == [{"catalog_ref": "component:payments/api", "owner": "payments"},
                                    {"catalog_ref": "component:search/api", "owner": "search"}]
    assert f.severity == "high" and "service.namespace" in f.detail
    assert analysis.orphans() == []


def test_identity_collision_from_the_namespaces_seen(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("api", hints={"service.namespace": "search"}).seen("cart")
    analysis = analyse(tmp_path, telemetry, NAMESPACED_PAIR,
                       namespaces_seen={"api": ["search", "payments"], "cart": ["shop"]})
    f = finding(analysis, "identity_collision", "api")
    assert f.data == {"namespaces": ["payments", "search"]} and "payments, search" in f.detail
    assert (f.owner, f.catalog_ref, f.severity) == ("search", "component:search/api", "medium")
    assert codes_of(analysis, "cart") == {"undocumented"}


def test_a_dns_style_near_match_is_one_gap_reported_once(tmp_path: Path) -> None:
    docs = [_namespaced("productpage", "bookinfo", "group:default/payments"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("productpage.bookinfo"), docs)
    assert {(f.code, f.service) for f in analysis.findings()} == {
        ("undocumented", "productpage.bookinfo"), ("name_mismatch", "productpage.bookinfo")}
    f = finding(analysis, "name_mismatch", "productpage.bookinfo")
    assert f.data == {"entity": "component:bookinfo/productpage", "suggested_alias": "productpage.bookinfo"}
    assert analysis.of("productpage.bookinfo").suggested_owners[0]["team"] == "payments"
