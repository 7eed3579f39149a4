"""Datadog service definitions v2, v2.1 and v2.2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ownership.catalog.datadog import SERVICE_ANNOTATION, entity_name, load_datadog_file
from ownership.catalog.model import ONCALL_ANNOTATION, EntityRef

V2 = """\
schema-version: v2
dd-service: shopping-cart
team: e-commerce
contacts:
  - {type: slack, contact: "https://example.slack.com/archives/C1"}
  - {name: Support, type: email, contact: team@example.com}
links:
  - {name: Runbook, type: runbook, url: https://runbooks.example/cart}
  - {name: Dash, type: dashboard, url: https://dd.example/dash}
repos:
  - {name: cart, provider: github, url: https://github.com/org/cart}
docs:
  - {name: Cart docs, provider: confluence, url: https://wiki.example/cart}
tags: ["business-unit:retail"]
integrations:
  pagerduty: https://example.pagerduty.com/service-directory/PSHOP
"""

V21 = """\
schema-version: v2.1
dd-service: payments-api
team: payments
application: shop
description: Takes payments.
tier: "1"
lifecycle: production
links:
  - {name: Docs, type: doc, url: https://docs.example/pay}
integrations:
  pagerduty: {service-url: https://example.pagerduty.com/service-directory/PPAY}
  opsgenie: {service-url: https://example.app.opsgenie.com/service/123, region: US}
"""

V22 = """\
schema-version: v2.2
dd-service: web-store
team: storefront
type: web
languages: [go, python]
lifecycle: beta
links:
  - {name: Anything, type: my-custom-type, url: https://x.example}
contacts:
  - {type: pager, contact: "+1 555 0100"}
"""


def write(tmp_path: Path, text: str, name: str = "service.datadog.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_v2(tmp_path: Path) -> None:
    result = load_datadog_file(write(tmp_path, V2))
    assert result.errors == []
    component, team = result.entities
    assert (component.kind, component.name, component.type) == ("Component", "shopping-cart", "service")
    assert component.owner == EntityRef("group", "default", "e-commerce")
    assert component.annotations[SERVICE_ANNOTATION] == "shopping-cart"
    assert component.annotations[ONCALL_ANNOTATION].endswith("PSHOP")
    assert {link.type for link in component.links} == {"runbook", "dashboard", "repo", "doc"}
    assert {c.type for c in component.contacts} == {"slack", "email"}
    assert component.source_format == "datadog"
    assert (team.kind, team.name, team.synthetic) == ("Group", "e-commerce", True)


def test_v21(tmp_path: Path) -> None:
    result = load_datadog_file(write(tmp_path, V21))
    assert result.errors == []
    component, _ = result.entities
    assert (component.tier, component.lifecycle, component.description) == ("1", "production", "Takes payments.")
    assert component.annotations[ONCALL_ANNOTATION].endswith("PPAY")
    assert component.annotations["datadoghq.com/application"] == "shop"


def test_v22_free_link_and_contact_types(tmp_path: Path) -> None:
    result = load_datadog_file(write(tmp_path, V22))
    assert result.errors == []
    component, _ = result.entities
    assert component.links[0].type == "my-custom-type"
    assert component.annotations["datadoghq.com/type"] == "web"
    assert component.annotations["datadoghq.com/languages"] == "go,python"
    assert ONCALL_ANNOTATION not in component.annotations


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("schema-version: v2\nteam: x\n", "dd-service", "required"),
        ("schema-version: v1\ndd-service: x\n", "schema-version", "v2, v2.1, v2.2"),
        ("dd-service: x\nteam: y\n", "schema-version", "must be one of"),
        (
            "schema-version: v2\ndd-service: x\nintegrations: {pagerduty: {service-url: u}}\n",
            "integrations.pagerduty",
            "URL string in v2",
        ),
        (
            "schema-version: v2.1\ndd-service: x\nintegrations: {pagerduty: https://pd}\n",
            "integrations.pagerduty",
            "mapping with service-url",
        ),
        (
            "schema-version: v2.1\ndd-service: x\nintegrations: {opsgenie: {region: US}}\n",
            "integrations.opsgenie.service-url",
            "required",
        ),
        (
            "schema-version: v2.1\ndd-service: x\nlinks: [{name: a, type: wiki, url: u}]\n",
            "links[0].type",
            "must be one of",
        ),
        (
            "schema-version: v2\ndd-service: x\nlinks: [{name: a, type: other, url: u}]\n",
            "links[0].type",
            "must be one of",
        ),
        ("schema-version: v2.1\ndd-service: x\nrepos: [{name: a, url: u}]\n", "repos", "not part of schema v2.1"),
        (
            "schema-version: v2\ndd-service: x\ncontacts: [{type: pager, contact: c}]\n",
            "contacts[0].type",
            "must be one of",
        ),
        ("schema-version: v2\ndd-service: x\ncontacts: [{type: email}]\n", "contacts[0].contact", "required"),
        ("schema-version: v2.2\ndd-service: x\ntype: mainframe\n", "type", "must be one of"),
        ("schema-version: v2\ndd-service: x\nteam: 5\n", "team", "must be a string"),
        ("schema-version: v2\ndd-service: x\nlinks: x\n", "links", "must be a list"),
        ("schema-version: v2.1\ndd-service: x\ntier: [1]\n", "tier", "must be a string"),
    ],
)
def test_version_specific_errors(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = write(tmp_path, text)
    result = load_datadog_file(path)
    error = next(e for e in result.errors if e.field == field)
    components = [e for e in result.entities if e.kind == "Component"]
    if field in ("dd-service", "schema-version"):
        assert components == []  # no name or no known schema: unusable, dropped
    else:
        (component,) = components  # lenient loading: kept, the error attached
        assert error in component.errors
    assert words in error.message
    assert error.file == str(path)
    assert field in str(error)


def test_multi_document_file_keeps_good_definitions(tmp_path: Path) -> None:
    text = V21 + "---\nschema-version: v9\ndd-service: broken\n---\n- not a mapping\n---\n" + V22
    result = load_datadog_file(write(tmp_path, text))
    assert [e.name for e in result.entities if e.kind == "Component"] == ["payments-api", "web-store"]
    assert len(result.errors) == 2


def test_unknown_keys_warn(tmp_path: Path) -> None:
    result = load_datadog_file(write(tmp_path, "schema-version: v2\ndd-service: x\ntier: high\n"))
    assert result.errors == []
    assert result.warnings[0].field == "tier"


def test_awkward_service_names_become_valid_entity_names(tmp_path: Path) -> None:
    result = load_datadog_file(write(tmp_path, "schema-version: v2\ndd-service: 'shop/checkout api'\nteam: Team A\n"))
    component, team = result.entities
    assert component.name == "shop-checkout-api"
    assert component.annotations[SERVICE_ANNOTATION] == "shop/checkout api"
    assert team.name == "Team-A" and team.title == "Team A"
    assert result.warnings[0].field == "dd-service"
    assert entity_name("...") == "unnamed"
    assert len(entity_name("x" * 300)) == 63
