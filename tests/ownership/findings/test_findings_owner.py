"""Rules about a matched service's owner: unowned, owner_not_found, owner_inactive, individual_owner,
owner_mismatch (ownership/findings/owner.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ownership.catalog import Entity, EntityRef
from ownership.findings.owner import owner_status
from ownership.identity import ResolvedOwner
from tests.ownership.scenario import (
    TEAM,
    Telemetry,
    analyse,
    codes_of,
    component,
    finding,
    group,
    user,
)

# ---------------------------------------------------------------------------------------- owners


OWNERS_UNOWNED = """\
teams:
  - name: payments
    members: [alice]
services:
  - name: checkout
    runbook: https://runbooks.example/checkout
    docs: https://docs.example/checkout
    oncall: https://example.pagerduty.com/services/P1
  - name: cart
    owner: payments
    runbook: https://runbooks.example/cart
    docs: https://docs.example/cart
    oncall: https://example.pagerduty.com/services/P2
"""


def test_unowned_entry_without_owner(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), extra={"owners.yaml": OWNERS_UNOWNED})
    assert codes_of(analysis, "checkout") == {"unowned"}
    assert codes_of(analysis, "cart") == set()
    own = analysis.of("checkout")
    assert (own.owner, own.owner_status, own.catalog_ref) == (None, "unowned", "component:default/checkout")


def test_unowned_datadog_definition_without_team(tmp_path: Path) -> None:
    dd = """\
schema-version: v2.2
dd-service: checkout
links:
  - {name: Runbook, type: runbook, url: https://runbooks.example/checkout}
  - {name: Docs, type: doc, url: https://docs.example/checkout}
integrations:
  pagerduty: {service-url: https://example.pagerduty.com/service-directory/P1}
"""
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"service.datadog.yaml": dd})
    assert codes_of(analysis, "checkout") == {"unowned"}


def test_owner_not_found(tmp_path: Path) -> None:
    docs = [component("checkout", owner="group:ghosts"), component("cart"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), docs)
    assert codes_of(analysis, "checkout") == {"owner_not_found"}
    assert codes_of(analysis, "cart") == set()
    own = analysis.of("checkout")
    assert (own.owner, own.owner_status) == ("ghosts", "owner_not_found")
    f = finding(analysis, "owner_not_found", "checkout")
    assert "group:default/ghosts" in f.detail and f.owner == "ghosts"


def test_owner_not_found_for_an_undeclared_user(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout", owner="user:nobody"), *TEAM])
    assert codes_of(analysis, "checkout") == {"owner_not_found"}


def test_owner_inactive_group_without_members(tmp_path: Path) -> None:
    docs = [component("checkout", owner="ghost-team"), group("ghost-team"), component("cart"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), docs)
    assert codes_of(analysis, "checkout") == {"owner_inactive"}
    assert analysis.of("checkout").owner_status == "owner_inactive"
    assert analysis.of("checkout").owner == "ghost-team"
    assert codes_of(analysis, "cart") == set()


@pytest.mark.parametrize(
    "teams",
    [
        pytest.param([group("payments", members=["alice"]), user("alice")], id="Group.spec.members"),
        pytest.param([group("payments"), user("alice", ["payments"])], id="User.spec.memberOf"),
        pytest.param([group("payments", children=["pay-core"]), group("pay-core", members=["bob"]), user("bob")],
                     id="child-via-children"),
        pytest.param([group("payments"), group("pay-core", parent="payments"), user("bob", ["pay-core"])],
                     id="child-via-parent"),
        pytest.param([group("payments", children=["mid"]), group("mid", children=["leaf"]),
                      group("leaf", members=["bob"]), user("bob")], id="grandchild"),
    ],
)
def test_owner_active_through_membership(tmp_path: Path, teams: list[dict[str, Any]]) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout"), *teams])
    assert codes_of(analysis, "checkout") == set()
    assert analysis.of("checkout").owner_status == "ok"


def test_owner_inactive_when_children_are_empty_too_and_cycles_terminate(tmp_path: Path) -> None:
    docs = [component("checkout"), group("payments", children=["a"]), group("a", children=["payments"])]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == {"owner_inactive"}


def test_owners_yaml_team_without_members_is_inactive(tmp_path: Path) -> None:
    owners = """\
teams:
  - name: payments
    oncall: https://example.pagerduty.com/schedules/P1
services:
  - name: checkout
    owner: payments
    runbook: https://runbooks.example/checkout
    docs: https://docs.example/checkout
"""
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"owners.yaml": owners})
    assert codes_of(analysis, "checkout") == {"owner_inactive"}


def test_datadog_team_is_never_inactive(tmp_path: Path) -> None:
    dd = """\
schema-version: v2
dd-service: checkout
team: payments
links:
  - {name: Runbook, type: runbook, url: https://runbooks.example/checkout}
  - {name: Wiki, type: wiki, url: https://wiki.example/checkout}
integrations:
  pagerduty: https://example.pagerduty.com/service-directory/P1
"""
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"service.datadog.yaml": dd})
    assert codes_of(analysis, "checkout") == set()
    assert analysis.of("checkout").owner == "payments"


def test_individual_owner(tmp_path: Path) -> None:
    docs = [component("checkout", owner="user:alice"), component("cart"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), docs)
    assert codes_of(analysis, "checkout") == {"individual_owner"}
    assert analysis.of("checkout").owner_status == "ok"
    assert analysis.of("checkout").owner == "alice"
    assert codes_of(analysis, "cart") == set()
    assert analysis.orphans() == []

def test_owner_mismatch_from_resource_hints(tmp_path: Path) -> None:
    docs = [component("checkout"), component("cart"), component("ledger"), *TEAM]
    telemetry = (Telemetry().seen("checkout", hints={"team": "search"})
                 .seen("cart", hints={"service.owner": "Payments"})
                 .seen("ledger", hints={"service.owner": "payments", "team": "search"}))
    analysis = analyse(tmp_path, telemetry, docs)
    f = finding(analysis, "owner_mismatch", "checkout")
    assert f.data == {"attribute": "team", "value": "search"}
    assert "search" in f.detail and "payments" in f.detail
    assert codes_of(analysis, "cart") == set()  # same team, different case
    # one finding per service, from the first attribute that disagrees
    assert finding(analysis, "owner_mismatch", "ledger").data["attribute"] == "team"


def test_owner_mismatch_respects_the_owner_attributes_setting(tmp_path: Path) -> None:
    docs = [component("checkout"), *TEAM]
    telemetry = Telemetry().seen("checkout", hints={"team": "search", "dt.owner": "search"})
    analysis = analyse(tmp_path, telemetry, docs, owner_attributes=["dt.owner"])
    assert finding(analysis, "owner_mismatch", "checkout").data["attribute"] == "dt.owner"
    telemetry = Telemetry().seen("checkout", hints={"team": "search"})
    analysis = analyse(tmp_path / "b", telemetry, docs, owner_attributes=["dt.owner"])
    assert codes_of(analysis, "checkout") == set()


@pytest.mark.parametrize(
    ("resolved", "status"),
    [
        pytest.param(ResolvedOwner(None, None, False, None), "unowned", id="no-ref"),
        pytest.param(ResolvedOwner(EntityRef("group", "default", "x"), None, False, None), "owner_not_found",
                     id="undeclared"),
        pytest.param(ResolvedOwner(EntityRef("group", "default", "x"), Entity(kind="Group", name="x"), False, False),
                     "owner_inactive", id="no-members"),
        pytest.param(ResolvedOwner(EntityRef("group", "default", "x"), Entity(kind="Group", name="x"), False, None),
                     "ok", id="membership-unknown"),
        pytest.param(ResolvedOwner(EntityRef("user", "default", "a"), Entity(kind="User", name="a"), True, True),
                     "ok", id="user"),
    ],
)
def test_owner_status_is_the_owner_code_that_applies(resolved: ResolvedOwner, status: str) -> None:
    assert owner_status(resolved) == status == resolved.status


SLUGGED_TEAM = [group("payments", members=["alice"], annotations={"github.com/team-slug": "acme/payments"}),
                user("alice", ["payments"])]


@pytest.mark.parametrize("value", ["group:default/payments", "default/payments", "Payments", "@acme/payments",
                                   "GROUP:Default/Payments"])
def test_owner_mismatch_normalises_owner_refs(tmp_path: Path, value: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout", hints={"team": value}),
                       [component("checkout"), *SLUGGED_TEAM])
    assert codes_of(analysis, "checkout") == set()


@pytest.mark.parametrize("value", ["group:default/search", "group:shop/payments", "@acme/search", "user:payments"])
def test_owner_mismatch_still_sees_another_team_in_ref_form(tmp_path: Path, value: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout", hints={"team": value}),
                       [component("checkout"), *SLUGGED_TEAM])
    assert codes_of(analysis, "checkout") == {"owner_mismatch"}


@pytest.mark.parametrize("owner", ["group:default/payments", "default/payments", "Payments", "@acme/payments"])
def test_every_owner_ref_form_in_a_catalog_resolves_to_one_team(tmp_path: Path, owner: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout", hints={"team": "payments"}),
                       [component("checkout", owner=owner), *SLUGGED_TEAM])
    own = analysis.of("checkout")
    assert (own.owner, own.owner_status, codes_of(analysis, "checkout")) == ("payments", "ok", set())
    assert analysis.team_view("payments")["declared_services"] == ["checkout"]
