"""The page shows a service's objectives (with a burn chart) and a team's list; names are escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.store.sqlite import SQLiteStore
from ownership.source import CatalogSource
from tests.api.test_api_objectives import NOW, OWNERS, _seed

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("page-objectives")
    (root / "catalog").mkdir()
    owners = OWNERS.replace("{name: checkout-strict,", f"{{name: '{HOSTILE}',")
    (root / "catalog" / "owners.yaml").write_text(owners, encoding="utf-8")
    store = SQLiteStore(Path(root / "om.db"))
    _seed(store)
    source = CatalogSource([root / "catalog"])
    assert not source.reload().errors
    state = ApiState(config=ApiConfig(), store=store, catalog=source, clock=lambda: NOW)
    with TestClient(create_app(state), raise_server_exceptions=False) as test_client:
        yield test_client
    store.close()


def test_service_panel_shows_objectives_with_a_burn_chart(client: TestClient) -> None:
    html = client.get("/", params={"node": "checkout", "window": "24h"}).text
    panel = html[html.index('id="objectives"'):]
    panel = panel[:panel.index("</ul>")]
    assert "checkout-up" in panel and "target 90%" in panel and "observed 95%" in panel
    assert "budget left 50%" in panel
    charts = re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="burn-chart".*?</svg>', panel, re.S)
    assert len(charts) == 2
    for chart in charts:
        ET.fromstring(chart)  # well-formed
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in panel


def test_team_view_lists_its_objectives(client: TestClient) -> None:
    html = client.get("/", params={"team": "pay", "window": "24h"}).text
    table = html[html.index('id="team-objectives"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 4  # the header and three objectives
    assert "payments-fast" in table and HOSTILE not in table
    assert 'id="team-objectives"' not in client.get("/", params={"window": "24h"}).text
