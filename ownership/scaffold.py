"""A ready `catalog-info.yaml` for an undocumented service, so a team can claim it in one PR."""

from __future__ import annotations

import re
from typing import Any

import yaml

from graph.model import NodeKind
from ownership.catalog.model import SERVICE_NAMES_ANNOTATION

_INVALID = re.compile(r"[^A-Za-z0-9_.-]+")
_EDGES = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")
_TAG_INVALID = re.compile(r"[^a-z0-9+#]+")
OTEL_SERVICE_NAME_ANNOTATION = "opentelemetry.io/service-name"


def backstage_name(name: str) -> str:
    """A valid Backstage entity name (1-63 chars of [A-Za-z0-9-_.], alphanumeric at both ends)."""
    cleaned = _EDGES.sub("", _INVALID.sub("-", name))[:63]
    cleaned = _EDGES.sub("", cleaned)
    return cleaned or "unnamed-service"


def backstage_tag(text: str) -> str | None:
    """A valid Backstage tag (`^[a-z0-9+#]+(-[a-z0-9+#]+)*$`, at most 63 characters), or None."""
    tag = _TAG_INVALID.sub("-", text.lower())[:63].strip("-")
    return tag or None


def node_ref(name: str, kind: str) -> str:
    """The ref a telemetry node would get in a catalog: services are Components, the rest Resources."""
    return f"{'component' if kind == NodeKind.SERVICE else 'resource'}:default/{backstage_name(name).lower()}"


def scaffold_entity(
    service: str,
    owner_ref: str | None,
    depends_on: list[str],
    namespace_hint: str | None = None,
) -> dict[str, Any]:
    """The Component descriptor: name, owner, dependsOn (entity refs), telemetry-name annotation."""
    annotations = {SERVICE_NAMES_ANNOTATION: service, OTEL_SERVICE_NAME_ANNOTATION: service}
    spec: dict[str, Any] = {
        "type": "service",
        "lifecycle": "production",
        "owner": owner_ref or "group:default/unassigned",
    }
    if depends_on:
        spec["dependsOn"] = sorted(set(depends_on))
    metadata: dict[str, Any] = {"name": backstage_name(service), "annotations": annotations}
    tag = backstage_tag(namespace_hint) if namespace_hint else None
    if tag:
        metadata["tags"] = [tag]
    return {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata, "spec": spec}


def scaffold_yaml(
    service: str,
    owner_ref: str | None,
    depends_on: list[str],
    suggestions: list[dict[str, Any]] | None = None,
    namespace_hint: str | None = None,
) -> str:
    """The descriptor as YAML, with a comment explaining the suggested owner."""
    entity = scaffold_entity(service, owner_ref, depends_on, namespace_hint)
    lines = [f"# catalog-info.yaml scaffolded by ownermap for the telemetry service {service!r}"]
    if suggestions:
        best = suggestions[0]
        lines.append(f"# suggested owner: {best['team']} (confidence {best['confidence']})")
        lines.extend(f"#   evidence: {' '.join(str(e).split())}" for e in best["evidence"][:5])
    else:
        lines.append("# no owner could be suggested from telemetry: replace group:default/unassigned")
    body = yaml.safe_dump(entity, sort_keys=False, allow_unicode=False, default_flow_style=False)
    return "\n".join(lines) + "\n" + body
