"""Findings on realistic catalogs (issue 15): each case of the issue, on every format it applies to,
asserting the exact set of findings for the service concerned.

Formats: Backstage, owners.yaml, Datadog v2, v2.1, v2.2 and v3. Every entry carries on-call, runbook
and docs, so only the findings each case is about remain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ownership.analysis import OwnershipAnalysis
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex
from tests.ownership.scenario import Telemetry

FORMATS = ["backstage", "owners", "v2", "v2.1", "v2.2", "v3"]
TEAMS = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: [], members: [alice]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: search}
spec: {type: team, children: [], members: [bob]}
"""
PD = "https://acme.pagerduty.com/service-directory/P1"


def entry(fmt: str, name: str, owner: str | None = "payments", *, namespace: str | None = None,
          extra: dict[str, object] | None = None) -> dict[str, object]:
    """One fully documented service entry in a format (a YAML/JSON-ready mapping)."""
    extra = extra or {}
    if fmt == "backstage":
        metadata: dict[str, object] = {"name": name, "annotations": {"pagerduty.com/service-id": "P1",
                                                                     "backstage.io/techdocs-ref": "dir:."},
                                       "links": [{"url": "https://runbooks.example/x", "title": "Runbook"}]}
        if namespace:
            metadata["namespace"] = namespace
        spec: dict[str, object] = {"type": "service", "lifecycle": "production"}
        if owner:
            spec["owner"] = owner
        doc = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata, "spec": spec}
        doc["metadata"].update(extra.get("metadata", {}))  # type: ignore[union-attr]
        return doc
    if fmt == "owners":
        service = {"name": name, "oncall": PD, "runbook": "https://runbooks.example/x", "docs": "https://docs.example",
                   **({"owner": owner} if owner else {}), **extra}
        return service
    if fmt == "v3":
        metadata = {"name": name, "links": [{"name": "Runbook", "type": "runbook", "url": "https://runbooks.example"},
                                            {"name": "Docs", "type": "doc", "url": "https://docs.example"}],
                    **({"owner": owner} if owner else {}), **({"namespace": namespace} if namespace else {}),
                    **extra.get("metadata", {})}  # type: ignore[dict-item]
        return {"apiVersion": "v3", "kind": extra.get("kind", "service"), "metadata": metadata,
                "spec": {"lifecycle": "production"}, "integrations": {"pagerduty": {"serviceURL": PD}}}
    link_doc = "doc"
    pagerduty: object = PD if fmt == "v2" else {"service-url": PD}
    definition = {"schema-version": fmt, "dd-service": name,
                  "links": [{"name": "Runbook", "type": "runbook", "url": "https://runbooks.example"},
                            {"name": "Docs", "type": link_doc, "url": "https://docs.example"}],
                  "integrations": {"pagerduty": pagerduty}, **({"team": owner} if owner else {}), **extra}
    return definition


def write(directory: Path, fmt: str, entries: list[dict[str, object]]) -> Path:
    """The entries as that format's files, plus the teams (Backstage Groups)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "teams.yaml").write_text(TEAMS, encoding="utf-8")
    if fmt == "backstage":
        (directory / "catalog-info.yaml").write_text(yaml.safe_dump_all(entries), encoding="utf-8")
    elif fmt == "owners":
        (directory / "owners.yaml").write_text(yaml.safe_dump({"services": entries}), encoding="utf-8")
    elif fmt == "v3":
        for i, doc in enumerate(entries):  # v3 is recognised by content, in YAML or JSON files
            name = directory / (f"entity-{i}.json" if i % 2 else f"entity-{i}.yaml")
            name.write_text(json.dumps(doc) if i % 2 else yaml.safe_dump(doc), encoding="utf-8")
    else:
        for i, doc in enumerate(entries):
            (directory / f"svc{i}.datadog.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return directory


def analyse(tmp_path: Path, fmt: str, entries: list[dict[str, object]], telemetry: Telemetry) -> OwnershipAnalysis:
    catalog = load_catalog([write(tmp_path / fmt, fmt, entries)])
    return OwnershipAnalysis(telemetry.graph(), CatalogIndex(catalog))


def findings(analysis: OwnershipAnalysis, service: str) -> set[str]:
    return {str(f.code) for f in analysis.findings() if f.service == service}


def test_every_format_documents_a_service_fully(tmp_path: Path) -> None:
    for fmt in FORMATS:
        analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout")], Telemetry().seen("checkout"))
        assert findings(analysis, "checkout") == set(), fmt
        assert analysis.of("checkout").owner == "payments", fmt


# ------------------------------------------------------------- 1. lenient loading: no owner, a bad field


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_entry_without_owner_is_unowned_never_undocumented(tmp_path: Path, fmt: str) -> None:
    analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout", owner=None)], Telemetry().seen("checkout"))
    expected = {"unowned", "catalog_error"} if fmt == "backstage" else {"unowned"}  # only Backstage requires it
    assert findings(analysis, "checkout") == expected
    assert analysis.of("checkout").owner_status == "unowned"


BAD_FIELD = {
    "backstage": {"metadata": {"tags": ["Java"]}},
    "owners": {"tier": [1]},
    "v2": {"contacts": [{"type": "pager", "contact": "x"}]},
    "v2.1": {"tier": [1]},
    "v2.2": {"type": "mainframe"},
    "v3": {"metadata": {"contacts": [{"type": "email"}]}},
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_entry_with_one_bad_field_is_kept_with_catalog_error(tmp_path: Path, fmt: str) -> None:
    analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout", extra=BAD_FIELD[fmt])], Telemetry().seen("checkout"))
    assert findings(analysis, "checkout") == {"catalog_error"}
    assert (analysis.of("checkout").owner, analysis.of("checkout").owner_status) == ("payments", "ok")


# ------------------------------------------------------------- 2. namespaces


@pytest.mark.parametrize("fmt", ["backstage", "v3"])
@pytest.mark.parametrize(("hints", "owner", "status", "codes"), [
    ({"service.namespace": "search"}, "search", "ok", set()),
    ({"k8s.namespace.name": "payments"}, "payments", "ok", set()),
    ({}, None, "ambiguous", {"ambiguous_match"}),
    ({"service.namespace": "other"}, None, "ambiguous", {"ambiguous_match"}),
])
def test_a_namespaced_pair(tmp_path: Path, fmt: str, hints: dict[str, str], owner: str | None, status: str,
                           codes: set[str]) -> None:
    pair = [entry(fmt, "api", "group:default/payments" if fmt == "backstage" else "payments", namespace="payments"),
            entry(fmt, "api", "group:default/search" if fmt == "backstage" else "search", namespace="search")]
    analysis = analyse(tmp_path, fmt, pair, Telemetry().seen("api", hints=hints))
    own = analysis.of("api")
    assert (own.owner, own.owner_status) == (owner, status)
    stale = {f.catalog_ref for f in analysis.findings(["stale"])}
    assert findings(analysis, "api") - {"stale"} == codes
    assert stale == ({"component:payments/api", "component:search/api"} - {own.catalog_ref} if owner else set())


# ------------------------------------------------------------- 3. owner refs in telemetry


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", ["group:default/payments", "default/payments", "Payments"])
def test_a_telemetry_owner_in_ref_form_is_the_same_team(tmp_path: Path, fmt: str, value: str) -> None:
    analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout")], Telemetry().seen("checkout", hints={"team": value}))
    assert findings(analysis, "checkout") == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_telemetry_owner_in_ref_form_is_suggestion_evidence(tmp_path: Path, fmt: str) -> None:
    analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout")],
                       Telemetry().seen("mystery", hints={"team": "group:default/search"}))
    assert findings(analysis, "mystery") == {"undocumented"}
    assert [s["team"] for s in analysis.of("mystery").suggested_owners] == ["search"]


# ------------------------------------------------------------- 4. Datadog datastores, v3


@pytest.mark.parametrize(("fmt", "extra"), [
    ("v2.2", {"type": "db"}), ("v2.2", {"type": "cache"}), ("v3", {"kind": "datastore"}), ("v3", {"kind": "queue"}),
    ("backstage", None),
])
def test_a_datastore_owns_its_node_and_is_never_a_stale_service(tmp_path: Path, fmt: str,
                                                                  extra: dict[str, object] | None) -> None:
    if fmt == "backstage":
        store = {"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "orders-db"},
                 "spec": {"type": "database", "owner": "search"}}
    else:
        store = entry(fmt, "orders-db", "search", extra=extra)
    telemetry = Telemetry().call("checkout", "orders-db", server_kind="database")
    analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout"), store], telemetry)
    assert {(f.code, f.service) for f in analysis.findings()} == set()
    own = analysis.of("orders-db")
    assert (own.owner, own.owner_status) == ("search", "virtual")
    assert analysis.unowned_dependencies() == []


def test_datadog_v3_services_are_recognised_in_yaml_and_json(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, "v3", [entry("v3", "checkout"), entry("v3", "cart", "search")],
                       Telemetry().seen("checkout").seen("cart"))
    assert {(f.code, f.service) for f in analysis.findings()} == set()
    assert (analysis.of("checkout").owner, analysis.of("cart").owner) == ("payments", "search")


# ------------------------------------------------------------- 5. DNS-style names


@pytest.mark.parametrize("fmt", ["backstage", "v3"])
@pytest.mark.parametrize("name", ["productpage.bookinfo", "productpage.bookinfo.svc.cluster.local"])
def test_an_istio_style_name_is_a_name_mismatch_not_stale(tmp_path: Path, fmt: str, name: str) -> None:
    owner = "group:default/payments" if fmt == "backstage" else "payments"
    analysis = analyse(tmp_path, fmt, [entry(fmt, "productpage", owner, namespace="bookinfo")],
                       Telemetry().seen(name))
    assert {(f.code, f.service) for f in analysis.findings()} == {("undocumented", name), ("name_mismatch", name)}
    assert analysis.of(name).suggested_owners[0]["team"] == "payments"


# ------------------------------------------------------------- 6. suggestions


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_owned_whole_name_is_prefix_evidence(tmp_path: Path, fmt: str) -> None:
    analysis = analyse(tmp_path, fmt, [entry(fmt, "payments")], Telemetry().seen("payments").seen("payments-api"))
    assert findings(analysis, "payments-api") == {"undocumented"}
    assert [s["team"] for s in analysis.of("payments-api").suggested_owners] == ["payments"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_name_mismatch_orphan_is_suggested_the_near_entry_owner(tmp_path: Path, fmt: str) -> None:
    analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout-service")], Telemetry().seen("Checkout_Service"))
    assert findings(analysis, "Checkout_Service") == {"undocumented", "name_mismatch"}
    assert analysis.findings(["stale"]) == []
    assert analysis.of("Checkout_Service").suggested_owners[0]["team"] == "payments"


@pytest.mark.parametrize(("fmt", "extra"), [("v2.2", {"type": "db"}), ("v2.2", {"type": "cache"}),
                                            ("v3", {"kind": "datastore"}), ("v3", {"kind": "queue"})])
def test_a_datastore_not_seen_is_not_stale(tmp_path: Path, fmt: str, extra: dict[str, object]) -> None:
    analysis = analyse(tmp_path, fmt, [entry(fmt, "checkout"), entry(fmt, "orders-db", extra=extra)],
                       Telemetry().seen("checkout"))
    assert analysis.findings() == []
