"""The one owner normaliser (ownership/catalog/owner_ref.py) and the loaders that use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownership.catalog import EntityRef, RefError, load_catalog
from ownership.catalog.owner_ref import parse_owner
from ownership.identity import CatalogIndex


@pytest.mark.parametrize(
    ("text", "namespace", "expected"),
    [
        ("payments", "default", EntityRef("group", "default", "payments")),
        ("Payments", "shop", EntityRef("group", "shop", "payments")),
        ("default/payments", "shop", EntityRef("group", "default", "payments")),
        ("group:default/payments", "shop", EntityRef("group", "default", "payments")),
        ("user:alice", "shop", EntityRef("user", "shop", "alice")),
        ("@acme/payments", "shop", EntityRef("github", "acme", "payments")),
        ("@alice", "shop", EntityRef("user", "default", "alice")),
    ],
)
def test_owner_refs_follow_backstage_rules(text: str, namespace: str, expected: EntityRef) -> None:
    assert parse_owner(text, namespace) == expected


@pytest.mark.parametrize("text", ["@", "@/x", "@acme/", "@a/b/c", "group:", "", 5])
def test_bad_owner_refs_are_errors(text: object) -> None:
    with pytest.raises(RefError):
        parse_owner(text)


def test_a_github_team_handle_in_owners_yaml_resolves_through_the_team_slug(tmp_path: Path) -> None:
    (tmp_path / "owners.yaml").write_text(
        "services:\n  - {name: checkout, owner: '@acme/payments'}\n", encoding="utf-8")
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\n"
        "metadata: {name: payments, annotations: {github.com/team-slug: acme/payments}}\n"
        "spec: {type: team, children: [], members: [alice]}\n", encoding="utf-8")
    catalog = load_catalog([tmp_path])
    assert (catalog.errors, catalog.warnings) == ([], [])
    index = CatalogIndex(catalog)
    checkout = index.match_service("checkout").entity
    resolved = index.owner_of(checkout)
    assert (resolved.name, resolved.status) == ("payments", "ok")
