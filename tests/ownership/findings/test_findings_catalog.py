"""`catalog_error` (ownership/findings/catalog.py): an entry kept by lenient loading carries its errors."""

from __future__ import annotations

from pathlib import Path

from ownership.analysis import OwnershipAnalysis
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex
from tests.ownership.scenario import TEAM, Telemetry, codes_of, component, finding, write_catalog


def _analyse(tmp_path: Path, telemetry: Telemetry, docs: list[dict[str, object]]) -> OwnershipAnalysis:
    catalog = load_catalog([write_catalog(tmp_path / "catalog", docs)])
    return OwnershipAnalysis(telemetry.graph(), CatalogIndex(catalog))


def test_an_entry_with_a_bad_tag_is_matched_and_gets_catalog_error(tmp_path: Path) -> None:
    checkout = component("checkout")
    checkout["metadata"]["tags"] = ["Java", "payments"]
    analysis = _analyse(tmp_path, Telemetry().seen("checkout"), [checkout, *TEAM])
    assert codes_of(analysis, "checkout") == {"catalog_error"}
    own = analysis.of("checkout")
    assert (own.owner, own.owner_status, own.catalog_ref) == ("payments", "ok", "component:default/checkout")
    f = finding(analysis, "catalog_error", "checkout")
    assert f.catalog_ref == "component:default/checkout" and f.to_dict()["catalog_ref"] == f.catalog_ref
    assert "metadata.tags[0]" in f.detail and "'Java'" in f.detail
    (message,) = f.data["errors"]
    assert "field metadata.tags[0]" in message and "catalog-info.yaml" in message
    assert f.severity == "medium" and f.owner == "payments"


def test_a_component_without_owner_is_unowned_not_undocumented(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout", owner=None), *TEAM])
    assert codes_of(analysis, "checkout") == {"unowned", "catalog_error"}
    assert analysis.of("checkout").owner_status == "unowned"
    assert finding(analysis, "unowned", "checkout").catalog_ref == "component:default/checkout"
    assert "spec.owner: is required" in finding(analysis, "catalog_error", "checkout").detail

