"""CODEOWNERS evidence end to end: a repository checkout beside a Backstage catalog → suggestions for an
undocumented service and `owner_mismatch` for an entry whose directory CODEOWNERS gives to another team."""

from __future__ import annotations

from pathlib import Path

from ownership.analysis import OwnershipAnalysis
from ownership.source import CatalogSource
from tests.ownership.scenario import Telemetry, component, finding, group, user, write_catalog

CODEOWNERS = """\
# the platform team reviews everything else
*                      @acme/platform-team
/services/ledger/      @acme/payments-team
/services/search-api/  @acme/payments-team
/apps/web/             @acme/web-team
"""


def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "CODEOWNERS").write_text(CODEOWNERS, encoding="utf-8")
    for directory in ("services/ledger", "services/search-api", "apps/web", "services/cart"):
        (repo / directory).mkdir(parents=True)
        (repo / directory / "main.py").write_text("", encoding="utf-8")
    return repo


def catalog_docs() -> list[dict]:
    slug = "github.com/team-slug"
    search = component("search-api", owner="search")
    search["metadata"]["annotations"]["backstage.io/source-location"] = \
        "url:https://github.com/acme/mono/tree/main/services/search-api/"
    web = component("web", owner="web")
    web["metadata"]["annotations"]["backstage.io/source-location"] = "https://github.com/acme/mono/blob/v2/apps/web"
    return [
        group("payments", members=["alice"], annotations={slug: "acme/payments-team"}),
        group("search", members=["bob"], annotations={slug: "acme/search-team"}),
        group("web", members=["carol"], annotations={slug: "acme/web-team"}),
        group("platform", members=["dave"], annotations={slug: "acme/platform-team"}),
        user("alice", ["payments"]), user("bob", ["search"]), user("carol", ["web"]), user("dave", ["platform"]),
        search, web,
    ]


def analyse(tmp_path: Path) -> OwnershipAnalysis:
    directory = write_catalog(tmp_path / "catalog", catalog_docs())
    source = CatalogSource([directory, f"codeowners:{checkout(tmp_path)}"])
    report = source.reload()
    assert report.complete and not report.errors, report.to_dict()
    telemetry = Telemetry().seen("ledger").seen("search-api").seen("web").seen("cart")
    return OwnershipAnalysis(telemetry.graph(), source.index)


def test_codeowners_names_the_team_of_an_undocumented_service(tmp_path: Path) -> None:
    analysis = analyse(tmp_path)
    ledger = finding(analysis, "undocumented", "ledger")
    first = ledger.suggested_owners[0]
    assert first["team"] == "payments" and first["confidence"] == 0.9
    assert "CODEOWNERS" in first["evidence"][0] and "services/ledger/ to @acme/payments-team" in first["evidence"][0]
    cart = finding(analysis, "undocumented", "cart")  # only the catch-all rule: the platform team
    assert cart.suggested_owners[0]["team"] == "platform"


def test_codeowners_naming_another_team_is_an_owner_mismatch(tmp_path: Path) -> None:
    analysis = analyse(tmp_path)
    mismatch = finding(analysis, "owner_mismatch", "search-api")
    assert mismatch.owner == "search"
    assert mismatch.data["source"] == "codeowners" and mismatch.data["team"] == "group:default/payments"
    assert "@acme/payments-team" in mismatch.detail
    assert not [f for f in analysis.findings(["owner_mismatch"]) if f.service == "web"]  # agrees: no finding


def test_a_missing_codeowners_is_a_failing_source(tmp_path: Path) -> None:
    source = CatalogSource([f"codeowners:{tmp_path / 'nowhere'}"])
    assert not source.reload().complete
    [status] = source.status()
    assert status.kind == "codeowners" and "does not exist" in status.errors[0]
