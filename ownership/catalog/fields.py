"""The one validation style of every catalog format (Backstage, Datadog, owners.yaml).

A `Checker` reads typed fields out of one untrusted entity and records a CatalogError per bad field
(file, entity, field path, message: the same words whatever the format), never stopping at the
first. `finish` then decides, in one place, what becomes of an entity with field errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ownership.catalog.model import DEFAULT_NAMESPACE, CatalogError, Entity, EntityRef, LoadResult, RefError
from ownership.catalog.owner_ref import parse_owner
from ownership.catalog.safe_yaml import YamlDocument

NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
NAMESPACE_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
KIND_RE = re.compile(r"^[a-zA-Z][a-z0-9A-Z]*$")
TAG_RE = re.compile(r"^[a-z0-9+#]+(-[a-z0-9+#]+)*$")
MAX_NAME = 63


def entity_name(text: str) -> str:
    """A valid Backstage name for a Datadog service or team name (the original stays an alias)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", text.strip())[:MAX_NAME]
    name = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", name)
    return name or "unnamed"


def show(value: object, limit: int = 80) -> str:
    """A short, printable rendering of an untrusted value for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def name_problem(name: str) -> str | None:
    """Why a string is not a valid Backstage name, or None."""
    if not 1 <= len(name) <= MAX_NAME:
        return f"must be 1-{MAX_NAME} characters"
    if not NAME_RE.match(name):
        return "must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
    return None


def namespace_problem(namespace: str) -> str | None:
    """Why a string is not a valid namespace (a DNS label), or None."""
    if len(namespace) > MAX_NAME or not NAMESPACE_RE.match(namespace):
        return "must be a DNS label: lowercase letters, digits and single '-' inside, at most 63"
    return None


def type_name(value: object) -> str:
    """YAML-flavoured type name for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


class Checker:
    """Reads typed fields out of untrusted mappings, recording a CatalogError per bad field."""

    def __init__(self, file: str, entity: str | None = None, doc: YamlDocument | None = None) -> None:
        self.file = file
        self.entity = entity
        self.doc = doc
        self.errors: list[CatalogError] = []
        self.warnings: list[CatalogError] = []

    def line(self, path: str | None) -> int | None:
        """Line of a field path in the document being checked."""
        return self.doc.line_of(path) if self.doc is not None else None

    def fail(self, path: str | None, message: str) -> None:
        """Record an error on a field."""
        self.errors.append(CatalogError(self.file, message, self.entity, path, self.line(path)))

    def warn(self, path: str | None, message: str) -> None:
        """Record a warning on a field."""
        self.warnings.append(CatalogError(self.file, message, self.entity, path, self.line(path), "warning"))

    def mapping(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> dict[str, Any]:
        """A nested mapping (empty when absent)."""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path, "is required")
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping, got {type_name(value)}")
            return {}
        return dict(value)

    def string(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False, max_length: int | None = None
    ) -> str | None:
        """A non-empty string (None when absent), at most max_length characters when given."""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {type_name(value)}")
            return None
        if not value.strip():
            self.fail(path, "must not be empty")
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters, got {len(value)}")
            return None
        return value

    def string_or_int(self, data: Mapping[str, Any], key: str, path: str, *, max_length: int = 64) -> str | None:
        """A non-empty string or an integer, as a string (a tier: `1` or `tier-1`); None when absent."""
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value is None or isinstance(value, str):
            return self.string(data, key, path, max_length=max_length)
        self.fail(path, f"must be a string or an integer, got {type_name(value)}")
        return None

    def known_keys(self, data: Mapping[Any, Any], known: Iterable[str], prefix: str | None = None) -> None:
        """Record an error for every key of data that is not a known field."""
        allowed = set(known)
        for key in data:
            if key not in allowed:
                self.fail(f"{prefix}.{key}" if prefix else str(key), "is not a known field")

    def items(self, data: Mapping[str, Any], key: str, path: str) -> list[Any]:
        """A list whose items are checked by the caller (empty when absent or not a list)."""
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, f"must be a list, got {type_name(value)}")
            return []
        return value

    def mapping_items(self, data: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
        """The mapping items of a list, each with its field path; other items are reported."""
        out = []
        for i, item in enumerate(self.items(data, key, path)):
            if isinstance(item, Mapping):
                out.append((f"{path}[{i}]", item))
            else:
                self.fail(f"{path}[{i}]", f"must be a mapping, got {type_name(item)}")
        return out

    def string_list(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> list[str]:
        """A list of strings; bad items are reported one by one."""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path, "is required (may be an empty list)")
            return []
        if not isinstance(value, list):
            self.fail(path, f"must be a list, got {type_name(value)}")
            return []
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append(item)
            else:
                self.fail(f"{path}[{i}]", f"must be a non-empty string, got {show(item)}")
        return out

    def string_map(self, data: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        """A mapping of string to string (annotations, labels)."""
        out: dict[str, str] = {}
        for k, v in self.mapping(data, key, path).items():
            if not isinstance(k, str) or not isinstance(v, str):
                self.fail(f"{path}.{k}", f"keys and values must be strings, got {type_name(v)}")
            else:
                out[k] = v
        return out

    def ref(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        default_kind: str | None,
        namespace: str = DEFAULT_NAMESPACE,
        required: bool = False,
    ) -> EntityRef | None:
        """An entity reference with the field's default kind and the entity's namespace."""
        text = self.string(data, key, path, required=required)
        return None if text is None else self.parse_ref(text, path, default_kind, namespace)

    def owner(
        self, data: Mapping[str, Any], key: str, path: str, *, namespace: str = DEFAULT_NAMESPACE,
        required: bool = False,
    ) -> EntityRef | None:
        """An owner reference, by the one owner normaliser (`owner_ref.parse_owner`)."""
        text = self.string(data, key, path, required=required)
        if text is None:
            return None
        try:
            return parse_owner(text, namespace)
        except RefError as exc:
            self.fail(path, str(exc))
            return None

    def ref_list(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        default_kind: str | None,
        namespace: str = DEFAULT_NAMESPACE,
        required: bool = False,
    ) -> list[EntityRef]:
        """A list of entity references."""
        value = data.get(key)
        out: list[EntityRef] = []
        if value is not None and isinstance(value, list):
            for i, item in enumerate(value):
                ref = self.parse_ref(item, f"{path}[{i}]", default_kind, namespace)
                if ref is not None:
                    out.append(ref)
            return out
        self.string_list(data, key, path, required=required)  # reports missing or wrong type
        return out

    def parse_ref(self, text: object, path: str, default_kind: str | None, namespace: str) -> EntityRef | None:
        """Parse one reference, recording a field error when it is invalid."""
        if not isinstance(text, str):
            self.fail(path, f"must be a string, got {type_name(text)}")
            return None
        try:
            return EntityRef.parse(text, default_kind=default_kind, default_namespace=namespace)
        except RefError as exc:
            self.fail(path, str(exc))
            return None


def usable(entity: Entity) -> bool:
    """An entity that can be kept despite field errors: it has a kind and a name."""
    return bool(entity.kind) and bool(entity.name)


def finish(check: Checker, result: LoadResult, entities: list[Entity]) -> list[Entity]:
    """Report what the checker found about one entity and decide what is kept (lenient loading).

    Every problem is reported (so `catalog validate` stays strict); the entities that are usable
    (a kind and a name) are kept with `check.errors` attached, the others dropped (DESIGN §3).
    """
    for problem in [*check.warnings, *check.errors]:
        result.report(problem)
    kept = [entity for entity in entities if usable(entity)]
    for entity in kept:
        if not entity.synthetic:
            entity.errors.extend(check.errors)
    return kept


def begin_document(doc: YamlDocument, path: str, index: int) -> tuple[Checker, Mapping[str, Any] | None]:
    """A checker for one document, and the document's mapping (None, its error recorded, when it is not one)."""
    check = Checker(path, f"document {index}", doc)
    if not isinstance(doc.data, Mapping):
        check.fail(None, f"document must be a mapping, got {type_name(doc.data)}")
        return check, None
    return check, doc.data
