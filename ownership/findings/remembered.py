"""The service rules' findings of each seen service, kept from one window's analysis to the next.

Consecutive windows (a dashboard refreshing, a window moving by one bucket) mostly differ in call
counts, which nearly no service rule reads. A service's findings are decided again only when a
fact its rules read may have changed; otherwise copies of the last ones are given.

What the service rules read (`ServiceFacts`), and how the key covers it, for one catalog index
(`CatalogLens` holds one `RememberedFindings` per index):

- `name`: the memory is per service name;
- `node`: its `hints` (the rules read no other field of the node): in the key;
- `entity`, `resolved`, `owner`, `candidates`, `near`, `namespace`: the catalog's match of the name,
  kind and namespace hint, which the hints decide for one index;
- `callers`: the services calling it, in the key as the callers of its incoming edges;
- `calls_by_target` and `kind_of`: read only for an entry declaring `dependsOn`
  (`undeclared_dependency`); then its callees, their calls and kinds are in the key;
- `namespaces_seen`: in the key;
- `index`: the memory's own; `owner_attributes` and the rule set: in the key.

`tests/ownership/findings/test_remembered.py` fails when `ServiceFacts` gains a field this list
does not account for.
"""

from __future__ import annotations

import threading
from typing import Any

from ownership.findings.finding import Finding

# ServiceFacts fields and where the key covers them (checked by the tests against the dataclass).
COVERED_FACTS = frozenset({
    "name", "node", "index", "entity", "resolved", "owner", "callers", "calls_by_target", "kind_of",
    "owner_attributes", "candidates", "near", "namespace", "namespaces_seen",
})


class RememberedFindings:
    """Per service: the key of the facts its findings were decided from, and those findings."""

    MAX_REMEMBERED = 200_000  # services: telemetry is untrusted, so the memory stays bounded

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[Any, tuple[Finding, ...]]] = {}

    def recall(self, service: str, key: Any) -> list[Finding] | None:
        """Copies of the findings decided for `service` from facts with this key, or None."""
        found = self._kept.get(service)
        if found is None or found[0] != key:
            return None
        return [finding.copy() for finding in found[1]]

    def keep(self, service: str, key: Any, findings: list[Finding]) -> None:
        """Remember the findings decided for `service` (copies: the caller may change its own)."""
        kept = tuple(finding.copy() for finding in findings)
        with self._lock:
            if len(self._kept) >= self.MAX_REMEMBERED and service not in self._kept:
                self._kept.clear()
            self._kept[service] = (key, kept)
