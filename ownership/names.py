"""How telemetry names compare with catalog names: normalised spellings, declared aliases, the
namespace a resource asks for, and DNS-style suffixes (DESIGN §3)."""

from __future__ import annotations

import re

from ownership.catalog.model import ALIAS_ANNOTATIONS, SERVICE_NAMES_ANNOTATION, Entity

_SEPARATORS = re.compile(r"[-_.]")
# `checkout.shop.svc`, `….svc.cluster.local`: Kubernetes service DNS names.
DNS_SUFFIX = re.compile(r"\.svc(\.cluster\.local)?\.?$", re.IGNORECASE)

NAMESPACE_HINTS = ("service.namespace", "k8s.namespace.name")


def namespace_hint(hints: dict[str, str]) -> str | None:
    """The namespace telemetry asks for: `service.namespace`, else `k8s.namespace.name`."""
    return next((hints[key] for key in NAMESPACE_HINTS if hints.get(key)), None)


def normalise(name: str) -> str:
    """Lowercase with `-`, `_` and `.` treated as the same character."""
    return _SEPARATORS.sub("-", name.lower())


def telemetry_names(entity: Entity) -> list[tuple[str, str]]:
    """Declared aliases of an entity as (annotation, value) pairs."""
    out: list[tuple[str, str]] = []
    for key in ALIAS_ANNOTATIONS:
        raw = entity.annotations.get(key)
        if not raw:
            continue
        values = raw.split(",") if key == SERVICE_NAMES_ANNOTATION else [raw]
        out.extend((key, v.strip()) for v in values if v.strip())
    return out
