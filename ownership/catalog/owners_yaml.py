"""ownermap's own `owners.yaml`: teams and services, read with the shared Checker, converted to Entity.

One table per entry kind (`TEAM_FIELDS`, `SERVICE_FIELDS`) says each field's type: the reader and
the shipped JSON Schema both come from it. Regenerate the schema after changing a table with
`python -c "from ownership.catalog.owners_yaml import write_schema; write_schema()"`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ownership.catalog.codeowners import CODE_PATHS_ANNOTATION
from ownership.catalog.fields import MAX_NAME, NAME_RE, Checker, finish, name_problem, show, type_name
from ownership.catalog.model import (
    DEFAULT_NAMESPACE,
    ONCALL_ANNOTATION,
    SERVICE_NAMES_ANNOTATION,
    TIMEZONE_ANNOTATION,
    Contact,
    Entity,
    EntityRef,
    Link,
    LoadResult,
)
from ownership.catalog.safe_yaml import YamlDocument, documents_of
from ownership.catalog.timezone import MAX_ZONE, zone_problem
from ownership.objectives.owners_objectives import OwnersObjective

SCHEMA_PATH = Path(__file__).with_name("owners.schema.json")
FILE_NAMES = ("owners.yaml", "owners.yml")
MAX_TEXT, MAX_REF, MAX_TIER = 2048, 256, 64
_ALIAS = re.compile(r"^[^,\s]+$")

FieldType = Literal["name", "text", "ref", "owner", "refs", "aliases", "tier", "objectives", "oncall", "timezone"]
# What an on-call entry without a URL (only `members`, or `{}`) writes into the on-call annotation.
ROTATION_ONLY = "owners.yaml oncall rotation"


@dataclass(frozen=True)
class Oncall:
    """An owners.yaml `oncall` entry: a URL or schedule, and the rotation's members when given."""

    url: str | None = None
    members: list[EntityRef] | None = None

    @property
    def annotation(self) -> str:
        """What the entry writes into the on-call annotation (it always declares on-call)."""
        return self.url or ROTATION_ONLY


@dataclass(frozen=True)
class Field:
    """One field of an owners.yaml entry: its type, description, and a ref's default kind."""

    type: FieldType
    description: str | None = None
    default_kind: str = "group"
    required: bool = False


TEAM_FIELDS: dict[str, Field] = {
    "name": Field("name", "Team name (Backstage name rules).", required=True),
    "title": Field("text", "Display name."),
    "members": Field("refs", "User names or user refs.", default_kind="user"),
    "oncall": Field("oncall", "On-call: a PagerDuty/Opsgenie URL or schedule, or {url, members} (the rotation)."),
    "timezone": Field("timezone", "IANA time zone of the team, e.g. Europe/Berlin (on-call off-hours)."),
    "slack": Field("text", "Slack channel."),
    "email": Field("text", "Team e-mail address."),
    "parent": Field("ref", "Parent team (group ref)."),
}
SERVICE_FIELDS: dict[str, Field] = {
    "name": Field("name", "Service name (Backstage name rules).", required=True),
    "owner": Field("owner", "Owning team (group ref, or a GitHub handle @org/team) or user:<name>."),
    "description": Field("text"),
    "aliases": Field("aliases", "Other telemetry service.name values of this service."),
    "runbook": Field("text", "Runbook URL."),
    "docs": Field("text", "Documentation URL."),
    "tier": Field("tier", "Criticality tier, e.g. 1 or tier-1."),
    "lifecycle": Field("text", "experimental, production, deprecated, ..."),
    "depends_on": Field("refs", "Services (or resource:<name>) this service calls.", default_kind="component"),
    "oncall": Field("oncall", "On-call reference for this service: a URL or schedule, or {url, members}."),
    "objectives": Field("objectives", "Objectives (SLOs): name, sli, target, threshold_ms, window."),
    "path": Field("text", "Directory of the service's code in the repository (CODEOWNERS evidence)."),
}
TOP_LEVEL = ("version", "teams", "services")


def read_entry(check: Checker, item: Mapping[str, Any], fields: dict[str, Field], prefix: str) -> dict[str, Any]:
    """Every field of one entry by its table (absent or bad fields are None or empty)."""
    check.known_keys(item, fields, prefix)
    values: dict[str, Any] = {}
    for key, spec in fields.items():
        path = f"{prefix}.{key}"
        if spec.type == "objectives":
            continue  # read by ownership.objectives.owners_objectives
        if spec.type in ("refs", "aliases"):
            values[key] = _read_list(check, item, key, path, spec)
        elif spec.type == "tier":
            values[key] = check.string_or_int(item, key, path, max_length=MAX_TIER)
        elif spec.type == "oncall":
            values[key] = read_oncall(check, item, key, path)
        elif spec.type == "timezone":
            values[key] = read_timezone(check, item, key, path)
        else:
            limit = {"name": MAX_NAME, "ref": MAX_REF, "owner": MAX_REF}.get(spec.type, MAX_TEXT)
            text = check.string(item, key, path, required=spec.required, max_length=limit)
            values[key] = text.strip() if text is not None and spec.type != "name" else text
            if spec.type == "name" and text is not None and (problem := name_problem(text)):
                check.fail(path, f"{show(text)} {problem}")
            elif spec.type == "ref" and values[key] is not None:
                values[key] = check.parse_ref(values[key], path, spec.default_kind, DEFAULT_NAMESPACE)
            elif spec.type == "owner" and values[key] is not None:
                values[key] = check.owner(item, key, path)
    return values


def read_oncall(check: Checker, item: Mapping[str, Any], key: str, path: str) -> Oncall | None:
    """`oncall`: a string, or a mapping with optional `url` and `members` (user refs); None when absent or bad."""
    value = item.get(key)
    if value is None or isinstance(value, str):
        text = check.string(item, key, path, max_length=MAX_TEXT)
        return Oncall(url=text.strip()) if text is not None else None
    if not isinstance(value, Mapping):
        check.fail(path, f"must be a string or a mapping {{url, members}}, got {type_name(value)}")
        return None
    check.known_keys(value, ("url", "members"), path)
    url = check.string(value, "url", f"{path}.url", max_length=MAX_TEXT)
    members = None
    if value.get("members") is not None:
        members = check.ref_list(value, "members", f"{path}.members", default_kind="user")
    return Oncall(url=url.strip() if url else None, members=members)


def read_timezone(check: Checker, item: Mapping[str, Any], key: str, path: str) -> str | None:
    """`timezone`: an IANA zone name `zoneinfo` knows; None (and an error) otherwise."""
    text = check.string(item, key, path, max_length=MAX_ZONE)
    if text is None:
        return None
    if problem := zone_problem(text.strip()):
        check.fail(path, problem)
        return None
    return text.strip()


def _read_list(check: Checker, item: Mapping[str, Any], key: str, path: str, spec: Field) -> list[Any]:
    if spec.type == "refs":
        return check.ref_list(item, key, path, default_kind=spec.default_kind)
    aliases = []
    for i, alias in enumerate(check.string_list(item, key, path)):
        if len(alias) > MAX_REF:
            check.fail(f"{path}[{i}]", f"must be at most {MAX_REF} characters, got {len(alias)}")
        elif not _ALIAS.match(alias):
            check.fail(f"{path}[{i}]", f"{show(alias)} must not contain commas or whitespace")
        else:
            aliases.append(alias)
    return aliases


def _field_schema(spec: Field, key: str) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    types: dict[str, dict[str, Any]] = {
        "name": {**text, "maxLength": MAX_NAME, "pattern": NAME_RE.pattern},
        "text": {**text, "maxLength": MAX_TEXT},
        "ref": {**text, "maxLength": MAX_REF},
        "owner": {**text, "maxLength": MAX_REF},
        "refs": {"type": "array", "items": {**text, "maxLength": MAX_REF}},
        "aliases": {"type": "array", "items": {**text, "maxLength": MAX_REF, "pattern": _ALIAS.pattern}},
        "tier": {"anyOf": [{**text, "maxLength": MAX_TIER}, {"type": "integer"}]},
        "objectives": {"type": "array", "items": OwnersObjective.model_json_schema()},
        "oncall": {"anyOf": [{**text, "maxLength": MAX_TEXT}, {
            "additionalProperties": False,
            "properties": {
                "members": {"items": {**text, "maxLength": MAX_REF}, "type": "array",
                            "description": "The rotation: user names or user refs (default: the team's members)."},
                "url": {**text, "maxLength": MAX_TEXT, "description": "PagerDuty/Opsgenie URL or schedule."},
            },
            "type": "object",
        }]},
        "timezone": {**text, "maxLength": MAX_ZONE},
    }
    schema = types[spec.type]
    if not spec.required and spec.type not in ("refs", "aliases", "objectives"):
        schema = {"anyOf": [*schema.get("anyOf", [schema]), {"type": "null"}], "default": None}
    out = {**schema, "title": key.replace("_", " ").title()}
    return {**out, "description": spec.description} if spec.description else out


def _entry_schema(title: str, description: str, fields: dict[str, Field]) -> dict[str, Any]:
    return {
        "additionalProperties": False,
        "description": description,
        "properties": {key: _field_schema(spec, key) for key, spec in fields.items()},
        "required": [key for key, spec in fields.items() if spec.required],
        "title": title,
        "type": "object",
    }


def owners_json_schema() -> dict[str, Any]:
    """The JSON Schema of owners.yaml, made from the field tables."""
    return {
        "$defs": {
            "Service": _entry_schema("Service", "A service: becomes a Component entity of type service.",
                                     SERVICE_FIELDS),
            "Team": _entry_schema("Team", "A team: becomes a Group entity of type team.", TEAM_FIELDS),
        },
        "additionalProperties": False,
        "description": "The whole owners.yaml document.",
        "properties": {
            "services": {"items": {"$ref": "#/$defs/Service"}, "title": "Services", "type": "array"},
            "teams": {"items": {"$ref": "#/$defs/Team"}, "title": "Teams", "type": "array"},
            "version": {"anyOf": [{"const": 1, "type": "integer"}, {"type": "null"}], "default": None,
                        "description": "Format version; 1 when given.", "title": "Version"},
        },
        "title": "ownermap owners.yaml",
        "type": "object",
    }


def write_schema(path: Path = SCHEMA_PATH) -> None:
    """Write the JSON Schema file shipped with the package."""
    path.write_text(json.dumps(owners_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_owners_file(path: Path) -> LoadResult:
    """Read one owners.yaml; each bad team or service is reported, the others kept."""
    result = LoadResult()
    docs = documents_of(path, result)
    if docs is None:
        return result
    for doc in docs:
        if doc.data is not None:
            parse_owners_document(doc, path, result)
    return result


def parse_owners_document(doc: YamlDocument, path: Path, result: LoadResult) -> None:
    """Validate one owners.yaml document, appending entities and problems to result."""
    check = Checker(str(path), None, doc)
    data = doc.data
    if not isinstance(data, Mapping):
        check.fail(None, f"document must be a mapping, got {type_name(data)}")
        finish(check, result, [])
        return
    for key in data:
        if key not in TOP_LEVEL:
            check.fail(str(key), f"unknown top-level key; expected {sorted(TOP_LEVEL)}")
    version = data.get("version")
    if version is not None and version != 1:
        check.fail("version", f"unsupported version {show(version)}; expected 1")
    sections = (("teams", TEAM_FIELDS, _team_entity), ("services", SERVICE_FIELDS, _service_entity))
    entries = [(section, fields, convert, check.items(data, section, section)) for section, fields, convert in sections]
    finish(check, result, [])
    for section, fields, convert, items in entries:
        for i, item in enumerate(items):
            prefix = f"{section}[{i}]"
            name = item.get("name") if isinstance(item, Mapping) else None
            entry = Checker(str(path), f"{prefix} {name!r}" if isinstance(name, str) else prefix, doc)
            if not isinstance(item, Mapping):
                entry.fail(prefix, f"must be a mapping, got {type_name(item)}")
                finish(entry, result, [])
                continue
            values = read_entry(entry, item, fields, prefix)
            entity = convert(values, path, doc.line_of(prefix))
            result.entities.extend(finish(entry, result, [entity]))


def _team_entity(team: dict[str, Any], path: Path, line: int) -> Entity:
    entity = Entity(
        kind="Group",
        name=team["name"] or "",
        title=team["title"],
        type="team",
        members=team["members"],
        parent=team["parent"],
        source=path,
        line=line,
        source_format="owners.yaml",
    )
    if team["oncall"]:
        entity.annotations[ONCALL_ANNOTATION] = team["oncall"].annotation
        entity.oncall_members = team["oncall"].members
    if team["timezone"]:
        entity.annotations[TIMEZONE_ANNOTATION] = team["timezone"]
    if team["slack"]:
        entity.contacts.append(Contact(type="slack", value=team["slack"]))
    if team["email"]:
        entity.contacts.append(Contact(type="email", value=team["email"]))
    return entity


def _service_entity(service: dict[str, Any], path: Path, line: int) -> Entity:
    entity = Entity(
        kind="Component",
        name=service["name"] or "",
        type="service",
        description=service["description"],
        lifecycle=service["lifecycle"],
        tier=service["tier"],
        owner=service["owner"],
        depends_on=service["depends_on"],
        source=path,
        line=line,
        source_format="owners.yaml",
    )
    if service["aliases"]:
        entity.annotations[SERVICE_NAMES_ANNOTATION] = ",".join(service["aliases"])
    if service["oncall"]:
        entity.annotations[ONCALL_ANNOTATION] = service["oncall"].annotation
    if service["path"]:
        entity.annotations[CODE_PATHS_ANNOTATION] = service["path"]
    if service["runbook"]:
        entity.links.append(Link(url=service["runbook"], title="Runbook", type="runbook"))
    if service["docs"]:
        entity.links.append(Link(url=service["docs"], title="Docs", type="docs"))
    return entity
