"""Rules about a matched service's documentation: `no_oncall`, `no_runbook`, `no_docs`, and the
signals they look for (DESIGN §3 "Documentation signals")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ownership.catalog.model import ONCALL_ANNOTATIONS, RUNBOOK_ANNOTATION, TECHDOCS_ANNOTATION, Entity
from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding
from ownership.findings.rules import ServiceFacts, service_rule

if TYPE_CHECKING:
    from ownership.identity import CatalogIndex

_DOC_WORDS = frozenset({"doc", "docs", "documentation", "wiki", "techdocs"})
_WORDS = re.compile(r"[a-z0-9]+")


def has_runbook(entity: Entity) -> bool:
    """A link whose title, type or URL mentions runbook, or the ownermap.io/runbook annotation."""
    if entity.annotations.get(RUNBOOK_ANNOTATION, "").strip():
        return True
    return any("runbook" in (part or "").lower() for link in entity.links for part in (link.title, link.type, link.url))


def has_docs(entity: Entity) -> bool:
    """backstage.io/techdocs-ref, or a link whose title or type says docs, wiki or documentation."""
    if entity.annotations.get(TECHDOCS_ANNOTATION, "").strip():
        return True
    for link in entity.links:
        words = set(_WORDS.findall(f"{link.title or ''} {link.type or ''}".lower()))
        if words & _DOC_WORDS:
            return True
    return False


def declares_oncall(entity: Entity) -> bool:
    """A PagerDuty/Opsgenie annotation, Datadog integration or owners.yaml oncall on this entity."""
    return any(entity.annotations.get(key, "").strip() for key in ONCALL_ANNOTATIONS)


def has_oncall(index: CatalogIndex, entity: Entity) -> bool:
    """An on-call reference on the entity or on the Group/User that owns it."""
    if declares_oncall(entity):
        return True
    owner = index.owner_of(entity).entity
    return owner is not None and declares_oncall(owner)


@service_rule(FindingCode.NO_ONCALL)
def no_oncall(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched service with no on-call reference on itself or its owner (`has_oncall`)."""
    if facts.entity is not None and not has_oncall(facts.index, facts.entity):
        yield Finding(FindingCode.NO_ONCALL, facts.name,
                      "no PagerDuty/Opsgenie annotation or on-call on the service or its team", owner=facts.owner)


@service_rule(FindingCode.NO_RUNBOOK)
def no_runbook(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched service with no runbook link or annotation (`has_runbook`)."""
    if facts.entity is not None and not has_runbook(facts.entity):
        yield Finding(FindingCode.NO_RUNBOOK, facts.name, "no runbook link", owner=facts.owner)


@service_rule(FindingCode.NO_DOCS)
def no_docs(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched service with no techdocs-ref and no docs/wiki link (`has_docs`)."""
    if facts.entity is not None and not has_docs(facts.entity):
        yield Finding(FindingCode.NO_DOCS, facts.name, "no docs (techdocs-ref or a docs/wiki link)",
                      owner=facts.owner)
