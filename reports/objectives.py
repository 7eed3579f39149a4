"""The weekly report's "Objectives" section: per team, its objectives met / burning / breached and
the services it runs without one (missing), the worst team first (DESIGN §3a)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ownership.findings import Finding, FindingCode
from ownership.objectives.evaluate import ObjectiveResult

# How bad each status is, worst first (for the order of a team's objectives).
STATUS_ORDER = {"breached": 0, "burning": 1, "insufficient_data": 2, "unmatched": 3, "met": 4}
NO_TEAM = "(no owner)"


def _row(result: ObjectiveResult) -> dict[str, Any]:
    body = result.to_dict()
    return {key: body[key] for key in ("name", "service", "sli", "status", "target", "observed", "budget_remaining")}


def objectives_section(results: Sequence[ObjectiveResult], findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """One entry per team with objectives or missing ones: counts per status, its objectives worst
    first, and `missing` (its services called in the week with no objective); worst team first."""
    teams: dict[str, dict[str, Any]] = defaultdict(lambda: {"objectives": [], "missing": []})
    for result in results:
        teams[result.owner or NO_TEAM]["objectives"].append(result)
    for finding in findings:
        if finding.code == FindingCode.NO_OBJECTIVE:
            teams[finding.owner or NO_TEAM]["missing"].append(finding.service)
    out = []
    for team, entry in teams.items():
        ranked = sorted(entry["objectives"], key=lambda r: (STATUS_ORDER[r.status],
                                                           r.budget.budget_remaining if r.budget.budget_remaining
                                                           is not None else float("inf"), r.objective.name))
        counts = {status: sum(1 for r in ranked if r.status == status) for status in STATUS_ORDER}
        out.append({"team": team, **{k: counts[k] for k in ("met", "burning", "breached")},
                    "missing": sorted(set(entry["missing"])),
                    "other": counts["insufficient_data"] + counts["unmatched"],
                    "objectives": [_row(r) for r in ranked]})
    return sorted(out, key=lambda t: (-t["breached"], -t["burning"], -len(t["missing"]), t["team"]))
