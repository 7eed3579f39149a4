"""The Finding record: one problem with one service (or catalog entry), or with one team."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ownership.findings.codes import SEVERITY, FindingCode


@dataclass
class Finding:
    """One problem with one service (or catalog entry); a team finding has no service and names `team`."""

    code: FindingCode
    service: str | None
    detail: str
    owner: str | None = None
    suggested_owners: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    catalog_ref: str | None = None  # the catalog entry the finding is about, when there is one
    team: str | None = None  # the team a team finding (`oncall_overloaded`) is about

    def copy(self) -> Finding:
        """A shallow copy (its data and suggestions shared: they are replaced, never changed in place)."""
        made = object.__new__(Finding)
        made.__dict__.update(self.__dict__)
        return made

    @property
    def severity(self) -> str:
        """high, medium or low."""
        return SEVERITY[self.code]

    def to_dict(self) -> dict[str, Any]:
        """The API's finding object."""
        out: dict[str, Any] = {
            "code": str(self.code),
            "service": self.service,
            "severity": self.severity,
            "detail": self.detail,
            "owner": self.owner,
            "suggested_owners": self.suggested_owners,
        }
        if self.catalog_ref is not None:
            out["catalog_ref"] = self.catalog_ref
        if self.team is not None:
            out["team"] = self.team
        if self.data:
            out["data"] = self.data
        return out
