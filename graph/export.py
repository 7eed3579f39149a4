"""Graph exports: DOT, Mermaid and Cytoscape.js JSON (GraphML lives in service_graph).

Every name here is untrusted telemetry: it is quoted or escaped for each format, never
spliced in raw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 ._/:-]")


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes, quotes and line breaks escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
    return f'"{escaped}"'


def mermaid_text(text: str) -> str:
    """Mermaid label text: anything but plain characters becomes an entity code (#60; for <)."""
    return "".join(ch if _MERMAID_SAFE.match(ch) else f"#{ord(ch)};" for ch in text)


_DOT_SHAPES = {"service": "box", "database": "cylinder", "messaging": "cds", "external": "ellipse", "user": "house"}


def to_dot(nodes: Iterable[dict[str, Any]], edges: Iterable[dict[str, Any]]) -> str:
    """Graphviz DOT of the graph."""
    lines = ["digraph ownermap {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node in nodes:
        shape = _DOT_SHAPES.get(node["kind"], "ellipse")
        label = node["id"] if not node.get("owner") else f"{node['id']}\n({node['owner']})"
        lines.append(
            f"  {dot_quote(node['id'])} [shape={shape}, label={dot_quote(label)}, "
            f"kind={dot_quote(node['kind'])}, owner_status={dot_quote(str(node.get('owner_status')))}];"
        )
    for edge in edges:
        label = f"{edge['connection_type']} {edge['calls']}"
        if edge["errors"]:
            label += f" ({edge['errors']} err)"
        lines.append(
            f"  {dot_quote(edge['source'])} -> {dot_quote(edge['target'])} [label={dot_quote(label)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(nodes: Iterable[dict[str, Any]], edges: Iterable[dict[str, Any]]) -> str:
    """Mermaid flowchart of the graph; node ids are generated (n0, n1, …), names only in labels."""
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    shapes = {"database": ('[("', '")]'), "user": ('(["', '"])'), "external": ('(("', '"))'),
              "messaging": ('>"', '"]')}
    for i, node in enumerate(nodes):
        ids[node["id"]] = f"n{i}"
        left, right = shapes.get(node["kind"], ('["', '"]'))
        lines.append(f"  n{i}{left}{mermaid_text(node['id'])}{right}")
    for edge in edges:
        label = mermaid_text(f"{edge['connection_type']} {edge['calls']}")
        lines.append(f'  {ids[edge["source"]]} -->|"{label}"| {ids[edge["target"]]}')
    return "\n".join(lines) + "\n"


def to_cytoscape(nodes: Iterable[dict[str, Any]], edges: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Cytoscape.js elements JSON."""
    return {
        "elements": {
            "nodes": [{"data": {**node, "label": node["id"]}} for node in nodes],
            # Generated ids: names are untrusted and may contain any separator.
            "edges": [{"data": {**edge, "id": f"e{i}"}} for i, edge in enumerate(edges)],
        }
    }
