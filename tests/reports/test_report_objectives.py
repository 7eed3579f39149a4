"""The weekly report's Objectives section: per team met / burning / breached / missing, worst first."""

from __future__ import annotations

from pathlib import Path

from graph.store.series import InboundBucket
from ownership.findings import Finding, FindingCode
from ownership.objectives.evaluate import ObjectiveResult, evaluate
from ownership.objectives.model import Objective
from reports.objectives import objectives_section
from reports.render.markdown import objectives_markdown

END = 1_790_000_000 // 3600 * 3600


def _result(name: str, owner: str | None, failed: int, old_good: int = 0) -> ObjectiveResult:
    objective = Objective(name, f"{name}-svc", "slo.yaml", "openslo", "availability", 0.99)
    buckets = [InboundBucket("s", END - 3 * 86400, 3600, old_good, 0, (0,) * 18)] if old_good else []
    buckets += [InboundBucket("s", END - 300 * k, 300, 100, failed, (0,) * 18) for k in range(1, 73)]
    return evaluate(objective, buckets, END, matched=True, owner=owner)


def test_teams_worst_first_with_missing_services() -> None:
    results = [_result("a", "payments", 0), _result("b", "payments", 50), _result("c", "search", 0),
               _result("d", "search", 20, old_good=1_000_000), _result("e", None, 0)]
    findings = [Finding(FindingCode.NO_OBJECTIVE, "ledger", "x", owner="payments"),
                Finding(FindingCode.NO_OBJECTIVE, "orphan", "x"), Finding(FindingCode.NO_DOCS, "c-svc", "x")]
    section = objectives_section(results, findings)
    assert [(t["team"], t["breached"], t["burning"], t["met"], t["missing"]) for t in section] == [
        ("payments", 1, 0, 1, ["ledger"]),
        ("search", 0, 1, 1, []),
        ("(no owner)", 0, 0, 1, ["orphan"]),
    ]
    assert [o["status"] for o in section[0]["objectives"]] == ["breached", "met"]


def test_markdown_escapes_names() -> None:
    results = [_result("<img src=x>", "pay|ments", 50)]
    text = "\n".join(objectives_markdown(objectives_section(results, [])))
    assert "## Objectives" in text and "<img" not in text
    assert "pay|ments" not in text  # a pipe would break the table row


def test_weekly_report_carries_the_section_in_every_format(tmp_path: Path) -> None:
    from graph.store.sqlite import SQLiteStore
    from ownership.catalog import load_catalog
    from ownership.identity import CatalogIndex
    from reports import render_report
    from reports.weekly import build_weekly_report
    from tests.api.test_api_objectives import NOW, OWNERS, _seed

    (tmp_path / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    store = SQLiteStore(tmp_path / "om.db")
    _seed(store)
    weekly = build_weekly_report(store, CatalogIndex(load_catalog([tmp_path])), NOW, record=False)
    store.close()
    section = weekly.data["objectives"]
    assert [(t["team"], t["breached"], t["met"]) for t in section] == [("pay", 1, 2)]
    assert section[0]["objectives"][0]["name"] == "checkout-strict"  # the worst first
    assert "## Objectives" in render_report(weekly, "md")
    assert "<h2>Objectives</h2>" in render_report(weekly, "html")
    assert "objective_breached" in render_report(weekly, "csv")
    assert '"objectives"' in render_report(weekly, "json")
