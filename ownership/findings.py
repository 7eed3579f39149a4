"""Finding codes (a contract, DESIGN §3), their severities, and the Finding record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

SEVERITY: dict[str, str] = {
    UNDOCUMENTED: "high",
    UNOWNED: "high",
    OWNER_NOT_FOUND: "high",
    OWNER_INACTIVE: "high",
    UNNAMED_SERVICE: "high",
    DEPRECATED_IN_USE: "medium",
    INDIVIDUAL_OWNER: "medium",
    NO_ONCALL: "medium",
    OWNER_MISMATCH: "medium",
    NAME_MISMATCH: "medium",
    STALE: "low",
    NO_RUNBOOK: "low",
    NO_DOCS: "low",
    UNDECLARED_DEPENDENCY: "low",
}
ALL_CODES = tuple(SEVERITY)
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

# A service seen in the window with one of these has no valid, active owner.
ORPHAN_CODES = frozenset({UNDOCUMENTED, UNOWNED, OWNER_NOT_FOUND, OWNER_INACTIVE})
DOCUMENTATION_CODES = frozenset({NO_ONCALL, NO_RUNBOOK, NO_DOCS})


@dataclass
class Finding:
    """One problem with one service (or catalog entry)."""

    code: str
    service: str
    detail: str
    owner: str | None = None
    suggested_owners: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        """high, medium or low."""
        return SEVERITY[self.code]

    def to_dict(self) -> dict[str, Any]:
        """The API's finding object."""
        out: dict[str, Any] = {
            "code": self.code,
            "service": self.service,
            "severity": self.severity,
            "detail": self.detail,
            "owner": self.owner,
            "suggested_owners": self.suggested_owners,
        }
        if self.data:
            out["data"] = self.data
        return out
