"""Datadog schema v3 entity definitions (`apiVersion: v3`) converted to entities (DESIGN §3).

Kinds: `service` → Component of type service; `datastore` → Resource of type database; `queue` →
Resource of type queue (both describe database and messaging nodes, never services); `system` →
System; `api` → API. `metadata.owner` (and `additionalOwners`) name Datadog teams: synthetic Groups
in namespace `default`, as for v2. `metadata.namespace` is the catalog namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ownership.catalog.codeowners import CODE_PATHS_ANNOTATION
from ownership.catalog.fields import (
    Checker,
    begin_document,
    entity_name,
    finish,
    name_problem,
    namespace_problem,
    show,
    type_name,
)
from ownership.catalog.model import (
    DEFAULT_NAMESPACE,
    ONCALL_ANNOTATION,
    Contact,
    Entity,
    EntityRef,
    Link,
    LoadResult,
)
from ownership.catalog.safe_yaml import YamlDocument

API_VERSION = "v3"
SERVICE_ANNOTATION = "datadoghq.com/service-name"
# v3 kind → (our kind, our type)
KINDS: dict[str, tuple[str, str | None]] = {
    "service": ("Component", "service"),
    "datastore": ("Resource", "database"),
    "queue": ("Resource", "queue"),
    "system": ("System", None),
    "api": ("API", None),
}
_TOP = {"apiVersion", "kind", "metadata", "spec", "integrations", "datadog", "extensions"}
_METADATA = {"name", "namespace", "displayName", "description", "owner", "additionalOwners", "links", "contacts",
             "tags", "inheritFrom", "managed", "id"}


def is_v3_document(data: object) -> bool:
    """`apiVersion: v3` with one of the v3 kinds and a `metadata.name`."""
    if not isinstance(data, Mapping) or data.get("apiVersion") != API_VERSION:
        return False
    metadata = data.get("metadata")
    return str(data.get("kind", "")).lower() in KINDS and isinstance(metadata, Mapping) and "name" in metadata


def _code_paths(check: Checker, datadog: dict[str, Any]) -> list[str]:
    """`datadog.codeLocations[].paths`: where the service's code lives (CODEOWNERS evidence)."""
    locations = datadog.get("codeLocations")
    if locations is None:
        return []
    if not isinstance(locations, list):
        check.fail("datadog.codeLocations", f"must be a list, got {type_name(locations)}")
        return []
    paths: list[str] = []
    for i, location in enumerate(locations):
        if isinstance(location, Mapping):
            paths += [p for p in check.string_list(location, "paths", f"datadog.codeLocations[{i}].paths")
                      if "," not in p]
        else:
            check.fail(f"datadog.codeLocations[{i}]", f"must be a mapping, got {type_name(location)}")
    return paths


def parse_v3(doc: YamlDocument, path: Path, result: LoadResult, *, index: int = 1) -> list[Entity]:
    """Validate one v3 definition; its entity (with errors attached) and its owners' synthetic Groups."""
    check, data = begin_document(doc, str(path), index)
    if data is None:
        return finish(check, result, [])
    v3_kind = check.string(data, "kind", "kind", required=True)
    kind, type_ = KINDS.get((v3_kind or "").lower(), (None, None))
    if v3_kind is not None and kind is None:
        check.fail("kind", f"must be one of {', '.join(KINDS)}, got {show(v3_kind)}")
    for key in data:
        if key not in _TOP:
            check.warn(str(key), "is not a field of schema v3; ignored")
    metadata = check.mapping(data, "metadata", "metadata", required=True)
    check.known_keys(metadata, _METADATA, "metadata")
    name = check.string(metadata, "name", "metadata.name", required=True)
    namespace = check.string(metadata, "namespace", "metadata.namespace") or DEFAULT_NAMESPACE
    if name is not None and (problem := name_problem(name)):
        check.fail("metadata.name", f"{show(name)} {problem}")
    if problem := namespace_problem(namespace):
        check.fail("metadata.namespace", f"{show(namespace)} {problem}")
    if name:
        check.entity = f"{(v3_kind or '?').lower()}:{namespace}/{name}".lower()
    if kind is None or not name:
        return finish(check, result, [])
    entity = Entity(kind=kind, name=name, namespace=namespace, type=type_, source=path, line=doc.line,
                    source_format="datadog")
    if kind in ("Component", "Resource"):
        entity.annotations[SERVICE_ANNOTATION] = name
    entity.title = check.string(metadata, "displayName", "metadata.displayName")
    entity.description = check.string(metadata, "description", "metadata.description")
    entity.tags = check.string_list(metadata, "tags", "metadata.tags")
    entity.links = _links(check, metadata)
    entity.contacts = _contacts(check, metadata)
    spec = check.mapping(data, "spec", "spec")
    entity.lifecycle = check.string(spec, "lifecycle", "spec.lifecycle")
    entity.tier = check.string_or_int(spec, "tier", "spec.tier")
    entity.depends_on = _depends_on(check, spec, namespace)
    oncall = _oncall(check, check.mapping(data, "integrations", "integrations"))
    if oncall:
        entity.annotations[ONCALL_ANNOTATION] = oncall
    code_paths = _code_paths(check, check.mapping(data, "datadog", "datadog"))
    if code_paths:
        entity.annotations[CODE_PATHS_ANNOTATION] = ",".join(code_paths)
    groups = _owners(check, metadata, entity, path)
    return finish(check, result, [entity, *groups])


def _owners(check: Checker, metadata: Mapping[str, Any], entity: Entity, path: Path) -> list[Entity]:
    teams: list[str] = []
    owner = check.string(metadata, "owner", "metadata.owner")
    if owner:
        teams.append(owner)
    for i, item in enumerate(check.items(metadata, "additionalOwners", "metadata.additionalOwners")):
        extra = item if isinstance(item, Mapping) else {}
        if not isinstance(item, Mapping):
            check.fail(f"metadata.additionalOwners[{i}]", f"must be a mapping, got {type_name(item)}")
        elif value := check.string(extra, "name", f"metadata.additionalOwners[{i}].name", required=True):
            teams.append(value)
    groups = [Entity(kind="Group", name=entity_name(team), title=team, type="team", source=path,
                     line=check.line("metadata.owner"), source_format="datadog", synthetic=True) for team in teams]
    if groups:
        entity.owner = EntityRef("group", DEFAULT_NAMESPACE, groups[0].name)
    return groups


def _links(check: Checker, metadata: Mapping[str, Any]) -> list[Link]:
    links = []
    for path, item in check.mapping_items(metadata, "links", "metadata.links"):
        title = check.string(item, "name", f"{path}.name", required=True)
        kind = check.string(item, "type", f"{path}.type", required=True)
        url = check.string(item, "url", f"{path}.url", required=True)
        if url:
            links.append(Link(url=url, title=title, type=kind))
    return links


def _contacts(check: Checker, metadata: Mapping[str, Any]) -> list[Contact]:
    contacts = []
    for path, item in check.mapping_items(metadata, "contacts", "metadata.contacts"):
        kind = check.string(item, "type", f"{path}.type", required=True)
        value = check.string(item, "contact", f"{path}.contact", required=True)
        if kind and value:
            contacts.append(Contact(type=kind, value=value, name=check.string(item, "name", f"{path}.name")))
    return contacts


def _depends_on(check: Checker, spec: Mapping[str, Any], namespace: str) -> list[EntityRef]:
    refs = []
    for i, text in enumerate(check.string_list(spec, "dependsOn", "spec.dependsOn")):
        kind, colon, name = text.partition(":")
        target = KINDS.get(kind.strip().lower()) if colon else None
        if target is None or not name.strip():
            check.fail(f"spec.dependsOn[{i}]", f"{show(text)} must be kind:name with kind one of {', '.join(KINDS)}")
            continue
        ns, slash, rest = name.strip().partition("/")
        refs.append(EntityRef(target[0].lower(), ns if slash else namespace, rest if slash else ns))
    return refs


def _oncall(check: Checker, integrations: Mapping[str, Any]) -> str | None:
    found = []
    for key, value in integrations.items():
        path = f"integrations.{key}"
        if key not in ("pagerduty", "opsgenie"):
            check.warn(path, "is not a known integration; ignored")
            continue
        if not isinstance(value, Mapping):
            check.fail(path, f"must be a mapping with serviceURL, got {type_name(value)}")
            continue
        url = check.string(value, "serviceURL", f"{path}.serviceURL", required=True)
        if url:
            found.append(url)
    return found[0] if found else None
