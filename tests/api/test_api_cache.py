"""The window cache: the same 5-minute-aligned window is summed once per cache period."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.aggregate import Aggregator
from graph.model import Call, NodeKind
from graph.store.sqlite import SQLiteStore
from ownership.source import CatalogSource

NOW = 1_790_000_000.0


class CountingStore(SQLiteStore):
    """Counts how often the edges of a window are summed."""

    edge_queries = 0

    def edges(self, window, env=None):  # type: ignore[no-untyped-def]
        CountingStore.edge_queries += 1
        return super().edges(window, env)


def _store(path: Path) -> CountingStore:
    store = CountingStore(path)
    agg = Aggregator()
    agg.call(Call(int((NOW - 60) * 1e9), "web", NodeKind.SERVICE, "api", NodeKind.SERVICE, "rpc", "", False,
             0.01, 0.01, bytes(16)))
    store.write(agg.drain())
    return store


def test_same_window_is_summed_once_and_catalog_reloads_are_seen(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.db")
    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    (catalog_dir / "owners.yaml").write_text("teams: [{name: web-team, members: [a]}]\nservices: []\n")
    catalog = CatalogSource([catalog_dir])
    catalog.reload()
    clock = [NOW]
    state = ApiState(config=ApiConfig(), store=store, catalog=catalog, clock=lambda: clock[0], cache_seconds=60)
    CountingStore.edge_queries = 0
    with TestClient(create_app(state)) as client:
        first = client.get("/api/v1/graph?window=1h").json()
        clock[0] += 30  # same 5-minute bucket: same window
        second = client.get("/api/v1/graph?window=1h").json()
        assert CountingStore.edge_queries == 1
        assert first["edges"] == second["edges"]
        assert client.get("/api/v1/services/web?window=1h").json()["owner"] is None
        (catalog_dir / "owners.yaml").write_text(
            "teams: [{name: web-team, members: [a]}]\nservices: [{name: web, owner: web-team}]\n")
        assert client.post("/api/v1/catalog/reload").status_code == 200
        assert client.get("/api/v1/services/web?window=1h").json()["owner"] == "web-team"  # the join is redone
        assert CountingStore.edge_queries == 1
        clock[0] += 600  # a later window is summed again
        client.get("/api/v1/graph?window=1h")
        assert CountingStore.edge_queries == 2
    store.close()


def test_no_cache_by_default(tmp_path: Path) -> None:
    store = _store(tmp_path / "d.db")
    state = ApiState(config=ApiConfig(), store=store, clock=lambda: NOW)
    CountingStore.edge_queries = 0
    with TestClient(create_app(state)) as client:
        client.get("/api/v1/graph?window=1h")
        client.get("/api/v1/graph?window=1h")
    assert CountingStore.edge_queries == 2
    store.close()


def test_owner_filters_services_and_graph(tmp_path: Path) -> None:
    store = _store(tmp_path / "o.db")
    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    (catalog_dir / "owners.yaml").write_text(
        "teams: [{name: web-team, members: [a]}]\nservices: [{name: web, owner: web-team}]\n")
    catalog = CatalogSource([catalog_dir])
    catalog.reload()
    state = ApiState(config=ApiConfig(), store=store, catalog=catalog, clock=lambda: NOW)
    with TestClient(create_app(state)) as client:
        services = client.get("/api/v1/services?window=1h&owner=WEB-team").json()["services"]
        assert [s["name"] for s in services] == ["web"]
        graph = client.get("/api/v1/graph?window=1h&owner=web-team").json()
        assert sorted(n["id"] for n in graph["nodes"]) == ["api", "web"]
        assert [(e["source"], e["target"]) for e in graph["edges"]] == [("web", "api")]
        assert client.get("/api/v1/graph?window=1h&owner=nobody").json()["nodes"] == []
        assert client.get("/api/v1/graph?window=1h&owner=web-team&format=dot").status_code == 200
    store.close()
