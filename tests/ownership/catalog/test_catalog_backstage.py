"""Backstage descriptors: entity refs, validation rules, multi-document files, hostile YAML."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ownership.catalog.backstage import load_backstage_file, resolve_target
from ownership.catalog.model import CatalogError, EntityRef, RefError
from ownership.catalog.safe_yaml import MAX_FILE_BYTES, parse_documents


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


COMPONENT = """\
    apiVersion: backstage.io/v1alpha1
    kind: Component
    metadata:
      name: checkout
      namespace: shop
      title: Checkout
      annotations:
        pagerduty.com/service-id: P123
      links:
        - url: https://runbooks.example/checkout
          title: Runbook
      tags: [python, payments]
    spec:
      type: service
      lifecycle: production
      owner: payments
      system: store
      dependsOn: [component:cart, resource:default/orders-db]
    """


# -- entity references -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "namespace", "name"),
    [
        ("payments", "group", "shop", "payments"),
        ("user:alice", "user", "shop", "alice"),
        ("group:ops/sre", "group", "ops", "sre"),
        ("ops/sre", "group", "ops", "sre"),
        # the first ':' ends the kind only when no '/' comes before it
        ("ns/a:b", "group", "ns", "a:b"),
        ("Group:Default/Payments", "Group", "Default", "Payments"),
        ("  component:x  ", "component", "shop", "x"),
    ],
)
def test_ref_parsing(text: str, kind: str, namespace: str, name: str) -> None:
    ref = EntityRef.parse(text, default_kind="group", default_namespace="shop")
    assert (ref.kind, ref.namespace, ref.name) == (kind, namespace, name)


@pytest.mark.parametrize("text", ["group:", ":x", "a/", "/a", "group:/x", "group:ns/", "", "   ", 5, None, ["a"]])
def test_invalid_refs_are_errors(text: object) -> None:
    with pytest.raises(RefError):
        EntityRef.parse(text, default_kind="group")


def test_ref_without_kind_and_no_default_is_an_error() -> None:
    with pytest.raises(RefError, match="needs a kind"):
        EntityRef.parse("cart", default_kind=None)


def test_refs_compare_case_insensitively_and_print_lowercase() -> None:
    a = EntityRef.parse("Group:Default/Payments")
    b = EntityRef.parse("payments", default_kind="group")
    assert a == b
    assert hash(a) == hash(b)
    assert str(a) == "group:default/payments"


@given(
    st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9][-A-Za-z0-9_.]{0,10}", fullmatch=True),
)
def test_ref_round_trips(kind: str, namespace: str, name: str) -> None:
    ref = EntityRef.parse(f"{kind}:{namespace}/{name}")
    assert EntityRef.parse(str(ref)) == ref


# -- entities ---------------------------------------------------------------------------------------


def test_component_is_read(tmp_path: Path) -> None:
    result = load_backstage_file(write(tmp_path / "catalog-info.yaml", COMPONENT))
    assert result.errors == []
    (entity,) = result.entities
    assert str(entity.ref) == "component:shop/checkout"
    assert entity.title == "Checkout"
    assert entity.type == "service" and entity.lifecycle == "production"
    # default kind for owner is Group, default namespace is the entity's own
    assert entity.owner == EntityRef("group", "shop", "payments")
    assert entity.system == EntityRef("system", "shop", "store")
    assert entity.depends_on == [EntityRef("component", "shop", "cart"), EntityRef("resource", "default", "orders-db")]
    assert entity.links[0].title == "Runbook"
    assert entity.tags == ["python", "payments"]
    assert entity.line == 1


def test_group_and_user(tmp_path: Path) -> None:
    path = write(
        tmp_path / "org.yaml",
        """\
        apiVersion: backstage.io/v1alpha1
        kind: Group
        metadata: {name: payments}
        spec:
          type: team
          parent: engineering
          children: [payments-fraud]
          members: [alice]
          profile: {displayName: Payments Team, email: payments@example.com}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: User
        metadata: {name: bob}
        spec:
          memberOf: [payments, group:other/ops]
        """,
    )
    result = load_backstage_file(path)
    assert result.errors == []
    group, user = result.entities
    assert group.parent == EntityRef("group", "default", "engineering")
    assert group.children == [EntityRef("group", "default", "payments-fraud")]
    assert group.members == [EntityRef("user", "default", "alice")]
    assert group.title == "Payments Team"
    assert group.contacts[0].value == "payments@example.com"
    assert user.member_of == [EntityRef("group", "default", "payments"), EntityRef("group", "other", "ops")]
    assert user.line == 11


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        ("Component", "{type: service, lifecycle: production}", "spec.owner"),
        ("Component", "{type: service, owner: x}", "spec.lifecycle"),
        ("Component", "{lifecycle: production, owner: x}", "spec.type"),
        ("API", "{type: openapi, lifecycle: production, owner: x}", "spec.definition"),
        ("Resource", "{owner: x}", "spec.type"),
        ("System", "{}", "spec.owner"),
        ("Domain", "{}", "spec.owner"),
        ("Group", "{type: team}", "spec.children"),
        ("Group", "{children: []}", "spec.type"),
        ("User", "{}", "spec.memberOf"),
        ("Location", "{type: file}", "spec.target"),
    ],
)
def test_required_spec_fields(tmp_path: Path, kind: str, spec: str, field: str) -> None:
    path = write(
        tmp_path / "c.yaml",
        f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata: {{name: x}}\nspec: {spec}\n",
    )
    result = load_backstage_file(path)
    (entity,) = result.entities  # lenient loading: kept as declared, the error attached
    assert field in [e.field for e in result.errors]
    error = next(e for e in result.errors if e.field == field)
    assert error in entity.errors
    assert error.file == str(path)
    assert error.entity == f"{kind.lower()}:default/x"
    assert str(path) in str(error) and field in str(error) and "x" in str(error)


def test_empty_lists_are_allowed_for_children_and_member_of(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """\
        apiVersion: backstage.io/v1alpha1
        kind: Group
        metadata: {name: empty}
        spec: {type: team, children: []}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: User
        metadata: {name: alice}
        spec: {memberOf: []}
        """,
    )
    result = load_backstage_file(path)
    assert result.errors == []
    assert len(result.entities) == 2


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ("{name: -bad}", "metadata.name"),
        ("{name: 'a b'}", "metadata.name"),
        ("{name: '" + "a" * 64 + "'}", "metadata.name"),
        ("{name: '<script>alert(1)</script>'}", "metadata.name"),
        ("{name: ok, namespace: Bad_NS}", "metadata.namespace"),
        ("{name: ok, tags: [Not-Lower]}", "metadata.tags[0]"),
        ("{name: ok, annotations: {a: 5}}", "metadata.annotations.a"),
        ("{name: ok, links: [{title: no-url}]}", "metadata.links[0].url"),
        ("{name: 5}", "metadata.name"),
        ("{}", "metadata.name"),
    ],
)
def test_metadata_rules(tmp_path: Path, metadata: str, field: str) -> None:
    path = write(
        tmp_path / "c.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata: {metadata}\nspec: {{type: service, lifecycle: production, owner: x}}\n",
    )
    result = load_backstage_file(path)
    assert field in [e.field for e in result.errors]
    error = next(e for e in result.errors if e.field == field)
    if metadata in ("{name: 5}", "{}"):
        assert result.entities == []  # no name: unusable, dropped
    else:
        (entity,) = result.entities  # lenient loading: kept, the error attached
        assert entity.errors == [error]


def test_hostile_name_is_reported_not_executed(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: '<script>x</script>'}\n"
        "spec: {type: service, lifecycle: production, owner: x}\n",
    )
    (error,) = load_backstage_file(path).errors
    assert error.field == "metadata.name"
    assert "'<script>x</script>'" in error.message


@pytest.mark.parametrize(
    ("owner", "message"),
    [("'group:'", "empty name"), ("':x'", "empty kind"), ("'a/'", "empty name"), ("5", "must be a string")],
)
def test_invalid_owner_refs(tmp_path: Path, owner: str, message: str) -> None:
    path = write(
        tmp_path / "c.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        f"spec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n",
    )
    (error,) = load_backstage_file(path).errors
    assert error.field == "spec.owner"
    assert message in error.message
    assert error.line == 7  # the owner field's own line


def test_depends_on_needs_a_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        "spec: {type: service, lifecycle: production, owner: t, dependsOn: [cart]}\n",
    )
    (error,) = load_backstage_file(path).errors
    assert error.field == "spec.dependsOn[0]"
    assert "needs a kind" in error.message


def test_members_must_be_a_list(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: g}\n"
        "spec: {type: team, children: [], members: x}\n",
    )
    (error,) = load_backstage_file(path).errors
    assert error.field == "spec.members"
    assert "must be a list" in error.message


def test_one_bad_document_never_hides_the_good_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """\
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: good-one}
        spec: {type: service, lifecycle: production, owner: t}
        ---
        ---
        - a list, not a mapping
        ---
        just a string
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: bad}
        spec: {type: service}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Template
        metadata: {name: scaffolder-template}
        spec: {}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: not-backstage}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: good-two}
        spec: {type: service, lifecycle: production, owner: t}
        """,
    )
    result = load_backstage_file(path)
    assert [e.name for e in result.entities] == ["good-one", "bad", "good-two"]
    assert [e.field for e in result.entities[1].errors] == ["spec.lifecycle", "spec.owner"]
    messages = [(e.entity, e.field, e.line) for e in result.errors]
    assert ("document 3", None, 7) in messages
    assert ("document 4", None, 9) in messages
    assert {e.field for e in result.errors if e.entity == "component:default/bad"} == {
        "spec.lifecycle",
        "spec.owner",
    }
    # unknown kinds and non-Backstage documents are skipped with a warning, not an error
    assert {w.field for w in result.warnings} == {"kind", "apiVersion"}


def test_kind_is_case_insensitive_and_canonicalised(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "apiVersion: backstage.io/v1beta1\nkind: component\nmetadata: {name: x}\n"
        "spec: {type: service, lifecycle: production, owner: t}\n",
    )
    (entity,) = load_backstage_file(path).entities
    assert entity.kind == "Component"


# -- hostile YAML -----------------------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_rejected() -> None:
    with pytest.raises(CatalogError, match="alias"):
        parse_documents(BILLION_LAUGHS, "bomb.yaml")


def test_merge_key_bomb_is_rejected() -> None:
    lines = ["l0: &l0 {k0: v}"]
    for n in range(1, 25):
        lines.append(f"l{n}: &l{n} {{<<: [*l{n - 1}, *l{n - 1}], k{n}: v}}")
    with pytest.raises(CatalogError, match="alias"):
        parse_documents("\n".join(lines), "bomb.yaml")


def test_recursive_alias_is_rejected() -> None:
    with pytest.raises(CatalogError, match="recursive"):
        parse_documents("a: &a [1, *a]\n", "r.yaml")


def test_modest_aliases_are_fine() -> None:
    (doc,) = parse_documents("base: &b {type: service}\nx: *b\ny: {<<: *b, lifecycle: production}\n", "ok.yaml")
    assert doc.data["y"] == {"type": "service", "lifecycle": "production"}


def test_alias_budget_is_per_file_not_per_document() -> None:
    doc = "a: &a [" + ", ".join(["x"] * 50) + "]\nb: [" + ", ".join(["*a"] * 50) + "]\n"
    parse_documents(doc, "one.yaml")  # 2 500 extra nodes: fine
    with pytest.raises(CatalogError, match="alias"):
        parse_documents("---\n".join([doc] * 20), "many.yaml")


def test_merge_keys_at_scale_are_fine() -> None:
    # anchors do not cross documents, so each document carries its own defaults
    defaults = "defaults: &d {type: service, lifecycle: production, owner: payments}\n"
    text = "---\n".join(defaults + f"spec: {{<<: *d, name: svc-{i}}}\n" for i in range(2_000))
    docs = parse_documents(text, "many.yaml")
    assert len(docs) == 2_000
    assert docs[-1].data["spec"]["owner"] == "payments"


def test_deep_nesting_is_rejected() -> None:
    with pytest.raises(CatalogError, match="nesting"):
        parse_documents("[" * 500 + "]" * 500, "deep.yaml")
    with pytest.raises(CatalogError):
        parse_documents("[" * 100_000, "deeper.yaml")


def test_python_tags_are_refused() -> None:
    with pytest.raises(CatalogError, match="invalid YAML"):
        parse_documents("a: !!python/object/apply:os.system ['echo hi']\n", "evil.yaml")


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [\n  name: x\n")
    (error,) = load_backstage_file(path).errors
    assert error.file == str(path)
    assert error.line is not None and error.line >= 3
    assert f"{path}:{error.line}" in str(error)


def test_oversized_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    (error,) = load_backstage_file(path).errors
    assert "limit" in error.message


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    (error,) = load_backstage_file(path).errors
    assert "UTF-8" in error.message


# -- Location targets -------------------------------------------------------------------------------


def test_resolve_target_relative_and_glob(tmp_path: Path) -> None:
    loc = write(tmp_path / "catalog-info.yaml", "x: 1\n")
    write(tmp_path / "teams" / "a.yaml", "x: 1\n")
    write(tmp_path / "teams" / "b.yaml", "x: 1\n")
    found, problems = resolve_target(loc, "./teams/*.yaml", tmp_path)
    assert problems == []
    assert [p.name for p in found] == ["a.yaml", "b.yaml"]
    found, problems = resolve_target(loc, "teams/a.yaml", tmp_path)
    assert problems == [] and found == [(tmp_path / "teams" / "a.yaml").resolve()]


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "../outside.yaml", "sub/../../x.yaml", "../*"])
def test_resolve_target_never_leaves_the_root(tmp_path: Path, target: str) -> None:
    root = tmp_path / "root"
    loc = write(root / "catalog-info.yaml", "x: 1\n")
    write(tmp_path / "outside.yaml", "x: 1\n")
    found, problems = resolve_target(loc, target, root)
    assert found == []
    (problem,) = problems
    assert "outside the catalog root" in problem.message
    assert problem.field == "spec.target"


def test_resolve_target_symlink_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    loc = write(root / "catalog-info.yaml", "x: 1\n")
    secret = write(tmp_path / "secret.yaml", "x: 1\n")
    (root / "link.yaml").symlink_to(secret)
    found, problems = resolve_target(loc, "./link.yaml", root)
    assert found == []
    assert "outside the catalog root" in problems[0].message


def test_resolve_target_missing_and_remote(tmp_path: Path) -> None:
    loc = write(tmp_path / "catalog-info.yaml", "x: 1\n")
    _, problems = resolve_target(loc, "./nope.yaml", tmp_path)
    assert "does not exist" in problems[0].message and problems[0].severity == "error"
    assert resolve_target(loc, "./nope.yaml", tmp_path, optional=True) == ([], [])
    _, problems = resolve_target(loc, "https://github.com/org/repo/blob/main/catalog-info.yaml", tmp_path)
    assert problems[0].severity == "warning"
