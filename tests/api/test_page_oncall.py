"""The team view's on-call chart: one bar per episode inside the window, every name escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.page.oncall import episode_chart, team_oncall
from graph.model import Window
from ownership.oncall import OncallReport
from ownership.oncall.episodes import Episode
from ownership.oncall.load import TeamLoad

T = 1793664000
WINDOW = Window(T, T + 6 * 3600)
HOSTILE = '<script>alert("x")</script>&'
SVG = "{http://www.w3.org/2000/svg}"


def test_chart_draws_each_episode_and_escapes_names() -> None:
    episodes = [Episode(T - 300, T + 600, (HOSTILE,)), Episode(T + 3 * 3600, T + 3 * 3600 + 300, ("api",))]
    svg = episode_chart(episodes, WINDOW, HOSTILE)
    assert "<script" not in svg
    root = ET.fromstring(svg)  # well-formed XML: nothing a name carried broke out
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 2
    assert float(rects[0].get("x") or 0) == 10.0  # clipped to the window's start
    assert HOSTILE in "".join(rects[0].itertext())
    assert float(rects[1].get("x") or 0) == 10 + 0.5 * 580


def test_team_oncall_finds_the_team_in_any_case() -> None:
    load = TeamLoad("Red", ["api"], 2, True, 1, 10, 5, [Episode(T, T + 300, ("api",))], 1, 0, [], True)
    panel = team_oncall(OncallReport(WINDOW, [load]), "red")
    assert panel is not None and panel["per_member"] == 1.0 and panel["overloaded"] is True
    assert "<rect" in panel["chart"]
    assert team_oncall(OncallReport(WINDOW, [load]), "blue") is None
    assert "no episodes" in episode_chart([], WINDOW, "Red")
