"""End to end on a messy, realistic catalog (issue 15): SDK traffic to a running `ownermap serve` whose
catalog holds a namespaced pair, a Component without owner, an entity with a bad tag, a Datadog v3
service and datastore and an Istio-style name. The findings, the graph's owners and the weekly report
are exactly the expected ones; `catalog validate` on the same files is strict while `serve` loads all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for
from tests.integration.test_serve_e2e import _remote

pytestmark = pytest.mark.slow

PD = "https://acme.pagerduty.com/service-directory/P1"
DOCUMENTED = {  # on-call, runbook and docs on every service, so only the findings under test remain
    "annotations": {"pagerduty.com/service-id": "P1", "backstage.io/techdocs-ref": "dir:."},
    "links": [{"url": "https://runbooks.example/x", "title": "Runbook"}],
}
V3_LINKS = [{"name": "Runbook", "type": "runbook", "url": "https://runbooks.example/x"},
            {"name": "Docs", "type": "doc", "url": "https://docs.example/x"}]


def _group(name: str, member: str) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": name},
            "spec": {"type": "team", "children": [], "members": [member]}}


def _component(name: str, owner: str | None, *, namespace: str | None = None,
               tags: list[str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **DOCUMENTED}
    if namespace:
        metadata["namespace"] = namespace
    if tags:
        metadata["tags"] = tags
    spec: dict[str, Any] = {"type": "service", "lifecycle": "production"}
    if owner:
        spec["owner"] = owner
    return {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata, "spec": spec}


BACKSTAGE = [
    *(_group(team, member) for team, member in
      (("payments", "alice"), ("search", "bob"), ("storefront", "carol"), ("platform", "dave"), ("data", "erin"))),
    # The namespaced pair: telemetry `api` says service.namespace=search.
    _component("api", "group:default/payments", namespace="payments"),
    _component("api", "group:default/search", namespace="search"),
    _component("ledger", None),  # no spec.owner: kept, unowned, catalog_error
    _component("inventory", "platform", tags=["Java"]),  # one bad tag: kept as declared, catalog_error
    _component("productpage", "group:default/storefront", namespace="bookinfo"),  # Istio: productpage.bookinfo
]
DATADOG_V3_SERVICE = {
    "apiVersion": "v3", "kind": "service",
    "metadata": {"name": "checkout", "owner": "platform", "links": V3_LINKS},
    "spec": {"lifecycle": "production"},
    "integrations": {"pagerduty": {"serviceURL": PD}},
}
DATADOG_V3_DATASTORE = {
    "apiVersion": "v3", "kind": "datastore",
    "metadata": {"name": "orders-db", "owner": "data", "links": V3_LINKS},
    "spec": {"lifecycle": "production"},
}
TEAMS = {"payments", "search", "storefront", "platform", "data"}

# Every (code, service) the API must report -> (the catalog entry it is about, the owner it names).
EXPECTED_FINDINGS = {
    ("unowned", "ledger"): ("component:default/ledger", None),
    ("catalog_error", "ledger"): ("component:default/ledger", None),
    ("catalog_error", "inventory"): ("component:default/inventory", "platform"),
    ("undocumented", "productpage.bookinfo"): (None, None),
    # The near-matched entry is named (and its owner), and is not stale: one gap, reported once.
    ("name_mismatch", "productpage.bookinfo"): ("component:bookinfo/productpage", "storefront"),
    # The namespace chose search/api; payments/api is not running.
    ("stale", "api"): ("component:payments/api", "payments"),
}
EXPECTED_NODES = {  # id -> (kind, owner, owner_status)
    "user": ("user", None, "virtual"),
    "productpage.bookinfo": ("service", None, "undocumented"),
    "api": ("service", "search", "ok"),
    "checkout": ("service", "platform", "ok"),
    "inventory": ("service", "platform", "ok"),
    "ledger": ("service", None, "unowned"),
    "orders-db": ("database", "data", "virtual"),  # the v3 datastore owns the database node
    "sessions-cache": ("database", None, "virtual"),  # nothing declares it
}


def _write_catalog(root: Path) -> Path:
    root.mkdir()
    (root / "catalog-info.yaml").write_text(yaml.safe_dump_all(BACKSTAGE), encoding="utf-8")
    datadog = root / "datadog"
    datadog.mkdir()  # v3 is recognised by content, in any YAML or JSON file
    (datadog / "checkout.yaml").write_text(yaml.safe_dump(DATADOG_V3_SERVICE), encoding="utf-8")
    (datadog / "orders-db.json").write_text(json.dumps(DATADOG_V3_DATASTORE), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_catalog(tmp_path_factory.mktemp("real-catalog") / "catalog")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog: Path) -> Iterator[ServeProcess]:
    """A server with the catalog and the traffic, once the graph holds every expected node."""
    db = tmp_path_factory.mktemp("real-catalog-db") / "real.db"
    proc = ServeProcess(sqlite_url(db), "--catalog", str(catalog), "--pairing-ttl", "0.5",
                        env={"OWNERMAP_QUERY_CACHE_SECONDS": "0"}).start()
    try:
        _send_traffic(proc.grpc)
        # The database calls are emitted when their client spans expire: wait for the whole graph.
        wait_for(lambda: _nodes(proc.api) == EXPECTED_NODES, timeout=20)
        yield proc
    finally:
        proc.stop()


def _send_traffic(endpoint: str) -> None:
    """productpage.bookinfo (an entry point) calls api, checkout, inventory and ledger; checkout queries
    the orders-db datastore and a sessions-cache nobody declared."""
    providers: list[TracerProvider] = []

    def tracer(name: str, **hints: str) -> Tracer:
        provider = TracerProvider(resource=Resource.create({"service.name": name, **hints}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
        providers.append(provider)
        return provider.get_tracer("real-catalog-e2e")

    page = tracer("productpage.bookinfo", **{"k8s.namespace.name": "bookinfo"})
    callees = {"api": tracer("api", **{"service.namespace": "search"}), "checkout": tracer("checkout"),
               "inventory": tracer("inventory"), "ledger": tracer("ledger")}
    for _ in range(3):
        with page.start_as_current_span("GET /productpage", kind=SpanKind.SERVER):
            for name, callee in callees.items():
                with page.start_as_current_span(f"call {name}", kind=SpanKind.CLIENT), _remote(callee, "handle"):
                    if name != "checkout":
                        continue
                    with callee.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT,
                                                      attributes={"db.system.name": "postgresql",
                                                                  "db.namespace": "orders-db"}):
                        pass
                    with callee.start_as_current_span("GET session", kind=SpanKind.CLIENT,
                                                      attributes={"db.system.name": "redis",
                                                                  "server.address": "sessions-cache"}):
                        pass
    for provider in providers:
        provider.shutdown()


def _findings(api: str) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(code, service) -> (catalog_ref, owner) of every finding but `no_objective` (this catalog declares
    no objective: every called service has it; tests/integration/test_objectives_e2e.py checks it)."""
    body = httpx.get(f"{api}/api/v1/findings", timeout=10).json()
    return {(f["code"], f["service"]): (f.get("catalog_ref"), f["owner"]) for f in body["findings"]
            if f["code"] != "no_objective"}


def _nodes(api: str) -> dict[str, tuple[str, str | None, str]]:
    body = httpx.get(f"{api}/api/v1/graph", timeout=10).json()
    return {n["id"]: (n["kind"], n["owner"], n["owner_status"]) for n in body["nodes"]}


def test_a_messy_catalog_gives_exactly_the_right_findings_owners_and_report(server: ServeProcess) -> None:
    nodes = _nodes(server.api)
    assert nodes == EXPECTED_NODES, f"{nodes}\n{''.join(server.log)}"
    findings = _findings(server.api)
    assert findings == EXPECTED_FINDINGS, sorted(findings.items(), key=str)

    body = httpx.get(f"{server.api}/api/v1/findings", timeout=10).json()
    by_key = {(f["code"], f["service"]): f for f in body["findings"]}
    assert "Java" in " ".join(by_key[("catalog_error", "inventory")]["data"]["errors"])
    assert "productpage.bookinfo" in by_key[("name_mismatch", "productpage.bookinfo")]["detail"]
    assert by_key[("undocumented", "productpage.bookinfo")]["suggested_owners"][0]["team"] == "storefront"

    report = httpx.get(f"{server.api}/api/v1/reports/weekly", params={"format": "json"}, timeout=30).json()
    orphans = {o["service"]: o for o in report["orphans"]}
    assert {name: set(o["codes"]) - {"no_objective"} for name, o in orphans.items()} == {
        "productpage.bookinfo": {"undocumented", "name_mismatch"},
        "ledger": {"unowned", "catalog_error"},
    }
    assert orphans["productpage.bookinfo"]["suggested_owners"][0]["team"] == "storefront"
    assert report["stale"] == [{"service": "api", "owner": "payments"}]
    assert report["unowned_dependencies"] == [{"node": "sessions-cache", "kind": "database", "callers": ["checkout"]}]
    assert report["summary"]["orphans"] == 2


def test_validate_is_strict_while_serve_loads_everything(server: ServeProcess, catalog: Path) -> None:
    validate = subprocess.run([sys.executable, "-m", "ownermap", "catalog", "validate", str(catalog)],
                              capture_output=True, text=True, timeout=60)
    assert validate.returncode != 0
    errors = sorted(line for line in validate.stderr.splitlines() if line.startswith("error: "))
    assert len(errors) == 2, validate.stderr
    file = str(catalog / "catalog-info.yaml")
    assert errors[0].startswith(f"error: {file}:") and errors[0].endswith(
        "entity component:default/inventory: field metadata.tags[0]: 'Java' must be lowercase words joined by '-'")
    assert errors[1].startswith(f"error: {file}:") and errors[1].endswith(
        "entity component:default/ledger: field spec.owner: is required")
    assert "2 error(s)" in validate.stdout

    # serve loaded the same files leniently: every entity counted, the broken ones used as declared.
    reload = httpx.post(f"{server.api}/api/v1/catalog/reload", timeout=30).json()
    assert reload["counts"] == {"Group": 5, "Component": 6, "Resource": 1}, reload
    assert sorted((e["entity"], e["field"]) for e in reload["errors"]) == [
        ("component:default/inventory", "metadata.tags[0]"), ("component:default/ledger", "spec.owner")]
    services = {s["name"]: s for s in httpx.get(f"{server.api}/api/v1/services", timeout=10).json()["services"]}
    assert (services["inventory"]["owner"], services["inventory"]["owner_status"]) == ("platform", "ok")
    assert (services["ledger"]["owner"], services["ledger"]["owner_status"]) == (None, "unowned")
    assert services["ledger"]["catalog_ref"] == "component:default/ledger"
    assert services["checkout"]["catalog_ref"] == "component:default/checkout"
