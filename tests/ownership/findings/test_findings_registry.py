"""The rule registry: one rule per code, each documented, and a new rule needs no analysis change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ownership.analysis import OwnershipAnalysis
from ownership.findings import Finding, FindingCode
from ownership.findings.registry import DEFAULT_RULES, RuleSet
from ownership.findings.rules import ServiceFacts, WindowFacts, service_rule, window_rule
from tests.ownership.scenario import TEAM, Telemetry, component, index_of, write_catalog


def test_every_code_is_decided_by_exactly_one_rule() -> None:
    codes = DEFAULT_RULES.codes()
    assert sorted(codes) == sorted(FindingCode)
    assert len(codes) == len(set(codes))


def test_every_rule_says_when_its_code_applies() -> None:
    for rule in (*DEFAULT_RULES.service, *DEFAULT_RULES.window, *DEFAULT_RULES.objective):
        assert rule.doc, f"{rule.code} has no docstring"
        assert rule.decide.__module__.startswith("ownership.findings."), rule.code


def test_an_added_rule_runs_without_changing_the_analysis(tmp_path: Path) -> None:
    @service_rule(FindingCode.OWNER_MISMATCH)
    def named_checkout(facts: ServiceFacts) -> Iterator[Finding]:
        """Fires for a service called checkout."""
        if facts.name == "checkout":
            yield Finding(FindingCode.OWNER_MISMATCH, facts.name, "test rule", owner=facts.owner)

    @window_rule(FindingCode.STALE)
    def everything_matched(facts: WindowFacts) -> Iterator[Finding]:
        """Fires once per window, naming how many entries the window matched."""
        yield Finding(FindingCode.STALE, "-", f"{len(facts.matched)} matched")

    rules = RuleSet(service=(*DEFAULT_RULES.service, named_checkout), window=(everything_matched,))
    graph = Telemetry().seen("checkout").seen("cart").graph()
    index = index_of(write_catalog(tmp_path / "catalog", [component("checkout"), component("cart"), *TEAM]))
    analysis = OwnershipAnalysis(graph, index, rules=rules)
    assert [(f.code, f.service, f.detail) for f in analysis.findings()] == [
        ("owner_mismatch", "checkout", "test rule"),
        ("stale", "-", "2 matched"),
    ]
    assert analysis.of("checkout").findings == ["owner_mismatch"]
