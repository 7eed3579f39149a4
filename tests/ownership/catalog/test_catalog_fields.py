"""One validation style: a field error reads the same in Backstage, Datadog and owners.yaml files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownership.catalog import CatalogError, load_catalog

BACKSTAGE = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {{name: checkout{metadata}}}
spec: {{type: service, lifecycle: production, owner: payments{spec}}}
"""


def backstage(metadata: str = "", spec: str = "") -> tuple[str, str]:
    return "catalog-info.yaml", BACKSTAGE.format(metadata=metadata, spec=spec)


def datadog(extra: str) -> tuple[str, str]:
    return "service.datadog.yaml", f"schema-version: v2.1\ndd-service: checkout\n{extra}\n"


def owners(entry: str) -> tuple[str, str]:
    return "owners.yaml", f"services:\n  - {{name: checkout, {entry}}}\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param({"metadata.description": backstage(metadata=", description: 5"),
                      "description": datadog("description: 5"),
                      "services[0].description": owners("description: 5")},
                     "must be a string, got number", id="text-not-a-string"),
        pytest.param({"metadata.tags": backstage(metadata=", tags: x"),
                      "tags": datadog("tags: x"),
                      "services[0].aliases": owners("aliases: x")},
                     "must be a list, got string", id="list-not-a-list"),
        pytest.param({"spec.owner": backstage(spec=", owner: 5"),
                      "team": datadog("team: 5"),
                      "services[0].owner": owners("owner: 5")},
                     "must be a string, got number", id="owner-not-a-string"),
        pytest.param({"spec.dependsOn[0]": backstage(spec=", dependsOn: [5]"),
                      "services[0].depends_on[0]": owners("depends_on: [5]")},
                     "must be a string, got number", id="ref-item-not-a-string"),
        pytest.param({"tier": datadog("tier: [1]"),
                      "services[0].tier": owners("tier: [1]")},
                     "must be a string or an integer, got list", id="tier"),
    ],
)
def test_a_field_error_reads_the_same_in_every_format(
    tmp_path: Path, files: dict[str, tuple[str, str]], message: str
) -> None:
    for field, (name, text) in files.items():
        directory = tmp_path / field.replace("[", "_").replace("]", "_")
        directory.mkdir()
        path = directory / name
        path.write_text(text, encoding="utf-8")
        catalog = load_catalog([directory])
        errors = [e for e in catalog.errors if e.field == field]
        assert len(errors) == 1, [str(e) for e in catalog.errors]
        error: CatalogError = errors[0]
        assert (error.file, error.field, error.message) == (str(path.resolve()), field, message)
        assert error.entity and error.line is not None
        assert str(error) == f"{error.file}:{error.line}: entity {error.entity}: field {field}: {message}"
        (entity,) = [e for e in catalog.entities if e.kind == "Component"]
        assert entity.errors == [error], "lenient loading keeps the entity with its errors attached"
