"""A real local HTTP server answering Backstage's `GET /api/catalog/entities/by-query` as Backstage documents it
(`{"items","totalItems","pageInfo":{"nextCursor"}}`, cursor paging), with faults a test can switch on per page."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "s3cret-read-only-token"


def entity(kind: str, name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """One entity as the API returns it: with the fields the server adds (uid, etag, relations, status)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                                "etag": uuid.uuid4().hex, "annotations": {}}
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec,
            "relations": [{"type": "ownedBy", "targetRef": "group:default/x"}],
            "status": {"items": []}}


def sample_entities(services: int, teams: int = 10) -> list[dict[str, Any]]:
    """`teams` Groups with one User each, then `services` Components owned round-robin."""
    out: list[dict[str, Any]] = []
    for t in range(teams):
        out.append(entity("Group", f"team-{t}", type="team", children=[], members=[f"user-{t}"]))
        out.append(entity("User", f"user-{t}", memberOf=[f"team-{t}"]))
    for s in range(services):
        item = entity("Component", f"svc-{s}", type="service", lifecycle="production", owner=f"team-{s % teams}")
        item["metadata"]["annotations"]["backstage.io/source-location"] = f"url:https://github.com/org/mono/tree/main/services/svc-{s}/"
        out.append(item)
    return out


@dataclass
class Fault:
    """What page `page` answers instead of itself, for the first `times` requests (None: always)."""

    kind: str  # "500", "timeout", "malformed", "short", "401"
    times: int | None = None
    seen: int = 0


@dataclass
class FakeBackstage:
    """The entities to serve, the page size, faults per page (1-based) and what was asked."""

    entities: list[dict[str, Any]]
    page_size: int = 500
    token: str | None = TOKEN
    faults: dict[int, Fault] = field(default_factory=dict)
    delay: float = 2.0  # how long a "timeout" page takes
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, query: dict[str, list[str]], auth: str | None) -> tuple[int, bytes]:
        """Status and body of one request."""
        with self.lock:
            self.requests.append({"path": path, "query": query, "auth": auth})
        if path != "/api/catalog/entities/by-query":
            return 404, b'{"error":{"name":"NotFoundError"}}'
        cursor = query.get("cursor", [None])[0]
        offset = int(base64.b64decode(cursor)) if cursor else 0
        page = offset // self.page_size + 1
        fault = self.faults.get(page)
        active = fault is not None and (fault.times is None or fault.seen < fault.times)
        if fault is not None and active:
            fault.seen += 1
            if fault.kind == "timeout":
                time.sleep(self.delay)
            elif fault.kind == "500":
                return 500, b'{"error":{"name":"Error","message":"boom"}}'
            elif fault.kind == "malformed":
                return 200, b'{"items": [ {"kind": "Comp'
            elif fault.kind == "401":
                return 401, b'{"error":{"name":"AuthenticationError"}}'
        if self.token is not None and auth != f"Bearer {self.token}":
            return 401, b'{"error":{"name":"AuthenticationError","message":"Missing credentials"}}'
        kinds = {f.split("=", 1)[1].lower() for f in query.get("filter", []) if f.startswith("kind=")}
        wanted = [e for e in self.entities if not kinds or e["kind"].lower() in kinds]
        items = wanted[offset: offset + self.page_size]
        if fault is not None and active and fault.kind == "short":
            items = items[:-1]
        end = offset + self.page_size
        info: dict[str, Any] = {}
        if end < len(wanted):
            info["nextCursor"] = base64.b64encode(str(end).encode()).decode()
        body = {"items": items, "totalItems": len(wanted), "pageInfo": info}
        return 200, json.dumps(body).encode()


class BackstageServer:
    """`FakeBackstage` on a loopback port in a thread; `url` is its `backstage+http://…` catalog entry."""

    def __init__(self, fake: FakeBackstage, prefix: str = "") -> None:
        self.fake = fake
        self.prefix = prefix
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path[len(outer.prefix):] if parts.path.startswith(outer.prefix) else parts.path
                status, body = outer.fake.answer(path, parse_qs(parts.query), self.headers.get("Authorization"))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The `--catalog` entry."""
        return f"backstage+http://127.0.0.1:{self.port}{self.prefix}"

    def __enter__(self) -> BackstageServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and free the port (the server 'goes away')."""
        if self.thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()
