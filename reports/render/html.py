"""The weekly report as one self-contained, printable HTML page (inline CSS and SVG, no script)."""

from __future__ import annotations

from markupsafe import Markup

from reports.render.svg import STATUS_COLOURS, STATUS_LABELS, _env
from reports.weekly import WeeklyReport

PICTURED_ORPHANS = 5


def render_html(weekly: WeeklyReport) -> str:
    """HTML with a picture of each top orphan's neighbourhood. Names are escaped by autoescape."""
    pictures = {
        o["service"]: Markup(weekly.neighbourhood_svg(o["service"]))  # noqa: S704 - rendered by our autoescaping template
        for o in weekly.data["orphans"][:PICTURED_ORPHANS]
    }
    return _env.get_template("weekly.html").render(
        r=weekly.data, pictures=pictures, colours=STATUS_COLOURS, labels=STATUS_LABELS,
    )
