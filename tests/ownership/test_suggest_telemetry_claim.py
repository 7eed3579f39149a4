"""DESIGN §3c: an undocumented service whose own resources name a declared team (setting `owner_attributes`)
stays `undocumented`, and that team is its first suggestion even when other evidence adds up to more."""

from __future__ import annotations

from pathlib import Path

from tests.ownership.test_suggest import TEAMS, Telemetry, analyse, component, suggestions


def test_the_team_the_telemetry_claims_comes_first(tmp_path: Path) -> None:
    ns = {"service.namespace": "search"}
    telemetry = (Telemetry().seen("search-index", ns).seen("search-query", ns)
                 .seen("search-ranker", {**ns, "team": "Payments"})
                 .call("search-index", "search-ranker", 5).call("search-query", "search-ranker", 5))
    docs = [*TEAMS, component("search-index", "search"), component("search-query", "search"),
            component("search", "search")]
    analysis = analyse(tmp_path, telemetry, docs)
    assert "undocumented" in {f.code for f in analysis.findings() if f.service == "search-ranker"}
    found = suggestions(analysis, "search-ranker")
    assert [s["team"] for s in found] == ["payments", "search"]
    assert found[1]["confidence"] > found[0]["confidence"]  # namespace, prefix and callers all say search
    assert found[0]["evidence"] == ["resource attribute team=Payments"]
