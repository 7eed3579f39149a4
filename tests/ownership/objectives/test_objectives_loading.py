"""Objectives found under --catalog: OpenSLO v1, owners.yaml `objectives`, Backstage annotations;
bad inputs are catalog errors naming file and field while the rest still loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ownermap.cli import main
from ownership.catalog import Catalog, load_catalog
from ownership.objectives import Objective

SLI = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: checkout-latency-sli}
spec:
  thresholdMetric:
    metricSource: {type: ownermap, spec: {signal: latency}}
"""

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  indicator:
    metadata: {name: checkout-ok}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: ownermap, spec: {signal: availability}}}
        total: {metricSource: {type: ownermap, spec: {signal: availability}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: ok, target: 0.999}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-latency}
spec:
  service: checkout
  indicatorRef: checkout-latency-sli
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{op: lte, value: 300, targetPercent: 99, timeSliceTarget: 0.95, timeSliceWindow: 10m}]
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-prom-latency
  annotations: {ownermap.io/threshold-ms: "250"}
spec:
  service: search
  indicator:
    spec:
      thresholdMetric: {metricSource: {type: Prometheus, spec: {query: "histogram_quantile(...)"}}}
  timeWindow: [{duration: 30d}]
  budgetingMethod: RatioTimeslices
  objectives: [{op: lte, value: 0.25, target: 0.95}]
"""

OWNERS = """\
teams: [{name: payments, members: [ana]}]
services:
  - name: ledger
    owner: payments
    objectives:
      - {name: ledger-up, sli: availability, target: 0.995}
      - {name: ledger-fast, sli: latency, target: 0.9, threshold_ms: 200, window: 7d}
"""

BACKSTAGE = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
  annotations:
    ownermap.io/slo-availability: "99.9"
    ownermap.io/slo-latency: "0.3s@99"
spec: {type: service, owner: payments, lifecycle: production}
"""


def _catalog(tmp_path: Path, files: dict[str, str]) -> Catalog:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return load_catalog([tmp_path])


def _by_name(catalog: Catalog) -> dict[str, Objective]:
    return {o.name: o for o in catalog.objectives}


def test_every_source_is_read(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, {"sli.yaml": SLI, "slo.yaml": SLO, "owners.yaml": OWNERS,
                                  "catalog-info.yaml": BACKSTAGE})
    assert catalog.errors == []
    found = _by_name(catalog)
    assert set(found) == {"checkout-availability", "checkout-latency", "search-prom-latency", "ledger-up",
                          "ledger-fast", "availability", "latency"}
    ok = found["checkout-availability"]
    assert (ok.service, ok.sli, ok.target, ok.window_seconds, ok.budgeting, ok.estimated) == (
        "checkout", "availability", 0.999, 28 * 86400, "Occurrences", False)
    lat = found["checkout-latency"]
    assert (lat.sli, lat.threshold_ms, lat.target, lat.budgeting, lat.timeslice_target, lat.timeslice_seconds) == (
        "latency", 300.0, 0.99, "Timeslices", 0.95, 600)
    prom = found["search-prom-latency"]
    assert (prom.estimated, prom.threshold_ms, prom.window_seconds, prom.budgeting) == (
        True, 250.0, 30 * 86400, "RatioTimeslices")
    assert (found["ledger-fast"].threshold_ms, found["ledger-fast"].window_seconds) == (200, 7 * 86400)
    assert found["ledger-up"].window_seconds == 28 * 86400
    assert (found["latency"].service, found["latency"].threshold_ms, found["latency"].target) == ("cart", 300, 0.99)
    assert found["availability"].target == pytest.approx(0.999)


def test_foreign_threshold_without_annotation_has_no_threshold(tmp_path: Path) -> None:
    text = SLO.split("---\n")[2].replace('  annotations: {ownermap.io/threshold-ms: "250"}\n', "")
    found = _by_name(_catalog(tmp_path, {"slo.yaml": text}))
    assert found["search-prom-latency"].threshold_ms is None


def _one_slo(change: tuple[str, str]) -> str:
    first = SLO.split("---\n")[0]
    assert change[0] in first
    return first.replace(*change)


BAD = [
    (("budgetingMethod: Occurrences", "budgetingMethod: Sometimes"), "spec.budgetingMethod"),
    (("target: 0.999", "target: 1"), "spec.objectives[0].target"),
    (("target: 0.999", "target: 99.9"), "spec.objectives[0].target"),
    (("target: 0.999", "target: 0"), "spec.objectives[0].target"),
    (("  service: checkout\n", ""), "spec.service"),
    (("duration: 28d", "duration: 1M"), "spec.timeWindow[0].duration"),
    (("duration: 28d", "duration: 1Q"), "spec.timeWindow[0].duration"),
    (("isRolling: true", "isRolling: false"), "spec.timeWindow[0].isRolling"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[b[1] + ":" + b[0][1][:20] for b in BAD])
def test_bad_slo_is_an_error_naming_file_and_field_and_the_rest_loads(tmp_path: Path, change: tuple[str, str],
                                                                      field: str) -> None:
    catalog = _catalog(tmp_path, {"bad.yaml": _one_slo(change), "owners.yaml": OWNERS})
    assert [e.field for e in catalog.errors] == [field], [str(e) for e in catalog.errors]
    assert catalog.errors[0].file.endswith("bad.yaml") and catalog.errors[0].line is not None
    assert set(_by_name(catalog)) == {"ledger-up", "ledger-fast"}
    assert any(e.name == "ledger" for e in catalog.entities)


def test_indicator_ref_to_an_absent_sli(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, {"slo.yaml": SLO})  # no sli.yaml
    assert [(Path(e.file).name, e.field, e.entity) for e in catalog.errors] == [
        ("slo.yaml", "spec.indicatorRef", "slo:checkout-latency")]
    assert "checkout-latency-sli" in catalog.errors[0].message
    assert set(_by_name(catalog)) == {"checkout-availability", "search-prom-latency"}


@pytest.mark.parametrize(("change", "field"), [
    (("target: 0.995", "target: 1.5"), "services[0].objectives[0].target"),
    (("sli: availability", "sli: throughput"), "services[0].objectives[0].sli"),
    (("threshold_ms: 200, ", ""), "services[0].objectives[1]"),
    (("window: 7d", "window: 1Y"), "services[0].objectives[1].window"),
])
def test_bad_owners_objective(tmp_path: Path, change: tuple[str, str], field: str) -> None:
    catalog = _catalog(tmp_path, {"owners.yaml": OWNERS.replace(*change)})
    assert [e.field for e in catalog.errors] == [field], [str(e) for e in catalog.errors]
    assert len(catalog.objectives) == 1  # the other objective still loads
    assert any(e.name == "ledger" and e.owner is not None for e in catalog.entities)


@pytest.mark.parametrize("value", ["100", "abc", "300ms", "fast@99"])
def test_bad_backstage_annotation(tmp_path: Path, value: str) -> None:
    key = "slo-latency" if "ms" in value or "@" in value else "slo-availability"
    text = BACKSTAGE.replace('"99.9"', f'"{value}"') if key == "slo-availability" else BACKSTAGE.replace(
        '"0.3s@99"', f'"{value}"')
    catalog = _catalog(tmp_path, {"catalog-info.yaml": text})
    assert [e.field for e in catalog.errors] == [f"metadata.annotations.ownermap.io/{key}"]
    assert len(catalog.objectives) == 1


def test_catalog_validate_reports_objective_errors(tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(_one_slo(("budgetingMethod: Occurrences", "budgetingMethod: Sometimes")), encoding="utf-8")
    result = CliRunner().invoke(main, ["catalog", "validate", str(path)])
    assert result.exit_code == 1
    assert "slo.yaml" in result.stderr and "spec.budgetingMethod" in result.stderr
