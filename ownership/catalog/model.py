"""The uniform catalog model: every source (Backstage, owners.yaml, Datadog) becomes these entities."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_NAMESPACE = "default"

# Canonical spelling of the kinds we understand, keyed by their lowercase form.
KINDS: dict[str, str] = {
    k.lower(): k for k in ("Component", "Resource", "API", "System", "Domain", "Group", "User", "Location")
}

# Annotations that carry telemetry names of an entity (DESIGN §3). The first is comma separated.
SERVICE_NAMES_ANNOTATION = "ownermap.io/service-names"
ALIAS_ANNOTATIONS = (
    SERVICE_NAMES_ANNOTATION,
    "opentelemetry.io/service-name",
    "jaegertracing.io/service",
    "datadoghq.com/service-name",
)
RUNBOOK_ANNOTATION = "ownermap.io/runbook"
# On-call annotation written for owners.yaml `oncall` and Datadog `integrations`.
ONCALL_ANNOTATION = "ownermap.io/oncall"
ONCALL_ANNOTATIONS = (
    "pagerduty.com/service-id",
    "pagerduty.com/integration-key",
    "opsgenie.com/component-selector",
    "opsgenie.com/team",
    ONCALL_ANNOTATION,
)
TECHDOCS_ANNOTATION = "backstage.io/techdocs-ref"
# A team's IANA time zone (owners.yaml `teams[].timezone` is written here too), DESIGN §3b.
TIMEZONE_ANNOTATION = "ownermap.io/timezone"


class RefError(ValueError):
    """An entity reference that cannot be parsed."""


@dataclass(frozen=True, eq=False, slots=True)
class EntityRef:
    """A reference `kind:namespace/name`; equality and hashing ignore case."""

    kind: str
    namespace: str
    name: str
    _key: tuple[str, str, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        """The case-insensitive identity of the reference (made on first use, then kept)."""
        key = self._key
        if key is None:
            key = (self.kind.lower(), self.namespace.lower(), self.name.lower())
            object.__setattr__(self, "_key", key)
        return key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EntityRef) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}".lower()

    @classmethod
    def parse(
        cls,
        text: object,
        *,
        default_kind: str | None = None,
        default_namespace: str = DEFAULT_NAMESPACE,
    ) -> EntityRef:
        """Parse `[kind:][namespace/]name`; raise RefError for empty parts or a missing kind.

        The first `:` ends the kind unless a `/` comes before it.
        """
        if not isinstance(text, str):
            raise RefError(f"entity reference must be a string, got {type(text).__name__}")
        ref = text.strip()
        if not ref:
            raise RefError("entity reference is empty")
        colon, slash = ref.find(":"), ref.find("/")
        kind: str | None = None
        if colon != -1 and (slash == -1 or colon < slash):
            kind, ref = ref[:colon], ref[colon + 1 :]
            if not kind:
                raise RefError(f"entity reference {text!r} has an empty kind")
        namespace = default_namespace
        slash = ref.find("/")
        if slash != -1:
            namespace, ref = ref[:slash], ref[slash + 1 :]
            if not namespace:
                raise RefError(f"entity reference {text!r} has an empty namespace")
        if not ref:
            raise RefError(f"entity reference {text!r} has an empty name")
        kind = kind or default_kind
        if not kind:
            raise RefError(f"entity reference {text!r} needs a kind (for example component:{ref})")
        return cls(kind=kind, namespace=namespace, name=ref)


@dataclass(eq=False)
class CatalogError(Exception):
    """A problem in one catalog file; str() names the file, line, entity and field."""

    file: str | None
    message: str
    entity: str | None = None
    field: str | None = None
    line: int | None = None
    severity: str = "error"

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<catalog>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        parts = [where]
        if self.entity:
            parts.append(f"entity {self.entity}")
        if self.field:
            parts.append(f"field {self.field}")
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{': '.join(parts)}: {prefix}{self.message}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "file": self.file,
            "line": self.line,
            "entity": self.entity,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class Link:
    """A link from `metadata.links`, Datadog `links`, or owners.yaml runbook/docs."""

    url: str
    title: str | None = None
    type: str | None = None
    icon: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """A way to reach a team: type is e.g. email, slack, microsoft-teams."""

    type: str
    value: str
    name: str | None = None


@dataclass(eq=False)
class Entity:
    """One catalog entity in Backstage's shape, whatever file it came from."""

    kind: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    title: str | None = None
    description: str | None = None
    type: str | None = None
    lifecycle: str | None = None
    tier: str | None = None
    owner: EntityRef | None = None
    system: EntityRef | None = None
    depends_on: list[EntityRef] = field(default_factory=list)
    members: list[EntityRef] = field(default_factory=list)
    member_of: list[EntityRef] = field(default_factory=list)
    parent: EntityRef | None = None
    children: list[EntityRef] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    source: Path | None = None
    line: int | None = None
    source_format: str = "backstage"
    synthetic: bool = False
    # owners.yaml `oncall.members`: the on-call rotation when it is not the whole team (§3b).
    oncall_members: list[EntityRef] | None = None
    # Field errors found while loading (lenient loading, DESIGN §3): the entity is kept as declared.
    errors: list[CatalogError] = field(default_factory=list)

    @functools.cached_property
    def ref(self) -> EntityRef:
        """This entity's own reference (made once: an entity's kind, namespace and name never change)."""
        return EntityRef(self.kind, self.namespace, self.name)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (refs as strings)."""

        def refs(items: list[EntityRef]) -> list[str]:
            return [str(r) for r in items]

        return {
            "ref": str(self.ref),
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "type": self.type,
            "lifecycle": self.lifecycle,
            "tier": self.tier,
            "owner": str(self.owner) if self.owner else None,
            "system": str(self.system) if self.system else None,
            "depends_on": refs(self.depends_on),
            "members": refs(self.members),
            "member_of": refs(self.member_of),
            "parent": str(self.parent) if self.parent else None,
            "children": refs(self.children),
            "tags": list(self.tags),
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "links": [{"url": k.url, "title": k.title, "type": k.type, "icon": k.icon} for k in self.links],
            "contacts": [{"type": c.type, "value": c.value, "name": c.name} for c in self.contacts],
            "source": str(self.source) if self.source else None,
            "line": self.line,
            "source_format": self.source_format,
            "synthetic": self.synthetic,
            "errors": [str(e) for e in self.errors],
        }


@dataclass
class LoadResult:
    """What reading one or more files produced; the loader merges these into a Catalog."""

    entities: list[Entity] = field(default_factory=list)
    errors: list[CatalogError] = field(default_factory=list)
    warnings: list[CatalogError] = field(default_factory=list)
    objective_sources: list[Any] = field(default_factory=list)  # what ownership.objectives readers found
    codeowners: list[Any] = field(default_factory=list)  # CODEOWNERS files read (codeowners.CodeownersFile)

    def report(self, problem: CatalogError) -> None:
        """File a problem under errors or warnings by its severity."""
        (self.warnings if problem.severity == "warning" else self.errors).append(problem)

    def extend(self, other: LoadResult) -> None:
        """Append everything another result holds."""
        self.entities.extend(other.entities)
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        self.objective_sources.extend(other.objective_sources)
        self.codeowners.extend(other.codeowners)


@dataclass
class Catalog:
    """All entities from every source (unique per kind/namespace/name), plus problems found."""

    entities: list[Entity] = field(default_factory=list)
    errors: list[CatalogError] = field(default_factory=list)
    warnings: list[CatalogError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    objectives: list[Any] = field(default_factory=list)  # ownership.objectives.Objective (DESIGN §3a)
    codeowners: list[Any] = field(default_factory=list)  # CODEOWNERS files (codeowners.CodeownersFile)

    def of_kind(self, kind: str) -> list[Entity]:
        """Entities of one kind (case-insensitive)."""
        wanted = kind.lower()
        return [e for e in self.entities if e.kind.lower() == wanted]

    def counts(self) -> dict[str, int]:
        """Number of entities per kind, for reload results."""
        out: dict[str, int] = {}
        for e in self.entities:
            out[e.kind] = out.get(e.kind, 0) + 1
        return out
