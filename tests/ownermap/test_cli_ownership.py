"""`ownermap findings`, `ownermap catalog validate` and `ownermap catalog scaffold` through CliRunner.

The database is a real SQLite file filled through the Aggregator with explicit timestamps; the
window is given with --start/--end so the tests do not depend on the wall clock.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind
from graph.store.sqlite import SQLiteStore
from ownermap.cli import main
from ownership.catalog import load_catalog

T0 = 1_700_000_100
NS = 1_000_000_000
NOW = T0 + 3600
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)"]
FORMULA_START = ("=", "+", "-", "@")

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  annotations: {pagerduty.com/service-id: P1, backstage.io/techdocs-ref: "dir:."}
  links: [{url: "https://runbooks.example/checkout", title: Runbook}]
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: retired}
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: [], members: [alice]}
"""
OWNERS = """\
teams:
  - {name: search, members: [bob], oncall: "https://pd.example/S1"}
services:
  - {name: indexer, owner: search, runbook: "https://r.example/i", docs: "https://d.example/i"}
"""
DATADOG = """\
schema-version: v2.2
dd-service: ledger
team: payments
"""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


WINDOW = ["--start", iso(NOW - 86400), "--end", iso(NOW)]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("OWNERMAP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "ownermap.db"
    store = SQLiteStore(db)
    agg = Aggregator(bucket_seconds=300)
    ts = int((T0 + 60) * NS)
    services = [("checkout", {}), ("indexer", {}), ("mystery", {"team": "payments"}), ("unknown_service:java", {}),
                *((h, {}) for h in HOSTILE)]
    for n, (service, hints) in enumerate(services, start=1):
        agg.sighting(Span(n.to_bytes(16, "big"), n.to_bytes(8, "big"), b"", Resource(service, "prod", hints),
                          SpanKind.SERVER, ts, ts + 1))
    for _ in range(4):
        agg.call(Call(ts, "mystery", NodeKind.SERVICE, "checkout", NodeKind.SERVICE, "rpc", "prod", False, 0.01, 0.01,
                 b"\x05" * 16))
    agg.call(Call(ts, "checkout", NodeKind.SERVICE, "orders-db", NodeKind.DATABASE, "database", "prod", False, 0.01,
             None, b"\x05" * 16))
    store.write(agg.drain())
    store.close()
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "catalog-info.yaml").write_text(CATALOG, encoding="utf-8")
    (catalog / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    return {"db": f"sqlite:///{db}", "catalog": str(catalog)}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def findings(setup: dict[str, str], *args: str) -> Result:
    return run("findings", "--db", setup["db"], "--catalog", setup["catalog"], *WINDOW, *args)


# ---------------------------------------------------------------------------------------- findings


def test_findings_json(setup: dict[str, str]) -> None:
    result = findings(setup, "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == {"window", "catalog_complete", "findings"} and set(body["window"]) == {"start", "end"}
    assert body["catalog_complete"] is True  # files only: nothing to wait for
    for f in body["findings"]:
        assert {"code", "service", "severity", "detail", "owner", "suggested_owners"} <= set(f)
    pairs = {(f["code"], f["service"]) for f in body["findings"]}
    assert pairs == {
        ("undocumented", "mystery"), ("undocumented", "unknown_service:java"),
        ("unnamed_service", "unknown_service:java"), ("stale", "retired"),
        *(("undocumented", h) for h in HOSTILE),
        ("no_objective", "checkout"),  # called, and no objective declared
    }
    mystery = next(f for f in body["findings"] if f["service"] == "mystery")
    assert mystery["suggested_owners"][0]["team"] == "payments"


def test_findings_table(setup: dict[str, str]) -> None:
    result = findings(setup)  # table is the default
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["severity", "code", "service", "owner", "suggested_owner", "detail"]
    assert any("mystery" in line and "undocumented" in line and "payments" in line for line in lines)
    assert any("retired" in line and "stale" in line for line in lines)
    explicit = findings(setup, "--format", "table")
    assert explicit.stdout == result.stdout


def test_findings_table_when_there_are_none(setup: dict[str, str]) -> None:
    result = findings(setup, "--code", "owner_mismatch")
    assert result.exit_code == 0 and result.stdout.strip() == "no findings"


def test_findings_csv_neutralises_formulas(setup: dict[str, str]) -> None:
    result = findings(setup, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["severity", "code", "service", "owner", "suggested_owner", "detail"]
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), row
    services = {row[2] for row in rows[1:]}
    for hostile in HOSTILE:
        assert "'" + hostile in services
    assert {"mystery", "retired", "unknown_service:java"} <= services


def test_findings_code_filter(setup: dict[str, str]) -> None:
    result = findings(setup, "--format", "json", "--code", "stale", "--code", "unnamed_service")
    assert result.exit_code == 0, result.output
    pairs = {(f["code"], f["service"]) for f in json.loads(result.stdout)["findings"]}
    assert pairs == {("stale", "retired"), ("unnamed_service", "unknown_service:java")}


def test_findings_owner_filter(setup: dict[str, str]) -> None:
    result = findings(setup, "--format", "json", "--owner", "payments")
    pairs = {(f["code"], f["service"]) for f in json.loads(result.stdout)["findings"]}
    assert pairs == {("stale", "retired"), ("no_objective", "checkout")}


@pytest.mark.parametrize("code", ["bogus", "UNDOCUMENTED", ""])
def test_findings_unknown_code_is_a_usage_error(setup: dict[str, str], code: str) -> None:
    result = findings(setup, "--code", code)
    assert result.exit_code == 2
    assert "--code" in result.output and "undocumented" in result.output


def test_findings_bad_window_is_a_usage_error(setup: dict[str, str]) -> None:
    result = run("findings", "--db", setup["db"], "--window", "7 days")
    assert result.exit_code == 2 and "window" in result.output


def test_findings_catalog_from_the_environment(setup: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OWNERMAP_CATALOG", setup["catalog"])
    monkeypatch.setenv("OWNERMAP_DB", setup["db"])
    result = run("findings", *WINDOW, "--format", "json", "--code", "stale")
    assert result.exit_code == 0, result.output
    assert [f["service"] for f in json.loads(result.stdout)["findings"]] == ["retired"]


def test_findings_report_catalog_errors_on_stderr(setup: dict[str, str]) -> None:
    (Path(setup["catalog"]) / "broken.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: broken}\n"
        "spec: {type: service, lifecycle: production}\n", encoding="utf-8")
    result = findings(setup, "--format", "json")
    assert result.exit_code == 0
    assert "broken.yaml" in result.stderr and "spec.owner" in result.stderr
    json.loads(result.stdout)  # stdout stays clean JSON


def test_findings_output_file(setup: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "findings.json"
    result = findings(setup, "--format", "json", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["findings"]


# ---------------------------------------------------------------------------------------- validate


def test_catalog_validate_good_files(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "catalog-info.yaml").write_text(CATALOG, encoding="utf-8")
    (good / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    (good / "service.datadog.yaml").write_text(DATADOG, encoding="utf-8")
    result = run("catalog", "validate", str(good))
    assert result.exit_code == 0, result.output
    assert "3 file(s)" in result.stdout and "0 error(s)" in result.stdout
    assert "4 Component, 2 Group" in result.stdout  # the Datadog team merges with the declared one
    single = run("catalog", "validate", str(good / "owners.yaml"), str(good / "catalog-info.yaml"))
    assert single.exit_code == 0, single.output


@pytest.mark.parametrize(
    ("file_name", "text", "field"),
    [
        ("catalog-info.yaml", CATALOG.replace("owner: payments}", "}", 1), "spec.owner"),
        ("catalog-info.yaml", CATALOG.replace("name: checkout", "name: -checkout-", 1), "metadata.name"),
        ("owners.yaml", OWNERS.replace("owner: search", "owner: ''"), "services[0].owner"),
        ("owners.yaml", OWNERS.replace("runbook:", "run_book:"), "services[0].run_book"),
        ("service.datadog.yaml", "schema-version: v9\ndd-service: ledger\n", "schema-version"),
        ("service.datadog.yaml", "schema-version: v2.1\nteam: payments\n", "dd-service"),
    ],
)
def test_catalog_validate_names_file_and_field(tmp_path: Path, file_name: str, text: str, field: str) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    path = bad / file_name
    path.write_text(text, encoding="utf-8")
    result = run("catalog", "validate", str(path))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors, result.output
    assert any(file_name in line and field in line for line in errors), errors


def test_catalog_validate_missing_path(tmp_path: Path) -> None:
    result = run("catalog", "validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1 and "nope.yaml" in result.stderr


def test_catalog_validate_needs_a_path() -> None:
    assert run("catalog", "validate").exit_code == 2


def test_catalog_validate_symlink_glob_ends_with_a_clear_error(tmp_path: Path) -> None:
    """Issue #14 item 7, as the tester ran it: a real `ownermap catalog validate` process."""
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: all}\n"
        "spec: {targets: ['./**/*.yaml']}\n", encoding="utf-8")
    (root / "teams").mkdir()
    (root / "teams" / "payments.yaml").write_text(CATALOG, encoding="utf-8")
    (root / "slash").symlink_to("/", target_is_directory=True)
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "ownermap", "catalog", "validate", str(root)],
                              capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("catalog validate did not finish within 5 s")
    assert time.monotonic() - started < 5
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "location:default/all" in errors[0] and "spec.target" in errors[0]
    assert "symlink" in errors[0] and "slash" in errors[0] and "outside the catalog root" in errors[0]
    assert "2 file(s): 2 Component, 1 Group, 1 Location" in done.stdout


# ---------------------------------------------------------------------------------------- scaffold


def test_catalog_scaffold(setup: dict[str, str], tmp_path: Path) -> None:
    result = run("catalog", "scaffold", "--db", setup["db"], "--catalog", setup["catalog"], *WINDOW, "mystery")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["kind"] == "Component" and data["metadata"]["name"] == "mystery"
    assert data["spec"]["owner"] == "group:default/payments"
    assert data["spec"]["dependsOn"] == ["component:default/checkout"]
    claim = tmp_path / "claim" / "catalog-info.yaml"
    claim.parent.mkdir()
    claim.write_text(result.stdout, encoding="utf-8")
    assert load_catalog([claim]).errors == []
    # claimed: mystery is no longer undocumented
    after = run("findings", "--db", setup["db"], "--catalog", setup["catalog"], "--catalog", str(claim.parent),
                *WINDOW, "--format", "json")
    assert "mystery" not in {f["service"] for f in json.loads(after.stdout)["findings"]
                             if f["code"] == "undocumented"}


def test_catalog_scaffold_hostile_name_to_file(setup: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "scaffold.yaml"
    result = run("catalog", "scaffold", "--db", setup["db"], *WINDOW, HOSTILE[0], "-o", str(out))
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["metadata"]["annotations"]["opentelemetry.io/service-name"] == HOSTILE[0]
    claim = tmp_path / "claim2" / "catalog-info.yaml"
    claim.parent.mkdir()
    claim.write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_catalog([claim]).errors == []


def test_catalog_scaffold_unknown_service(setup: dict[str, str]) -> None:
    result = run("catalog", "scaffold", "--db", setup["db"], "--catalog", setup["catalog"], *WINDOW, "nobody")
    assert result.exit_code == 2
    assert "nobody" in result.output


def test_catalog_scaffold_service_outside_the_window(setup: dict[str, str]) -> None:
    result = run("catalog", "scaffold", "--db", setup["db"], "--start", iso(NOW + 86400), "--end",
                 iso(NOW + 2 * 86400), "mystery")
    assert result.exit_code == 2


def test_catalog_validate_is_strict_while_loading_is_lenient(tmp_path: Path) -> None:
    """Issue 15: every field error is listed and the exit is non-zero, yet every usable entity loads."""
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: cart}\n"
        "spec: {type: service, lifecycle: production}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: search, tags: [Java]}\n"
        "spec: {type: service, lifecycle: production, owner: search}\n", encoding="utf-8")
    (tmp_path / "store.yaml").write_text(
        "apiVersion: v3\nkind: datastore\nmetadata: {name: orders-db, owner: payments, contacts: [{type: email}]}\n",
        encoding="utf-8")
    result = run("catalog", "validate", str(tmp_path))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert sorted(e.split(": field ")[1].split(":")[0] for e in errors) == [
        "metadata.contacts[0].contact", "metadata.tags[0]", "spec.owner"]
    assert "3 error(s)" in result.stdout, result.stdout
    catalog = load_catalog([tmp_path])
    assert sorted(str(e.ref) for e in catalog.entities) == [
        "component:default/cart", "component:default/search", "group:default/payments", "resource:default/orders-db"]
