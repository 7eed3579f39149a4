"""From a catalog and a window's graph to the report: teams' rotations and zones, owners, moves."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from graph.model import HISTOGRAM_SIZE, Window
from graph.service_graph import Edge, Node, ServiceGraph
from graph.store.series import InboundBucket
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex
from ownership.lens import CatalogLens
from ownership.oncall import MoveError, OncallSettings, lookback, oncall_report, validate_moves
from ownership.oncall.build import team_infos

T = 1793664000
WINDOW = Window(T, T + 3600)
OWNERS_YAML = """\
teams:
  - {name: payments, members: [a, b, c, d], timezone: Europe/Berlin, oncall: {members: [a, b]}}
  - {name: search, members: [e]}
  - {name: quiet, members: [f, g]}
services:
  - {name: checkout, owner: payments}
  - {name: finder, owner: search, oncall: https://pd.example/S}
  - {name: unseen, owner: quiet}
"""


def setup(tmp_path: Path) -> tuple[ServiceGraph, CatalogLens]:
    path = tmp_path / "owners.yaml"
    path.write_text(textwrap.dedent(OWNERS_YAML), encoding="utf-8")
    index = CatalogIndex(load_catalog([path]))
    nodes = {n: Node(n, "service") for n in ("checkout", "finder", "orphan")}
    nodes["db"] = Node("db", "database")
    zero = [0] * HISTOGRAM_SIZE
    edges = [Edge("finder", "checkout", "rpc", 5, 0, zero, zero, T, T),
             Edge("orphan", "finder", "rpc", 5, 0, zero, zero, T, T)]
    return ServiceGraph(WINDOW, nodes, edges), CatalogLens(index)


def test_team_infos_read_rotation_zone_and_on_call(tmp_path: Path) -> None:
    _, lens = setup(tmp_path)
    infos = {t.name: t for t in team_infos(lens.index)}
    assert (infos["payments"].members, infos["payments"].rotation_size) == (4, 2)
    assert infos["payments"].rotation_declared and infos["payments"].timezone == "Europe/Berlin"
    assert infos["search"].rotation_declared and infos["search"].timezone == "UTC"  # its service's on-call
    assert not infos["quiet"].rotation_declared and infos["quiet"].rotation_size == 2


def test_report_joins_owners_and_applies_moves(tmp_path: Path) -> None:
    graph, lens = setup(tmp_path)
    failing = [InboundBucket("orphan", T + i * 300, 300, 100, 50, ()) for i in range(3)]
    report = oncall_report(graph, lens, failing, OncallSettings())
    teams = {t.team: t.to_dict() for t in report.teams}
    assert teams["payments"]["services"] == ["checkout"] and teams["payments"]["depended_on_by"] == ["search"]
    assert sum(t["episodes"] for t in teams.values()) == 0  # the orphan's failures are nobody's
    moves = validate_moves(["orphan=quiet"], graph, lens.index)
    moved = oncall_report(graph, lens, failing, OncallSettings(), moves).to_dict()
    quiet = next(t for t in moved["teams"] if t["team"] == "quiet")
    assert (quiet["services"], quiet["episodes"], quiet["per_member"]) == (["orphan"], 1, 0.5)
    assert moved["moves"] == [{"service": "orphan", "team": "quiet"}]
    assert next(t for t in moved["teams"] if t["team"] == "search")["depended_on_by"] == ["quiet"]


@pytest.mark.parametrize(("move", "words"), [("db=quiet", "no service named 'db'"), ("unseen=x", "no team named 'x'"),
                                             ("finder=group:", "no team named")])
def test_moves_are_checked_against_seen_catalogued_and_declared(tmp_path: Path, move: str, words: str) -> None:
    graph, lens = setup(tmp_path)
    assert validate_moves(["unseen=search"], graph, lens.index)[0].team == "search"  # catalogued only is fine
    with pytest.raises(MoveError, match=words):
        validate_moves([move], graph, lens.index)


def test_lookback_reaches_a_day_back() -> None:
    assert lookback(WINDOW) == Window(T - 86400, T + 3600)


def test_team_infos_are_remembered_per_index_and_moves_and_equal_fresh_ones(tmp_path: Path) -> None:
    from ownership.oncall.build import _team_infos
    from ownership.oncall.moves import Move

    _, lens = setup(tmp_path)
    index = lens.index
    move_sets = [(), (Move("finder", "quiet"),), (Move("checkout", "quiet"), Move("finder", "payments")), ()]
    for moves in move_sets * 2:
        got = team_infos(index, moves)
        assert got == _team_infos(index, moves)
        got.clear()  # the caller's copy: what is remembered is not touched
    moved = {t.name: t for t in team_infos(index, (Move("finder", "quiet"),))}
    assert moved["quiet"].rotation_declared and not moved["search"].rotation_declared  # finder's on-call moved
    # A reloaded catalog is another index: its own answer.
    (tmp_path / "owners.yaml").write_text(textwrap.dedent(OWNERS_YAML).replace("members: [a, b]}", "members: [a]}"))
    other = CatalogIndex(load_catalog([tmp_path / "owners.yaml"]))
    assert {t.name: t.rotation_size for t in team_infos(other)}["payments"] == 1
    assert {t.name: t.rotation_size for t in team_infos(index)}["payments"] == 2


def test_calls_into_from_the_edge_table_equal_those_from_edges(tmp_path: Path) -> None:
    from graph.aggregate import Aggregator
    from graph.model import NodeKind
    from graph.store.sqlite import SQLiteStore
    from ownership.oncall.build import calls_into
    from tests.graph.store_builders import call, sighting, write

    store = SQLiteStore(tmp_path / "o.db")
    agg = Aggregator(store.bucket_seconds)
    for name in ("web", "cart", "pay"):
        sighting(agg, name, T + 10)
    call(agg, "web", "cart", T + 20, count=4, failed=True)
    call(agg, "cart", "cart", T + 20, count=3)  # a self-call: left out
    call(agg, "pay", "db", T + 30, server_kind=NodeKind.DATABASE, count=2)
    write(store, agg)
    graph = ServiceGraph.from_store(store, WINDOW)
    assert graph.table is not None
    from_edges = ServiceGraph(WINDOW, graph.nodes, graph.edges)
    unmatched = {"pay": (5, 1), "ghost": (2, 2)}
    got = {b.service: (b.calls, b.failed, b.bucket, b.seconds) for b in calls_into(graph, unmatched)}
    assert got == {b.service: (b.calls, b.failed, b.bucket, b.seconds) for b in calls_into(from_edges, unmatched)}
    assert {name: value[:2] for name, value in got.items()} == {
        "cart": (4, 4), "db": (2, 0), "pay": (5, 1), "ghost": (2, 2)}
