"""Findings remembered per service across windows: reused only while every fact the service rules
read is unchanged, so an analysis sharing a lens answers exactly as a fresh one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from ownership.analysis import OwnershipAnalysis
from ownership.findings.remembered import COVERED_FACTS, RememberedFindings
from ownership.findings.rules import ServiceFacts
from ownership.identity import CatalogIndex
from ownership.lens import CatalogLens
from tests.ownership.scenario import TEAM, Telemetry, component, index_of, write_catalog


def test_every_fact_a_service_rule_reads_is_accounted_for_by_the_key() -> None:
    assert {f.name for f in dataclasses.fields(ServiceFacts)} == COVERED_FACTS


def _index(tmp_path: Path) -> CatalogIndex:
    docs = [component("checkout", depends_on=["component:payments-api"]),
            component("payments-api"), component("legacy", lifecycle="deprecated"), component("ledger")]
    write_catalog(tmp_path, [*docs, *TEAM])
    return index_of(tmp_path)


# Windows as they follow each other: each differs from the one before in one fact a rule reads.
Window = tuple[Telemetry, dict[str, set[str]]]
WINDOWS: list[tuple[str, Callable[[], Window]]] = [
    ("first", lambda: (Telemetry().call("checkout", "payments-api").call("checkout", "ledger", count=2)
                       .seen("legacy"), {})),
    ("same facts, other counts elsewhere", lambda: (Telemetry().call("checkout", "payments-api", count=5)
                                                    .call("checkout", "ledger", count=2).seen("legacy"), {})),
    ("calls of an undeclared callee change", lambda: (Telemetry().call("checkout", "payments-api")
                                                      .call("checkout", "ledger", count=7).seen("legacy"), {})),
    ("a deprecated service gains a caller", lambda: (Telemetry().call("checkout", "payments-api")
                                                     .call("checkout", "ledger", count=7)
                                                     .call("ledger", "legacy"), {})),
    ("hints name another owner", lambda: (Telemetry().call("checkout", "payments-api")
                                          .call("checkout", "ledger", count=7).call("ledger", "legacy")
                                          .seen("ledger", hints={"team": "search"}), {})),
    ("seen with two namespaces", lambda: (Telemetry().call("checkout", "payments-api")
                                          .call("checkout", "ledger", count=7).call("ledger", "legacy")
                                          .seen("ledger", hints={"team": "search"}),
                                          {"payments-api": {"a", "b"}})),
    ("back to the first", lambda: (Telemetry().call("checkout", "payments-api").call("checkout", "ledger", count=2)
                                   .seen("legacy"), {})),
]


def _dicts(analysis: OwnershipAnalysis) -> list[dict[str, object]]:
    return [f.to_dict() for f in analysis.findings()]


def test_an_analysis_sharing_the_lens_finds_what_a_fresh_one_finds_window_after_window(tmp_path: Path) -> None:
    index = _index(tmp_path)
    lens = CatalogLens(index)
    answers = []
    for _, make in WINDOWS:
        telemetry, namespaces = make()
        graph = telemetry.graph()
        remembered = OwnershipAnalysis(graph, index, namespaces_seen=namespaces, lens=lens)
        fresh = OwnershipAnalysis(graph, index, namespaces_seen=namespaces)
        assert _dicts(remembered) == _dicts(fresh)
        for name in graph.nodes:
            assert remembered.of(name).findings == fresh.of(name).findings
        answers.append(_dicts(fresh))
    # Every step but the second changed some service's findings (else the test could not catch a
    # missing key part); the last is the first again.
    assert answers[1] == answers[0]
    assert all(answers[i] != answers[i - 1] for i in range(2, len(WINDOWS)))
    assert answers[-1] == answers[0]


def test_remembered_findings_are_copies_the_analyses_cannot_change_for_each_other(tmp_path: Path) -> None:
    index = _index(tmp_path)
    lens = CatalogLens(index)
    graph = Telemetry().call("orphan-x", "checkout").graph()
    first = OwnershipAnalysis(graph, index, lens=lens).findings()
    first[0].suggested_owners = [{"team": "changed"}]
    first[0].detail = "changed"
    again = OwnershipAnalysis(graph, index, lens=lens).findings()
    assert [f.to_dict() for f in again] == _dicts(OwnershipAnalysis(graph, index))


def test_the_memory_is_bounded() -> None:
    memory = RememberedFindings()
    memory.MAX_REMEMBERED = 3
    for i in range(5):
        memory.keep(f"svc-{i}", i, [])
    assert len(memory._kept) <= 3
    assert memory.recall("svc-4", 4) == [] and memory.recall("svc-4", 5) is None
