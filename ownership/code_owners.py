"""CODEOWNERS evidence (DESIGN §3c): which declared team CODEOWNERS gives a catalog entry's or a service's
directory, owners resolved through the one owner normaliser (`@org/team` by a Group's `github.com/team-slug`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ownership.catalog.codeowners import CodeownersFile, entity_paths, service_paths
from ownership.catalog.model import Entity

if TYPE_CHECKING:
    from ownership.identity import CatalogIndex


@dataclass(frozen=True)
class CodeownersClaim:
    """A declared team CODEOWNERS names for a directory, and how."""

    team: Entity
    evidence: str


def claim_for(index: CatalogIndex, candidates: Iterable[str]) -> CodeownersClaim | None:
    """The first declared Group the CODEOWNERS rule for the first usable candidate directory names."""
    paths = list(candidates)
    files: list[CodeownersFile] = index.catalog.codeowners
    for file in files:
        found = file.owners_for(paths)
        if found is None:
            continue
        directory, owners, line = found
        for owner in owners:
            ref = index.telemetry_owner(owner)
            team = index.owner_entity(ref) if ref is not None else None
            if team is not None and team.kind == "Group":
                return CodeownersClaim(team, f"CODEOWNERS ({file.file}:{line}) gives {directory or '/'}/ to {owner}")
    return None


def entity_claim(index: CatalogIndex, entity: Entity) -> CodeownersClaim | None:
    """What CODEOWNERS says about a catalog entry's directory (source-location, codeLocations, path)."""
    paths = entity_paths(entity)
    return claim_for(index, paths) if paths and index.catalog.codeowners else None


def service_claim(index: CatalogIndex, service: str) -> CodeownersClaim | None:
    """What CODEOWNERS says about an undocumented service, tried at `<name>/`, `services/<name>/`, `apps/<name>/`."""
    return claim_for(index, service_paths(service)) if index.catalog.codeowners else None
