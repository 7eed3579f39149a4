"""The weekly orphan-service report: this week against last week, ranked by risk, per team.

The window is the 7 days before `end`; the previous window the 7 days before that. Each run
records its findings in the store, so `orphaned_since` and week-over-week status come from
history; without history the previous week is computed from the stored aggregates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import pandas as pd

from graph.model import NodeKind, Window
from graph.service_graph import ServiceGraph, edge_dicts, iso_ns
from graph.store.interface import Store
from ownership.analysis import DEFAULT_OWNER_ATTRIBUTES, OwnershipAnalysis
from ownership.findings import DOCUMENTATION_CODES, ORPHAN_CODES, FindingCode
from ownership.findings.rules import TeamFacts
from ownership.identity import CatalogIndex
from ownership.lens import CatalogLens
from ownership.objectives.board import objective_results, team_trouble_counts
from ownership.objectives.evaluate import DEFAULT_LIMITS, Limits
from ownership.oncall import OncallReport, OncallSettings, oncall_report, read_oncall
from reports.objectives import objectives_section

WEEK = 7 * 86400
HISTORY_SLACK = 12 * 3600


class Risk(TypedDict):
    """Why an orphan ranks where it does."""

    dependents: int
    calls: int
    error_rate: float


class OrphanEntry(TypedDict):
    """One orphaned service of the week."""

    service: str
    codes: list[str]
    status: str  # "new" | "persisting"
    orphaned_since: str
    risk: Risk
    owner: str | None
    suggested_owners: list[dict[str, Any]]


class ResolvedEntry(TypedDict):
    """An orphan of last week that is no longer one."""

    service: str
    codes_before: list[str]
    reason: str  # "fixed" | "not_seen"


class Summary(TypedDict):
    """The report's headline counts."""

    services_seen: int
    services_owned: int
    orphans: int
    orphans_previous: int
    new: int
    resolved: int


class ReportData(TypedDict):
    """The report as DESIGN §4 shapes its JSON; each section is built by its own function below."""

    window: dict[str, str]
    catalog_complete: bool
    previous_window: dict[str, str]
    summary: Summary
    orphans: list[OrphanEntry]
    resolved: list[ResolvedEntry]
    stale: list[dict[str, Any]]
    unowned_dependencies: list[dict[str, Any]]
    documentation_gaps: list[dict[str, Any]]
    teams: list[dict[str, Any]]
    objectives: list[dict[str, Any]]
    oncall_load: list[dict[str, Any]]


@dataclass
class WeekAnalysis:
    """One week's graph joined with the catalog."""

    window: Window
    graph: ServiceGraph
    analysis: OwnershipAnalysis

    def orphan_codes(self) -> dict[str, list[str]]:
        """Orphaned services and their orphan codes."""
        out: dict[str, list[str]] = {}
        for finding in self.analysis.findings(ORPHAN_CODES):
            out.setdefault(finding.service, []).append(finding.code)
        return out


def analyse_week(store: Store, index: CatalogIndex, window: Window, owner_attributes: Sequence[str],
                 objectives: Limits | None = None) -> WeekAnalysis:
    """Build one week's graph and analysis (with its objectives measured at its end with these limits, if
    given)."""
    graph = ServiceGraph.from_store(store, window)
    measure = (lambda: objective_results(index, store.inbound, window.end, None, objectives)) \
        if objectives is not None else None
    analysis = OwnershipAnalysis(graph, index, owner_attributes, namespaces_seen=store.namespaces(window),
                                 objectives=measure)
    return WeekAnalysis(window, graph, analysis)


def _iso(ts: float) -> str:
    return iso_ns(int(ts * 1e9)) or ""


def _first_seen(week: WeekAnalysis, service: str) -> float:
    """When the service was first seen in that week (seconds)."""
    node = week.graph.nodes.get(service)
    return node.first_seen_ns / 1e9 if node is not None and node.first_seen_ns else week.window.start


@dataclass
class WeeklyReport:
    """The report's data (DESIGN §4 JSON shape), every finding of the week, and the week's analysis."""

    data: ReportData
    findings: list[dict[str, Any]]
    week: WeekAnalysis

    def neighbourhood_svg(self, service: str, radius: int = 1) -> str:
        """An inline SVG picture of a service and its neighbours."""
        from reports.render.svg import render_svg

        graph = self.week.graph
        names = graph.neighbourhood({service}, radius)
        nodes = []
        for name in sorted(names):
            own = self.week.analysis.of(name)
            nodes.append({"id": name, "kind": graph.nodes[name].kind, "owner": own.owner,
                          "owner_status": own.owner_status})
        edges = edge_dicts([e for e in graph.edges if e.source in names and e.target in names])
        return render_svg(nodes, edges, graph.layout(names), highlight={service}, title=f"neighbourhood of {service}")


@dataclass
class PreviousWeek:
    """Last week's orphans (service → codes) and since when each was orphaned (seconds)."""

    orphans: dict[str, list[str]]
    since: dict[str, float]


def build_weekly_report(
    store: Store,
    index: CatalogIndex,
    end: float | None = None,
    owner_attributes: Sequence[str] = DEFAULT_OWNER_ATTRIBUTES,
    record: bool = True,
    oncall: OncallSettings | None = None,
    catalog_complete: bool = True,
    limits: Limits | None = None,
) -> WeeklyReport:
    """Build the report; records this run's (service) findings in the store when `record` (never from an
    incomplete catalog: a live source that has not synced yet would turn its services into false orphans).
    `oncall`: the on-call thresholds and working hours, `limits` the objectives' (default: the settings'
    defaults)."""
    end = time.time() if end is None else end
    window = Window(end - WEEK, end)
    previous_window = Window(end - 2 * WEEK, end - WEEK)
    now = analyse_week(store, index, window, owner_attributes, objectives=limits or DEFAULT_LIMITS)
    previous = previous_week(store, index, previous_window, end, owner_attributes)
    orphans, since_ms = orphans_section(now, previous)
    resolved = resolved_section(now, previous, {o["service"] for o in orphans})
    findings = now.analysis.findings()
    load = week_oncall(store, now, oncall or OncallSettings())
    report: ReportData = {
        "window": window.as_dict(),
        "catalog_complete": catalog_complete,
        "previous_window": previous_window.as_dict(),
        "summary": summary_section(now, orphans, previous, resolved),
        "orphans": orphans,
        "resolved": resolved,
        "stale": [{"service": f.service, "owner": f.owner} for f in findings if f.code == FindingCode.STALE],
        "unowned_dependencies": now.analysis.unowned_dependencies(),
        "documentation_gaps": _documentation_gaps(findings),
        "teams": _teams(now.analysis),
        "objectives": objectives_section(now.analysis.objective_results(), findings),
        "oncall_load": oncall_section(load),
    }
    if record and catalog_complete:
        store.record_report(int(end), [(f.service, f.code) for f in findings], int(time.time()), since_ms)
    team_findings = now.analysis.team_findings(TeamFacts(tuple(load.teams)))
    return WeeklyReport(report, [f.to_dict() for f in [*findings, *team_findings]], now)


def previous_week(
    store: Store, index: CatalogIndex, previous_window: Window, end: float, owner_attributes: Sequence[str]
) -> PreviousWeek:
    """Last week as last week's run recorded it; without such a run, as the aggregates tell it.

    Last week's run is the newest recorded run ending within half a day of the previous window's
    end (a cron job's runs are a few seconds apart from one week to the next, not exactly 7 days).
    """
    history = [run for run in store.report_history(int(previous_window.end + HISTORY_SLACK), limit=5)
               if abs(run[0] - previous_window.end) <= HISTORY_SLACK and run[0] < end - HISTORY_SLACK][:1]
    if not history:
        week = analyse_week(store, index, previous_window, owner_attributes)
        orphans = week.orphan_codes()
        return PreviousWeek(orphans, {service: _first_seen(week, service) for service in orphans})
    orphans: dict[str, list[str]] = {}
    for service, code in sorted(history[0][1]):
        if code in ORPHAN_CODES:
            orphans.setdefault(service, []).append(code)
    return PreviousWeek(orphans, {s: t / 1000 for s, t in store.report_orphans_since(history[0][0]).items()})


def orphans_section(now: WeekAnalysis, previous: PreviousWeek) -> tuple[list[OrphanEntry], dict[str, int]]:
    """This week's orphans ranked by risk, and since when each is orphaned (milliseconds, to record)."""
    orphans: list[OrphanEntry] = []
    since_ms: dict[str, int] = {}
    for risk in now.analysis.orphans():
        before = risk.service in previous.orphans
        # An orphan's streak starts at its first sighting as an orphan, never earlier.
        since = previous.since.get(risk.service, _first_seen(now, risk.service)) if before \
            else _first_seen(now, risk.service)
        since_ms[risk.service] = round(since * 1000)
        orphans.append({
            "service": risk.service,
            "codes": risk.codes,
            "status": "persisting" if before else "new",
            "orphaned_since": _iso(since),
            "risk": {"dependents": risk.dependents, "calls": risk.calls, "error_rate": risk.error_rate},
            "owner": risk.owner,
            "suggested_owners": risk.suggested_owners,
        })
    return orphans, since_ms


def resolved_section(now: WeekAnalysis, previous: PreviousWeek, current: set[str]) -> list[ResolvedEntry]:
    """Last week's orphans that are no longer orphans: fixed, or not seen this week."""
    return [
        {"service": service, "codes_before": sorted(codes),
         "reason": "fixed" if service in now.graph.nodes else "not_seen"}
        for service, codes in sorted(previous.orphans.items()) if service not in current
    ]


def summary_section(
    now: WeekAnalysis, orphans: list[OrphanEntry], previous: PreviousWeek, resolved: list[ResolvedEntry]
) -> Summary:
    """The headline counts."""
    services = [n for n in now.graph.nodes.values() if n.kind == NodeKind.SERVICE]
    return {
        "services_seen": len(services),
        "services_owned": sum(1 for n in services if now.analysis.of(n.name).owner_status == "ok"),
        "orphans": len(orphans),
        "orphans_previous": len(previous.orphans),
        "new": sum(1 for o in orphans if o["status"] == "new"),
        "resolved": len(resolved),
    }


def _documentation_gaps(findings: list[Any]) -> list[dict[str, Any]]:
    rows = [{"service": f.service, "owner": f.owner, "code": f.code} for f in findings if f.code in DOCUMENTATION_CODES]
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    frame["owner"] = frame["owner"].fillna("")
    grouped = frame.groupby(["service", "owner"], sort=True)["code"].agg(lambda c: sorted(set(c))).reset_index()
    return [{"service": r.service, "owner": r.owner or None, "codes": r.code} for r in grouped.itertuples()]


def _teams(analysis: OwnershipAnalysis) -> list[dict[str, Any]]:
    """Per team: its services seen and the count of each finding code."""
    out = []
    for view in analysis.teams():
        counts = pd.Series([f["code"] for f in view["findings"]], dtype="object").value_counts()
        out.append({
            "team": view["team"],
            "services": view["services"],
            "findings": {str(code): int(n) for code, n in sorted(counts.items())},
            "depends_on_teams": sorted({d["team"] for d in view["depends_on_teams"]}),
        })
    return out


def week_oncall(store: Store, now: WeekAnalysis, settings: OncallSettings) -> OncallReport:
    """Every team's on-call load over the week (§3b)."""
    burning = team_trouble_counts(now.analysis.objective_results())
    return oncall_report(now.graph, CatalogLens(now.analysis.index), read_oncall(store, now.window, None, settings),
                         settings, burn_events=burning)


def oncall_section(load: OncallReport) -> list[dict[str, Any]]:
    """"On-call load": the teams owning a service seen this week, most episodes per rotation member
    first (teams without a rotation last)."""
    owning = [t for t in load.teams if t.services]
    ranked = sorted(owning, key=lambda t: (t.per_member is None, -(t.per_member or 0.0), t.team))
    return [t.to_dict() for t in ranked]
