"""TLS (a self-signed certificate made in the test) and bearer tokens on all three listeners."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from tests.conftest import skip_or_fail
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for
from tests.integration.test_serve_e2e import _call, _request

pytestmark = pytest.mark.slow
API_TOKEN = "api-secret-token"
OTLP_TOKEN = "otlp-secret-token"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        skip_or_fail("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@pytest.fixture
def server(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[ServeProcess]:
    cert, key = certificate
    env = {"OWNERMAP_TLS_CERT": str(cert), "OWNERMAP_TLS_KEY": str(key), "OWNERMAP_API_TOKEN": API_TOKEN,
           "OWNERMAP_OTLP_TOKEN": OTLP_TOKEN, "OWNERMAP_QUERY_CACHE_SECONDS": "0"}
    proc = ServeProcess(sqlite_url(tmp_path / "tls.db"), env=env,
                        verify=ssl.create_default_context(cafile=str(cert))).start()
    yield proc
    proc.stop()


def test_all_listeners_use_tls_and_tokens(server: ServeProcess, certificate: tuple[Path, Path]) -> None:
    cert, _ = certificate
    tls = ssl.create_default_context(cafile=str(cert))
    assert server.api.startswith("https://") and server.http.startswith("https://")
    # API: health is open, everything else needs the token.
    assert httpx.get(f"{server.api}/healthz", verify=tls).status_code == 200
    assert httpx.get(f"{server.api}/api/v1/graph", verify=tls).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.get(f"{server.api}/api/v1/graph", headers=wrong, verify=tls).status_code == 401
    right = {"Authorization": f"Bearer {API_TOKEN}"}
    assert httpx.get(f"{server.api}/api/v1/graph", headers=right, verify=tls).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.api}/healthz")  # the self-signed certificate is not trusted by default
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.api.replace("https://", "http://") + "/healthz")  # no plaintext

    # OTLP/HTTP over TLS with the OTLP token (the API token is not enough).
    client, srv = _call(1)
    request = _request("tls-client", [client])
    request.resource_spans.append(_request("tls-server", [srv]).resource_spans[0])
    body = request.SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    assert httpx.post(server.http, content=body, headers=headers, verify=tls).status_code == 401
    assert httpx.post(server.http, content=body, headers={**headers, **right}, verify=tls).status_code == 401
    ok = httpx.post(server.http, content=body, headers={**headers, "Authorization": f"Bearer {OTLP_TOKEN}"},
                    verify=tls)
    assert ok.status_code == 200

    # OTLP/gRPC over TLS with the OTLP token.
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    client2, srv2 = _call(2)
    request2 = _request("tls-client", [client2])
    request2.resource_spans.append(_request("tls-server", [srv2]).resource_spans[0])
    with grpc.secure_channel(server.grpc, credentials) as channel:
        stub = TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(request2, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        stub.Export(request2, timeout=10, metadata=(("authorization", f"Bearer {OTLP_TOKEN}"),))
    with grpc.insecure_channel(server.grpc) as plain, pytest.raises(grpc.RpcError):
        TraceServiceStub(plain).Export(request2, timeout=5, metadata=(("authorization", f"Bearer {OTLP_TOKEN}"),))

    def calls() -> int:
        body = httpx.get(f"{server.api}/api/v1/graph?window=1h", headers=right, verify=tls).json()
        return sum(e["calls"] for e in body["edges"] if (e["source"], e["target"]) == ("tls-client", "tls-server"))

    assert wait_for(lambda: calls() == 2, timeout=10)
