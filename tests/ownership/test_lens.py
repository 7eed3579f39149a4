"""The catalog lens: matches remembered per index and shared by every window's analysis, without the
analyses sharing (or changing) each other's answers."""

from __future__ import annotations

from pathlib import Path

from ownership.analysis import OwnershipAnalysis
from ownership.identity import CatalogIndex
from ownership.lens import CatalogLens, catalog_match
from tests.ownership.scenario import TEAM, Telemetry, component, index_of, write_catalog


def _index(tmp_path: Path) -> CatalogIndex:
    write_catalog(tmp_path, [component("checkout"), component("payments-ledger", owner="group:gone-team"), *TEAM])
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
