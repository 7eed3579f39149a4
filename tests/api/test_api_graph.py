"""GET /api/v1/graph in every format, with the right media types and escaped names."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import EDGE_FIELDS, SCRIPT

MEDIA_TYPES = {
    "json": "application/json",
    "dot": "text/vnd.graphviz",
    "graphml": "application/graphml+xml",
    "mermaid": "text/plain",
    "cytoscape": "application/json",
}


@pytest.mark.parametrize("fmt", sorted(MEDIA_TYPES))
def test_graph_formats_have_their_media_type(client: TestClient, fmt: str) -> None:
    response = client.get("/api/v1/graph", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == MEDIA_TYPES[fmt]


def test_graph_json_contract(client: TestClient) -> None:
    body = client.get("/api/v1/graph").json()
    assert set(body) == {"window", "nodes", "edges", "ambiguous_addresses"}
    assert body["window"] == {"start": "2023-11-07T23:15:00Z", "end": "2023-11-14T23:15:00Z"}
    for node in body["nodes"]:
        assert set(node) == {"id", "kind", "owner", "owner_status"}
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes["checkout"] == {"id": "checkout", "kind": "service", "owner": "pay", "owner_status": "ok"}
    assert nodes["postgres"]["kind"] == "database"
    assert nodes[SCRIPT]["owner_status"] == "undocumented"
    for edge in body["edges"]:
        assert set(edge) >= EDGE_FIELDS
        assert edge["source"] in nodes and edge["target"] in nodes
    pairs = [(e["source"], e["target"], e["connection_type"]) for e in body["edges"]]
    assert pairs == sorted(pairs)
    assert ("checkout", "checkout", "rpc") not in pairs
    fc = next(e for e in body["edges"] if (e["source"], e["target"]) == ("frontend", "checkout"))
    assert (fc["calls"], fc["errors"]) == (8, 2)
    # 6 calls of 0.02 s in (0.01, 0.025] and 2 of 0.3 s in (0.2, 0.4]: rank 4 of 8 → 0.01 + 0.015 * 4/6
    assert fc["p50_ms"] == pytest.approx(20.0)
    assert fc["first_seen"] == "2023-11-14T22:16:00.000Z"
    assert fc["last_seen"] == "2023-11-14T22:21:00.000Z"


def test_graph_include_self_and_env(client: TestClient) -> None:
    with_self = client.get("/api/v1/graph", params={"include_self": "1"}).json()
    assert any(e["source"] == e["target"] == "checkout" for e in with_self["edges"])
    staging = client.get("/api/v1/graph", params={"env": "staging"}).json()
    assert [(e["source"], e["target"]) for e in staging["edges"]] == [("legacy", "frontend")]
    assert {n["id"] for n in staging["nodes"]} == {"legacy", "frontend"}


def test_graph_window(client: TestClient) -> None:
    day = client.get("/api/v1/graph", params={"window": "1d"}).json()
    assert "old-caller" not in {n["id"] for n in day["nodes"]}
    old = client.get("/api/v1/graph", params={"start": "2023-11-12", "end": "2023-11-13"}).json()
    assert [(e["source"], e["target"]) for e in old["edges"]] == [("old-caller", "frontend")]


def test_graph_dot_quotes_names(client: TestClient) -> None:
    text = client.get("/api/v1/graph", params={"format": "dot"}).text
    assert text.startswith("digraph ownermap {")
    assert '"<script>alert(1)</script>" -> "checkout"' in text
    assert '"team/a b" -> "<script>alert(1)</script>"' in text
    for line in text.splitlines():
        assert re.sub(r'"(?:[^"\\]|\\.)*"', "", line).count('"') == 0, line


def test_graph_graphml_parses(client: TestClient) -> None:
    text = client.get("/api/v1/graph", params={"format": "graphml"}).text
    assert "<script>" not in text
    ET.fromstring(text.encode())
    parsed = nx.parse_graphml(text, force_multigraph=True)
    assert SCRIPT in parsed.nodes
    assert parsed.nodes["checkout"]["owner"] == "pay"
    assert set(parsed["checkout"]["payments"]) == {"rpc", "virtual"}


def test_graph_mermaid_escapes_names(client: TestClient) -> None:
    text = client.get("/api/v1/graph", params={"format": "mermaid"}).text
    assert text.startswith("flowchart LR\n")
    assert "<script>" not in text and "alert(1)" not in text
    assert "#60;script#62;alert#40;1#41;#60;/script#62;" in text


def test_graph_cytoscape(client: TestClient) -> None:
    body = client.get("/api/v1/graph", params={"format": "cytoscape"}).json()
    ids = {n["data"]["id"] for n in body["elements"]["nodes"]}
    assert SCRIPT in ids and "team/a b" in ids
    assert all({"source", "target", "id"} <= set(e["data"]) for e in body["elements"]["edges"])


def test_empty_window_graph(client: TestClient) -> None:
    for fmt in MEDIA_TYPES:
        response = client.get("/api/v1/graph", params={"format": fmt, "window": "1m"})
        assert response.status_code == 200, (fmt, response.text)
    assert client.get("/api/v1/graph", params={"window": "1m"}).json()["nodes"] == []
