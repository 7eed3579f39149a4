"""Which rules the analysis runs, in the order their findings are listed for a service."""

from __future__ import annotations

from dataclasses import dataclass

from ownership.findings import catalog, documentation, naming, objectives, oncall, owner, usage
from ownership.findings.codes import FindingCode
from ownership.findings.rules import Rule, ServiceFacts, TeamFacts, WindowFacts


@dataclass(frozen=True)
class RuleSet:
    """The rules of an analysis: per seen service, once per window, and over the teams' on-call load."""

    service: tuple[Rule[ServiceFacts], ...]
    window: tuple[Rule[WindowFacts], ...]
    objective: tuple[Rule[WindowFacts], ...] = ()  # over WindowFacts.objectives, when they are measured
    team: tuple[Rule[TeamFacts], ...] = ()

    def codes(self) -> list[FindingCode]:
        """Every code the rules decide, in order."""
        return [rule.code for rule in (*self.service, *self.window, *self.objective, *self.team)]


DEFAULT_RULES = RuleSet(
    service=(
        naming.unnamed_service,
        naming.undocumented,
        naming.name_mismatch,
        naming.ambiguous_match,
        naming.identity_collision,
        owner.unowned,
        owner.owner_not_found,
        owner.owner_inactive,
        owner.individual_owner,
        documentation.no_oncall,
        documentation.no_runbook,
        documentation.no_docs,
        usage.deprecated_in_use,
        owner.owner_mismatch,
        usage.undeclared_dependency,
        catalog.catalog_error,
        objectives.no_objective,
    ),
    window=(usage.stale,),
    objective=(objectives.objective_breached, objectives.objective_burning, objectives.objective_unmatched),
    team=(oncall.oncall_overloaded,),
)
