"""Hostile service names come out inert in every report format.

Names are attacker-controlled (any process can send spans with any `service.name`): HTML and
script, spreadsheet formulas, Markdown link / emphasis / heading / table syntax, backticks,
newlines. They reach the report as orphans, as callers in evidence, as an owned service's alias
(teams, documentation gaps), as a virtual dependency and as last week's resolved orphans.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from graph.model import NodeKind
from graph.store.sqlite import SQLiteStore
from reports import render_report
from reports.deliver import slack_payload
from reports.render.tabular import CSV_COLUMNS
from reports.weekly import WeeklyReport, build_weekly_report
from tests.conftest import skip_or_fail
from tests.reports.report_builders import END, LAST_WEEK, THIS_WEEK, Telemetry, catalog_index

# This week's orphans (15: every one fits the Markdown table of the top 15).
HOSTILE = [
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "[link](javascript:alert(1))",
    "| table | break |",
    "*bold*",
    "# heading",
    "`code` and ``more``",
    "line1\nline2",
    '<img src=x onerror="window.__xss=1;alert(2)">',
    "\t=1+1",
    "x\r\n# injected",
    "![img](http://evil.example/x.png)",
]
# The owned caller of every orphan: telemetry name = an alias of the catalog's `gateway`.
OWNED_ALIAS = "<svg/onload=alert(4)>"
# Last week's orphans, never seen again (resolved).
RESOLVED = ["_under_ ~~strike~~ <b>bold</b>", "&lt;script&gt; &amp; entity", "=2+5\n- item"]
# A database nobody owns.
VIRTUAL = "<script>alert(3)</script>|db`"
ALL_NAMES = [*HOSTILE, OWNED_ALIAS, *RESOLVED, VIRTUAL]

OWNERS = f"""\
teams:
  - name: payments
    members: [alice]
    oncall: https://example.pagerduty.com/schedules/PAY
services:
  - name: gateway
    owner: payments
    aliases: ["{OWNED_ALIAS}"]
  - name: archive
    owner: payments
"""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def flat(text: str) -> str:
    """A name as a renderer that cannot keep line breaks shows it: whitespace runs as one space."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def weekly(tmp_path_factory: pytest.TempPathFactory) -> WeeklyReport:
    root = tmp_path_factory.mktemp("hostile")
    index = catalog_index(root / "catalog", OWNERS)
    store = SQLiteStore(root / "ownermap.db")
    try:
        t = Telemetry(store)
        t.seen(OWNED_ALIAS, THIS_WEEK, hints={"team": "=cmd|' /C calc'!A0"})  # first: its hints are kept
        for name in RESOLVED:
            t.seen(name, LAST_WEEK)
        for i, name in enumerate(HOSTILE):
            t.call(OWNED_ALIAS, name, THIS_WEEK, count=1 + i % 3, failed=i % 2)
        t.call(OWNED_ALIAS, VIRTUAL, THIS_WEEK, server_kind=NodeKind.DATABASE, ctype="database")
        t.flush()
        report = build_weekly_report(store, index, END, record=False)
    finally:
        store.close()
    assert sorted(o["service"] for o in report.data["orphans"]) == sorted(HOSTILE)
    assert sorted(x["service"] for x in report.data["resolved"]) == sorted(RESOLVED)
    assert [d["node"] for d in report.data["unowned_dependencies"]] == [VIRTUAL]
    assert [g["service"] for g in report.data["documentation_gaps"]] == [OWNED_ALIAS]
    assert report.data["teams"][0]["services"] == [OWNED_ALIAS]
    return report


# --------------------------------------------------------------------------- JSON


def test_json_round_trips_every_name_exactly(weekly: WeeklyReport) -> None:
    loaded = json.loads(render_report(weekly, "json"))
    assert loaded == weekly.data
    assert sorted(o["service"] for o in loaded["orphans"]) == sorted(HOSTILE)
    assert sorted(x["service"] for x in loaded["resolved"]) == sorted(RESOLVED)
    assert loaded["unowned_dependencies"][0] == {"node": VIRTUAL, "kind": "database", "callers": [OWNED_ALIAS]}
    assert loaded["teams"][0]["services"] == [OWNED_ALIAS]


# --------------------------------------------------------------------------- CSV


def test_csv_cells_are_neutralised_one_row_per_finding(weekly: WeeklyReport) -> None:
    rows = list(csv.reader(io.StringIO(render_report(weekly, "csv"), newline="")))
    assert rows[0] == CSV_COLUMNS
    body = rows[1:]
    assert len(body) == len(weekly.findings)
    for row in body:
        assert len(row) == len(CSV_COLUMNS), row
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"live formula cell {cell!r}"
    services = [row[0] for row in body]
    shown = [s[1:] if s.startswith("'") and s[1:].startswith(FORMULA_START) else s for s in services]
    assert sorted(shown) == sorted(f["service"] for f in weekly.findings)
    # neutralised by a leading quote, otherwise untouched (newlines survive inside a quoted cell)
    for name in ('=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1+1"):
        assert "'" + name in services
    assert "line1\nline2" in services and "<script>alert(1)</script>" in services
    codes = {(row[0], row[1]) for row in body}
    assert ("'-2+3", "undocumented") in codes and (OWNED_ALIAS, "owner_mismatch") in codes


# --------------------------------------------------------------------------- Markdown

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
REPORT_HEADINGS = {
    "## Objectives",
    "# Orphaned services: week ending 2026-11-23",
    "## Orphans by risk",
    "## Resolved since last week",
    "## Stale catalog entries (no telemetry this week)",
    "## Dependencies nobody owns",
    "## Documentation gaps",
    "## On-call load",
    "## Per team",
}


def test_markdown_has_no_tags_links_headings_or_broken_rows(weekly: WeeklyReport) -> None:
    text = render_report(weekly, "md")
    lowered = text.lower()
    for tag in ("<script", "<img", "<svg", "<b>"):
        assert tag not in lowered
    assert "<" not in text and ">" not in text  # every angle bracket of a name is an entity
    assert "](" not in text  # no [text](url) or ![alt](src)
    assert not re.search(r"(?<!\\)[\[`]", text), "an unescaped [ or ` from a name"
    for name in ("*bold*", "_under_", "~~strike~~"):
        assert name not in text
    headings = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert set(headings) <= REPORT_HEADINGS and len(headings) == len(set(headings))
    # a newline inside a name never starts a line of its own
    tails = ("line2", "# injected", "\\# injected", "- item")
    assert not [line for line in text.splitlines() if line.lstrip().startswith(tails)]
    lines = text.splitlines()
    start = lines.index("## Orphans by risk")
    table = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        table.append(line)
    assert len(table) == 2 + len(HOSTILE)  # header, separator, one row per orphan
    for line in table:
        assert len(UNESCAPED_PIPE.findall(line)) == 10, line  # 9 columns


class Elements(HTMLParser):
    """Start tags with attributes, and the text of every <td>, <li> and <h1>-<h3>."""

    TEXT_TAGS = ("td", "li", "h1", "h2", "h3", "title")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.texts: dict[str, list[str]] = {tag: [] for tag in self.TEXT_TAGS}
        self._open: list[tuple[str, list[str]]] = []
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag == "tr":
            self.rows.append([])
        if tag in self.TEXT_TAGS:
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            name, parts = self._open.pop()
            text = "".join(parts)
            self.texts[name].append(text)
            if name == "td" and self.rows:
                self.rows[-1].append(text)
            if self._open:
                self._open[-1][1].append(text)

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)


def test_markdown_renders_names_as_plain_text(weekly: WeeklyReport) -> None:
    """Through a real CommonMark renderer (raw HTML allowed, tables on): names are text only."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        skip_or_fail("markdown-it-py is not installed")
    markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    html = markdown.render(render_report(weekly, "md"))
    parsed = Elements()
    parsed.feed(html)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "img", "svg", "a", "em", "code", "s", "del", "b", "h4", "hr"}, tags
    assert [tag for tag, _ in parsed.tags if tag == "h1"] == ["h1"]
    orphan_rows = [row for row in parsed.rows if row and len(row) != 6]  # 6 cells: the Objectives table
    assert len(orphan_rows) == len(HOSTILE)
    assert all(len(row) == 9 for row in orphan_rows)
    assert sorted(row[1] for row in orphan_rows) == sorted(flat(n) for n in HOSTILE)
    items = " ".join(parsed.texts["li"])
    for name in [*RESOLVED, VIRTUAL, OWNED_ALIAS]:
        assert flat(name) in items


def test_slack_message_is_inert(weekly: WeeklyReport) -> None:
    """Slack reads <…> as links and mentions: none may come from a name."""
    text = slack_payload(render_report(weekly, "md"))["text"]
    assert "<" not in text and ">" not in text


# --------------------------------------------------------------------------- HTML


def test_html_has_no_script_and_shows_names_as_text(weekly: WeeklyReport) -> None:
    html = render_report(weekly, "html")
    parsed = Elements()
    parsed.feed(html)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags and "iframe" not in tags
    assert "a" not in tags  # the report links nowhere
    for tag, attrs in parsed.tags:
        for attr, value in attrs:
            assert not attr.startswith("on"), (tag, attr, value)
            if attr in ("href", "src", "xlink:href", "action", "formaction"):
                assert "javascript:" not in (value or "").lower(), (tag, attr, value)
    cells = parsed.texts["td"]
    for name in HOSTILE:
        assert name in cells, name  # the orphan table's service cell holds the exact name
    items = parsed.texts["li"]
    for name in RESOLVED:
        assert any(item.startswith(name + " (") for item in items), name
    assert VIRTUAL in cells and OWNED_ALIAS in " ".join(cells)
    # the neighbourhood pictures of the top five name them in <h3> and in SVG <title>s, as text
    for orphan in weekly.data["orphans"][:5]:
        assert orphan["service"] in parsed.texts["h3"]
        assert any(t.startswith(orphan["service"]) for t in parsed.texts["title"]), orphan["service"]


PAGE_FACTS = """() => {
  const onAttrs = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) onAttrs.push(el.tagName + ' ' + a.name);
    }
  }
  return {
    scripts: document.querySelectorAll('script').length,
    images: document.querySelectorAll('img').length,
    onAttrs,
    flag: typeof window.__xss,
    text: document.body.innerText,
    cells: Array.from(document.querySelectorAll('td')).map(td => td.textContent),
  };
}"""


@pytest.mark.browser
def test_html_in_headless_chromium_runs_no_script(weekly: WeeklyReport, tmp_path: Path, browser: Any) -> None:
    """Loaded as a file (its CSP in force) and again with CSP bypassed (so only escaping protects it):
    no dialog, no script element, no event handler, no flag set; the names show as text."""
    html = render_report(weekly, "html")
    page_file = tmp_path / "weekly.html"
    page_file.write_text(html, encoding="utf-8")
    for bypass_csp in (False, True):
        context = browser.new_context(bypass_csp=bypass_csp, java_script_enabled=True)
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
        errors: list[str] = []
        page.on("pageerror", lambda e, seen=errors: seen.append(str(e)))
        if bypass_csp:
            page.set_content(html, wait_until="load")
        else:
            page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        facts: dict[str, Any] = page.evaluate(PAGE_FACTS)
        assert dialogs == [], (bypass_csp, dialogs)
        assert errors == [], (bypass_csp, errors)
        assert (facts["scripts"], facts["images"], facts["onAttrs"], facts["flag"]) == (0, 0, [], "undefined")
        text = flat(facts["text"])
        for name in [*HOSTILE, *RESOLVED, VIRTUAL]:
            assert flat(name) in text, (bypass_csp, name)
        for name in HOSTILE:
            assert name.replace("\r\n", "\n") in facts["cells"], (bypass_csp, name)
        context.close()
