"""Datadog service definitions (`service.datadog.yaml`, schema v2, v2.1, v2.2) converted to entities.

Each definition becomes a Component of type service (named after `dd-service`; a v2.2 `type: db`
or `cache` a Resource of type database or cache, describing a database node) and, for its `team`,
a synthetic Group: Datadog lists no members, so that group's activity is unknown. Schema v3 files
(`apiVersion: v3`) are read by `datadog_v3`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ownership.catalog.datadog_v3 import is_v3_document, parse_v3
from ownership.catalog.fields import Checker, begin_document, entity_name, finish, show, type_name
from ownership.catalog.model import (
    ONCALL_ANNOTATION,
    Contact,
    Entity,
    EntityRef,
    Link,
    LoadResult,
)
from ownership.catalog.safe_yaml import YamlDocument, documents_of

VERSIONS = ("v2", "v2.1", "v2.2")
SERVICE_ANNOTATION = "datadoghq.com/service-name"
_CONTACT_TYPES = frozenset({"email", "slack", "microsoft-teams"})
# Allowed link / contact types per version; None means any string (v2.2).
LINK_TYPES: dict[str, frozenset[str] | None] = {
    "v2": frozenset({"doc", "wiki", "runbook", "url", "repo", "dashboard", "oncall", "code", "link"}),
    "v2.1": frozenset({"doc", "runbook", "repo", "dashboard", "other"}),
    "v2.2": None,
}
CONTACT_TYPES: dict[str, frozenset[str] | None] = {"v2": _CONTACT_TYPES, "v2.1": _CONTACT_TYPES, "v2.2": None}
DATASTORE_TYPES = {"db": "database", "cache": "cache"}
SERVICE_TYPES = frozenset({"web", "db", "cache", "function", "browser", "mobile", "custom"})
_COMMON_KEYS = {"schema-version", "dd-service", "team", "contacts", "links", "tags", "integrations", "extensions"}
_KEYS: dict[str, set[str]] = {
    "v2": _COMMON_KEYS | {"repos", "docs"},
    "v2.1": _COMMON_KEYS | {"application", "description", "tier", "lifecycle"},
    "v2.2": _COMMON_KEYS
    | {"application", "description", "tier", "lifecycle", "type", "languages", "ci-pipeline-fingerprints"},
}


def is_datadog_document(data: object) -> bool:
    """True for a mapping that looks like a Datadog service definition."""
    return isinstance(data, Mapping) and "schema-version" in data and "dd-service" in data


def load_datadog_file(path: Path) -> LoadResult:
    """Read one Datadog definition file (one or more documents)."""
    result = LoadResult()
    docs = documents_of(path, result)
    if docs is None:
        return result
    for index, doc in enumerate(docs, start=1):
        if doc.data is None:
            continue
        parse = parse_v3 if is_v3_document(doc.data) else parse_definition
        result.entities.extend(parse(doc, path, result, index=index))
    return result


def parse_definition(doc: YamlDocument, path: Path, result: LoadResult, *, index: int = 1) -> list[Entity]:
    """Validate one definition; return its Component (and synthetic team Group), or [] when invalid."""
    check, data = begin_document(doc, str(path), index)
    if data is None:
        return finish(check, result, [])
    version = data.get("schema-version")
    if version not in VERSIONS:
        check.fail("schema-version", f"must be one of {', '.join(VERSIONS)}, got {show(version)}")
    service = check.string(data, "dd-service", "dd-service", required=True)
    if service:
        check.entity = f"dd-service {service!r}"
    if version in VERSIONS:
        for key in data:
            if key not in _KEYS[version]:
                check.warn(str(key), f"is not a field of schema {version}; ignored")
    entities: list[Entity] = []
    if service and version in VERSIONS:
        entities = _convert(check, data, version, service, path)
    return finish(check, result, entities)


def _convert(check: Checker, data: Mapping[str, Any], version: str, service: str, path: Path) -> list[Entity]:
    name = entity_name(service)
    line = check.line(None)
    component = Entity(kind="Component", name=name, type="service", source=path, line=line, source_format="datadog")
    component.annotations[SERVICE_ANNOTATION] = service
    if name != service:
        check.warn("dd-service", f"{show(service)} is not a valid entity name; the entity is named {name!r}")
    component.tags = check.string_list(data, "tags", "tags")
    component.links = _links(check, data, version)
    component.contacts = _contacts(check, data, version)
    oncall = _oncall(check, check.mapping(data, "integrations", "integrations"), version)
    if oncall:
        component.annotations[ONCALL_ANNOTATION] = oncall
    if version != "v2":
        component.description = check.string(data, "description", "description")
        component.lifecycle = check.string(data, "lifecycle", "lifecycle")
        component.tier = check.string_or_int(data, "tier", "tier")
        if app := check.string(data, "application", "application"):
            component.annotations["datadoghq.com/application"] = app
    if version == "v2.2":
        kind = check.string(data, "type", "type")
        if kind is not None and kind not in SERVICE_TYPES:
            check.fail("type", f"must be one of {', '.join(sorted(SERVICE_TYPES))}, got {show(kind)}")
        elif kind:
            component.annotations["datadoghq.com/type"] = kind
            if kind in DATASTORE_TYPES:  # a datastore: it owns a database node, it is never a stale service
                component.kind, component.type = "Resource", DATASTORE_TYPES[kind]
        if languages := check.string_list(data, "languages", "languages"):
            component.annotations["datadoghq.com/languages"] = ",".join(languages)
    team = check.string(data, "team", "team")
    if not team:
        return [component]
    group = Entity(
        kind="Group",
        name=entity_name(team),
        title=team,
        type="team",
        source=path,
        line=check.line("team"),
        source_format="datadog",
        synthetic=True,
    )
    component.owner = EntityRef("group", group.namespace, group.name)
    return [component, group]


def _typed(check: Checker, item: Mapping[str, Any], path: str, allowed: frozenset[str] | None) -> str | None:
    kind = check.string(item, "type", f"{path}.type", required=True)
    if kind is not None and allowed is not None and kind not in allowed:
        check.fail(f"{path}.type", f"must be one of {', '.join(sorted(allowed))}, got {show(kind)}")
    return kind


def _links(check: Checker, data: Mapping[str, Any], version: str) -> list[Link]:
    links: list[Link] = []
    for path, item in check.mapping_items(data, "links", "links"):
        title = check.string(item, "name", f"{path}.name", required=True)
        kind = _typed(check, item, path, LINK_TYPES[version])
        url = check.string(item, "url", f"{path}.url", required=True)
        if url:
            links.append(Link(url=url, title=title, type=kind))
    for key, kind in (("repos", "repo"), ("docs", "doc")):
        if key in data and version != "v2":
            check.fail(key, f"is not part of schema {version} (use links with type {kind})")
            continue
        for path, item in check.mapping_items(data, key, key):
            title = check.string(item, "name", f"{path}.name", required=key == "docs")
            url = check.string(item, "url", f"{path}.url", required=True)
            if url:
                links.append(Link(url=url, title=title, type=kind))
    return links


def _contacts(check: Checker, data: Mapping[str, Any], version: str) -> list[Contact]:
    contacts: list[Contact] = []
    for path, item in check.mapping_items(data, "contacts", "contacts"):
        kind = _typed(check, item, path, CONTACT_TYPES[version])
        value = check.string(item, "contact", f"{path}.contact", required=True)
        name = check.string(item, "name", f"{path}.name")
        if kind and value:
            contacts.append(Contact(type=kind, value=value, name=name))
    return contacts


def _oncall(check: Checker, integrations: dict[str, Any], version: str) -> str | None:
    """The on-call reference from `integrations` (PagerDuty first, then Opsgenie)."""
    found: list[str] = []
    for key, value in integrations.items():
        path = f"integrations.{key}"
        if key == "pagerduty" and version == "v2":
            if isinstance(value, str) and value.strip():
                found.append(value)
            else:
                check.fail(path, f"must be a PagerDuty URL string in v2, got {type_name(value)}")
        elif key in ("pagerduty", "opsgenie"):
            if not isinstance(value, Mapping):
                check.fail(path, f"must be a mapping with service-url in {version}, got {type_name(value)}")
                continue
            url = check.string(value, "service-url", f"{path}.service-url", required=True)
            check.string(value, "region", f"{path}.region")
            if url:
                found.append(url)
        else:
            check.warn(path, "is not a known integration; ignored")
    return found[0] if found else None
