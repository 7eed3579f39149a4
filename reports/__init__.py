"""The weekly orphan-service report: model, renderers and delivery."""

from __future__ import annotations

from typing import Literal

ReportFormat = Literal["md", "html", "csv", "json"]
FORMATS: tuple[str, ...] = ("md", "html", "csv", "json")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def render_report(weekly: object, fmt: str) -> str:
    """Render a WeeklyReport in one of FORMATS."""
    from reports.render.html import render_html
    from reports.render.markdown import render_markdown
    from reports.render.tabular import render_csv, render_json
    from reports.weekly import WeeklyReport

    assert isinstance(weekly, WeeklyReport)
    if fmt == "md":
        return render_markdown(weekly.data)
    if fmt == "html":
        return render_html(weekly)
    if fmt == "csv":
        return render_csv(weekly.data, weekly.findings)
    if fmt == "json":
        return render_json(weekly.data)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
