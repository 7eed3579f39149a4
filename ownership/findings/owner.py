"""Rules about a matched service's owner: `unowned`, `owner_not_found`, `owner_inactive`,
`individual_owner`, `owner_mismatch`; and `owner_status`, which the first three decide."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ownership.code_owners import entity_claim
from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding
from ownership.findings.rules import ServiceFacts, service_rule

if TYPE_CHECKING:
    from ownership.identity import ResolvedOwner


def lacks_owner(resolved: ResolvedOwner) -> bool:
    """The entry declares no owner."""
    return resolved.ref is None


def owner_undeclared(resolved: ResolvedOwner) -> bool:
    """The owner ref names no declared Group or User."""
    return resolved.ref is not None and resolved.entity is None


def owner_without_members(resolved: ResolvedOwner) -> bool:
    """The owning Group has no members, directly or through child groups (unknown counts as active)."""
    return resolved.entity is not None and resolved.active is False


_OWNER_GAPS: tuple[tuple[FindingCode, Callable[[ResolvedOwner], bool]], ...] = (
    (FindingCode.UNOWNED, lacks_owner),
    (FindingCode.OWNER_NOT_FOUND, owner_undeclared),
    (FindingCode.OWNER_INACTIVE, owner_without_members),
)


def owner_status(resolved: ResolvedOwner) -> str:
    """`unowned`, `owner_not_found`, `owner_inactive` (the code that applies), else `ok`."""
    return next((str(code) for code, applies in _OWNER_GAPS if applies(resolved)), "ok")


@service_rule(FindingCode.UNOWNED)
def unowned(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched catalog entry that declares no owner (`lacks_owner`)."""
    if facts.entity is not None and facts.resolved is not None and lacks_owner(facts.resolved):
        yield Finding(FindingCode.UNOWNED, facts.name, f"{facts.entity.ref} declares no owner")


@service_rule(FindingCode.OWNER_NOT_FOUND)
def owner_not_found(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched entry whose owner ref resolves to no declared Group or User (`owner_undeclared`)."""
    if facts.resolved is not None and owner_undeclared(facts.resolved):
        yield Finding(FindingCode.OWNER_NOT_FOUND, facts.name,
                      f"owner {facts.resolved.ref} is not a declared Group or User", owner=facts.owner)


@service_rule(FindingCode.OWNER_INACTIVE)
def owner_inactive(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched entry whose owning Group has no members, directly or through child groups
    (`owner_without_members`; a team known only from Datadog has unknown membership and is never
    inactive)."""
    if facts.resolved is not None and owner_without_members(facts.resolved):
        yield Finding(FindingCode.OWNER_INACTIVE, facts.name,
                      f"owning group {facts.resolved.ref} has no members, directly or through child groups",
                      owner=facts.owner)


@service_rule(FindingCode.INDIVIDUAL_OWNER)
def individual_owner(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched entry owned by a declared User rather than a team."""
    resolved = facts.resolved
    if resolved is not None and resolved.is_user and resolved.entity is not None:
        yield Finding(FindingCode.INDIVIDUAL_OWNER, facts.name,
                      f"owned by a person ({resolved.ref}), not a team", owner=facts.owner)


@service_rule(FindingCode.OWNER_MISMATCH)
def owner_mismatch(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched, owned service whose resources carry an owner attribute (setting
    `owner_attributes`, first one set wins) naming another team, else whose directory CODEOWNERS gives
    to another declared team (DESIGN §3c): both sides normalised by the one owner normaliser
    (`group:default/payments`, `default/payments`, `Payments` and a Group's `github.com/team-slug`
    handle `@org/payments` are one team)."""
    owner = facts.owner
    resolved = facts.resolved
    if facts.entity is None or not owner or resolved is None or resolved.ref is None:
        return
    declared = facts.index.canonical_owner(resolved.ref)
    for key in facts.owner_attributes:
        value = facts.node.hints.get(key)
        if value and facts.index.telemetry_owner(value) != declared:
            yield Finding(FindingCode.OWNER_MISMATCH, facts.name,
                          f"telemetry says {key}={value} but the catalog owner is {owner}",
                          owner=owner, data={"attribute": key, "value": value})
            return
    claim = entity_claim(facts.index, facts.entity)
    if claim is not None and claim.team.ref != declared:
        yield Finding(FindingCode.OWNER_MISMATCH, facts.name,
                      f"{claim.evidence} (team {claim.team.name}) but the catalog owner is {owner}",
                      owner=owner, data={"source": "codeowners", "team": str(claim.team.ref),
                                         "evidence": claim.evidence})
