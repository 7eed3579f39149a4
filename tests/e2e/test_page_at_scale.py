"""The page at the design scale (DESIGN §4a) in a real headless Chromium against `ownermap serve`.

2 000 services and 20 000 edges over the last 7 days, written straight into the store (loading
them over OTLP is bench/page.py's job): the default page is the team map and small, a focus view
on the busiest service stays within map_max_nodes, a search reaches a focus view, and no two
node boxes overlap or leave the drawing at 1 440 and 900 px.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.conftest import PageWatch
from tests.e2e.scale_data import SERVICES, build_design_scale
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAX_NODES = 150  # the default map_max_nodes
MIB = 1024 * 1024

BOXES_JS = """() => {
  const svg = document.querySelector('.map').getBoundingClientRect();  // the visible drawing (it clips)
  const boxes = Array.from(document.querySelectorAll('.map .node')).map(n => {
    const r = n.querySelector('rect').getBoundingClientRect();
    return {id: n.dataset.node, kind: n.dataset.kind, left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  });
  return {svg: {left: svg.left, top: svg.top, right: svg.right, bottom: svg.bottom}, boxes,
          width: document.documentElement.clientWidth};
}"""


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, str]]:
    """`ownermap serve` over the design-scale store; yields it and the busiest service."""
    directory = tmp_path_factory.mktemp("scale")
    db, catalog, pairs = build_design_scale(directory)
    server = ServeProcess(sqlite_url(db), "--catalog", str(catalog)).start()
    try:
        def loaded() -> bool:
            body = httpx.get(f"{server.api}/api/v1/graph", params={"window": "7d"}, timeout=60).json()
            return len(body["edges"]) >= len(pairs)

        assert wait_for(loaded, timeout=120, interval=1.0), "".join(server.log)
        degree = Counter(a for a, _, _, _ in pairs) + Counter(b for _, b, _, _ in pairs)
        busiest = max((n for n in degree if n.startswith("svc-")), key=lambda n: (degree[n], n))
        assert degree[busiest] > MAX_NODES  # its neighbourhood must be folded
        yield server, busiest
    finally:
        server.stop()


def _boxes(tab: Any) -> dict[str, Any]:
    return tab.evaluate(BOXES_JS)


def _assert_no_overlap_and_inside(layout: dict[str, Any]) -> None:
    boxes, svg = layout["boxes"], layout["svg"]
    assert boxes
    eps = 0.5
    for box in boxes:
        assert box["left"] >= svg["left"] - eps and box["right"] <= svg["right"] + eps, (box, svg)
        assert box["top"] >= svg["top"] - eps and box["bottom"] <= svg["bottom"] + eps, (box, svg)
        assert box["left"] >= -eps and box["right"] <= layout["width"] + eps, (box, layout["width"])
    ordered = sorted(boxes, key=lambda b: b["left"])
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b["left"] >= a["right"]:
                break
            overlap = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            assert overlap <= eps, f"{a['id']} and {b['id']} overlap: {a} {b}"


def test_default_page_is_the_team_map_and_small(scale: tuple[ServeProcess, str], page: tuple[Any, PageWatch]) -> None:
    server, _ = scale
    html = httpx.get(f"{server.api}/", params={"window": "7d"}, timeout=60)
    assert html.status_code == 200
    assert len(html.content) <= MIB, len(html.content)
    tab, watch = page
    tab.goto(f"{server.api}/?window=7d")
    status = tab.locator("#map-status")
    assert status.get_attribute("data-view") == "teams"
    assert status.get_attribute("data-total") == str(len(httpx.get(
        f"{server.api}/api/v1/graph", params={"window": "7d"}, timeout=60).json()["nodes"]))
    kinds = tab.eval_on_selector_all(".map .node", "els => els.map(e => e.dataset.kind)")
    assert kinds and set(kinds) == {"team"}
    assert len(kinds) <= 50  # 40 teams with members, the inactive ones, and "unowned"
    assert "unowned services" in tab.locator(".map").inner_text()
    # A team opens its services and their neighbours.
    with tab.expect_navigation():
        tab.locator('.map a:has(> .node[data-node="team-07"])').click()
    assert parse_qs(urlsplit(tab.url).query).get("team") == ["team-07"]
    assert tab.locator("#map-status").get_attribute("data-view") == "team"
    assert tab.locator(".map .node[data-kind=service]").count() <= MAX_NODES
    assert watch.page_errors == [] and watch.failed_responses == []


def test_focus_on_a_busy_service_draws_at_most_the_cap(scale: tuple[ServeProcess, str],
                                                       page: tuple[Any, PageWatch]) -> None:
    server, busiest = scale
    tab, watch = page
    for hops in (1, 2, 3):
        tab.goto(f"{server.api}/?{httpx.QueryParams({'window': '7d', 'node': busiest, 'hops': str(hops)})}")
        kinds = tab.eval_on_selector_all(".map .node", "els => els.map(e => e.dataset.kind)")
        real = [k for k in kinds if k != "stub"]
        assert 0 < len(real) <= MAX_NODES, (hops, len(real))
        assert "stub" in kinds  # the rest is folded into "+k more" boxes
        assert tab.locator(f'.map .node-highlight[data-node="{busiest}"]').count() == 1
        assert int(tab.locator("#map-status").get_attribute("data-folded") or 0) > 0
    assert tab.locator("#narrower").count() == 1 and tab.locator("#wider").count() == 0  # hops=3 is the most
    assert watch.page_errors == [] and watch.failed_responses == []


def test_a_search_for_a_service_reaches_its_focus_view(scale: tuple[ServeProcess, str],
                                                        page: tuple[Any, PageWatch]) -> None:
    server, _ = scale
    tab, _ = page
    tab.goto(f"{server.api}/?window=7d")
    options = tab.eval_on_selector_all("#names option", "els => els.map(e => e.value)")
    assert len(options) >= SERVICES and "svc-0123" in options and "team-07" in options
    tab.fill("#search-q", "svc-0123")
    with tab.expect_navigation():
        tab.press("#search-q", "Enter")
    assert parse_qs(urlsplit(tab.url).query).get("node") == ["svc-0123"]
    assert tab.locator("#map-status").get_attribute("data-view") == "focus"
    assert tab.locator("#detail-title").text_content() == "svc-0123"
    # A name that does not exist says so and offers the nearest.
    tab.fill("#search-q", "svc-012x")
    with tab.expect_navigation():
        tab.press("#search-q", "Enter")
    notice = tab.locator("#search-result")
    assert "Nothing is named svc-012x" in notice.inner_text()
    nearest = notice.locator("a").all_text_contents()
    assert nearest and all(n.startswith("svc-012") for n in nearest[:3]), nearest


@pytest.mark.parametrize("width", [1440, 900])
@pytest.mark.parametrize("view", ["teams", "focus", "team"])
def test_node_boxes_never_overlap_and_stay_inside_the_drawing(scale: tuple[ServeProcess, str], browser: Any,
                                                             width: int, view: str) -> None:
    server, busiest = scale
    params = {"teams": {}, "focus": {"node": busiest, "hops": "2"}, "team": {"team": "team-07"}}[view]
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(f"{server.api}/?{httpx.QueryParams({'window': '7d', **params})}")
        layout = _boxes(tab)
        _assert_no_overlap_and_inside(layout)
        assert layout["svg"]["right"] <= layout["width"] + 0.5
    finally:
        context.close()


def test_screenshot_of_the_team_map(scale: tuple[ServeProcess, str], browser: Any, tmp_path: Path) -> None:
    server, _ = scale
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(f"{server.api}/?window=7d")
        shot = tmp_path / "team-map-1440.png"
        tab.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        context.close()
