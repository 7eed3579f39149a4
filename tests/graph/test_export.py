"""graph.export: DOT, Mermaid and Cytoscape output must never let a hostile name break out."""

from __future__ import annotations

import json
import re

import pytest

from graph.export import dot_quote, mermaid_text, to_cytoscape, to_dot, to_mermaid

HOSTILE = [
    'quo"te',
    "back\\slash",
    "trailing\\",
    '\\"',
    "new\nline",
    "cr\rlf\r\n",
    "<script>alert(1)</script>",
    '"]; evil [label="pwned',
    'x" -> "y',
    "a]-->b[",
    "n0[evil]",
    "pipe|label|",
    "end",
    "subgraph",
    "click n0 call alert()",
    "%%{init: {'theme':'dark'}}%%",
    "#60;already;",
    "{curly}(paren)",
    "`back`tick`",
    "ünïcødé ☃ 服务",
    "tab\there",
    "fake [shape=box]",
    "semi;colon &amp;",
    "",
]
NAMES = ["plain-service", *HOSTILE]
KINDS = ["service", "database", "messaging", "external", "user"]


def _nodes() -> list[dict[str, object]]:
    return [
        {"id": name, "kind": KINDS[i % len(KINDS)], "owner": HOSTILE[-i] if i % 3 == 0 else None,
         "owner_status": "ok" if i % 2 else None}
        for i, name in enumerate(NAMES)
    ]


def _edges() -> list[dict[str, object]]:
    edges = []
    for i, name in enumerate(NAMES):
        target = NAMES[(i + 1) % len(NAMES)]
        edges.append({"source": name, "target": target, "connection_type": "rpc", "calls": i + 1,
                      "errors": i % 2})
    return edges


# ------------------------------------------------------------------ DOT


_DOT_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def _dot_strings(line: str) -> list[str]:
    """The quoted strings of a DOT line, checking that nothing else is left unbalanced."""
    rest = _DOT_STRING.sub("S", line)
    assert '"' not in rest, f"unbalanced quote in {line!r}"
    assert "\\" not in rest, line
    return _DOT_STRING.findall(line)


def _dot_unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), body)


@pytest.mark.parametrize("name", NAMES)
def test_dot_quote_round_trips(name: str) -> None:
    quoted = dot_quote(name)
    assert "\n" not in quoted and "\r" not in quoted
    assert _DOT_STRING.fullmatch(quoted), quoted
    assert _dot_unquote(quoted) == name


def test_dot_output_keeps_every_name_inside_its_quotes() -> None:
    text = to_dot(_nodes(), _edges())
    lines = text.splitlines()
    assert lines[0] == "digraph ownermap {"
    assert lines[-1] == "}"
    assert text.endswith("}\n")
    node_lines = [line for line in lines if "[shape=" in _DOT_STRING.sub("S", line)]
    edge_lines = [line for line in lines if " -> " in _DOT_STRING.sub("S", line)]
    assert len(node_lines) == len(NAMES)
    assert len(edge_lines) == len(NAMES)
    for line in lines[1:-1]:
        strings = _dot_strings(line)
        skeleton = _DOT_STRING.sub("S", line).strip()
        assert re.fullmatch(
            r"rankdir=LR;|node \[fontname=S\];|S \[shape=\w+, label=S, kind=S, owner_status=S\];|S -> S \[label=S\];",
            skeleton,
        ), line
        assert len(strings) == skeleton.count("S")
    ids = [_dot_unquote(_dot_strings(line)[0]) for line in node_lines]
    assert ids == NAMES
    sources_targets = [tuple(_dot_unquote(s) for s in _dot_strings(line)[:2]) for line in edge_lines]
    assert sources_targets == [(e["source"], e["target"]) for e in _edges()]


def test_dot_label_has_owner_and_error_count() -> None:
    text = to_dot([{"id": "a", "kind": "database", "owner": "team-x", "owner_status": "ok"}],
                  [{"source": "a", "target": "a", "connection_type": "rpc", "calls": 3, "errors": 2}])
    assert '"a" [shape=cylinder, label="a\\n(team-x)", kind="database", owner_status="ok"];' in text
    assert '"a" -> "a" [label="rpc 3 (2 err)"];' in text


# ------------------------------------------------------------------ Mermaid


_MERMAID_NODE = re.compile(r'^  (n\d+)(\["|\[\("|\(\["|\(\("|>")([^"]*)("\]|"\)\]|"\]\)|"\)\)|"\])$')
_MERMAID_EDGE = re.compile(r'^  (n\d+) -->\|"([^"]*)"\| (n\d+)$')


def _mermaid_unescape(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


@pytest.mark.parametrize("name", NAMES)
def test_mermaid_text_escapes_syntax_characters(name: str) -> None:
    text = mermaid_text(name)
    assert not set(text) & set('<>"[]|{}()`\n\r\t%&')
    assert _mermaid_unescape(text) == name


def test_mermaid_output_has_no_name_breaking_out() -> None:
    nodes, edges = _nodes(), _edges()
    text = to_mermaid(nodes, edges)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert text.endswith("\n")
    node_lines = lines[1:1 + len(nodes)]
    edge_lines = lines[1 + len(nodes):]
    assert len(edge_lines) == len(edges)
    ids: dict[str, str] = {}
    for node, line in zip(nodes, node_lines, strict=True):
        match = _MERMAID_NODE.match(line)
        assert match, line
        label = match.group(3)
        assert not set(label) & set('<>"[]|{}()`\n\r')
        assert _mermaid_unescape(label) == node["id"]
        ids[match.group(1)] = node["id"]
    for edge, line in zip(edges, edge_lines, strict=True):
        match = _MERMAID_EDGE.match(line)
        assert match, line
        assert (ids[match.group(1)], ids[match.group(3)]) == (edge["source"], edge["target"])
        assert _mermaid_unescape(match.group(2)) == f"rpc {edge['calls']}"
    # every raw hostile character appears only in the generated syntax, never from a name
    body = "\n".join(_MERMAID_NODE.sub(lambda m: m.group(3), line) for line in node_lines)
    assert not set(body) & set('<>"[]|')


def test_mermaid_shapes_per_kind() -> None:
    nodes = [{"id": k, "kind": k, "owner": None, "owner_status": None} for k in KINDS]
    lines = to_mermaid(nodes, []).splitlines()[1:]
    assert lines == ['  n0["service"]', '  n1[("database")]', '  n2>"messaging"]', '  n3(("external"))',
                     '  n4(["user"])']


# ------------------------------------------------------------------ Cytoscape


def test_cytoscape_is_json_with_names_as_data() -> None:
    nodes, edges = _nodes(), _edges()
    doc = to_cytoscape(nodes, edges)
    again = json.loads(json.dumps(doc))
    got_nodes = again["elements"]["nodes"]
    got_edges = again["elements"]["edges"]
    assert [n["data"]["id"] for n in got_nodes] == NAMES
    assert [n["data"]["label"] for n in got_nodes] == NAMES
    assert got_nodes[1]["data"]["kind"] == nodes[1]["kind"]
    assert [(e["data"]["source"], e["data"]["target"]) for e in got_edges] == [
        (e["source"], e["target"]) for e in edges
    ]
    assert all(e["data"]["connection_type"] == "rpc" for e in got_edges)
    assert len({e["data"]["id"] for e in got_edges}) == len(got_edges)


def test_empty_graph_exports() -> None:
    assert to_dot([], []) == 'digraph ownermap {\n  rankdir=LR;\n  node [fontname="Helvetica"];\n}\n'
    assert to_mermaid([], []) == "flowchart LR\n"
    assert to_cytoscape([], []) == {"elements": {"nodes": [], "edges": []}}


def test_cytoscape_edge_ids_are_unique_for_hostile_names() -> None:
    nodes = [{"id": n, "kind": "service", "owner": None, "owner_status": None} for n in ("a->b", "c", "a", "b->c")]
    edges = [{"source": "a->b", "target": "c", "connection_type": "rpc", "calls": 1, "errors": 0},
             {"source": "a", "target": "b->c", "connection_type": "rpc", "calls": 1, "errors": 0}]
    ids = [e["data"]["id"] for e in to_cytoscape(nodes, edges)["elements"]["edges"]]
    assert len(set(ids)) == len(ids), ids
