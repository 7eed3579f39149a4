"""A real Prometheus server (Debian's `prometheus`, on loopback) scrapes /metrics and its query API
returns the service-graph series with owner labels, as Grafana's service graph reads them."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import skip_or_fail
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for
from tests.integration.test_serve_e2e import _call, _request

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    catalog = tmp_path / "owners.yaml"
    catalog.write_text(yaml.safe_dump({"teams": [{"name": "team-web", "members": ["ana"]}],
                                       "services": [{"name": "prom-client", "owner": "team-web"}]}))
    proc = ServeProcess(sqlite_url(tmp_path / "p.db"), "--catalog", str(catalog)).start()
    yield proc
    proc.stop()


@pytest.fixture
def prometheus(tmp_path: Path, server: ServeProcess) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        skip_or_fail("Debian's prometheus package is not installed (apt-get install prometheus)")
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    target = server.api.removeprefix("http://")
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "ownermap", "static_configs": [{"targets": [target]}]}],
    }))
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_for(lambda: _ok(f"{url}/-/ready"), timeout=30)
        assert ready, "prometheus did not start"
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_prometheus_scrapes_service_graph_series_with_owners(server: ServeProcess, prometheus: str) -> None:
    import grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    with grpc.insecure_channel(server.grpc) as channel:
        stub = TraceServiceStub(channel)
        for i in range(1, 4):
            client, srv = _call(i)
            request = _request("prom-client", [client])
            request.resource_spans.append(_request("prom-server", [srv]).resource_spans[0])
            stub.Export(request, timeout=10)

    def series() -> list[dict[str, object]]:
        response = httpx.get(f"{prometheus}/api/v1/query", params={"query": "traces_service_graph_request_total"})
        return response.json()["data"]["result"] if response.status_code == 200 else []

    found = wait_for(lambda: [s for s in series() if s["metric"].get("client") == "prom-client"], timeout=30)
    assert found, series()
    (sample,) = found
    labels = sample["metric"]
    assert (labels["server"], labels["connection_type"]) == ("prom-server", "rpc")
    assert labels["client_owner"] == "team-web"
    assert "server_owner" not in labels  # Prometheus drops empty labels: prom-server has no owner
    assert float(sample["value"][1]) == 3
    histogram = httpx.get(f"{prometheus}/api/v1/query",
                          params={"query": "traces_service_graph_request_server_seconds_count"}).json()
    assert any(float(s["value"][1]) == 3 for s in histogram["data"]["result"])
