"""Rules about a seen service's name: `unnamed_service`, `undocumented`, `name_mismatch`."""

from __future__ import annotations

from collections.abc import Iterator

from graph.model import UNKNOWN_SERVICE
from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding
from ownership.findings.rules import ServiceFacts, service_rule


def is_unnamed(service: str) -> bool:
    """`unknown_service` or `unknown_service:<executable>`: an SDK's fallback name."""
    return service == UNKNOWN_SERVICE or service.startswith(UNKNOWN_SERVICE + ":")


@service_rule(FindingCode.UNNAMED_SERVICE)
def unnamed_service(facts: ServiceFacts) -> Iterator[Finding]:
    """A service without a catalog entry whose name is the SDK's fallback (see `is_unnamed`)."""
    if facts.entity is None and is_unnamed(facts.name):
        yield Finding(FindingCode.UNNAMED_SERVICE, facts.name,
                      "spans arrive without service.name (the SDK's fallback name); "
                      "set OTEL_SERVICE_NAME so the service can be identified")


@service_rule(FindingCode.UNDOCUMENTED)
def undocumented(facts: ServiceFacts) -> Iterator[Finding]:
    """A service seen in the window that no Component matches by name or alias (identity.match_service)."""
    if facts.entity is None:
        yield Finding(FindingCode.UNDOCUMENTED, facts.name,
                      "seen in telemetry but no catalog entry matches its name or aliases")


@service_rule(FindingCode.NAME_MISMATCH)
def name_mismatch(facts: ServiceFacts) -> Iterator[Finding]:
    """An unmatched service that matches a Component only after normalisation (identity.near_match);
    the detail names the alias to add."""
    if facts.entity is not None:
        return
    near = facts.index.near_match(facts.name)
    if near is None:
        return
    resolved = facts.index.owner_of(near)
    yield Finding(
        FindingCode.NAME_MISMATCH, facts.name,
        f"catalog entry {near.ref} matches only after normalising the name; add the "
        f"annotation ownermap.io/service-names: {facts.name!r} to it",
        owner=resolved.name,
        data={"entity": str(near.ref), "suggested_alias": facts.name},
    )
