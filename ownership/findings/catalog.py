"""Rules about the catalog entry itself: `catalog_error` (lenient loading, DESIGN §3)."""

from __future__ import annotations

from collections.abc import Iterator

from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding
from ownership.findings.rules import ServiceFacts, service_rule

MAX_MESSAGES = 5


@service_rule(FindingCode.CATALOG_ERROR)
def catalog_error(facts: ServiceFacts) -> Iterator[Finding]:
    """A matched service whose catalog entry was loaded with field errors (kept as declared by lenient
    loading); carries every message, and the detail names the first few."""
    entity = facts.entity
    if entity is None or not entity.errors:
        return
    messages = [str(error) for error in entity.errors]
    shown = "; ".join(f"{e.field or 'document'}: {e.message}" for e in entity.errors[:MAX_MESSAGES])
    more = f" (and {len(messages) - MAX_MESSAGES} more)" if len(messages) > MAX_MESSAGES else ""
    yield Finding(FindingCode.CATALOG_ERROR, facts.name,
                  f"{entity.ref} has {len(messages)} catalog error(s): {shown}{more}; "
                  "run `ownermap catalog validate` for all of them",
                  owner=facts.owner, data={"errors": messages}, catalog_ref=str(entity.ref))
