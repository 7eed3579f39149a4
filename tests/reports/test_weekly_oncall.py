"""The weekly report's "On-call load" section: teams ranked by episodes per rotation member, in
JSON, Markdown, HTML and CSV (the `oncall_overloaded` team finding is a CSV row).

The week is [END - 7 d, END) with hourly buckets. red (a rotation of 1) fails in three separate
hours, blue (2 members) and green (1 member) in one each: per member 3, 0.5 and 1, median 1, so
only red is overloaded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.store.sqlite import SQLiteStore
from reports import render_report
from reports.weekly import WeeklyReport, build_weekly_report
from tests.reports.report_builders import DAY, END, Telemetry, catalog_index

OWNERS = """\
teams:
  - {name: red, members: [a, b, c], oncall: {members: [a]}}
  - {name: blue, members: [d, e]}
  - {name: green, members: [f], timezone: Asia/Tokyo}
  - {name: idle, members: [g]}
services:
  - {name: red-api, owner: red}
  - {name: blue-api, owner: blue}
  - {name: green-api, owner: green}
"""


@pytest.fixture
def weekly(tmp_path: Path) -> Iterator[WeeklyReport]:
    store = SQLiteStore(tmp_path / "w.db")
    t = Telemetry(store)
    for hours in (1, 5, 9):
        t.call("web", "red-api", END - 2 * DAY + hours * 3600, count=20, failed=10)
    t.call("red-api", "blue-api", END - 3 * DAY, count=20, failed=10)
    t.call("web", "green-api", END - 4 * DAY, count=20, failed=10)
    t.call("web", "green-api", END - 4 * DAY + 7200, count=300, failed=10)  # 10 of 300: not failing
    t.flush()
    yield build_weekly_report(store, catalog_index(tmp_path / "catalog", OWNERS), END, record=False)
    store.close()


def test_section_ranks_teams_by_load_per_member(weekly: WeeklyReport) -> None:
    rows = weekly.data["oncall_load"]
    assert [(t["team"], t["episodes"], t["per_member"], t["overloaded"]) for t in rows] == [
        ("red", 3, 3.0, True), ("green", 1, 1.0, False), ("blue", 1, 0.5, False)]  # idle owns nothing seen
    assert rows[2]["depended_on_by"] == ["red"] and rows[0]["rotation"] == {"declared": True, "size": 1}


def test_renderers_show_the_section(weekly: WeeklyReport) -> None:
    markdown = render_report(weekly, "md")
    section = markdown[markdown.index("## On-call load"):]
    assert ("- **red**: 3.00 per member; 3 episodes (3 off-hours), rotation of 1; depended on by no other team; "
            "**overloaded**") in section
    assert section.index("**red**") < section.index("**green**") < section.index("**blue**")
    assert "- **blue**: 0.50 per member; 1 episodes (1 off-hours), rotation of 2 (no on-call declared); " \
           "depended on by red" in section
    html = render_report(weekly, "html")
    assert "<h2>On-call load</h2>" in html and "<td>3.00</td>" in html
    rows = list(csv.DictReader(io.StringIO(render_report(weekly, "csv"))))
    (team_row,) = [r for r in rows if r["code"] == "oncall_overloaded"]
    assert (team_row["service"], team_row["owner"], team_row["severity"]) == ("", "red", "medium")
    assert '"oncall_load"' in render_report(weekly, "json")
