"""ownermap's own `owners.yaml`: teams and services, validated with pydantic, converted to Entity.

Regenerate the shipped JSON Schema after changing the models with
`python -c "from ownership.catalog.owners_yaml import write_schema; write_schema()"`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

from ownership.catalog.fields import name_problem, show, type_name
from ownership.catalog.model import (
    DEFAULT_NAMESPACE,
    ONCALL_ANNOTATION,
    SERVICE_NAMES_ANNOTATION,
    CatalogError,
    Contact,
    Entity,
    EntityRef,
    Link,
    LoadResult,
    RefError,
)
from ownership.catalog.safe_yaml import YamlDocument, read_documents

SCHEMA_PATH = Path(__file__).with_name("owners.schema.json")
FILE_NAMES = ("owners.yaml", "owners.yml")

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"),
]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
Tier = Annotated[
    str,
    BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1, "maxLength": 64}, {"type": "integer"}]}),
]
Alias = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^,\s]+$")]


class Team(BaseModel):
    """A team: becomes a Group entity of type team."""

    model_config = ConfigDict(extra="forbid", title="Team")

    name: Name = Field(description="Team name (Backstage name rules).")
    title: Text | None = Field(None, description="Display name.")
    members: list[Ref] = Field(default_factory=list, description="User names or user refs.")
    oncall: Text | None = Field(None, description="On-call reference: PagerDuty/Opsgenie URL or schedule.")
    slack: Text | None = Field(None, description="Slack channel.")
    email: Text | None = Field(None, description="Team e-mail address.")
    parent: Ref | None = Field(None, description="Parent team (group ref).")


class Service(BaseModel):
    """A service: becomes a Component entity of type service."""

    model_config = ConfigDict(extra="forbid", title="Service")

    name: Name = Field(description="Service name (Backstage name rules).")
    owner: Ref | None = Field(None, description="Owning team (group ref) or user:<name>.")
    description: Text | None = None
    aliases: list[Alias] = Field(
        default_factory=list, description="Other telemetry service.name values of this service."
    )
    runbook: Text | None = Field(None, description="Runbook URL.")
    docs: Text | None = Field(None, description="Documentation URL.")
    tier: Tier | None = Field(None, description="Criticality tier, e.g. 1 or tier-1.")
    lifecycle: Text | None = Field(None, description="experimental, production, deprecated, ...")
    depends_on: list[Ref] = Field(default_factory=list, description="Services (or resource:<name>) this service calls.")
    oncall: Text | None = Field(None, description="On-call reference for this service.")


class OwnersFile(BaseModel):
    """The whole owners.yaml document."""

    model_config = ConfigDict(extra="forbid", title="ownermap owners.yaml")

    version: Literal[1] | None = Field(None, description="Format version; 1 when given.")
    teams: list[Team] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)


def owners_json_schema() -> dict[str, Any]:
    """The JSON Schema of owners.yaml, as generated from the pydantic models."""
    return OwnersFile.model_json_schema()


def write_schema(path: Path = SCHEMA_PATH) -> None:
    """Write the JSON Schema file shipped with the package."""
    path.write_text(json.dumps(owners_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_owners_file(path: Path) -> LoadResult:
    """Read one owners.yaml; each bad team or service is reported, the others kept."""
    result = LoadResult()
    try:
        docs = read_documents(path)
    except CatalogError as exc:
        result.report(exc)
        return result
    for doc in docs:
        if doc.data is not None:
            parse_owners_document(doc, path, result)
    return result


def parse_owners_document(doc: YamlDocument, path: Path, result: LoadResult) -> None:
    """Validate one owners.yaml document, appending entities and problems to result."""
    file, data, line = str(path), doc.data, doc.line
    if not isinstance(data, Mapping):
        result.report(CatalogError(file, f"document must be a mapping, got {type_name(data)}", line=line))
        return
    known = set(OwnersFile.model_fields)
    for key in data:
        if key not in known:
            result.report(
                CatalogError(
                    file, f"unknown top-level key; expected {sorted(known)}", field=str(key), line=doc.line_of(str(key))
                )
            )
    version = data.get("version")
    if version is not None and version != 1:
        result.report(
            CatalogError(
                file, f"unsupported version {show(version)}; expected 1", field="version", line=doc.line_of("version")
            )
        )
    for section, model, convert in (("teams", Team, _team_entity), ("services", Service, _service_entity)):
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            result.report(
                CatalogError(file, f"must be a list, got {type_name(items)}", field=section, line=doc.line_of(section))
            )
            continue
        for i, item in enumerate(items):
            label = f"{section}[{i}]"
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                label = f"{label} {item['name']!r}"
            try:
                parsed = model.model_validate(item)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    where = ".".join([section + f"[{i}]", *(_loc(p) for p in err["loc"])]).replace(".[", "[")
                    result.report(CatalogError(file, _message(err), label, where, doc.line_of(where)))
                continue
            refs = _Refs(file, label, f"{section}[{i}]", doc)
            entity = convert(parsed, path, refs)  # type: ignore[operator]
            for problem in refs.problems:
                result.report(problem)
            if not refs.problems:
                result.entities.append(entity)


def _message(err: Any) -> str:
    """A readable message for one pydantic error, naming the offending value."""
    kind, value, field = err["type"], err.get("input"), str(err["loc"][-1]) if err["loc"] else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "string_pattern_mismatch" and field == "name":
        return f"{show(value)} {name_problem(value) or 'is not a valid name'}"
    if kind == "string_pattern_mismatch":
        return f"{show(value)} must not contain commas or whitespace"
    return f"{err['msg']}, got {show(value)}"


def _loc(part: object) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)


class _Refs:
    """Parses the refs of one entry, collecting problems under that entry's label."""

    def __init__(self, file: str, label: str, prefix: str, doc: YamlDocument) -> None:
        self.file, self.label, self.prefix, self.doc = file, label, prefix, doc
        self.problems: list[CatalogError] = []

    def one(self, value: str | None, kind: str, field: str) -> EntityRef | None:
        if value is None:
            return None
        try:
            return EntityRef.parse(value, default_kind=kind, default_namespace=DEFAULT_NAMESPACE)
        except RefError as exc:
            where = f"{self.prefix}.{field}"
            self.problems.append(CatalogError(self.file, str(exc), self.label, where, self.doc.line_of(where)))
            return None

    def many(self, values: list[str], kind: str, field: str) -> list[EntityRef]:
        refs = [self.one(v, kind, f"{field}[{j}]") for j, v in enumerate(values)]
        return [r for r in refs if r is not None]


def _team_entity(team: Team, path: Path, refs: _Refs) -> Entity:
    entity = Entity(
        kind="Group",
        name=team.name,
        title=team.title,
        type="team",
        members=refs.many(team.members, "user", "members"),
        parent=refs.one(team.parent, "group", "parent"),
        source=path,
        line=refs.doc.line_of(refs.prefix),
        source_format="owners.yaml",
    )
    if team.oncall:
        entity.annotations[ONCALL_ANNOTATION] = team.oncall
    if team.slack:
        entity.contacts.append(Contact(type="slack", value=team.slack))
    if team.email:
        entity.contacts.append(Contact(type="email", value=team.email))
    return entity


def _service_entity(service: Service, path: Path, refs: _Refs) -> Entity:
    entity = Entity(
        kind="Component",
        name=service.name,
        type="service",
        description=service.description,
        lifecycle=service.lifecycle,
        tier=service.tier,
        owner=refs.one(service.owner, "group", "owner"),
        depends_on=refs.many(service.depends_on, "component", "depends_on"),
        source=path,
        line=refs.doc.line_of(refs.prefix),
        source_format="owners.yaml",
    )
    if service.aliases:
        entity.annotations[SERVICE_NAMES_ANNOTATION] = ",".join(service.aliases)
    if service.oncall:
        entity.annotations[ONCALL_ANNOTATION] = service.oncall
    if service.runbook:
        entity.links.append(Link(url=service.runbook, title="Runbook", type="runbook"))
    if service.docs:
        entity.links.append(Link(url=service.docs, title="Docs", type="docs"))
    return entity
