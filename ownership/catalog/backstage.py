"""Backstage descriptor files (catalog-info.yaml): validation and conversion to Entity.

Location entities are returned as entities with `targets`; `resolve_target` turns one target into
files confined to the catalog root, and the loader follows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ownership.catalog.fields import (
    KIND_RE,
    TAG_RE,
    Checker,
    finish,
    name_problem,
    namespace_problem,
    show,
    type_name,
)
from ownership.catalog.model import (
    DEFAULT_NAMESPACE,
    KINDS,
    TIMEZONE_ANNOTATION,
    CatalogError,
    Contact,
    Entity,
    Link,
    LoadResult,
)
from ownership.catalog.safe_yaml import YamlDocument, documents_of
from ownership.catalog.timezone import zone_problem
from ownership.catalog.walk import GLOB_LIMITS, WalkLimitError, WalkLimits, glob_files, has_magic

API_VERSION_PREFIX = "backstage.io/"
# spec fields (beyond owner) each kind must have; lists may be empty.
_REQUIRED_STRINGS: dict[str, tuple[str, ...]] = {
    "component": ("type", "lifecycle"),
    "api": ("type", "lifecycle"),
    "resource": ("type",),
    "group": ("type",),
}
_OWNED = ("component", "api", "resource", "system", "domain")
# Where a Location's spec.presence is kept: "optional" targets may be missing without an error.
PRESENCE_ANNOTATION = "ownermap.io/location-presence"


def is_backstage_document(data: object) -> bool:
    """True for a mapping whose apiVersion is backstage.io/…."""
    return isinstance(data, Mapping) and str(data.get("apiVersion", "")).startswith(API_VERSION_PREFIX)


def load_backstage_file(path: Path) -> LoadResult:
    """Read one descriptor file; bad documents are reported, good ones kept."""
    result = LoadResult()
    docs = documents_of(path, result)
    if docs is None:
        return result
    parse_backstage_documents(docs, path, result)
    return result


def parse_backstage_documents(docs: list[YamlDocument], path: Path, result: LoadResult) -> None:
    """Convert parsed documents into entities, appending to result."""
    for index, doc in enumerate(docs, start=1):
        if doc.data is None:
            continue
        entity = parse_entity(doc, path, index=index, result=result)
        if entity is not None:
            result.entities.append(entity)


def parse_entity(doc: YamlDocument, path: Path, *, index: int, result: LoadResult) -> Entity | None:
    """Validate one document; return the Entity or None (problems go to result)."""
    file, data = str(path), doc.data
    check = Checker(file, f"document {index}", doc)
    if not isinstance(data, Mapping):
        check.fail(None, f"document must be a mapping, got {type_name(data)}")
        return _finish(check, result, None)
    api_version = data.get("apiVersion")
    if not isinstance(api_version, str) or not api_version.strip():
        check.fail("apiVersion", "is required")
    elif not api_version.startswith(API_VERSION_PREFIX):
        check.warn("apiVersion", f"{show(api_version)} is not a Backstage apiVersion; document skipped")
        return _finish(check, result, None)
    kind_text = check.string(data, "kind", "kind", required=True)
    metadata = check.mapping(data, "metadata", "metadata", required=True)
    name = check.string(metadata, "name", "metadata.name", required=True)
    namespace = check.string(metadata, "namespace", "metadata.namespace") or DEFAULT_NAMESPACE
    kind = _check_kind(check, kind_text)
    if name is not None and (problem := name_problem(name)):
        check.fail("metadata.name", f"{show(name)} {problem}")
    if problem := namespace_problem(namespace):
        check.fail("metadata.namespace", f"{show(namespace)} {problem}")
    if kind_text and name:
        check.entity = f"{kind_text}:{namespace}/{name}".lower()
    if kind_text and kind is None and not check.errors:
        check.warn("kind", f"{show(kind_text)} is not a supported kind; entity skipped")
        return _finish(check, result, None)
    entity = Entity(kind=kind or "", name=name or "", namespace=namespace, source=path, line=doc.line)
    _read_metadata(check, metadata, entity)
    if kind is not None:
        _read_spec(check, data, entity)
    return _finish(check, result, entity)


def _finish(check: Checker, result: LoadResult, entity: Entity | None) -> Entity | None:
    """The entity if `fields.finish` keeps it."""
    kept = finish(check, result, [entity] if entity is not None else [])
    return kept[0] if kept else None


def _check_kind(check: Checker, kind_text: str | None) -> str | None:
    if kind_text is None:
        return None
    if not KIND_RE.match(kind_text):
        check.fail("kind", f"{show(kind_text)} must be letters and digits, starting with a letter")
        return None
    return KINDS.get(kind_text.lower())


def _read_metadata(check: Checker, metadata: dict[str, Any], entity: Entity) -> None:
    entity.title = check.string(metadata, "title", "metadata.title")
    entity.description = check.string(metadata, "description", "metadata.description")
    entity.labels = check.string_map(metadata, "labels", "metadata.labels")
    entity.annotations = check.string_map(metadata, "annotations", "metadata.annotations")
    for i, tag in enumerate(check.string_list(metadata, "tags", "metadata.tags")):
        if len(tag) > 63 or not TAG_RE.match(tag):
            check.fail(f"metadata.tags[{i}]", f"{show(tag)} must be lowercase words joined by '-'")
        else:
            entity.tags.append(tag)
    links = metadata.get("links")
    if links is None:
        return
    if not isinstance(links, list):
        check.fail("metadata.links", f"must be a list, got {type_name(links)}")
        return
    for i, item in enumerate(links):
        path = f"metadata.links[{i}]"
        if not isinstance(item, Mapping):
            check.fail(path, f"must be a mapping, got {type_name(item)}")
            continue
        url = check.string(item, "url", f"{path}.url", required=True)
        title = check.string(item, "title", f"{path}.title")
        kind = check.string(item, "type", f"{path}.type")
        icon = check.string(item, "icon", f"{path}.icon")
        if url is not None:
            entity.links.append(Link(url=url, title=title, type=kind, icon=icon))


def _read_spec(check: Checker, data: Mapping[str, Any], entity: Entity) -> None:
    kind = entity.kind.lower()
    spec = check.mapping(data, "spec", "spec", required=True)
    ns = entity.namespace
    for key in _REQUIRED_STRINGS.get(kind, ()):
        value = check.string(spec, key, f"spec.{key}", required=True)
        if key == "type":
            entity.type = value
        elif key == "lifecycle":
            entity.lifecycle = value
    if kind == "api" and not isinstance(spec.get("definition"), str | Mapping):
        check.fail("spec.definition", "is required (a string, or a $text/$json/$yaml substitution)")
    if kind in _OWNED:
        entity.owner = check.owner(spec, "owner", "spec.owner", namespace=ns, required=True)
    if kind in ("component", "api", "resource"):
        entity.system = check.ref(spec, "system", "spec.system", default_kind="system", namespace=ns)
        entity.depends_on = check.ref_list(spec, "dependsOn", "spec.dependsOn", default_kind=None, namespace=ns)
    elif kind == "system":
        entity.type = check.string(spec, "type", "spec.type")
        check.ref(spec, "domain", "spec.domain", default_kind="domain", namespace=ns)
    elif kind == "group":
        _read_group(check, spec, entity)
    elif kind == "user":
        entity.member_of = check.ref_list(
            spec, "memberOf", "spec.memberOf", default_kind="group", namespace=ns, required=True
        )
        _read_profile_email(check, spec, entity)
    elif kind == "location":
        _read_location(check, spec, entity)


def _read_group(check: Checker, spec: dict[str, Any], entity: Entity) -> None:
    ns = entity.namespace
    entity.parent = check.ref(spec, "parent", "spec.parent", default_kind="group", namespace=ns)
    entity.children = check.ref_list(
        spec, "children", "spec.children", default_kind="group", namespace=ns, required=True
    )
    entity.members = check.ref_list(spec, "members", "spec.members", default_kind="user", namespace=ns)
    _read_profile_email(check, spec, entity)
    zone = entity.annotations.get(TIMEZONE_ANNOTATION)
    if zone is not None and (problem := zone_problem(zone.strip())):
        check.fail(f"metadata.annotations.{TIMEZONE_ANNOTATION}", problem)
        del entity.annotations[TIMEZONE_ANNOTATION]  # the team is kept, in UTC


def _read_profile_email(check: Checker, spec: dict[str, Any], entity: Entity) -> None:
    profile = check.mapping(spec, "profile", "spec.profile")
    entity.title = entity.title or check.string(profile, "displayName", "spec.profile.displayName")
    email = check.string(profile, "email", "spec.profile.email")
    if email:
        entity.contacts.append(Contact(type="email", value=email))


def _read_location(check: Checker, spec: dict[str, Any], entity: Entity) -> None:
    target = check.string(spec, "target", "spec.target")
    targets = check.string_list(spec, "targets", "spec.targets")
    entity.type = check.string(spec, "type", "spec.type")
    entity.targets = ([target] if target else []) + targets
    if "target" not in spec and "targets" not in spec:
        check.fail("spec.target", "a Location needs target or targets")
    presence = spec.get("presence", "required")
    if presence not in ("required", "optional"):
        check.fail("spec.presence", f"must be required or optional, got {show(presence)}")
    elif presence == "optional":
        entity.annotations[PRESENCE_ANNOTATION] = "optional"


def resolve_target(
    location_file: Path, target: str, root: Path, *, optional: bool = False, limits: WalkLimits | None = None
) -> tuple[list[Path], list[CatalogError]]:
    """Files a Location target names, relative to the Location's file and confined to root.

    Globs (`./teams/*.yaml`, `./**/*.yaml`) are expanded inside root only and within `limits` (default `GLOB_LIMITS`)
    (symlinks out of root are not followed and are reported). Returns the files and the problems: a remote target
    (warning), a path escaping root (by `..`, an absolute path or a symlink), a directory, or a
    target that names nothing (unless the Location's presence is optional).
    """
    file = str(location_file)

    def problem(message: str, severity: str = "error") -> CatalogError:
        return CatalogError(file, message, field="spec.target", severity=severity)

    if "://" in target:
        return [], [problem(f"remote target {show(target)} is not followed", "warning")]
    root = root.resolve()
    base = location_file.resolve().parent
    absolute = Path(target).is_absolute()
    # Lexical check first, so that neither `..` nor an absolute path is ever listed or globbed.
    if not Path(os.path.normpath(target if absolute else base / target)).is_relative_to(root):
        return [], [problem(f"target {show(target)} is outside the catalog root {root}")]
    found: list[Path] = []
    problems: list[CatalogError] = []
    if has_magic(target):
        start, pattern = (root, os.path.relpath(os.path.normpath(target), root)) if absolute else (base, target)
        try:
            globbed = glob_files(start, pattern, root, limits or GLOB_LIMITS)
        except WalkLimitError as exc:
            return [], [problem(f"target {show(target)}: {exc}; nothing from it was read")]
        problems += [problem(f"target {show(target)}: symlink {show(str(link))} points outside the catalog root "
                             f"{root}; not followed") for link in globbed.refused]
        matches = globbed.files
    else:
        matches = [Path(target) if absolute else base / target]
    for match in matches:
        try:
            resolved = match.resolve()
        except (OSError, RuntimeError) as exc:
            problems.append(problem(f"target {show(target)} cannot be resolved: {exc}"))
            continue
        if not resolved.is_relative_to(root):
            problems.append(problem(f"target {show(target)} is outside the catalog root {root}"))
        elif resolved.is_dir():
            problems.append(problem(f"target {show(target)} is a directory, not a file"))
        elif resolved.is_file():
            found.append(resolved)
    if not found and not problems and not optional:
        problems.append(problem(f"target {show(target)} does not exist"))
    return found, problems
