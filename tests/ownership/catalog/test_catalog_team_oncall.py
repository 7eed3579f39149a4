"""Team time zones and on-call rotations (DESIGN §3b): owners.yaml and Backstage Group annotations."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ownership.catalog.backstage import load_backstage_file
from ownership.catalog.model import ONCALL_ANNOTATION, TIMEZONE_ANNOTATION, EntityRef
from ownership.catalog.owners_yaml import ROTATION_ONLY, load_owners_file, owners_json_schema
from ownership.catalog.timezone import zone_problem
from ownership.findings.documentation import declares_oncall


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_timezone_and_oncall_mapping_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path / "owners.yaml",
        """\
        teams:
          - name: payments
            members: [alice, bob, carol]
            timezone: Asia/Tokyo
            oncall: {url: https://pd.example/schedules/P1, members: [alice, user:other/bob]}
          - name: search
            oncall: {members: [dave]}
          - name: ops
            oncall: {}
          - name: infra
            oncall: https://pd.example/schedules/P9
        services:
          - {name: checkout, owner: payments, oncall: {url: https://pd.example/services/S1}}
        """,
    )
    result = load_owners_file(path)
    assert result.errors == []
    payments, search, ops, infra, checkout = result.entities
    assert payments.annotations[TIMEZONE_ANNOTATION] == "Asia/Tokyo"
    assert payments.annotations[ONCALL_ANNOTATION] == "https://pd.example/schedules/P1"
    assert payments.oncall_members == [EntityRef("user", "default", "alice"), EntityRef("user", "other", "bob")]
    assert search.oncall_members == [EntityRef("user", "default", "dave")]
    assert search.annotations[ONCALL_ANNOTATION] == ROTATION_ONLY
    assert ops.oncall_members is None and declares_oncall(ops)
    assert infra.oncall_members is None and infra.annotations[ONCALL_ANNOTATION].endswith("/P9")
    assert TIMEZONE_ANNOTATION not in infra.annotations
    assert checkout.annotations[ONCALL_ANNOTATION] == "https://pd.example/services/S1"
    assert all(declares_oncall(e) for e in result.entities)


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ("{name: t, timezone: Mars/Olympus}", "teams[0].timezone", "not an IANA time zone"),
        ("{name: t, timezone: ../../etc/passwd}", "teams[0].timezone", "not an IANA time zone"),
        ("{name: t, timezone: 3}", "teams[0].timezone", "must be a string"),
        ("{name: t, oncall: [a]}", "teams[0].oncall", "must be a string or a mapping"),
        ("{name: t, oncall: {pager: x}}", "teams[0].oncall.pager", "not a known field"),
        ("{name: t, oncall: {members: x}}", "teams[0].oncall.members", "must be a list"),
        ("{name: t, oncall: {url: 5}}", "teams[0].oncall.url", "must be a string"),
    ],
)
def test_bad_timezone_or_oncall_is_a_catalog_error_and_the_rest_loads(
    tmp_path: Path, entry: str, field: str, words: str
) -> None:
    path = write(tmp_path / "owners.yaml", f"teams:\n  - {entry}\n  - {{name: fine, timezone: Europe/Berlin}}\n")
    result = load_owners_file(path)
    error = next(e for e in result.errors if e.field == field)
    assert words in error.message and str(path) in str(error) and field in str(error)
    bad, fine = result.entities
    assert bad.name == "t" and TIMEZONE_ANNOTATION not in bad.annotations
    assert fine.annotations[TIMEZONE_ANNOTATION] == "Europe/Berlin" and fine.errors == []


def test_group_timezone_annotation(tmp_path: Path) -> None:
    path = write(
        tmp_path / "org.yaml",
        """\
        apiVersion: backstage.io/v1alpha1
        kind: Group
        metadata: {name: search, annotations: {ownermap.io/timezone: America/New_York}}
        spec: {type: team, children: []}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Group
        metadata: {name: ops, annotations: {ownermap.io/timezone: Nowhere/Land}}
        spec: {type: team, children: []}
        """,
    )
    result = load_backstage_file(path)
    search, ops = result.entities
    assert search.annotations[TIMEZONE_ANNOTATION] == "America/New_York"
    (error,) = result.errors
    assert error.field == "metadata.annotations.ownermap.io/timezone" and error.file == str(path)
    assert "Nowhere/Land" in error.message
    assert TIMEZONE_ANNOTATION not in ops.annotations and ops.errors == [error]


def test_zone_problem() -> None:
    assert zone_problem("UTC") is None and zone_problem("Australia/Adelaide") is None
    assert zone_problem("") and zone_problem("Europe/Nowhere") and zone_problem("x" * 100)


def test_schema_has_timezone_and_oncall_mapping() -> None:
    team = owners_json_schema()["$defs"]["Team"]["properties"]
    assert team["timezone"]["anyOf"][0]["type"] == "string"
    mapping = team["oncall"]["anyOf"][1]
    assert set(mapping["properties"]) == {"url", "members"} and mapping["additionalProperties"] is False
