"""The web page in a real headless Chromium, against a real `ownermap serve` fed with demo-like traffic.

The server gets the demo catalog (with its deliberate gaps), the demo shop's traffic through the
OpenTelemetry SDK's OTLP exporter, and a few services whose names are HTML, script or template
syntax. The page must draw exactly what the API reports, react to clicks, keys and filters, and show
the hostile names as plain text without running any of them.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tests.e2e.conftest import PageWatch
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent.parent
DEMO_CATALOG = REPO / "ownermap" / "demo" / "catalog"
ORPHAN_CODES = {"undocumented", "unowned", "owner_not_found", "owner_inactive"}
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    '"><svg onload=alert(1)>',
    "{{7*7}}",
]
SHOP = {"web-frontend", "cart", "catalog", "recommendations", "checkout", "payments", "shipping", "email",
        "orders-db", "stripe-api"}
WINDOW = "7d"


@dataclass
class Shop:
    """The running server and what its API says about the window the page shows."""

    server: ServeProcess
    nodes: dict[str, dict[str, Any]]
    edges: list[dict[str, Any]]

    @property
    def api(self) -> str:
        return self.server.api

    def neighbourhood(self, names: set[str]) -> set[str]:
        """`names` and everything one edge away, either direction (what the page draws around them)."""
        out = set(names)
        for edge in self.edges:
            if edge["source"] in names:
                out.add(edge["target"])
            if edge["target"] in names:
                out.add(edge["source"])
        return out & set(self.nodes)


def _span(trace: bytes, span_id: int, kind: int, name: str, parent: int | None = None,
          attributes: dict[str, str] | None = None) -> Span:
    now = time.time_ns()
    span = Span(trace_id=trace, span_id=span_id.to_bytes(8, "big"), kind=kind, name=name,
                start_time_unix_nano=now, end_time_unix_nano=now + 3_000_000)
    if parent is not None:
        span.parent_span_id = parent.to_bytes(8, "big")
    for key, value in (attributes or {}).items():
        span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    return span


def _hostile_request(rounds: int = 3) -> ExportTraceServiceRequest:
    """A chain HOSTILE[0] → HOSTILE[1] → … of real CLIENT/SERVER pairs, so every hostile name is a node."""
    by_service: dict[str, list[Span]] = {name: [] for name in HOSTILE}
    for r in range(rounds):
        trace = os.urandom(16)
        parent: int | None = None
        for i in range(len(HOSTILE) - 1):
            caller, callee = HOSTILE[i], HOSTILE[i + 1]
            client_id, server_id = 1000 * (r + 1) + 2 * i + 1, 1000 * (r + 1) + 2 * i + 2
            by_service[caller].append(_span(trace, client_id, Span.SPAN_KIND_CLIENT, f"call {callee}", parent,
                                            {"server.address": "hostile.example"}))
            by_service[callee].append(_span(trace, server_id, Span.SPAN_KIND_SERVER, "handle", client_id))
            parent = server_id
    return ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=name))]),
                      scope_spans=[ScopeSpans(spans=spans)])
        for name, spans in by_service.items()
    ])


def _graph(api: str, **params: str) -> dict[str, Any]:
    response = httpx.get(f"{api}/api/v1/graph", params={"window": WINDOW, **params}, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """`ownermap serve` with the demo catalog, 30 shop requests and the hostile chain, settled."""
    from ownermap.demo.traffic import ShopTraffic

    db = tmp_path_factory.mktemp("ui") / "ui.db"
    server = ServeProcess(sqlite_url(db), "--catalog", str(DEMO_CATALOG), "--pairing-ttl", "0.5").start()
    try:
        traffic = ShopTraffic(server.grpc, rate_per_second=50, seed=11)
        for _ in range(30):
            traffic.one_request()
        traffic.stop()  # flushes every exporter
        sent = httpx.post(server.http, content=_hostile_request().SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert sent.status_code == 200, sent.text

        def settled() -> dict[str, Any] | None:
            body = _graph(server.api)
            names = {n["id"] for n in body["nodes"]}
            hostile_edges = [e for e in body["edges"] if e["source"] in HOSTILE and e["target"] in HOSTILE]
            return body if SHOP | set(HOSTILE) <= names and len(hostile_edges) == len(HOSTILE) - 1 else None

        body = wait_for(settled, timeout=30, interval=0.2)
        assert body, f"the API never showed the shop and the hostile chain: {_graph(server.api)}\n{''.join(server.log)}"
        time.sleep(1.0)  # let late pairs land, then take the API's final word
        body = _graph(server.api)
        yield Shop(server, {n["id"]: n for n in body["nodes"]}, body["edges"])
    finally:
        server.stop()


def _url(shop: Shop, **params: str) -> str:
    return f"{shop.api}/?{httpx.QueryParams({'window': WINDOW, **params})}"


def _drawn(page: Any) -> list[str]:
    """data-node of every node on the map."""
    return page.eval_on_selector_all(".map .node", "els => els.map(e => e.getAttribute('data-node'))")


def _assert_nothing_ran(page: Any, watch: PageWatch) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined", "an injected script ran"
    assert watch.dialogs == [], f"a dialog was opened: {watch.dialogs}"
    assert watch.page_errors == [], f"uncaught page errors: {watch.page_errors}"
    assert watch.csp_violations == [], f"CSP violations (something tried to run): {watch.csp_violations}"
    assert watch.script_errors == [], f"console errors: {watch.script_errors}"
    assert watch.failed_responses == [], f"failed loads: {watch.failed_responses}"


def _panel_opens_for(page: Any, name: str) -> None:
    page.wait_for_load_state("load")
    assert parse_qs(urlsplit(page.url).query).get("node") == [name], page.url
    assert page.locator("#detail-title").text_content() == name


def test_map_shows_exactly_the_api_nodes(shop: Shop, page: tuple[Any, PageWatch], tmp_path: Path) -> None:
    tab, watch = page
    response = tab.goto(_url(shop, view="all"))
    assert response is not None and response.status == 200
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "object-src 'none'" in csp, csp
    drawn = _drawn(tab)
    assert len(drawn) == len(shop.nodes), (sorted(drawn), sorted(shop.nodes))
    assert sorted(drawn) == sorted(shop.nodes)
    status = tab.locator("#map-status")
    assert status.get_attribute("data-shown") == str(len(shop.nodes))
    assert status.get_attribute("data-total") == str(len(shop.nodes))
    edges = tab.eval_on_selector_all(".map .edge", "els => els.map(e => [e.dataset.source, e.dataset.target])")
    assert sorted(map(tuple, edges)) == sorted({(e["source"], e["target"]) for e in shop.edges
                                                if e["source"] != e["target"]})
    # Nodes are coloured by ownership status, as the API reports it.
    statuses = tab.eval_on_selector_all(".map .node", "els => els.map(e => [e.dataset.node, e.dataset.status])")
    assert dict(statuses) == {name: n["owner_status"] or "" for name, n in shop.nodes.items()}
    box = tab.locator(".map svg").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert tab.locator("table#orphans").is_visible()
    assert tab.locator("table#teams").is_visible()
    orphan_rows = tab.locator("table#orphans tbody tr td:first-child").all_text_contents()
    services = httpx.get(f"{shop.api}/api/v1/services", params={"window": WINDOW}, timeout=10).json()["services"]
    assert sorted(orphan_rows) == sorted(s["name"] for s in services if ORPHAN_CODES & set(s["findings"]))
    assert {"recommendations", "shipping", "email"} <= set(orphan_rows)
    team_rows = tab.eval_on_selector_all("table#teams tbody tr td:first-child a", "els => els.map(e => e.textContent)")
    assert sorted(team_rows) == ["team-fulfilment", "team-payments", "team-storefront"]
    shot = tmp_path / "map.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    _assert_nothing_ran(tab, watch)


@pytest.mark.parametrize(("name", "owner", "codes"), [
    ("recommendations", None, {"undocumented"}),
    ("shipping", "team-logistics", {"owner_not_found", "no_runbook"}),
    ("email", "team-fulfilment", {"owner_inactive"}),
    ("checkout", "team-payments", set()),
])
def test_clicking_a_node_shows_its_details(shop: Shop, page: tuple[Any, PageWatch], name: str, owner: str | None,
                                          codes: set[str]) -> None:
    tab, watch = page
    tab.goto(_url(shop, view="all"))
    assert tab.locator("#detail-title").count() == 0
    tab.locator(f'.map a:has(> .node[data-node="{name}"])').click()
    _panel_opens_for(tab, name)
    detail = httpx.get(f"{shop.api}/api/v1/services/{name}", params={"window": WINDOW}, timeout=10).json()
    owner_text = tab.locator("#detail-owner").inner_text()
    assert owner_text.startswith(owner or "none"), owner_text
    assert detail["owner"] == owner
    shown_codes = set(tab.eval_on_selector_all(".panel .findings code", "els => els.map(e => e.textContent)"))
    assert codes <= shown_codes
    assert shown_codes == set(detail["findings"]), (shown_codes, detail["findings"])
    panel = tab.locator("#panel").inner_text()
    if detail["suggested_owners"]:
        assert "Suggested owners" in panel
        for suggestion in detail["suggested_owners"]:
            assert suggestion["team"] in panel
    # The clicked node is highlighted on its focus view: it and its direct neighbours, nothing else.
    assert tab.locator(f'.map .node-highlight[data-node="{name}"]').count() == 1
    assert sorted(_drawn(tab)) == sorted(shop.neighbourhood({name}))
    _assert_nothing_ran(tab, watch)


def test_an_undocumented_service_gets_a_suggested_owner(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, _ = page
    detail = httpx.get(f"{shop.api}/api/v1/services/recommendations", params={"window": WINDOW}, timeout=10).json()
    assert detail["suggested_owners"], detail  # storefront namespace, called by and calling storefront services
    tab.goto(_url(shop, view="all", node="recommendations"))
    items = tab.locator("#panel h3:has-text('Suggested owners') + ul > li > strong")
    assert items.first.text_content() == detail["suggested_owners"][0]["team"]




def _expect_team(shop: Shop, team: str) -> set[str]:
    owned = {name for name, n in shop.nodes.items() if (n["owner"] or "").lower() == team}
    assert owned, team
    return shop.neighbourhood(owned)


def _expect_orphans(shop: Shop) -> set[str]:
    services = httpx.get(f"{shop.api}/api/v1/services", params={"window": WINDOW}, timeout=10).json()["services"]
    orphans = {s["name"] for s in services if ORPHAN_CODES & set(s["findings"])}
    assert {"recommendations", "shipping", "email", *HOSTILE} <= orphans
    return shop.neighbourhood(orphans)


@pytest.mark.parametrize("team", ["team-storefront", "team-payments", "team-fulfilment"])
def test_team_link_shows_the_team_and_its_neighbours(shop: Shop, page: tuple[Any, PageWatch], team: str) -> None:
    tab, watch = page
    tab.goto(_url(shop, view="all"))
    before = len(_drawn(tab))
    with tab.expect_navigation():
        tab.locator("table#teams tbody tr td:first-child a", has_text=team).click()
    assert parse_qs(urlsplit(tab.url).query).get("team") == [team]
    expected = _expect_team(shop, team)
    drawn = _drawn(tab)
    assert sorted(drawn) == sorted(expected), team
    assert len(drawn) < before
    assert not set(HOSTILE) & set(drawn)
    assert tab.locator("#map-status").get_attribute("data-shown") == str(len(expected))
    assert tab.locator("#filters select[name=team]").input_value() == team
    _assert_nothing_ran(tab, watch)


def test_orphans_view_shows_orphans_and_their_neighbours(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    tab.goto(f"{shop.api}/?view=orphans&window={WINDOW}")
    expected = _expect_orphans(shop)
    drawn = _drawn(tab)
    assert sorted(drawn) == sorted(expected)
    assert len(drawn) < len(shop.nodes)  # payments, stripe-api, carts-db … are not next to an orphan
    assert "payments" not in drawn
    _assert_nothing_ran(tab, watch)


def test_choosing_a_team_in_the_filter_form_filters_the_map(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    tab.goto(_url(shop, view="all"))
    with tab.expect_navigation():
        tab.select_option("#filters select[name=team]", "team-payments")  # ownermap.js submits on change
    assert parse_qs(urlsplit(tab.url).query).get("team") == ["team-payments"]
    assert sorted(_drawn(tab)) == sorted(_expect_team(shop, "team-payments"))
    _assert_nothing_ran(tab, watch)


def test_choosing_orphans_in_the_filter_form_filters_the_map(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    tab.goto(_url(shop, view="all"))
    with tab.expect_navigation():
        tab.select_option("#filters select[name=view]", "orphans")
    assert parse_qs(urlsplit(tab.url).query).get("view") == ["orphans"]
    assert sorted(_drawn(tab)) == sorted(_expect_orphans(shop))
    _assert_nothing_ran(tab, watch)


def test_the_filter_form_works_without_javascript(shop: Shop, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(_url(shop, view="all"))
        tab.select_option("#filters select[name=team]", "team-payments")
        with tab.expect_navigation():
            tab.click("#filters button[type=submit]")
        assert sorted(_drawn(tab)) == sorted(_expect_team(shop, "team-payments"))
    finally:
        context.close()


def test_environment_filter_hides_other_environments(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    tab.goto(_url(shop, view="all"))
    tab.fill("#filters input[name=env]", "demo")
    with tab.expect_navigation():
        tab.press("#filters input[name=env]", "Enter")
    demo_nodes = {n["id"] for n in _graph(shop.api, env="demo")["nodes"]}
    assert demo_nodes >= SHOP and not set(HOSTILE) & demo_nodes
    assert sorted(_drawn(tab)) == sorted(demo_nodes)
    _assert_nothing_ran(tab, watch)


def test_hostile_service_names_are_plain_text(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    tab.goto(_url(shop, view="all"))
    text = tab.locator("body").inner_text()
    for name in HOSTILE:
        assert name in text, f"{name!r} is not shown literally"
    orphan_names = tab.locator("table#orphans tbody tr td:first-child").all_text_contents()
    assert set(HOSTILE) <= set(orphan_names) and "49" not in orphan_names  # {{7*7}} was not evaluated
    assert set(HOSTILE) <= set(_drawn(tab))
    # No markup from a name made it into the document: one script (ours), no injected img/svg handlers.
    assert tab.evaluate("Array.from(document.scripts).map(s => s.getAttribute('src'))") == ["/static/ownermap.js"]
    assert tab.locator("img").count() == 0
    assert tab.evaluate("document.querySelectorAll('[onerror], [onload]').length") == 0
    assert tab.locator("svg").count() == 1
    _assert_nothing_ran(tab, watch)
    # Open a hostile node's panel: the name is the title, as text, and its links stay on the page.
    index = tab.evaluate(
        "(name) => Array.from(document.querySelectorAll('.map .node')).findIndex(n => n.dataset.node === name)",
        HOSTILE[0],
    )
    assert index >= 0
    tab.locator(".map a").nth(index).click()
    _panel_opens_for(tab, HOSTILE[0])
    panel = tab.locator("#panel").inner_text()
    assert HOSTILE[1] in panel  # its call to the next hostile service is listed
    assert "undocumented" in panel
    assert tab.evaluate("Array.from(document.scripts).length") == 1
    _assert_nothing_ran(tab, watch)


def test_keyboard_reaches_node_links_and_enter_opens_the_panel(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    tab.goto(_url(shop, view="all"))
    tab.locator("header h1 a").focus()
    focused_node = None
    for _ in range(40):
        tab.keyboard.press("Tab")
        focused_node = tab.evaluate(
            "() => { const a = document.activeElement; const n = a && a.closest('.map') && a.querySelector('.node');"
            " return n ? n.dataset.node : null; }"
        )
        if focused_node:
            break
    assert focused_node, "Tab never reached a node link on the map"
    assert tab.evaluate("document.activeElement.tagName.toLowerCase()") == "a"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    _panel_opens_for(tab, focused_node)
    _assert_nothing_ran(tab, watch)


def test_node_links_are_exposed_to_assistive_technology(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, _ = page
    tab.goto(_url(shop, view="all"))
    link = tab.get_by_role("link", name="recommendations: undocumented")
    assert link.count() == 1, "the node link is not in the accessibility tree"


def test_weekly_html_report_runs_no_script(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    response = tab.goto(f"{shop.api}/api/v1/reports/weekly?format=html")
    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers.get("content-security-policy", "")
    table = tab.locator("h2:has-text('Orphans by risk') + table")
    assert table.is_visible()
    rows = table.locator("tbody tr td:nth-child(2)").all_text_contents()
    assert {"recommendations", "shipping", "email", *HOSTILE} <= set(rows)
    text = tab.locator("body").inner_text()
    for name in HOSTILE:
        assert name in text
    assert tab.evaluate("document.scripts.length") == 0
    assert tab.locator("img").count() == 0
    assert tab.evaluate("document.querySelectorAll('[onerror], [onload]').length") == 0
    _assert_nothing_ran(tab, watch)


BOXES_JS = """() => {
  const svg = document.querySelector('.map').getBoundingClientRect();  // the visible drawing (it clips)
  return {svg: [svg.left, svg.top, svg.right, svg.bottom], width: document.documentElement.clientWidth,
          boxes: Array.from(document.querySelectorAll('.map .node')).map(n => {
            const r = n.querySelector('rect').getBoundingClientRect();
            return [n.dataset.node, r.left, r.top, r.right, r.bottom]; })};
}"""


@pytest.mark.parametrize("width", [1440, 900])
def test_the_demo_map_shows_every_node_without_clipping(shop: Shop, browser: Any, tmp_path: Path, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(_url(shop))
        assert sorted(_drawn(tab)) == sorted(shop.nodes)  # the demo fits: every node, no team map
        layout = tab.evaluate(BOXES_JS)
        left, top, right, bottom = layout["svg"]
        assert right <= layout["width"] + 0.5, (right, layout["width"])
        for name, x1, y1, x2, y2 in layout["boxes"]:
            assert left - 0.5 <= x1 and x2 <= right + 0.5 and top - 0.5 <= y1 and y2 <= bottom + 0.5, name
            assert x1 >= 0 and x2 <= layout["width"], (name, x1, x2, layout["width"])
        assert {"cache", "stripe-api"} <= set(_drawn(tab))
        shot = tmp_path / f"demo-{width}.png"
        tab.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        context.close()


def test_times_are_shown_as_people_read_them(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, _ = page
    tab.goto(_url(shop, node="checkout"))
    times = tab.eval_on_selector_all("#panel time", "els => els.map(e => [e.getAttribute('datetime'), e.textContent])")
    assert times, "no <time> in the panel"
    for exact, shown in times:
        assert exact.endswith("Z"), exact
        assert shown.endswith("ago") or shown == "just now", (exact, shown)
    status = tab.locator("#map-status").inner_text()
    assert "UTC" in status and not re.search(r"\d{4}-\d\d-\d\dT", status), status  # no raw ISO strings


def test_search_for_a_hostile_name_is_plain_text(shop: Shop, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    for name in HOSTILE:
        tab.goto(_url(shop))
        tab.fill("#search-q", name)
        with tab.expect_navigation():
            tab.press("#search-q", "Enter")
        # An existing (hostile) service name opens its focus view, its name shown as text.
        assert parse_qs(urlsplit(tab.url).query).get("node") == [name], tab.url
        assert tab.locator("#detail-title").text_content() == name
        assert name in _drawn(tab)
        _assert_nothing_ran(tab, watch)
    for name in HOSTILE:  # unknown hostile queries: "not found", echoed as text
        tab.goto(_url(shop, q=name + "x"))
        assert name + "x" in tab.locator("#search-result").inner_text()
        assert tab.evaluate("Array.from(document.scripts).length") == 1
        assert tab.locator("img").count() == 0
        _assert_nothing_ran(tab, watch)
    options = tab.eval_on_selector_all("#names option", "els => els.map(e => e.value)")
    assert set(HOSTILE) <= set(options)


HOSTILE_TITLE = '<script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">{{7*7}}'
HOSTILE_OWNERS = f"""teams:
  - name: team-hostile
    title: '{HOSTILE_TITLE}'
    members: [mallory]
services:
  - name: hostile-owned
    owner: team-hostile
"""


@pytest.fixture(scope="module")
def hostile_teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """A server whose map cap is 3 (so the team map shows), a team with a hostile title owning a
    service that calls the hostile chain."""
    work = tmp_path_factory.mktemp("hostile-teams")
    (work / "catalog").mkdir()
    (work / "catalog" / "owners.yaml").write_text(HOSTILE_OWNERS, encoding="utf-8")
    server = ServeProcess(sqlite_url(work / "h.db"), "--catalog", str(work / "catalog"), "--pairing-ttl", "0.5",
                          env={"OWNERMAP_MAP_MAX_NODES": "3"}).start()
    try:
        request = _hostile_request()
        trace = os.urandom(16)
        owned = ResourceSpans(
            resource=Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="hostile-owned"))]),
            scope_spans=[ScopeSpans(spans=[_span(trace, 1, Span.SPAN_KIND_CLIENT, "call",
                                                 attributes={"server.address": "hostile.example"})])])
        request.resource_spans.append(owned)
        request.resource_spans[0].scope_spans[0].spans.append(_span(trace, 2, Span.SPAN_KIND_SERVER, "handle", 1))
        sent = httpx.post(server.http, content=request.SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert sent.status_code == 200, sent.text

        def settled() -> bool:
            edges = _graph(server.api)["edges"]
            return any(e["source"] == "hostile-owned" and e["target"] == HOSTILE[0] for e in edges)

        assert wait_for(settled, timeout=30, interval=0.2), "".join(server.log)
        yield server
    finally:
        server.stop()


def test_hostile_team_titles_on_the_team_map_team_view_and_focus(hostile_teams: ServeProcess,
                                                                  page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    api = hostile_teams.api
    tab.goto(f"{api}/?window={WINDOW}")
    assert tab.locator("#map-status").get_attribute("data-view") == "teams"
    labels = tab.eval_on_selector_all(".map .node", "els => els.map(e => e.dataset.node)")
    assert sorted(labels) == ["(unowned)", "team-hostile"]
    assert HOSTILE_TITLE[:23] in tab.locator(".map").inner_text()  # the title, shortened, as text
    tooltip = tab.locator('.map .node[data-node="team-hostile"] title').text_content()
    assert tooltip is not None and tooltip.startswith(HOSTILE_TITLE)
    assert "49" not in tab.locator(".map").inner_text()
    assert tab.evaluate("Array.from(document.scripts).length") == 1 and tab.locator("img").count() == 0
    assert tab.evaluate("document.querySelectorAll('[onerror], [onload]').length") == 0
    _assert_nothing_ran(tab, watch)
    with tab.expect_navigation():
        tab.locator('.map a:has(> .node[data-node="team-hostile"])').click()
    assert parse_qs(urlsplit(tab.url).query).get("team") == ["team-hostile"]
    assert {"hostile-owned", HOSTILE[0]} <= set(_drawn(tab))
    _assert_nothing_ran(tab, watch)
    # The orphans node opens the hostile chain; a focus on a hostile name stays text.
    tab.goto(f"{api}/?window={WINDOW}")
    with tab.expect_navigation():
        tab.locator('.map a:has(> .node[data-node="(unowned)"])').click()
    assert parse_qs(urlsplit(tab.url).query).get("view") == ["orphans"]
    assert set(HOSTILE) & set(_drawn(tab))
    tab.goto(f"{api}/?{httpx.QueryParams({'window': WINDOW, 'node': HOSTILE[1], 'hops': '3'})}")
    assert tab.locator("#detail-title").text_content() == HOSTILE[1]
    assert tab.evaluate("Array.from(document.scripts).length") == 1 and tab.locator("img").count() == 0
    # The team is found by its hostile title, too.
    tab.goto(f"{api}/?{httpx.QueryParams({'window': WINDOW, 'q': HOSTILE_TITLE})}")
    assert parse_qs(urlsplit(tab.url).query).get("team") == ["team-hostile"]
    _assert_nothing_ran(tab, watch)
