"""Finding codes: a StrEnum whose values are the contract's strings, each with a severity."""

from __future__ import annotations

import json

from ownership.findings import ALL_CODES, ORPHAN_CODES, SEVERITY, Finding, FindingCode


def test_every_code_has_a_severity() -> None:
    assert set(ALL_CODES) == set(SEVERITY) == {
        "undocumented", "unowned", "owner_not_found", "owner_inactive", "individual_owner", "stale",
        "deprecated_in_use", "no_oncall", "no_runbook", "no_docs", "owner_mismatch", "undeclared_dependency",
        "name_mismatch", "unnamed_service", "catalog_error",
        "ambiguous_match", "identity_collision",
        "no_objective", "objective_breached", "objective_burning", "objective_unmatched",
        "oncall_overloaded",
    }
    assert {"undocumented", "unowned", "owner_not_found", "owner_inactive"} == ORPHAN_CODES


def test_codes_are_a_str_enum_and_the_json_keeps_the_strings() -> None:
    assert set(FindingCode) == set(ALL_CODES)
    assert FindingCode("stale") is FindingCode.STALE and FindingCode.STALE == "stale"
    finding = Finding(FindingCode.NO_DOCS, "checkout", "no docs")
    assert json.loads(json.dumps(finding.to_dict()))["code"] == "no_docs"
    assert type(finding.to_dict()["code"]) is str
    assert finding.severity == "low"
