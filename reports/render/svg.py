"""The service map as inline SVG: layered left-to-right, coloured by ownership.

Used by the HTML report and by the web page. Every name is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

STATUS_COLOURS = {
    "ok": "#2e7d32",
    "undocumented": "#c62828",
    "unowned": "#c62828",
    "owner_not_found": "#d84315",
    "owner_inactive": "#ef6c00",
    "virtual": "#546e7a",
    None: "#757575",
}
STATUS_LABELS = {
    "ok": "owned",
    "undocumented": "undocumented",
    "unowned": "no owner",
    "owner_not_found": "owner not found",
    "owner_inactive": "owner inactive",
    "virtual": "database / queue / external",
}
NODE_WIDTH, NODE_HEIGHT, COLUMN, ROW, MARGIN = 170, 38, 240, 62, 20

_env = Environment(loader=PackageLoader("reports.render", "templates"), autoescape=select_autoescape(("svg", "html")),
                   trim_blocks=True, lstrip_blocks=True)


@dataclass
class PlacedNode:
    """A node with its box position."""

    id: str
    label: str
    kind: str
    status: str | None
    owner: str | None
    x: int
    y: int
    colour: str
    highlight: bool
    href: str | None = None


@dataclass
class PlacedEdge:
    """An edge as a path between two boxes."""

    source: str
    target: str
    path: str
    width: float
    colour: str
    title: str


def _error_colour(errors: int, calls: int) -> str:
    rate = errors / calls if calls else 0.0
    if rate >= 0.05:
        return "#c62828"
    if rate > 0:
        return "#ef6c00"
    return "#90a4ae"


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def place(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    positions: dict[str, tuple[int, int]],
    highlight: set[str] | None = None,
    link: Callable[[str], str] | None = None,
) -> tuple[list[PlacedNode], list[PlacedEdge], int, int]:
    """Boxes and paths from layered positions; returns them with the picture's width and height."""
    highlight = highlight or set()
    placed: dict[str, PlacedNode] = {}
    for node in nodes:
        if node["id"] not in positions:
            continue
        layer, row = positions[node["id"]]
        placed[node["id"]] = PlacedNode(
            node["id"], _short(node["id"]), node["kind"], node.get("owner_status"), node.get("owner"),
            MARGIN + layer * COLUMN, MARGIN + row * ROW, STATUS_COLOURS.get(node.get("owner_status"), "#757575"),
            node["id"] in highlight, link(node["id"]) if link else None,
        )
    lines = []
    for edge in edges:
        a, b = placed.get(edge["source"]), placed.get(edge["target"])
        if a is None or b is None or a is b:
            continue
        x1, y1 = a.x + NODE_WIDTH, a.y + NODE_HEIGHT // 2
        x2, y2 = b.x, b.y + NODE_HEIGHT // 2
        if x2 <= x1:  # back edge inside a cycle: loop around below
            x1, x2 = a.x + NODE_WIDTH // 2, b.x + NODE_WIDTH // 2
            y1, y2 = a.y + NODE_HEIGHT, b.y + NODE_HEIGHT
            bend = max(y1, y2) + 30
            path = f"M{x1},{y1} C{x1},{bend} {x2},{bend} {x2},{y2}"
        else:
            mid = (x1 + x2) / 2
            path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        width = round(1 + math.log10(max(edge["calls"], 1)), 2)
        title = f"{edge['source']} → {edge['target']}: {edge['calls']} calls, {edge['errors']} errors"
        lines.append(PlacedEdge(edge["source"], edge["target"], path, width,
                                _error_colour(edge["errors"], edge["calls"]), title))
    width = max((n.x for n in placed.values()), default=0) + NODE_WIDTH + 2 * MARGIN
    height = max((n.y for n in placed.values()), default=0) + NODE_HEIGHT + 2 * MARGIN + 30
    return list(placed.values()), lines, width, height


def render_svg(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    positions: dict[str, tuple[int, int]],
    highlight: set[str] | None = None,
    title: str = "service map",
    link: Callable[[str], str] | None = None,
) -> str:
    """An inline <svg> element of the map (nodes need id, kind, owner, owner_status).

    With `link`, every node is a focusable link to `link(node id)` (the web page's detail panel).
    """
    placed_nodes, placed_edges, width, height = place(nodes, edges, positions, highlight, link)
    return _env.get_template("map.svg").render(
        nodes=placed_nodes, edges=placed_edges, width=width, height=height, title=title,
        node_width=NODE_WIDTH, node_height=NODE_HEIGHT, labels=STATUS_LABELS,
    )
