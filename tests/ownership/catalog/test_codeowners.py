"""CODEOWNERS files: where a checkout keeps one, the directory of an entry (source-location, Datadog v3
codeLocations, owners.yaml path) or of an undocumented service, and a directory's owners."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ownership.catalog import load_catalog
from ownership.catalog.codeowners import (
    CODE_PATHS_ANNOTATION,
    entity_paths,
    find_file,
    load_codeowners,
    service_paths,
    source_location_path,
)
from ownership.catalog.model import CatalogError


@pytest.mark.parametrize("location", [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"])
def test_a_checkouts_codeowners_is_found_where_github_looks(tmp_path: Path, location: str) -> None:
    (tmp_path / location).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / location).write_text("* @o/t\n", encoding="utf-8")
    assert find_file(tmp_path) == (tmp_path.resolve() / location, tmp_path.resolve())


def test_github_prefers_dot_github_then_the_root_then_docs(tmp_path: Path) -> None:
    for location in ("docs/CODEOWNERS", "CODEOWNERS", ".github/CODEOWNERS"):
        (tmp_path / location).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / location).write_text("* @o/t\n", encoding="utf-8")
    assert find_file(tmp_path)[0].relative_to(tmp_path.resolve()) == Path(".github/CODEOWNERS")
    assert find_file(tmp_path / "docs" / "CODEOWNERS") == (tmp_path / "docs" / "CODEOWNERS", None)


def test_a_checkout_without_codeowners_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no CODEOWNERS file"):
        load_codeowners(tmp_path)


@pytest.mark.parametrize(("value", "path"), [
    ("url:https://github.com/acme/mono/tree/main/services/payments/", "services/payments/"),
    ("https://github.com/acme/mono/tree/main/services/payments", "services/payments"),
    ("url:https://github.com/acme/mono/blob/v1.2/apps/web/catalog-info.yaml", "apps/web/catalog-info.yaml"),
    ("url:https://github.com/acme/payments/tree/main/", ""),
    ("url:https://github.com/acme/payments", ""),
    ("url:https://gitlab.example/acme/mono/-/tree/main/svc/x?ref_type=heads", "svc/x"),
    ("", None),
])
def test_source_location_paths(value: str, path: str | None) -> None:
    assert source_location_path(value) == path


def test_entry_paths_from_each_catalog_format(tmp_path: Path) -> None:
    (tmp_path / "owners.yaml").write_text("version: 1\nteams: [{name: pay, members: [a]}]\n"
                                          "services: [{name: ledger, owner: pay, path: services/ledger}]\n",
                                          encoding="utf-8")
    (tmp_path / "search.yaml").write_text(textwrap.dedent("""\
        apiVersion: v3
        kind: service
        metadata: {name: search, owner: pay}
        datadog:
          codeLocations:
            - repositoryURL: https://github.com/acme/mono
              paths: [services/search/**, libs/search/**]
        """), encoding="utf-8")
    (tmp_path / "catalog-info.yaml").write_text(textwrap.dedent("""\
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: web
          annotations: {backstage.io/source-location: "url:https://github.com/acme/mono/tree/main/apps/web/"}
        spec: {type: service, lifecycle: production, owner: pay}
        """), encoding="utf-8")
    catalog = load_catalog([tmp_path])
    assert catalog.errors == [], [str(e) for e in catalog.errors]
    paths = {e.name: entity_paths(e) for e in catalog.entities if e.kind == "Component"}
    assert paths == {"ledger": ["services/ledger"], "search": ["services/search/**", "libs/search/**"],
                     "web": ["apps/web/"]}
    assert CODE_PATHS_ANNOTATION in next(e for e in catalog.entities if e.name == "ledger").annotations


def test_undocumented_services_are_looked_for_in_this_order() -> None:
    assert service_paths("cart") == ["cart/", "services/cart/", "apps/cart/"]


def test_in_a_checkout_the_first_existing_directory_decides(tmp_path: Path) -> None:
    (tmp_path / "CODEOWNERS").write_text("* @o/all\n/services/cart/ @o/cart\n*.js @o/js\n", encoding="utf-8")
    (tmp_path / "apps" / "cart").mkdir(parents=True)
    (tmp_path / "apps" / "cart" / "index.js").write_text("", encoding="utf-8")
    file = load_codeowners(tmp_path)
    # services/cart/ has a rule but does not exist; apps/cart/ exists and holds a .js file (the last rule)
    assert file.owners_for(service_paths("cart")) == ("apps/cart", ["@o/js"], 3)
    assert file.owners_for(["../outside"]) is None


def test_a_glob_path_stands_for_its_directory(tmp_path: Path) -> None:
    (tmp_path / "CODEOWNERS").write_text("/services/search/ @o/search\n", encoding="utf-8")
    assert load_codeowners(tmp_path / "CODEOWNERS").owners_for(["services/search/**"]) == \
        ("services/search", ["@o/search"], 1)


def test_a_codeowners_file_alone_uses_the_first_candidate_with_a_matching_rule(tmp_path: Path) -> None:
    (tmp_path / "CODEOWNERS").write_text("/services/cart/ @o/cart\n", encoding="utf-8")
    file = load_codeowners(tmp_path / "CODEOWNERS")
    assert file.root is None
    assert file.owners_for(service_paths("cart")) == ("services/cart", ["@o/cart"], 1)
    assert file.owners_for(service_paths("other")) is None


def test_paths_escaping_the_checkout_are_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "CODEOWNERS").write_text("* @o/all\n", encoding="utf-8")
    (tmp_path / "secret").mkdir()
    assert load_codeowners(repo).owners_for(["../secret"]) is None
