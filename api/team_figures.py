"""What the teams view adds to each team: its on-call load (§3b), a summary of its objectives
(§3a) and its team findings (`oncall_overloaded`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ownership.analysis import OwnershipAnalysis
from ownership.findings import FindingCode
from ownership.findings.codes import SEVERITY_ORDER
from ownership.findings.rules import TeamFacts
from ownership.oncall import OncallReport
from reports.objectives import objectives_section

SUMMARY_KEYS = ("met", "burning", "breached")


@dataclass
class TeamFigures:
    """Every team's on-call load, objectives summary and team findings over one window."""

    load: OncallReport
    objectives: dict[str, dict[str, Any]]  # team → its entry of the weekly report's objectives section
    findings: dict[str, list[dict[str, Any]]]  # team → its team findings (JSON)

    @classmethod
    def of(cls, analysis: OwnershipAnalysis, load: OncallReport) -> TeamFigures:
        """The figures of the analysis's window, given the teams' on-call load over it."""
        section = objectives_section(analysis.objective_results(), analysis.findings([FindingCode.NO_OBJECTIVE]))
        found: dict[str, list[dict[str, Any]]] = {}
        for finding in analysis.team_findings(TeamFacts(tuple(load.teams))):
            found.setdefault(finding.team or "", []).append(finding.to_dict())
        return cls(load, {entry["team"]: entry for entry in section}, found)

    def add_to(self, view: dict[str, Any]) -> dict[str, Any]:
        """The team's view with `oncall` (its load figures, null for a team the load does not know),
        `objectives_summary` (counts: met, burning, breached, missing, other) and its team findings
        among `findings` (most severe first)."""
        name = view["team"]
        load = self.load.team(name)
        entry = self.objectives.get(name)
        summary = {key: entry[key] if entry else 0 for key in SUMMARY_KEYS}
        summary["missing"] = len(entry["missing"]) if entry else 0
        summary["other"] = entry["other"] if entry else 0
        findings = [*view["findings"], *self.findings.get(name, [])]
        findings.sort(key=lambda f: (SEVERITY_ORDER[f["severity"]], f["code"], f["service"] or f.get("team") or ""))
        figures = {k: v for k, v in load.to_dict().items() if k != "team"} if load is not None else None
        return {**view, "findings": findings, "oncall": figures, "objectives_summary": summary}
