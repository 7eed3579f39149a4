"""`oncall_overloaded`: a team finding with no service, naming the team (DESIGN §3b)."""

from __future__ import annotations

from pathlib import Path

from ownership.analysis import OwnershipAnalysis
from ownership.findings import Finding, FindingCode
from ownership.findings.oncall import oncall_overloaded
from ownership.findings.registry import DEFAULT_RULES
from ownership.findings.rules import TeamFacts
from ownership.oncall.episodes import Episode
from ownership.oncall.load import TeamLoad
from tests.ownership.scenario import TEAM, Telemetry, component, index_of, write_catalog


def load(team: str, episodes: int, size: int, overloaded: bool) -> TeamLoad:
    return TeamLoad(team, [f"{team}-api"], size, True, size, 100, 50, [Episode(i * 600, i * 600 + 300, ())
                                                                       for i in range(episodes)],
                    1, 0, [], overloaded)


def test_only_the_overloaded_team_has_the_finding() -> None:
    facts = TeamFacts((load("red", 4, 1, True), load("blue", 1, 2, False)))
    (finding,) = oncall_overloaded(facts)
    assert finding.to_dict() == {
        "code": "oncall_overloaded", "service": None, "severity": "medium",
        "detail": "4 episodes (1 off-hours) over a rotation of 1: 4.00 per member", "owner": "red",
        "suggested_owners": [], "team": "red",
        "data": {"episodes": 4, "off_hours_episodes": 1, "per_member": 4.0, "rotation_size": 1},
    }
    assert oncall_overloaded in DEFAULT_RULES.team


def test_service_findings_keep_their_json() -> None:
    assert "team" not in Finding(FindingCode.NO_DOCS, "checkout", "no docs").to_dict()


def test_analysis_lists_team_findings_when_given_the_load(tmp_path: Path) -> None:
    graph = Telemetry().seen("checkout").graph()
    index = index_of(write_catalog(tmp_path / "catalog", [component("checkout"), *TEAM]))
    analysis = OwnershipAnalysis(graph, index)
    facts = TeamFacts((load("payments", 3, 1, True),))
    assert FindingCode.ONCALL_OVERLOADED not in [f.code for f in analysis.findings()]
    found = analysis.findings(teams=facts)
    assert [f.team for f in found if f.code == FindingCode.ONCALL_OVERLOADED] == ["payments"]
    assert [f.code for f in analysis.findings(["oncall_overloaded"], owner="Payments", teams=facts)] == [
        "oncall_overloaded"]
