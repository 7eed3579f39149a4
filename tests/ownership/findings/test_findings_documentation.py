"""Rules about documentation: no_oncall, no_runbook, no_docs and their signals
(ownership/findings/documentation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownership.catalog import Entity, Link
from ownership.findings.documentation import has_docs, has_oncall, has_runbook
from ownership.identity import CatalogIndex
from tests.ownership.sample_catalog import build_index, entity
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

# ---------------------------------------------------------------------------------------- docs signals


@pytest.mark.parametrize(
    ("annotations", "links", "missing"),
    [
        pytest.param({}, [], {"no_oncall", "no_runbook", "no_docs"}, id="nothing"),
        pytest.param({"pagerduty.com/service-id": "P1"}, [], {"no_runbook", "no_docs"}, id="pd-service-id"),
        pytest.param({"pagerduty.com/integration-key": "k"}, [], {"no_runbook", "no_docs"}, id="pd-key"),
        pytest.param({"opsgenie.com/component-selector": "x"}, [], {"no_runbook", "no_docs"}, id="og-selector"),
        pytest.param({"opsgenie.com/team": "payments"}, [], {"no_runbook", "no_docs"}, id="og-team"),
        pytest.param({"ownermap.io/runbook": "https://r.example"}, [], {"no_oncall", "no_docs"}, id="rb-ann"),
        pytest.param({}, [{"url": "https://wiki.example/checkout-runbook"}], {"no_oncall", "no_docs"},
                     id="rb-url"),
        pytest.param({}, [{"url": "https://x.example", "title": "Ops RUNBOOK"}], {"no_oncall", "no_docs"},
                     id="rb-title"),
        pytest.param({}, [{"url": "https://x.example", "type": "runbook"}], {"no_oncall", "no_docs"},
                     id="rb-type"),
        pytest.param({"backstage.io/techdocs-ref": "dir:."}, [], {"no_oncall", "no_runbook"}, id="techdocs"),
        pytest.param({}, [{"url": "https://x.example", "title": "Documentation"}], {"no_oncall", "no_runbook"},
                     id="docs-title"),
        pytest.param({}, [{"url": "https://x.example", "title": "Team wiki"}], {"no_oncall", "no_runbook"},
                     id="wiki-title"),
        pytest.param({}, [{"url": "https://x.example", "type": "docs"}], {"no_oncall", "no_runbook"},
                     id="docs-type"),
        pytest.param({}, [{"url": "https://docs.example/x", "title": "Dashboard"}],
                     {"no_oncall", "no_runbook", "no_docs"}, id="docs-only-in-url-does-not-count"),
    ],
)
def test_documentation_signals_on_the_service(
    tmp_path: Path, annotations: dict[str, str], links: list[dict[str, str]], missing: set[str]
) -> None:
    docs = [component("checkout", annotations=annotations, links=links), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == missing
    for code in missing:
        assert finding(analysis, code, "checkout").owner == "payments"


@pytest.mark.parametrize("annotation", ["pagerduty.com/service-id", "pagerduty.com/integration-key",
                                        "opsgenie.com/component-selector", "opsgenie.com/team"])
def test_oncall_on_the_owning_team_counts(tmp_path: Path, annotation: str) -> None:
    docs = [component("checkout", annotations={"backstage.io/techdocs-ref": "dir:."}),
            group("payments", members=["alice"], annotations={annotation: "x"}), user("alice")]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == set()


def test_oncall_on_a_user_owner_counts(tmp_path: Path) -> None:
    alice = user("alice")
    alice["metadata"]["annotations"] = {"pagerduty.com/service-id": "P9"}
    docs = [component("checkout", owner="user:alice", annotations={"backstage.io/techdocs-ref": "dir:."}), alice]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == {"individual_owner"}


@pytest.mark.parametrize(
    ("owners", "expected"),
    [
        pytest.param("""\
teams: [{name: payments, members: [alice]}]
services: [{name: checkout, owner: payments, oncall: "https://pd.example/P1"}]
""", {"no_runbook", "no_docs"}, id="service-oncall"),
        pytest.param("""\
teams: [{name: payments, members: [alice], oncall: "https://pd.example/S1"}]
services: [{name: checkout, owner: payments}]
""", {"no_runbook", "no_docs"}, id="team-oncall"),
        pytest.param("""\
teams: [{name: payments, members: [alice]}]
services: [{name: checkout, owner: payments, runbook: "https://r.example/c", docs: "https://d.example/c"}]
""", {"no_oncall"}, id="runbook-and-docs"),
        pytest.param("""\
teams: [{name: payments, members: [alice], slack: "#payments"}]
services: [{name: checkout, owner: payments}]
""", {"no_oncall", "no_runbook", "no_docs"}, id="slack-is-not-oncall"),
    ],
)
def test_documentation_signals_from_owners_yaml(tmp_path: Path, owners: str, expected: set[str]) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"owners.yaml": owners})
    assert codes_of(analysis, "checkout") == expected


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param("""\
schema-version: v2
dd-service: checkout
team: payments
integrations: {pagerduty: "https://example.pagerduty.com/service-directory/P1"}
""", {"no_runbook", "no_docs"}, id="v2-pagerduty"),
        pytest.param("""\
schema-version: v2.1
dd-service: checkout
team: payments
integrations: {opsgenie: {service-url: "https://example.app.opsgenie.com/service/1", region: US}}
""", {"no_runbook", "no_docs"}, id="v2.1-opsgenie"),
        pytest.param("""\
schema-version: v2.1
dd-service: checkout
team: payments
links:
  - {name: Runbook, type: runbook, url: "https://r.example/c"}
  - {name: Docs, type: doc, url: "https://d.example/c"}
""", {"no_oncall"}, id="v2.1-links"),
        pytest.param("""\
schema-version: v2
dd-service: checkout
team: payments
docs: [{name: Manual, url: "https://d.example/c"}]
""", {"no_oncall", "no_runbook"}, id="v2-docs"),
    ],
)
def test_documentation_signals_from_datadog(tmp_path: Path, definition: str, expected: set[str]) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"service.datadog.yaml": definition})
    assert codes_of(analysis, "checkout") == expected


# ---------------------------------------------------------------------------------------- the signals


def test_signals(index: CatalogIndex) -> None:
    checkout, ledger, search = entity(index, "checkout"), entity(index, "ledger"), entity(index, "search-api")
    assert has_runbook(checkout)  # URL mentions runbook
    assert has_runbook(search) and has_docs(search)
    assert has_docs(ledger) and not has_runbook(ledger)
    assert has_oncall(index, checkout)  # PagerDuty annotation on the service
    assert has_oncall(index, search)  # owners.yaml oncall on the team
    assert has_oncall(index, entity(index, "website"))  # Opsgenie annotation on the team
    assert has_oncall(index, entity(index, "recs"))  # Datadog integration
    assert not has_oncall(index, ledger)
    assert not has_oncall(index, entity(index, "free-agent"))


@pytest.mark.parametrize(
    ("link", "runbook", "docs"),
    [
        (Link(url="https://x", title="Runbook"), True, False),
        (Link(url="https://x", type="runbook"), True, False),
        (Link(url="https://x/RUNBOOKS/a"), True, False),
        (Link(url="https://x", title="API Docs"), False, True),
        (Link(url="https://x", type="doc"), False, True),
        (Link(url="https://x", title="Team wiki"), False, True),
        (Link(url="https://x", title="Documentation"), False, True),
        (Link(url="https://x", title="Dockerfile"), False, False),
        (Link(url="https://docs.example"), False, False),  # a URL alone does not say docs
    ],
)
def test_link_signals(link: Link, runbook: bool, docs: bool) -> None:
    e = Entity(kind="Component", name="x", links=[link])
    assert (has_runbook(e), has_docs(e)) == (runbook, docs)


def test_runbook_annotation() -> None:
    assert has_runbook(Entity(kind="Component", name="x", annotations={"ownermap.io/runbook": "https://r"}))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    return build_index(tmp_path_factory.mktemp("catalog"))
