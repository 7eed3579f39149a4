"""load_catalog / validate_paths: discovery, Location following, confinement, merging, scale."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import pytest

from ownership.catalog import backstage, load_catalog, validate_paths
from ownership.catalog.loader import classify, sniff
from ownership.catalog.walk import WalkLimits


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def component(name: str, owner: str = "payments", extra: str = "") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata: {{name: {name}}}\nspec: {{type: service, lifecycle: production, owner: {owner}{extra}}}\n"
    )


GROUP = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: payments}\nspec: {type: team, children: []}\n"


def refs(catalog: object) -> list[str]:
    return sorted(str(e.ref) for e in catalog.entities)  # type: ignore[attr-defined]


def test_classify_and_sniff() -> None:
    assert classify(Path("owners.yaml")) == "owners"
    assert classify(Path("x/OWNERS.yml")) == "owners"
    assert classify(Path("service.datadog.yaml")) == "datadog"
    assert classify(Path("api.datadog.yml")) == "datadog"
    assert classify(Path("catalog-info.yaml")) == "backstage"
    assert classify(Path("team.yaml")) is None
    assert sniff("apiVersion: backstage.io/v1alpha1\n") == "backstage"
    assert sniff("schema-version: v2\ndd-service: x\n") == "datadog"
    assert sniff("apiVersion: apps/v1\nkind: Deployment\n") is None
    deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: {backstage.io/kubernetes-id: x}\n"
    assert sniff(deployment) is None


def test_directory_is_searched_recursively_across_all_formats(tmp_path: Path) -> None:
    write(tmp_path / "catalog-info.yaml", GROUP)
    write(tmp_path / "svc" / "a" / "catalog-info.yaml", component("alpha"))
    write(tmp_path / "svc" / "b" / "whatever.yml", component("beta"))  # found by apiVersion
    write(tmp_path / "teams" / "owners.yaml", "teams: [{name: search, members: [bob]}]\nservices: [{name: gamma}]\n")
    write(tmp_path / "dd" / "service.datadog.yaml", "schema-version: v2.1\ndd-service: delta\nteam: platform\n")
    write(tmp_path / "dd" / "other.yaml", "schema-version: v2\ndd-service: epsilon\n")  # found by content
    write(tmp_path / "k8s" / "deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n")  # ignored
    write(tmp_path / "helm" / "tpl.yaml", "name: {{ .Values.name }\n  bad: [")  # unrelated, broken: ignored
    write(tmp_path / ".git" / "catalog-info.yaml", component("hidden"))  # hidden dirs skipped
    write(tmp_path / "README.md", "apiVersion: backstage.io/v1alpha1")
    catalog = load_catalog([tmp_path])
    assert catalog.errors == []
    assert refs(catalog) == [
        "component:default/alpha",
        "component:default/beta",
        "component:default/delta",
        "component:default/epsilon",
        "component:default/gamma",
        "group:default/payments",
        "group:default/platform",
        "group:default/search",
    ]
    assert len(catalog.files) == 6
    assert catalog.counts() == {"Group": 3, "Component": 5}


def test_one_uniform_model(tmp_path: Path) -> None:
    write(tmp_path / "owners.yaml", "services: [{name: a, owner: t, runbook: https://r}]\n")
    write(tmp_path / "service.datadog.yaml", "schema-version: v2\ndd-service: b\nteam: t2\n")
    write(tmp_path / "catalog-info.yaml", component("c", owner="t3"))
    catalog = load_catalog([tmp_path])
    formats = {e.name: (e.kind, e.type, e.source_format) for e in catalog.entities}
    assert formats["a"] == ("Component", "service", "owners.yaml")
    assert formats["b"] == ("Component", "service", "datadog")
    assert formats["c"] == ("Component", "service", "backstage")
    assert formats["t2"] == ("Group", "team", "datadog")
    assert all(isinstance(e.to_dict(), dict) for e in catalog.entities)


def test_location_targets_are_followed_and_cycles_stop(tmp_path: Path) -> None:
    root = tmp_path / "root"
    entry = write(
        root / "all.yml",
        """\
        apiVersion: backstage.io/v1alpha1
        kind: Location
        metadata: {name: root}
        spec:
          targets: [./teams/payments.yaml, ./services/*.yaml, ./loop.yaml]
        """,
    )
    write(root / "teams" / "payments.yaml", GROUP)
    write(root / "services" / "a.yaml", component("a"))
    write(root / "services" / "b.yaml", component("b"))
    write(
        root / "loop.yaml",
        """\
        apiVersion: backstage.io/v1alpha1
        kind: Location
        metadata: {name: loop}
        spec: {target: ./all.yml}
        """,
    )
    catalog = load_catalog([entry])  # a single file: its directory is the root
    assert catalog.errors == []
    assert refs(catalog) == [
        "component:default/a",
        "component:default/b",
        "group:default/payments",
        "location:default/loop",
        "location:default/root",
    ]


def test_location_target_keeps_the_format_its_name_implies(tmp_path: Path) -> None:
    write(
        tmp_path / "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: l}\n"
        "spec: {targets: [./teams/owners.yaml, ./x/service.datadog.yaml]}\n",
    )
    write(tmp_path / "teams" / "owners.yaml", "teams: [{name: search, members: [bob]}]\n")
    write(tmp_path / "x" / "service.datadog.yaml", "schema-version: v2\ndd-service: recs\n")
    catalog = load_catalog([tmp_path / "catalog-info.yaml"])
    assert catalog.errors == []
    assert refs(catalog) == ["component:default/recs", "group:default/search", "location:default/l"]


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "../secret.yaml"])
def test_location_cannot_escape_the_root(tmp_path: Path, target: str) -> None:
    root = tmp_path / "root"
    write(tmp_path / "secret.yaml", component("secret"))
    write(
        root / "catalog-info.yaml",
        f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {{name: evil}}\nspec: {{target: '{target}'}}\n",
    )
    catalog = load_catalog([root])
    assert "component:default/secret" not in refs(catalog)
    (error,) = catalog.errors
    assert "outside the catalog root" in error.message
    assert error.entity == "location:default/evil"
    assert error.field == "spec.target"
    assert error.line == 1


def test_symlinks_escaping_the_root_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = write(tmp_path / "outside" / "catalog-info.yaml", component("outsider"))
    root.mkdir()
    (root / "catalog-info.yaml").symlink_to(outside)
    (root / "linked-dir").symlink_to(outside.parent, target_is_directory=True)
    write(root / "ok" / "catalog-info.yaml", component("insider"))
    catalog = load_catalog([root])
    assert refs(catalog) == ["component:default/insider"]
    assert any("symlink points outside" in e.message for e in catalog.errors)


def test_symlink_inside_the_root_is_read_once(tmp_path: Path) -> None:
    real = write(tmp_path / "a" / "catalog-info.yaml", component("once"))
    (tmp_path / "b.yaml").symlink_to(real)
    catalog = load_catalog([tmp_path, real])
    assert refs(catalog) == ["component:default/once"]
    assert catalog.errors == []


def test_duplicates_are_reported_case_insensitively(tmp_path: Path) -> None:
    write(tmp_path / "a" / "catalog-info.yaml", component("Checkout"))
    write(tmp_path / "b" / "catalog-info.yaml", component("checkout"))
    write(tmp_path / "owners.yaml", "services: [{name: CHECKOUT, owner: payments}]\n")
    catalog = load_catalog([tmp_path])
    # files of a directory come before its subdirectories; the first one read wins
    assert [e.name for e in catalog.entities] == ["CHECKOUT"]
    assert len(catalog.errors) == 2
    assert all("duplicate" in e.message and e.field == "metadata.name" for e in catalog.errors)


def test_declared_group_wins_over_datadog_team(tmp_path: Path) -> None:
    write(tmp_path / "catalog-info.yaml", GROUP)
    write(tmp_path / "service.datadog.yaml", "schema-version: v2\ndd-service: x\nteam: payments\n")
    write(tmp_path / "other.datadog.yaml", "schema-version: v2\ndd-service: y\nteam: payments\n")
    catalog = load_catalog([tmp_path])
    assert catalog.errors == []
    (group,) = catalog.of_kind("group")
    assert not group.synthetic


def test_dangling_owner_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "catalog-info.yaml", component("x", owner="nobody"))
    catalog = load_catalog([tmp_path])
    assert catalog.errors == []
    (warning,) = catalog.warnings
    assert warning.field == "spec.owner" and "group:default/nobody" in warning.message


def test_validate_paths_reports_file_field_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing_field = write(tmp_path / "svc" / "catalog-info.yaml", component("x").replace("owner: payments", ""))
    bad_yaml = write(
        tmp_path / "bad" / "catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: x\n\tmetadata: {}\n"
    )
    unreadable = write(tmp_path / "locked" / "owners.yaml", "teams: []\n")
    original = Path.open

    def guarded_open(self: Path, *args: object, **kwargs: object) -> object:
        if self == unreadable.resolve():
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_open)
    errors = validate_paths([tmp_path, tmp_path / "does-not-exist"])
    by_file = {e.file: e for e in errors}
    assert by_file[str(missing_field.resolve())].field == "spec.owner"
    assert by_file[str(bad_yaml.resolve())].line == 3
    assert "Permission denied" in by_file[str(unreadable.resolve())].message
    assert "does not exist" in by_file[str(tmp_path / "does-not-exist")].message
    assert len(errors) == 4


def test_unrecognised_explicit_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "random.yaml", "a: 1\n")
    (error,) = validate_paths([path])
    assert "not a recognised catalog file" in error.message


def test_valid_catalog_validates_clean(tmp_path: Path) -> None:
    write(tmp_path / "catalog-info.yaml", GROUP + "---\n" + component("x"))
    assert validate_paths([tmp_path]) == []


def test_empty_directory_is_a_warning(tmp_path: Path) -> None:
    catalog = load_catalog([tmp_path])
    assert catalog.errors == [] and catalog.entities == []
    assert "no catalog files" in catalog.warnings[0].message


def test_bomb_in_a_directory_harms_nothing_else(tmp_path: Path) -> None:
    bomb = "apiVersion: backstage.io/v1alpha1\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        prev = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    write(tmp_path / "bomb" / "catalog-info.yaml", bomb)
    write(tmp_path / "ok" / "catalog-info.yaml", component("survivor"))
    start = time.perf_counter()
    catalog = load_catalog([tmp_path])
    assert time.perf_counter() - start < 5
    assert refs(catalog) == ["component:default/survivor"]
    assert "alias" in catalog.errors[0].message


def test_ten_thousand_entities_load_quickly(tmp_path: Path) -> None:
    docs = [GROUP]
    docs += [component(f"svc-{i}", extra=f", dependsOn: ['component:svc-{i + 1}']") for i in range(10_000)]
    write(tmp_path / "catalog-info.yaml", "---\n".join(docs))
    start = time.perf_counter()
    catalog = load_catalog([tmp_path])
    elapsed = time.perf_counter() - start
    assert catalog.errors == []
    assert len(catalog.entities) == 10_001
    assert elapsed < 15, f"10 000 entities took {elapsed:.1f}s"


GLOB_LOCATION = (
    "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: everything}\n"
    "spec: {targets: ['./**/*.yaml']}\n"
)


def test_location_glob_through_a_symlink_to_slash_ends_quickly(tmp_path: Path) -> None:
    """Issue #14 item 7: `./**/*.yaml` with `slash -> /` in the root used to walk the whole disk."""
    root = tmp_path / "root"
    write(root / "catalog-info.yaml", GLOB_LOCATION)
    write(root / "teams" / "payments.yaml", GROUP)
    (root / "slash").symlink_to("/", target_is_directory=True)
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(load_catalog([root / "catalog-info.yaml"])), daemon=True)
    worker.start()
    worker.join(5.0)
    assert done, "loading a Location glob through a symlink to / did not finish within 5 s"
    catalog = done[0]
    assert refs(catalog) == ["group:default/payments", "location:default/everything"]
    (error,) = catalog.errors  # type: ignore[attr-defined]
    assert error.entity == "location:default/everything" and error.field == "spec.target"
    assert "symlink" in error.message and "slash" in error.message and "not followed" in error.message


def test_location_glob_over_its_bound_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backstage, "GLOB_LIMITS", WalkLimits(max_entries=1_000_000, max_files=20, max_seconds=5))
    write(tmp_path / "catalog-info.yaml", GLOB_LOCATION)
    for i in range(30):
        write(tmp_path / "many" / f"c{i:02}.yaml", component(f"c{i:02}"))
    catalog = load_catalog([tmp_path / "catalog-info.yaml"])
    assert refs(catalog) == ["location:default/everything"]  # nothing half-read
    (error,) = catalog.errors
    assert error.entity == "location:default/everything"
    assert "'./**/*.yaml'" in error.message and "more than 20 files" in error.message
