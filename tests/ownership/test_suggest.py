"""Owner suggestions for orphans: each kind of evidence alone, combined, and none at all.

End to end (aggregates in SQLite → ServiceGraph → catalog files → OwnershipAnalysis) plus direct
checks of ownership.suggest on a hand-made SuggestionContext.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from ownership.analysis import OwnershipAnalysis
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex
from ownership.suggest import W_ATTRIBUTE, W_NEIGHBOURS, SuggestionContext, name_prefix, suggest_owners

T0 = 1_700_000_100
NS = 1_000_000_000
NOW = T0 + 3600
WINDOW = Window(NOW - 7 * 86400, NOW)
API = "backstage.io/v1alpha1"


class Telemetry:
    """Sightings and calls through the real Aggregator into an in-memory SQLite store."""

    def __init__(self) -> None:
        self.agg = Aggregator(bucket_seconds=300)
        self._n = 0

    def seen(self, service: str, hints: dict[str, str] | None = None, ts: float = T0 + 60) -> Telemetry:
        self._n += 1
        span = Span(self._n.to_bytes(16, "big"), self._n.to_bytes(8, "big"), b"",
                    Resource(service, "prod", dict(hints or {})), SpanKind.SERVER, int(ts * NS), int(ts * NS) + 1)
        self.agg.sighting(span)
        return self

    def call(self, client: str, server: str, count: int = 1, ts: float = T0 + 60) -> Telemetry:
        for _ in range(count):
            self.agg.call(Call(int(ts * NS), client, NodeKind.SERVICE, server, NodeKind.SERVICE, "rpc", "prod", False,
                          0.01, 0.01, b"\x02" * 16))
        return self

    def graph(self) -> ServiceGraph:
        store = SQLiteStore(":memory:")
        try:
            store.write(self.agg.drain())
            return ServiceGraph.from_store(store, WINDOW)
        finally:
            store.close()


def component(name: str, owner: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Component",
            "metadata": {"name": name, "annotations": {"pagerduty.com/service-id": "P1"}},
            "spec": {"type": "service", "lifecycle": "production", "owner": owner}}


def group(name: str, members: list[str]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Group", "metadata": {"name": name},
            "spec": {"type": "team", "children": [], "members": members}}


TEAMS = [group("payments", ["alice"]), group("search", ["bob"]), group("platform", ["carol"])]


def analyse(tmp_path: Path, telemetry: Telemetry, docs: list[dict[str, Any]]) -> OwnershipAnalysis:
    (tmp_path / "catalog-info.yaml").write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    catalog = load_catalog([tmp_path])
    assert catalog.errors == [], [str(e) for e in catalog.errors]
    return OwnershipAnalysis(telemetry.graph(), CatalogIndex(catalog))


def suggestions(analysis: OwnershipAnalysis, service: str) -> list[dict[str, Any]]:
    out = analysis.of(service).suggested_owners
    for s in out:
        assert set(s) == {"team", "confidence", "evidence"}
        assert 0 < s["confidence"] <= 1
        assert s["evidence"] and all(isinstance(e, str) for e in s["evidence"])
    return out


# ------------------------------------------------------------------------------- each evidence alone


@pytest.mark.parametrize("attribute", ["service.owner", "team", "owner"])
def test_owner_attribute_alone(tmp_path: Path, attribute: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("mystery", {attribute: "Payments"}), TEAMS)
    found = suggestions(analysis, "mystery")
    assert [s["team"] for s in found] == ["payments"]
    assert attribute in found[0]["evidence"][0]


def test_owner_attribute_naming_an_undeclared_team_is_no_evidence(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("mystery", {"team": "ghosts"}), TEAMS)
    assert suggestions(analysis, "mystery") == []


@pytest.mark.parametrize("key", ["service.namespace", "k8s.namespace.name"])
def test_shared_namespace_alone(tmp_path: Path, key: str) -> None:
    telemetry = Telemetry().seen("checkout", {key: "shop"}).seen("ledger", {key: "shop"}).seen("mystery", {key: "shop"})
    telemetry.seen("indexer", {key: "search-ns"})
    docs = [component("checkout", "payments"), component("ledger", "payments"), component("indexer", "search"), *TEAMS]
    found = suggestions(analyse(tmp_path, telemetry, docs), "mystery")
    assert [s["team"] for s in found] == ["payments"]
    assert "shop" in found[0]["evidence"][0] and "2 service(s)" in found[0]["evidence"][0]


def test_shared_name_prefix_alone(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("payments-api").seen("search-api").seen("payments-ledger")
    docs = [component("payments-api", "payments"), component("search-api", "search"), *TEAMS]
    found = suggestions(analyse(tmp_path, telemetry, docs), "payments-ledger")
    assert [s["team"] for s in found] == ["payments"]
    assert "'payments'" in found[0]["evidence"][0]


@pytest.mark.parametrize("direction", ["caller", "callee"])
def test_neighbour_owners_alone(tmp_path: Path, direction: str) -> None:
    telemetry = Telemetry().seen("checkout").seen("mystery")
    if direction == "caller":
        telemetry.call("checkout", "mystery", count=5)
    else:
        telemetry.call("mystery", "checkout", count=5)
    found = suggestions(analyse(tmp_path, telemetry, [component("checkout", "payments"), *TEAMS]), "mystery")
    assert [s["team"] for s in found] == ["payments"]
    assert f"{direction} checkout (5 calls)" in found[0]["evidence"][0]


def test_neighbours_are_weighted_by_calls(tmp_path: Path) -> None:
    telemetry = (Telemetry().seen("checkout").seen("indexer").seen("mystery")
                 .call("checkout", "mystery", count=9).call("indexer", "mystery", count=1))
    docs = [component("checkout", "payments"), component("indexer", "search"), *TEAMS]
    found = suggestions(analyse(tmp_path, telemetry, docs), "mystery")
    assert [s["team"] for s in found] == ["payments", "search"]
    assert found[0]["confidence"] > found[1]["confidence"]


def test_orphan_neighbours_give_no_evidence(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("other-orphan").seen("mystery").call("other-orphan", "mystery", count=3)
    analysis = analyse(tmp_path, telemetry, TEAMS)
    assert suggestions(analysis, "mystery") == []


def test_no_evidence_no_suggestion(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("checkout").seen("mystery", {"deployment.environment.name": "prod"})
    analysis = analyse(tmp_path, telemetry, [component("checkout", "payments"), *TEAMS])
    assert suggestions(analysis, "mystery") == []
    f = next(f for f in analysis.findings(["undocumented"]) if f.service == "mystery")
    assert f.suggested_owners == []


# ------------------------------------------------------------------------------- combined evidence


def test_combined_evidence_raises_confidence(tmp_path: Path) -> None:
    docs = [component("payments-api", "payments"), *TEAMS]

    def confidence(telemetry: Telemetry, sub: str) -> float:
        found = suggestions(analyse(tmp_path / sub, telemetry, docs), "payments-ledger")
        assert found[0]["team"] == "payments"
        return found[0]["confidence"]

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    ns = {"service.namespace": "pay"}
    prefix_only = confidence(Telemetry().seen("payments-api").seen("payments-ledger"), "a")
    prefix_ns = confidence(Telemetry().seen("payments-api", ns).seen("payments-ledger", ns), "b")
    everything = confidence(Telemetry().seen("payments-api", ns).seen("payments-ledger", {**ns, "team": "payments"})
                            .call("payments-api", "payments-ledger", count=3), "c")
    assert 0 < prefix_only < prefix_ns < everything <= 1


def test_competing_teams_are_ranked_and_evidence_is_kept_per_team(tmp_path: Path) -> None:
    telemetry = (Telemetry().seen("checkout").seen("indexer").seen("search-mystery", {"team": "platform"})
                 .call("checkout", "search-mystery", count=4).seen("search-api"))
    docs = [component("checkout", "payments"), component("search-api", "search"), *TEAMS]
    found = suggestions(analyse(tmp_path, telemetry, docs), "search-mystery")
    assert [s["team"] for s in found] == ["platform", "payments", "search"]
    assert all(len(s["evidence"]) == 1 for s in found)


def test_suggestions_reach_findings_and_orphans(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("mystery", {"team": "search"}), TEAMS)
    (orphan,) = analysis.orphans()
    assert orphan.suggested_owners[0]["team"] == "search"
    (f,) = analysis.findings(["undocumented"])
    assert f.suggested_owners == orphan.suggested_owners


def test_owned_services_get_no_suggestions(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("checkout", {"team": "search"})
    analysis = analyse(tmp_path, telemetry, [component("checkout", "payments"), *TEAMS])
    assert analysis.of("checkout").suggested_owners == []


def test_users_are_not_suggested_as_teams(tmp_path: Path) -> None:
    """Regression: services owned by a User give no evidence for "team" alice."""
    alice = {"apiVersion": API, "kind": "User", "metadata": {"name": "alice"}, "spec": {"memberOf": ["payments"]}}
    telemetry = Telemetry().seen("alone").seen("mystery").call("alone", "mystery", count=3)
    analysis = analyse(tmp_path, telemetry, [component("alone", "user:alice"), alice, *TEAMS])
    assert all(s["team"] != "alice" for s in suggestions(analysis, "mystery"))


# ------------------------------------------------------------------------------- unit: suggest_owners


def context(owned: Mapping[str, str], hints: Mapping[str, Mapping[str, str]] | None = None,
            edges: Iterable[tuple[str, str, int]] = (), teams: Iterable[str] = ("payments", "search")
            ) -> SuggestionContext:
    hints = hints or {}
    edges = list(edges)

    def neighbours(service: str) -> Iterable[tuple[str, int, str]]:
        for source, target, calls in edges:
            if target == service:
                yield source, calls, "caller"
            if source == service:
                yield target, calls, "callee"

    return SuggestionContext(
        team_names={t.lower(): t for t in teams}, owner_of_service=owned,
        hints_of=lambda s: hints.get(s, {}), owner_attributes=("service.owner", "team", "owner"),
        neighbours=neighbours,
    )


def test_unit_each_signal_and_their_combination() -> None:
    owned = {"payments-api": "payments"}
    hints = {"payments-api": {"service.namespace": "pay"},
             "payments-x": {"service.namespace": "pay", "team": "payments"}}
    only_prefix = suggest_owners("payments-x", context(owned))
    combined = suggest_owners("payments-x", context(owned, hints, [("payments-api", "payments-x", 2)]))
    assert only_prefix[0]["team"] == combined[0]["team"] == "payments"
    assert 0 < only_prefix[0]["confidence"] < combined[0]["confidence"] <= 1
    assert len(combined[0]["evidence"]) == 4


def test_unit_no_evidence() -> None:
    assert suggest_owners("lonely", context({"payments-api": "payments"})) == []
    assert suggest_owners("lonely", context({})) == []


def test_unit_at_most_three_suggestions_best_first() -> None:
    owned = {f"svc{i}": f"team{i}" for i in range(5)}
    edges = [(f"svc{i}", "x", i + 1) for i in range(5)]
    found = suggest_owners("x", context(owned, edges=edges, teams=[f"team{i}" for i in range(5)]))
    assert [s["team"] for s in found] == ["team4", "team3", "team2"]
    confidences = [s["confidence"] for s in found]
    assert confidences == sorted(confidences, reverse=True)


def _every_team_weighed(service: str, ctx: SuggestionContext) -> list[dict[str, Any]]:
    """The rule as DESIGN §3 states it, with every team of every kind of evidence weighed (what
    suggest_owners must equal while it leaves out prefix-only teams that cannot make the cut)."""
    left: dict[str, float] = {}
    why: dict[str, list[str]] = {}

    def add(team: str, weight: float, reason: str) -> None:
        left[team] = left.get(team, 1.0) * (1.0 - min(max(weight, 0.0), 1.0))
        why.setdefault(team, []).append(reason)

    hints = ctx.hints_of(service)
    claimed = None
    for key in ctx.owner_attributes:
        if (team := ctx.team_for(hints[key]) if hints.get(key) else None):
            claimed = claimed or team
            add(team, W_ATTRIBUTE, f"resource attribute {key}={hints[key]}")
    for key in ("service.namespace", "k8s.namespace.name"):
        for evidence in ctx.shared_namespace(key, hints[key]) if hints.get(key) else ():
            add(*evidence)
    prefix = name_prefix(service)
    for evidence in ctx.shared_prefix(prefix) if prefix and prefix != service.lower() else ():
        add(*evidence)
    near = list(ctx.neighbours(service))
    total = sum(calls for _, calls, _ in near)
    for team in dict.fromkeys(ctx.owner_of_service.get(other) for other, _, _ in near):
        mine = [(other, calls, role) for other, calls, role in near if ctx.owner_of_service.get(other) == team]
        if team:
            add(team, W_NEIGHBOURS * sum(c for _, c, _ in mine) / total, f"{team} owns neighbours: "
                + ", ".join(sorted(f"{role} {other} ({calls} calls)" for other, calls, role in mine)[:5]))
    ranked = sorted(left, key=lambda t: (t != claimed, -round(1.0 - left[t], 2), t))[:3]
    return [{"team": t, "confidence": round(1.0 - left[t], 2), "evidence": why[t]} for t in ranked
            if round(1.0 - left[t], 2) > 0]


def test_unit_a_prefix_shared_by_many_teams_gives_what_weighing_every_team_gives() -> None:
    rng = random.Random(3)
    teams = [f"team{i:02d}" for i in range(40)]
    owned = {f"svc-{i:03d}": rng.choice(teams) for i in range(300)}
    owned.update({f"pay-{i}": rng.choice(teams[:3]) for i in range(4)})
    hints = {name: {"service.namespace": f"ns{rng.randrange(5)}"} for name in owned if rng.random() < 0.3}
    orphans = [f"svc-x{i}" for i in range(60)] + ["pay-x", "solo"]
    for orphan in orphans[::4]:
        hints[orphan] = {"team": rng.choice(teams), "service.namespace": f"ns{rng.randrange(5)}"}
    # Orphans with six neighbours, with one, and with none (the prefix their only evidence).
    edges = [(rng.choice(list(owned)), orphan, rng.randrange(1, 50))
             for i, orphan in enumerate(orphans) for _ in range((6, 1, 0)[i % 3])]
    ctx = context(owned, hints, edges, teams)
    found = {orphan: suggest_owners(orphan, ctx) for orphan in orphans}
    assert found == {orphan: _every_team_weighed(orphan, ctx) for orphan in orphans}
    assert sum(1 for made in found.values() if any("name prefix" in e for s in made for e in s["evidence"])) > 40


@pytest.mark.parametrize(("name", "prefix"), [("payments-ledger", "payments"), ("Shop.Cart", "shop"),
                                              ("a/b", "a"), ("solo", "solo"), ("x_y:z", "x")])
def test_name_prefix(name: str, prefix: str) -> None:
    assert name_prefix(name) == prefix


@pytest.mark.parametrize("value", ["group:default/payments", "default/payments", "@acme/payments"])
def test_owner_attribute_in_ref_form_is_evidence(tmp_path: Path, value: str) -> None:
    teams = [{**TEAMS[0], "metadata": {"name": "payments", "annotations": {"github.com/team-slug": "acme/payments"}}},
             *TEAMS[1:]]
    analysis = analyse(tmp_path, Telemetry().seen("mystery", {"team": value}), teams)
    found = suggestions(analysis, "mystery")
    assert [s["team"] for s in found] == ["payments"]
    assert found[0]["evidence"] == [f"resource attribute team={value}"]


def test_an_owned_service_whose_whole_name_is_the_prefix_is_name_evidence(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("payments").seen("payments-api"),
                       [component("payments", "payments"), *TEAMS])
    found = suggestions(analysis, "payments-api")
    assert [s["team"] for s in found] == ["payments"]
    assert found[0]["evidence"] == ["name prefix 'payments' is shared with 1 service(s) of payments"]


def test_a_name_mismatch_orphan_is_first_suggested_the_near_entry_owner(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("checkout_service", {"team": "search"})
    analysis = analyse(tmp_path, telemetry, [component("checkout-service", "payments"), *TEAMS])
    found = suggestions(analysis, "checkout_service")
    assert [s["team"] for s in found] == ["payments", "search"]
    assert found[0]["evidence"] == ["catalog entry component:default/checkout-service owned by payments matches "
                                    "this name after normalising it"]
