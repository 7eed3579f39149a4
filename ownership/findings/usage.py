"""Rules comparing what the catalog declares with what the window shows: `deprecated_in_use`,
`undeclared_dependency` (per seen service) and `stale` (per catalog entry)."""

from __future__ import annotations

from collections.abc import Iterator

from graph.model import NodeKind
from ownership.catalog.model import Entity
from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding
from ownership.findings.rules import ServiceFacts, WindowFacts, service_rule, window_rule


@service_rule(FindingCode.DEPRECATED_IN_USE)
def deprecated_in_use(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched service whose lifecycle is `deprecated` (any case) and that other services called in
    the window; lists its callers."""
    entity, callers = facts.entity, list(facts.callers)
    if entity is not None and (entity.lifecycle or "").lower() == "deprecated" and callers:
        yield Finding(FindingCode.DEPRECATED_IN_USE, facts.name,
                      f"lifecycle is deprecated but {len(callers)} caller(s) still use it: "
                      f"{', '.join(callers[:10])}", owner=facts.owner, data={"callers": callers})


@service_rule(FindingCode.UNDECLARED_DEPENDENCY)
def undeclared_dependency(facts: ServiceFacts) -> Iterator[Finding]:
    """One per callee of a matched service whose entry declares dependsOn without that callee (by the
    entry the callee matches, or by name); an entry declaring no dependsOn declares nothing."""
    entity = facts.entity
    if entity is None or not entity.depends_on:
        return
    for target, calls in sorted(facts.calls_by_target.items()):
        if not _declared(facts, entity, target):
            yield Finding(FindingCode.UNDECLARED_DEPENDENCY, facts.name,
                          f"calls {target} ({calls} calls) but dependsOn does not list it",
                          owner=facts.owner, data={"target": target, "calls": calls})


def _declared(facts: ServiceFacts, entity: Entity, target: str) -> bool:
    index = facts.index
    service = facts.kind_of(target) == NodeKind.SERVICE
    found = index.match_service(target) if service else index.match_virtual(target)
    if found is not None and index.declares_dependency(entity, found.entity):
        return True
    lowered = target.lower()
    return any(ref.name.lower() == lowered for ref in entity.depends_on)


@window_rule(FindingCode.STALE)
def stale(facts: WindowFacts) -> Iterator[Finding]:
    """A Component of type service (identity.services) that no service of the window matched."""
    for entity in facts.index.services():
        if entity.ref in facts.matched:
            continue
        yield Finding(FindingCode.STALE, entity.name,
                      f"{entity.ref} is a service in the catalog but sent no telemetry in the window",
                      owner=facts.index.owner_of(entity).name, data={"entity": str(entity.ref)},
                      catalog_ref=str(entity.ref))
