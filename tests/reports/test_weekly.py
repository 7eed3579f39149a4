"""The weekly report, golden: two (and three) weeks of aggregates written with explicit timestamps
into a real SQLite store, a real owners.yaml catalog, and build_weekly_report.

Covers week-over-week status (`new`, `persisting`, `resolved`), `orphaned_since` from recorded
history and, without history, from the aggregates; risk ranking by transitive dependents, then
calls, then error rate; exact summary numbers; the stale, unowned_dependencies,
documentation_gaps and teams sections; and the DESIGN §4 JSON shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.store.sqlite import SQLiteStore
from ownership.identity import CatalogIndex
from reports.weekly import WeeklyReport, build_weekly_report
from tests.reports.report_builders import (
    DAY,
    END,
    GOLDEN_OWNERS,
    GOLDEN_TEAMS,
    LAST_WEEK,
    LAST_WEEKS_OWNERS,
    THIS_WEEK,
    WEEK,
    Telemetry,
    catalog_index,
    iso,
    seed_golden,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "ownermap.db")
    yield s
    s.close()


@pytest.fixture
def golden(store: SQLiteStore) -> SQLiteStore:
    seed_golden(store)
    return store


@pytest.fixture
def index(tmp_path: Path) -> CatalogIndex:
    return catalog_index(tmp_path / "catalog", GOLDEN_OWNERS)


def by_service(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["service"]: row for row in rows}


# Expected orphans of the golden week, in rank order:
# (service, codes, status, orphaned_since, dependents, calls, error_rate, owner, top suggested team)
GOLDEN_ORPHANS = [
    # 4 transitive dependents (ledger, checkout, frontend, gateway) through a single caller
    ("fx-rates", ["no_objective", "owner_not_found"], "new", iso(THIS_WEEK), 4, 20, 0.0, "treasury", None),
    # orphaned in both weeks; first seen exactly at the previous window's start
    ("ledger", ["no_objective", "unowned"], "persisting", iso(END - 2 * WEEK), 3, 50, 0.1, None, "payments"),
    ("recommender", ["no_objective", "undocumented"], "new", iso(THIS_WEEK), 2, 30, 0.0, None, "payments"),
    # one dependent each, the same calls: the higher error rate first
    ("pdf-render", ["no_objective", "undocumented"], "new", iso(THIS_WEEK), 1, 10, 0.5, None, "search"),
    ("legacy-billing", ["no_objective", "owner_inactive"], "new", iso(THIS_WEEK), 1, 10, 0.0, "ghost-team", "search"),
    # no dependent *service* (webhook-in is called only by the virtual `user` node): more calls first
    ("webhook-in", ["no_objective", "undocumented"], "new", iso(THIS_WEEK), 0, 40, 0.0, None, None),
    ("lonely-cron", ["undocumented"], "new", iso(THIS_WEEK), 0, 0, 0.0, None, None),
]


def orphan_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (o["service"], o["codes"], o["status"], o["orphaned_since"], o["risk"]["dependents"], o["risk"]["calls"],
         o["risk"]["error_rate"], o["owner"], o["suggested_owners"][0]["team"] if o["suggested_owners"] else None)
        for o in report["orphans"]
    ]


# --------------------------------------------------------------------------- golden, first run


def test_golden_first_run_computes_last_week_from_the_aggregates(golden: SQLiteStore, index: CatalogIndex) -> None:
    weekly = build_weekly_report(golden, index, END, record=False)
    r = weekly.data
    assert isinstance(weekly, WeeklyReport)
    assert r["window"] == {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z"}
    assert r["previous_window"] == {"start": "2026-11-09T00:00:00Z", "end": "2026-11-16T00:00:00Z"}
    # seen: gateway frontend checkout ledger fx-rates recommender webhook-in search-ui pdf-render
    # legacy-billing fixed-svc lonely-cron (not too-late, sighted exactly at END; not the virtual nodes)
    assert r["summary"] == {
        "services_seen": 12,
        "services_owned": 5,  # gateway, frontend, checkout, search-ui, fixed-svc
        "orphans": 7,
        "orphans_previous": 2,  # ledger, old-batch (fixed-svc has its entry in the current catalog)
        "new": 6,
        "resolved": 1,
    }
    assert orphan_rows(r) == GOLDEN_ORPHANS
    assert [(x["service"], x["codes_before"]) for x in r["resolved"]] == [("old-batch", ["undocumented"])]
    assert r["stale"] == [{"service": "archive", "owner": "payments"}]
    # postgres has no catalog entry; redis is a payments-owned entry; `user` is never listed
    assert r["unowned_dependencies"] == [{"node": "postgres", "kind": "database", "callers": ["checkout"]}]
    assert r["documentation_gaps"] == [{"service": "search-ui", "owner": "search", "codes": ["no_docs", "no_runbook"]}]
    assert [(t["team"], t["services"], t["findings"]) for t in r["teams"]] == [
        ("ghost-team", ["legacy-billing"], {"no_objective": 1, "owner_inactive": 1}),
        ("payments", ["checkout", "fixed-svc", "frontend", "gateway"], {"no_objective": 3, "stale": 1}),
        ("search", ["search-ui"], {"no_docs": 1, "no_runbook": 1}),
    ]
    assert golden.report_history(int(END) + WEEK) == []  # record=False records nothing


def test_ranking_uses_transitive_dependents_not_direct_callers(golden: SQLiteStore, index: CatalogIndex) -> None:
    """fx-rates and ledger each have one direct caller, ledger's with more calls; but fx-rates' caller
    (ledger) is itself depended on by three services, so fx-rates has four dependents to ledger's three."""
    weekly = build_weekly_report(golden, index, END, record=False)
    ranked = [o["service"] for o in weekly.data["orphans"]]
    assert ranked == [row[0] for row in GOLDEN_ORPHANS]
    deps = [o["risk"]["dependents"] for o in weekly.data["orphans"]]
    assert deps == sorted(deps, reverse=True)
    graph = weekly.week.graph
    assert set(graph.dependents("fx-rates")) == {"ledger", "checkout", "frontend", "gateway"}
    assert len(graph.upstream("fx-rates")) == len(graph.upstream("ledger")) == 1
    assert graph.upstream("ledger")[0].calls > graph.upstream("fx-rates")[0].calls
    # only services count: webhook-in's one caller is the virtual `user` node
    assert set(graph.dependents("webhook-in")) == {"user"}


def test_suggested_owners_carry_confidence_and_evidence(golden: SQLiteStore, index: CatalogIndex) -> None:
    orphans = by_service(build_weekly_report(golden, index, END, record=False).data["orphans"])
    ledger = orphans["ledger"]["suggested_owners"][0]
    assert ledger["team"] == "payments" and 0 < ledger["confidence"] <= 1
    assert any("checkout" in e for e in ledger["evidence"])


def test_window_is_half_open_and_ends_at_end(store: SQLiteStore, index: CatalogIndex) -> None:
    Telemetry(store).seen("at-start", END - WEEK).seen("just-before", END - 1).seen("at-end", END) \
        .seen("before-start", END - WEEK - 1).flush()
    r = build_weekly_report(store, index, END, record=False).data
    orphans = by_service(r["orphans"])
    assert set(orphans) == {"at-start", "just-before"}
    assert orphans["at-start"]["orphaned_since"] == iso(END - WEEK)
    assert orphans["just-before"]["orphaned_since"] == iso(END - 1)
    # before-start was seen in the previous window only: resolved, not an orphan
    assert [x["service"] for x in r["resolved"]] == ["before-start"]


# --------------------------------------------------------------------------- golden, with history


def test_history_from_last_weeks_run_decides_status_and_resolved(golden: SQLiteStore, tmp_path: Path) -> None:
    """Last week's run is recorded with last week's catalog (fixed-svc undocumented); this week's
    catalog documents fixed-svc. Only the history knows it was orphaned."""
    last_catalog = catalog_index(tmp_path / "last", LAST_WEEKS_OWNERS)
    this_catalog = catalog_index(tmp_path / "this", GOLDEN_OWNERS)

    last = build_weekly_report(golden, last_catalog, END - WEEK).data
    assert last["window"] == {"start": "2026-11-09T00:00:00Z", "end": "2026-11-16T00:00:00Z"}
    assert [(o["service"], o["status"], o["orphaned_since"]) for o in last["orphans"]] == [
        ("ledger", "new", iso(END - 2 * WEEK)),  # 3 dependents: checkout ← frontend ← gateway
        ("fixed-svc", "new", iso(LAST_WEEK)),
        ("old-batch", "new", iso(LAST_WEEK)),
    ]
    history = golden.report_history(int(END - WEEK))
    assert [end for end, _ in history] == [int(END - WEEK)]
    assert {("ledger", "unowned"), ("fixed-svc", "undocumented"), ("old-batch", "undocumented")} <= history[0][1]
    assert golden.report_orphans_since(int(END - WEEK)) == {  # milliseconds
        "ledger": int(END - 2 * WEEK) * 1000, "fixed-svc": int(LAST_WEEK) * 1000, "old-batch": int(LAST_WEEK) * 1000}

    now = build_weekly_report(golden, this_catalog, END).data
    assert now["summary"] == {"services_seen": 12, "services_owned": 5, "orphans": 7, "orphans_previous": 3,
                              "new": 6, "resolved": 2}
    assert orphan_rows(now) == GOLDEN_ORPHANS
    assert [(x["service"], x["codes_before"]) for x in now["resolved"]] == [
        ("fixed-svc", ["undocumented"]),  # fixed: now has an owned catalog entry
        ("old-batch", ["undocumented"]),  # not seen this week
    ]
    assert [end for end, _ in golden.report_history(int(END))] == [int(END), int(END - WEEK)]

    # the same week without that history: fixed-svc is judged with today's catalog, so never orphaned
    fresh = build_weekly_report(golden, this_catalog, END, record=False).data
    assert fresh["summary"]["orphans_previous"] == 3  # the recorded run is still there
    other = SQLiteStore(tmp_path / "copy.db")
    try:
        seed_golden(other)
        first = build_weekly_report(other, this_catalog, END, record=False).data
    finally:
        other.close()
    assert first["summary"]["orphans_previous"] == 2
    assert [x["service"] for x in first["resolved"]] == ["old-batch"]


def test_a_recorded_run_that_is_not_last_week_is_not_used_as_last_week(store: SQLiteStore,
                                                                       index: CatalogIndex) -> None:
    """A run ending two weeks ago says nothing about last week: the aggregates decide."""
    t = Telemetry(store)
    t.seen("was-orphan", END - 2 * WEEK - DAY)  # orphaned in the run ending END - 2 weeks
    t.seen("stays", END - WEEK - DAY).seen("stays", THIS_WEEK)
    t.flush()
    build_weekly_report(store, index, END - 2 * WEEK)
    r = build_weekly_report(store, index, END).data
    assert r["summary"]["orphans_previous"] == 1  # "stays", from last week's aggregates
    assert [(o["service"], o["status"]) for o in r["orphans"]] == [("stays", "persisting")]
    assert r["resolved"] == []


def test_three_weeks_running_keeps_the_earliest_orphaned_since(store: SQLiteStore, index: CatalogIndex) -> None:
    """Weekly recorded runs ending E1, E2, E3: `ghost` is orphaned in all three (first seen at
    the start of E1's window), `late` too (first seen on E1's Wednesday); `blip` in the first and
    the third only, so its streak restarts."""
    e1, e2, e3 = END - 2 * WEEK, END - WEEK, END
    wednesday = e1 - WEEK + 2 * DAY + 3 * 3600
    t = Telemetry(store)
    t.seen("ghost", e1 - WEEK).seen("ghost", e2 - DAY).seen("ghost", e3 - DAY)
    t.seen("late", wednesday).seen("late", e2 - 3 * DAY).seen("late", e3 - 4 * DAY)
    t.seen("blip", e1 - DAY).seen("blip", e3 - 2 * DAY)
    t.flush()

    first = build_weekly_report(store, index, e1).data
    second = build_weekly_report(store, index, e2).data
    third = build_weekly_report(store, index, e3).data

    def rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(o["service"], o["status"], o["orphaned_since"]) for o in report["orphans"]]

    assert rows(first) == [("blip", "new", iso(e1 - DAY)), ("ghost", "new", iso(e1 - WEEK)),
                           ("late", "new", iso(wednesday))]
    assert rows(second) == [("ghost", "persisting", iso(e1 - WEEK)), ("late", "persisting", iso(wednesday))]
    assert [(x["service"], x["codes_before"]) for x in second["resolved"]] == [("blip", ["undocumented"])]
    # ghost's streak reaches back through both recorded runs; blip's was broken by the second week
    assert rows(third) == [("blip", "new", iso(e3 - 2 * DAY)), ("ghost", "persisting", iso(e1 - WEEK)),
                           ("late", "persisting", iso(wednesday))]
    assert third["summary"]["orphans_previous"] == 2 and third["summary"]["new"] == 1


def test_orphaned_since_never_predates_the_first_sighting_and_is_stable(store: SQLiteStore,
                                                                         index: CatalogIndex) -> None:
    """First seen mid-week: `new` since that sighting, and next week `persisting` since the same
    moment, whether last week was recorded or computed from the aggregates."""
    e1, e2 = END - WEEK, END
    first_seen = e1 - WEEK + 2 * DAY + 3 * 3600  # Wednesday 03:00 of the first week
    Telemetry(store).seen("late", first_seen).seen("late", e2 - DAY).flush()
    no_history = by_service(build_weekly_report(store, index, e2, record=False).data["orphans"])["late"]
    first = by_service(build_weekly_report(store, index, e1).data["orphans"])["late"]
    second = by_service(build_weekly_report(store, index, e2).data["orphans"])["late"]
    assert first["orphaned_since"] == iso(first_seen)
    assert (no_history["status"], second["status"]) == ("persisting", "persisting")
    assert no_history["orphaned_since"] == iso(first_seen)
    assert second["orphaned_since"] == first["orphaned_since"]


def test_a_new_orphan_is_orphaned_since_inside_this_window(store: SQLiteStore, index: CatalogIndex) -> None:
    """Orphaned two weeks ago (recorded), not seen last week (no run), back this week: `new`, and
    orphaned since this week's first sighting, not since the old run."""
    e1 = END - 2 * WEEK
    Telemetry(store).seen("blip", e1 - DAY).seen("blip", THIS_WEEK).flush()
    build_weekly_report(store, index, e1)  # recorded; no run for the week ending END - WEEK
    blip = by_service(build_weekly_report(store, index, END).data["orphans"])["blip"]
    assert blip["status"] == "new"
    assert blip["orphaned_since"] == iso(THIS_WEEK)


def test_orphaned_since_keeps_its_milliseconds_through_history(store: SQLiteStore, index: CatalogIndex) -> None:
    first_seen = END - WEEK - 2 * DAY + 0.25
    Telemetry(store).seen("late", first_seen).seen("late", THIS_WEEK).flush()
    without_history = by_service(build_weekly_report(store, index, END, record=False).data["orphans"])["late"]
    last = by_service(build_weekly_report(store, index, END - WEEK).data["orphans"])["late"]
    now = by_service(build_weekly_report(store, index, END).data["orphans"])["late"]
    assert last["orphaned_since"] == without_history["orphaned_since"] == iso(first_seen)
    assert now["orphaned_since"] == last["orphaned_since"]


def test_rolling_up_old_buckets_does_not_change_the_report(golden: SQLiteStore, index: CatalogIndex) -> None:
    """After compaction (5-minute buckets older than a day become hourly rows) the report is the same."""
    before = build_weekly_report(golden, index, END, record=False).data
    golden.compact(END, retention_days=90)
    assert build_weekly_report(golden, index, END, record=False).data == before


def test_recording_replaces_a_run_with_the_same_end(store: SQLiteStore, index: CatalogIndex) -> None:
    Telemetry(store).seen("x", THIS_WEEK).flush()
    build_weekly_report(store, index, END)
    Telemetry(store).seen("y", THIS_WEEK).flush()
    build_weekly_report(store, index, END)
    history = store.report_history(int(END))
    assert len(history) == 1
    assert {f for f in history[0][1] if f[1] == "undocumented"} == {("x", "undocumented"), ("y", "undocumented")}


def test_an_empty_store_gives_an_empty_report(store: SQLiteStore, tmp_path: Path) -> None:
    index = catalog_index(tmp_path / "empty", GOLDEN_TEAMS)
    r = build_weekly_report(store, index, END, record=False).data
    assert r["summary"] == {"services_seen": 0, "services_owned": 0, "orphans": 0, "orphans_previous": 0,
                            "new": 0, "resolved": 0}
    assert r["orphans"] == r["resolved"] == r["stale"] == r["unowned_dependencies"] == r["documentation_gaps"] == []
    assert [t["team"] for t in r["teams"]] == ["ghost-team", "payments", "search"]


# --------------------------------------------------------------------------- JSON shape (DESIGN §4)

DESIGN_KEYS: dict[str, set[str]] = {
    "report": {"window", "catalog_complete", "previous_window", "summary", "orphans", "resolved", "stale",
               "unowned_dependencies", "documentation_gaps", "teams"},
    "window": {"start", "end"},
    "summary": {"services_seen", "services_owned", "orphans", "orphans_previous", "new", "resolved"},
    "orphan": {"service", "codes", "status", "orphaned_since", "risk", "owner", "suggested_owners"},
    "risk": {"dependents", "calls", "error_rate"},
    "resolved": {"service", "codes_before"},
    "stale": {"service", "owner"},
    "unowned_dependency": {"node", "kind", "callers"},
    "documentation_gap": {"service", "owner", "codes"},
    "team": {"team", "services", "findings"},
}


def shapes(r: dict[str, Any]) -> dict[str, list[set[str]]]:
    """The key set of every object of the report, by DESIGN_KEYS name."""
    return {
        "report": [set(r)],
        "window": [set(r["window"]), set(r["previous_window"])],
        "summary": [set(r["summary"])],
        "orphan": [set(o) for o in r["orphans"]],
        "risk": [set(o["risk"]) for o in r["orphans"]],
        "resolved": [set(x) for x in r["resolved"]],
        "stale": [set(x) for x in r["stale"]],
        "unowned_dependency": [set(x) for x in r["unowned_dependencies"]],
        "documentation_gap": [set(x) for x in r["documentation_gaps"]],
        "team": [set(x) for x in r["teams"]],
    }


def test_json_has_every_design_key_with_the_right_types(golden: SQLiteStore, index: CatalogIndex) -> None:
    r = build_weekly_report(golden, index, END, record=False).data
    for name, key_sets in shapes(r).items():
        assert key_sets, f"the golden report has no {name} object"
        for keys in key_sets:
            assert DESIGN_KEYS[name] <= keys, (name, DESIGN_KEYS[name] - keys)
    assert all(isinstance(v, int) for v in r["summary"].values())
    for o in r["orphans"]:
        assert o["status"] in ("new", "persisting")
        assert isinstance(o["codes"], list) and isinstance(o["suggested_owners"], list)
        assert isinstance(o["risk"]["dependents"], int) and isinstance(o["risk"]["calls"], int)
        assert isinstance(o["risk"]["error_rate"], float)
        for s in o["suggested_owners"]:
            assert {"team", "confidence", "evidence"} <= set(s)
    for t in r["teams"]:
        assert isinstance(t["services"], list) and all(isinstance(n, int) for n in t["findings"].values())


# Documented extensions of the DESIGN §4 shape (docs/api.md): why a service left the orphans, and
# which teams a team depends on. Nothing else may appear.
EXTRA_KEYS: dict[str, set[str]] = {
    "resolved": {"reason"}, "team": {"depends_on_teams"}, "report": {"objectives", "oncall_load"},
}


def test_json_keys_are_the_design_keys_plus_documented_extensions(golden: SQLiteStore, index: CatalogIndex) -> None:
    r = build_weekly_report(golden, index, END, record=False).data
    for name, key_sets in shapes(r).items():
        for keys in key_sets:
            assert keys == DESIGN_KEYS[name] | EXTRA_KEYS.get(name, set()), (name, keys ^ DESIGN_KEYS[name])


def test_an_incomplete_catalog_is_said_and_never_recorded(golden: SQLiteStore, index: CatalogIndex) -> None:
    complete = build_weekly_report(golden, index, END, record=False).data
    assert complete["catalog_complete"] is True
    before = golden.report_history(int(END) + 1, limit=5)
    incomplete = build_weekly_report(golden, index, END, record=True, catalog_complete=False).data
    assert incomplete["catalog_complete"] is False
    assert golden.report_history(int(END) + 1, limit=5) == before
