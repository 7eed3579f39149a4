"""owners.yaml: conversion to entities, per-field errors, and the shipped JSON Schema."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ownership.catalog.model import ONCALL_ANNOTATION, SERVICE_NAMES_ANNOTATION, EntityRef
from ownership.catalog.owners_yaml import SCHEMA_PATH, load_owners_file, owners_json_schema

FULL = """\
version: 1
teams:
  - name: payments
    title: Payments Team
    members: [alice, bob]
    oncall: https://example.pagerduty.com/schedules/P1
    slack: "#payments"
    email: payments@example.com
    parent: engineering
  - name: engineering
    members: []
services:
  - name: checkout
    owner: payments
    description: Takes the money.
    aliases: [checkout-svc, CheckoutService]
    runbook: https://runbooks.example/checkout
    docs: https://docs.example/checkout
    tier: 1
    lifecycle: production
    depends_on: [cart, resource:orders-db]
    oncall: https://example.pagerduty.com/services/P2
  - name: legacy-billing
    owner: user:carol
    lifecycle: deprecated
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_full_example_converts_to_groups_and_components(tmp_path: Path) -> None:
    result = load_owners_file(write(tmp_path / "owners.yaml", FULL))
    assert result.errors == []
    payments, engineering, checkout, legacy = result.entities
    assert (payments.kind, payments.type, payments.title) == ("Group", "team", "Payments Team")
    assert payments.members == [EntityRef("user", "default", "alice"), EntityRef("user", "default", "bob")]
    assert payments.parent == EntityRef("group", "default", "engineering")
    assert payments.annotations[ONCALL_ANNOTATION].endswith("/P1")
    assert {(c.type, c.value) for c in payments.contacts} == {("slack", "#payments"), ("email", "payments@example.com")}
    assert payments.source_format == "owners.yaml"
    assert payments.line == 3
    assert engineering.members == []

    assert (checkout.kind, checkout.type, checkout.lifecycle, checkout.tier) == (
        "Component",
        "service",
        "production",
        "1",
    )
    assert checkout.owner == EntityRef("group", "default", "payments")
    assert checkout.annotations[SERVICE_NAMES_ANNOTATION] == "checkout-svc,CheckoutService"
    assert checkout.depends_on == [
        EntityRef("component", "default", "cart"),
        EntityRef("resource", "default", "orders-db"),
    ]
    assert {link.type for link in checkout.links} == {"runbook", "docs"}
    assert legacy.owner == EntityRef("user", "default", "carol")


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ("{name: x, owner: 5}", "services[0].owner", "must be a string, got number"),
        ("{name: x, aliases: x}", "services[0].aliases", "must be a list, got string"),
        ("{name: x, aliases: ['a,b']}", "services[0].aliases[0]", "commas"),
        ("{name: x, depends_on: [':x']}", "services[0].depends_on[0]", "empty kind"),
        ("{name: x, owner: 'group:'}", "services[0].owner", "empty name"),
        ("{name: x, owner: 'a/'}", "services[0].owner", "empty name"),
        ("{name: '<script>alert(1)</script>'}", "services[0].name", "letters, digits"),
        ("{owner: t}", "services[0].name", "required"),
        ("{name: x, ownr: t}", "services[0].ownr", "not a known field"),
        ("{name: x, tier: [1]}", "services[0].tier", "must be a string or an integer, got list"),
        ("just-a-string", "services[0]", "must be a mapping, got string"),
    ],
)
def test_service_field_errors(tmp_path: Path, entry: str, field: str, words: str) -> None:
    path = write(tmp_path / "owners.yaml", f"services:\n  - {entry}\n  - {{name: fine, owner: t}}\n")
    result = load_owners_file(path)
    assert [e.name for e in result.entities][-1] == "fine", "a bad entry never hides a good one"
    assert field in [e.field for e in result.errors]
    error = next(e for e in result.errors if e.field == field)
    if len(result.entities) == 2:  # an entry with a name is kept with its errors (lenient loading)
        assert error in result.entities[0].errors
    else:
        assert field in ("services[0].name", "services[0]")
    assert words in error.message
    assert error.file == str(path)
    assert error.entity and error.entity.startswith("services[0]")
    assert error.line == 2
    assert str(path) in str(error) and field in str(error)


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ('{name: t, members: "x"}', "teams[0].members", "must be a list, got string"),
        ("{name: t, members: [5]}", "teams[0].members[0]", "must be a string, got number"),
        ("{name: t, parent: 'group:'}", "teams[0].parent", "empty name"),
        ("{name: t, oncall: 5}", "teams[0].oncall", "must be a string or a mapping {url, members}, got number"),
    ],
)
def test_team_field_errors(tmp_path: Path, entry: str, field: str, words: str) -> None:
    result = load_owners_file(write(tmp_path / "owners.yaml", f"teams:\n  - {entry}\n"))
    error = next(e for e in result.errors if e.field == field)
    (team,) = result.entities  # lenient loading: kept with its errors
    assert team.errors == [error]
    assert words in error.message
    assert error.entity == "teams[0] 't'"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("teams: {a: 1}\n", "teams"),
        ("services: x\n", "services"),
        ("team: []\n", "team"),
        ("version: 2\n", "version"),
    ],
)
def test_top_level_errors(tmp_path: Path, text: str, field: str) -> None:
    result = load_owners_file(write(tmp_path / "owners.yaml", text))
    assert field in [e.field for e in result.errors]


def test_non_mapping_document(tmp_path: Path) -> None:
    result = load_owners_file(write(tmp_path / "owners.yaml", "- a\n- b\n"))
    (error,) = result.errors
    assert "mapping" in error.message


def test_empty_file_is_fine(tmp_path: Path) -> None:
    result = load_owners_file(write(tmp_path / "owners.yaml", "# nothing yet\n"))
    assert result.entities == [] and result.errors == []


def test_shipped_schema_matches_the_model() -> None:
    shipped = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert shipped == owners_json_schema(), (
        "owners.schema.json is stale: run "
        "python -c 'from ownership.catalog.owners_yaml import write_schema; write_schema()'"
    )


def test_schema_describes_the_format() -> None:
    schema = owners_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"version", "teams", "services"}
    service = schema["$defs"]["Service"]["properties"]
    assert {"name", "owner", "aliases", "runbook", "docs", "tier", "lifecycle", "depends_on", "oncall"} <= set(service)
    team = schema["$defs"]["Team"]["properties"]
    assert {"name", "members", "oncall", "slack", "parent", "email"} <= set(team)
