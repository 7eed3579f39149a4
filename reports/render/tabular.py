"""The weekly report as CSV (one row per finding) and as JSON."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from reports.cells import safe_cell

CSV_COLUMNS = ["service", "code", "severity", "owner", "status", "orphaned_since", "dependents", "calls",
               "error_rate", "suggested_owner", "detail"]


def render_csv(report: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    """One row per finding of the week; orphan rows carry status and risk. Formula cells neutralised."""
    orphans = {o["service"]: o for o in report["orphans"]}
    rows = []
    for f in findings:
        orphan = orphans.get(f["service"])
        risk = orphan["risk"] if orphan else {}
        rows.append({
            "service": f["service"], "code": f["code"], "severity": f["severity"], "owner": f["owner"] or "",
            "status": orphan["status"] if orphan else "", "orphaned_since": orphan["orphaned_since"] if orphan else "",
            "dependents": risk.get("dependents", ""), "calls": risk.get("calls", ""),
            "error_rate": risk.get("error_rate", ""),
            "suggested_owner": f["suggested_owners"][0]["team"] if f["suggested_owners"] else "",
            "detail": f["detail"],
        })
    frame = pd.DataFrame(rows, columns=CSV_COLUMNS)
    return frame.map(safe_cell).to_csv(index=False)


def render_json(report: dict[str, Any]) -> str:
    """The DESIGN §4 JSON shape."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
