"""The service map as inline SVG: layered left-to-right, coloured by ownership.

Used by the HTML report and by the web page. Every name is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from reports.render.times import register as register_times

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
NODE_WIDTH, NODE_HEIGHT, COLUMN, ROW, MARGIN = 170, 38, 230, 58, 20
TARGET_COLUMNS = 5  # tall layers fold into side-by-side columns until the drawing is about this wide
MIN_ROWS = 8  # … but a column keeps at least this many rows

_env = Environment(loader=PackageLoader("reports.render", "templates"), autoescape=select_autoescape(("svg", "html")),
                   trim_blocks=True, lstrip_blocks=True)
register_times(_env)


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
    sub: str = ""
    tooltip: str = ""
    aria: str = ""


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


def grid(positions: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Drawing cells (column, row) from layered positions (layer, row).

    A layer taller than the others folds into several columns side by side, so that a wide,
    flat neighbourhood (one service with 100 callers) stays near TARGET_COLUMNS wide instead of
    one very tall column; cells stay distinct, so boxes never overlap.
    """
    sizes: dict[int, int] = {}
    for layer, row in positions.values():
        sizes[layer] = max(sizes.get(layer, 0), row + 1)
    tallest = max(sizes.values(), default=0)
    rows = tallest
    candidate = MIN_ROWS
    while candidate < tallest:
        if sum(math.ceil(n / candidate) for n in sizes.values()) <= max(TARGET_COLUMNS, len(sizes)):
            rows = candidate
            break
        candidate += 1
    start: dict[int, int] = {}
    column = 0
    for layer in sorted(sizes):
        start[layer] = column
        column += math.ceil(sizes[layer] / rows)
    return {name: (start[layer] + row // rows, row % rows) for name, (layer, row) in positions.items()}


def _node_sub(node: dict[str, Any]) -> str:
    if "sub" in node:
        return str(node["sub"])
    return node["kind"] + (f" · {node['owner']}" if node.get("owner") else "")


def _node_tooltip(node: dict[str, Any]) -> str:
    if "tooltip" in node:
        return str(node["tooltip"])
    owner = f" (owner {node['owner']})" if node.get("owner") else ""
    return f"{node['id']}{owner}: {STATUS_LABELS.get(node.get('owner_status') or '', 'unknown')}"


def _edge_width(calls: int, most: int) -> float:
    """1 to 7 px, by the edge's share of the busiest drawn edge (log scale)."""
    if most <= 1:
        return 1.5
    return round(1 + 6 * math.log1p(max(calls, 0)) / math.log1p(most), 2)


def place(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    positions: dict[str, tuple[int, int]],
    highlight: set[str] | None = None,
    link: Callable[[str], str] | None = None,
) -> tuple[list[PlacedNode], list[PlacedEdge], int, int]:
    """Boxes and paths from layered positions; returns them with the picture's width and height.

    A node dict needs id and kind; owner, owner_status, and for other kinds of boxes (teams,
    folded stubs) label, sub, tooltip and href are optional.
    """
    highlight = highlight or set()
    cells = grid({n["id"]: positions[n["id"]] for n in nodes if n["id"] in positions})
    placed: dict[str, PlacedNode] = {}
    for node in nodes:
        if node["id"] not in cells:
            continue
        column, row = cells[node["id"]]
        href = node.get("href") or (link(node["id"]) if link else None)
        placed[node["id"]] = PlacedNode(
            node["id"], _short(str(node.get("label") or node["id"])), node["kind"], node.get("owner_status"),
            node.get("owner"), MARGIN + column * COLUMN, MARGIN + row * ROW,
            STATUS_COLOURS.get(node.get("owner_status"), "#757575"), node["id"] in highlight, href,
            _short(_node_sub(node), 30), _node_tooltip(node),
            str(node.get("aria") or f"{node['id']}: {STATUS_LABELS.get(node.get('owner_status') or '', 'unknown')}"),
        )
    drawn = [e for e in edges if e["source"] in placed and e["target"] in placed and e["source"] != e["target"]]
    most = max((e["calls"] for e in drawn), default=0)
    lines = []
    for edge in drawn:
        a, b = placed[edge["source"]], placed[edge["target"]]
        x1, y1 = a.x + NODE_WIDTH, a.y + NODE_HEIGHT // 2
        x2, y2 = b.x, b.y + NODE_HEIGHT // 2
        if x2 <= x1:  # back edge, or inside a column: loop around below
            x1, x2 = a.x + NODE_WIDTH // 2, b.x + NODE_WIDTH // 2
            y1, y2 = a.y + NODE_HEIGHT, b.y + NODE_HEIGHT
            bend = max(y1, y2) + ROW // 2
            path = f"M{x1},{y1} C{x1},{bend} {x2},{bend} {x2},{y2}"
        else:
            mid = (x1 + x2) / 2
            path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        title = edge.get("title") or (
            f"{edge['source']} → {edge['target']}: {edge['calls']} calls, {edge['errors']} errors")
        lines.append(PlacedEdge(edge["source"], edge["target"], path, _edge_width(edge["calls"], most),
                                _error_colour(edge["errors"], edge["calls"]), title))
    width = max((n.x for n in placed.values()), default=0) + NODE_WIDTH + 2 * MARGIN
    height = max((n.y for n in placed.values()), default=0) + NODE_HEIGHT + 2 * MARGIN + ROW // 2
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
