"""Finding codes (a contract, DESIGN §3) and their severities."""

from __future__ import annotations

from enum import StrEnum


class FindingCode(StrEnum):
    """Every finding code; the JSON carries the plain string value."""

    UNDOCUMENTED = "undocumented"
    UNOWNED = "unowned"
    OWNER_NOT_FOUND = "owner_not_found"
    OWNER_INACTIVE = "owner_inactive"
    INDIVIDUAL_OWNER = "individual_owner"
    STALE = "stale"
    DEPRECATED_IN_USE = "deprecated_in_use"
    NO_ONCALL = "no_oncall"
    NO_RUNBOOK = "no_runbook"
    NO_DOCS = "no_docs"
    OWNER_MISMATCH = "owner_mismatch"
    UNDECLARED_DEPENDENCY = "undeclared_dependency"
    NAME_MISMATCH = "name_mismatch"
    UNNAMED_SERVICE = "unnamed_service"
    CATALOG_ERROR = "catalog_error"
    AMBIGUOUS_MATCH = "ambiguous_match"
    IDENTITY_COLLISION = "identity_collision"
    NO_OBJECTIVE = "no_objective"
    OBJECTIVE_BREACHED = "objective_breached"
    OBJECTIVE_BURNING = "objective_burning"
    OBJECTIVE_UNMATCHED = "objective_unmatched"
    ONCALL_OVERLOADED = "oncall_overloaded"


SEVERITY: dict[FindingCode, str] = {
    FindingCode.UNDOCUMENTED: "high",
    FindingCode.UNOWNED: "high",
    FindingCode.OWNER_NOT_FOUND: "high",
    FindingCode.OWNER_INACTIVE: "high",
    FindingCode.UNNAMED_SERVICE: "high",
    FindingCode.DEPRECATED_IN_USE: "medium",
    FindingCode.INDIVIDUAL_OWNER: "medium",
    FindingCode.NO_ONCALL: "medium",
    FindingCode.OWNER_MISMATCH: "medium",
    FindingCode.NAME_MISMATCH: "medium",
    FindingCode.CATALOG_ERROR: "medium",
    FindingCode.AMBIGUOUS_MATCH: "high",
    FindingCode.IDENTITY_COLLISION: "medium",
    FindingCode.ONCALL_OVERLOADED: "medium",
    FindingCode.STALE: "low",
    FindingCode.NO_RUNBOOK: "low",
    FindingCode.NO_DOCS: "low",
    FindingCode.UNDECLARED_DEPENDENCY: "low",
    FindingCode.OBJECTIVE_BREACHED: "high",
    FindingCode.OBJECTIVE_BURNING: "medium",
    FindingCode.NO_OBJECTIVE: "low",
    FindingCode.OBJECTIVE_UNMATCHED: "low",
}
ALL_CODES: tuple[FindingCode, ...] = tuple(SEVERITY)
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

# A service seen in the window with one of these has no valid, active owner.
ORPHAN_CODES = frozenset({FindingCode.UNDOCUMENTED, FindingCode.UNOWNED, FindingCode.OWNER_NOT_FOUND,
                          FindingCode.OWNER_INACTIVE})
# Findings about a team, not a service: `service` is null and `team` names it (§3b).
TEAM_CODES = frozenset({FindingCode.ONCALL_OVERLOADED})
DOCUMENTATION_CODES = frozenset({FindingCode.NO_ONCALL, FindingCode.NO_RUNBOOK, FindingCode.NO_DOCS})
