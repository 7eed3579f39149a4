"""The team view's on-call load: the team's figures and a small SVG chart of its episodes (§3b).

The chart is drawn here as plain SVG text; every name in it goes through `markupsafe.escape`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from graph.model import Window
from ownership.oncall import OncallReport
from ownership.oncall.episodes import Episode

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BAR = 600, 70, 10, 10, 18, 22
EPISODE_COLOUR = "#ef6c00"


def team_oncall(report: OncallReport, team: str) -> dict[str, Any] | None:
    """The figures of one team (any case) and its chart, or None when no such team is declared."""
    wanted = team.casefold()
    load = next((t for t in report.teams if t.team.casefold() == wanted), None)
    if load is None:
        return None
    figures = load.to_dict()
    chart = episode_chart(load.episodes, report.window, load.team)
    return {**figures, "chart": Markup(chart)}  # noqa: S704 - built from escaped parts only


def _x(ts: float, window: Window) -> float:
    span = max(window.end - window.start, 1.0)
    inside = min(max(ts, window.start), window.end)
    return LEFT + (inside - window.start) / span * (WIDTH - LEFT - RIGHT)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def episode_chart(episodes: list[Episode], window: Window, team: str) -> str:
    """A timeline of the window with one bar per episode (at least 2 px wide), each with a tooltip."""
    name = escape(team)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="oncall-chart" role="img" '
        f'aria-label="{len(episodes)} on-call episodes of {name} over the window">',
        f"<title>Episodes of {name}</title>",
        f'<line x1="{LEFT}" y1="{TOP + BAR}" x2="{WIDTH - RIGHT}" y2="{TOP + BAR}" stroke="#90a4ae"/>',
        f'<text x="{LEFT}" y="{HEIGHT - 6}" font-size="11">{escape(_when(window.start))}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" font-size="11" text-anchor="end">'
        f"{escape(_when(window.end))}</text>",
    ]
    for episode in episodes:
        x1, x2 = _x(episode.start, window), _x(episode.end, window)
        services = escape(", ".join(episode.services))
        parts.append(
            f'<rect x="{x1:.1f}" y="{TOP}" width="{max(x2 - x1, 2.0):.1f}" height="{BAR}" fill="{EPISODE_COLOUR}">'
            f"<title>{escape(_when(episode.start))} to {escape(_when(episode.end))}: {services}</title></rect>"
        )
    if not episodes:
        parts.append(f'<text x="{WIDTH / 2}" y="{TOP + BAR - 6}" font-size="12" text-anchor="middle">'
                     "no episodes in this window</text>")
    parts.append("</svg>")
    return "".join(parts)
