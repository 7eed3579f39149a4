"""The catalog lens: matches remembered per index and shared by every window's analysis, without the
analyses sharing (or changing) each other's answers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ownership.analysis import OwnershipAnalysis
from ownership.identity import CatalogIndex
from ownership.lens import CatalogLens, catalog_match
from tests.ownership.scenario import TEAM, Telemetry, component, index_of, write_catalog


def _index(tmp_path: Path) -> CatalogIndex:
    docs = [component("checkout"), component("payments-api"), component("payments-ledger", owner="group:gone-team")]
    write_catalog(tmp_path, [*docs, *TEAM])
    return index_of(tmp_path)


def test_the_lens_answers_as_catalog_match_and_remembers(tmp_path: Path) -> None:
    index = _index(tmp_path)
    lens = CatalogLens(index)
    for name in ("checkout", "payments-ledger", "nobody-knows"):
        first = lens.match(name, "service")
        assert first == catalog_match(index, name, "service")
        assert lens.match(name, "service") is first  # remembered, not matched again
    assert lens.near_match("Checkout_") is lens.near_match("Checkout_")


def test_analyses_sharing_a_lens_keep_their_own_findings(tmp_path: Path) -> None:
    index = _index(tmp_path)
    lens = CatalogLens(index)
    telemetry = Telemetry().seen("payments-ledger").seen("ghost").call("ghost", "payments-ledger")
    graph = telemetry.graph()
    alone = OwnershipAnalysis(graph, index)
    first = OwnershipAnalysis(graph, index, lens=lens)
    second = OwnershipAnalysis(graph, index, lens=lens)
    for name in ("payments-ledger", "ghost"):
        assert first.of(name).findings == alone.of(name).findings != []
        assert second.of(name).findings == alone.of(name).findings
        assert first.of(name) is not second.of(name)
        assert lens.of(name, "service").findings == []  # the remembered match is never written to
    assert [f.to_dict() for f in first.findings()] == [f.to_dict() for f in alone.findings()]


def test_a_lens_of_another_index_is_not_used(tmp_path: Path) -> None:
    index = _index(tmp_path)
    other = CatalogLens(index_of(write_catalog(tmp_path / "other", [*TEAM])))
    analysis = OwnershipAnalysis(Telemetry().seen("checkout").graph(), index, lens=other)
    assert analysis.of("checkout").owner == "payments"


def test_the_lens_forgets_everything_past_its_bound(tmp_path: Path) -> None:
    lens = CatalogLens(_index(tmp_path))
    lens.MAX_REMEMBERED = 3
    for i in range(5):
        lens.match(f"svc-{i}", "service")
    assert len(lens._memo) <= 3
    assert lens.match("checkout", "service")[0].owner == "payments"


def _owned_neighbourhood(orphan_calls: int, extra_owned: str | None = None) -> Telemetry:
    telemetry = (Telemetry().seen("checkout").seen("payments-ghost")
                 .call("checkout", "payments-ghost", count=orphan_calls).call("payments-ghost", "checkout"))
    return telemetry.seen(extra_owned) if extra_owned else telemetry


def _suggestions(analysis: OwnershipAnalysis) -> list[dict[str, object]]:
    return analysis.of("payments-ghost").suggested_owners


def test_suggestions_are_reused_while_their_evidence_stays_and_made_again_when_it_changes(tmp_path: Path) -> None:
    index = _index(tmp_path)
    lens = CatalogLens(index)
    first = _suggestions(OwnershipAnalysis(_owned_neighbourhood(3).graph(), index, lens=lens))
    assert first and first[0]["team"] == "payments"
    again = _suggestions(OwnershipAnalysis(_owned_neighbourhood(3).graph(), index, lens=lens))
    assert again is first  # same neighbours, calls, hints and owned services: remembered
    # Each differs from the one before in one thing: what the owned services say, then the calls.
    for telemetry in (_owned_neighbourhood(3, extra_owned="payments-api"), _owned_neighbourhood(5)):
        graph = telemetry.graph()
        fresh = _suggestions(OwnershipAnalysis(graph, index))  # a lens of its own: nothing remembered
        shared = _suggestions(OwnershipAnalysis(graph, index, lens=lens))
        assert shared == fresh and shared is not first
    assert "(5 calls)" in str(_suggestions(OwnershipAnalysis(_owned_neighbourhood(5).graph(), index, lens=lens)))


def test_a_copy_keeps_every_field_but_the_findings_and_suggestions(tmp_path: Path) -> None:
    index = _index(tmp_path)
    known = CatalogLens(index).of("checkout", "service")
    known_fields = {f.name: getattr(known, f.name) for f in dataclasses.fields(known)}
    assert None not in (known.owner, known.catalog_ref, known.entity, known.owner_ref)
    copied = known.copy()
    copied_fields = {f.name: getattr(copied, f.name) for f in dataclasses.fields(copied)}
    assert {**copied_fields, "findings": None, "suggested_owners": None} == {
        **known_fields, "findings": None, "suggested_owners": None}
    assert copied.findings is not known.findings and copied.suggested_owners is not known.suggested_owners
