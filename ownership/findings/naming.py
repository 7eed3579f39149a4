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
    if facts.entity is None and not facts.candidates and is_unnamed(facts.name):
        yield Finding(FindingCode.UNNAMED_SERVICE, facts.name,
                      "spans arrive without service.name (the SDK's fallback name); "
                      "set OTEL_SERVICE_NAME so the service can be identified")


@service_rule(FindingCode.UNDOCUMENTED)
def undocumented(facts: ServiceFacts) -> Iterator[Finding]:
    """A service seen in the window that no Component matches by name or alias (identity.identify);
    several same-named candidates are `ambiguous_match` instead."""
    if facts.entity is None and not facts.candidates:
        yield Finding(FindingCode.UNDOCUMENTED, facts.name,
                      "seen in telemetry but no catalog entry matches its name or aliases")


@service_rule(FindingCode.NAME_MISMATCH)
def name_mismatch(facts: ServiceFacts) -> Iterator[Finding]:
    """An unmatched service that matches a Component only after normalisation (identity.near_match:
    separators, case, a namespace/system/owner prefix, DNS-style suffixes such as
    `productpage.bookinfo`); the detail names the alias to add."""
    near = facts.near
    if facts.entity is not None or near is None:
        return
    resolved = facts.index.owner_of(near)
    yield Finding(
        FindingCode.NAME_MISMATCH, facts.name,
        f"catalog entry {near.ref} matches only after normalising the name; add the "
        f"annotation ownermap.io/service-names: {facts.name!r} to it",
        owner=resolved.name,
        data={"entity": str(near.ref), "suggested_alias": facts.name},
        catalog_ref=str(near.ref),
    )


@service_rule(FindingCode.AMBIGUOUS_MATCH)
def ambiguous_match(facts: ServiceFacts) -> Iterator[Finding]:
    """A service whose name matches several entries (in different catalog namespaces) with different
    owners, and whose namespace hint (service.namespace, else k8s.namespace.name) is missing or
    names none of them: no owner is chosen (owner_status `ambiguous`)."""
    if facts.entity is not None or not facts.candidates:
        return
    candidates = [{"catalog_ref": str(e.ref), "owner": facts.index.owner_of(e).name} for e in facts.candidates]
    listed = ", ".join(f"{c['catalog_ref']} (owner {c['owner']})" for c in candidates)
    hint = (f"its namespace hint {facts.namespace!r} names none of them" if facts.namespace
            else "it reports no service.namespace or k8s.namespace.name")
    yield Finding(FindingCode.AMBIGUOUS_MATCH, facts.name,
                  f"matches {len(candidates)} catalog entries with different owners and {hint}: {listed}; "
                  "set service.namespace to the entry's namespace, or give the entries distinct aliases",
                  data={"candidates": candidates, "namespace": facts.namespace})


@service_rule(FindingCode.IDENTITY_COLLISION)
def identity_collision(facts: ServiceFacts) -> Iterator[Finding]:
    """One service.name reported in the window by resources with several service.namespace values
    (`ServiceFacts.namespaces_seen`): their spans are merged into one node; the names should differ."""
    seen = sorted(facts.namespaces_seen)
    if len(seen) < 2:
        return
    yield Finding(FindingCode.IDENTITY_COLLISION, facts.name,
                  f"service.name {facts.name!r} is reported with {len(seen)} service.namespace values "
                  f"({', '.join(seen)}); their spans are merged into one service: give each a distinct name",
                  owner=facts.owner, data={"namespaces": seen})
