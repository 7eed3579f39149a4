"""The Backstage API source against a real local HTTP server: paging, token, retries, and every way a sync
can fail (it raises SyncError, naming the page and the reason, never the token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ownership.catalog import load_catalog
from ownership.catalog.backstage_api import KINDS, BackstageApi, SyncError, api_base, parse_api_entities
from tests.ownership.catalog.backstage_server import (
    TOKEN,
    BackstageServer,
    FakeBackstage,
    Fault,
    entity,
    sample_entities,
)

SERVER_FIELDS = ("relations", "status")


def client(server: BackstageServer, token: str | None = TOKEN, timeout: float = 5.0) -> BackstageApi:
    return BackstageApi(api_base(server.url), token, timeout, initial_wait=0.01)


def comparable(entity_dict: dict[str, Any]) -> dict[str, Any]:
    """An entity's content, without where it was read from."""
    return {k: v for k, v in entity_dict.items() if k not in ("source", "line", "errors")}


def test_reads_every_page_with_one_filter_per_kind_limit_cursor_and_bearer_token() -> None:
    fake = FakeBackstage(sample_entities(1180), page_size=500)
    with BackstageServer(fake, prefix="/backstage") as server:
        items = client(server).fetch()
    assert len(items) == 1200
    assert [r["path"] for r in fake.requests] == ["/api/catalog/entities/by-query"] * 3
    first, *rest = fake.requests
    assert first["query"]["filter"] == [f"kind={k.lower()}" for k in KINDS]
    assert first["query"]["limit"] == ["500"]
    assert all(r["query"].get("cursor") and r["query"]["limit"] == ["500"] for r in rest)
    assert {r["auth"] for r in fake.requests} == {f"Bearer {TOKEN}"}


def test_api_entities_equal_the_same_entities_loaded_from_files(tmp_path: Path) -> None:
    items = sample_entities(300, teams=7)
    with BackstageServer(FakeBackstage(items, page_size=100)) as server:
        from_api = parse_api_entities(client(server).fetch(), "backstage:test")
    files = [{k: v for k, v in item.items() if k not in SERVER_FIELDS} for item in items]
    (tmp_path / "catalog-info.yaml").write_text(yaml.safe_dump_all(files), encoding="utf-8")
    from_files = load_catalog([tmp_path])
    assert not from_api.errors and not from_api.warnings  # relations, status, uid, etag are not unknown keys
    assert [comparable(e.to_dict()) for e in from_api.entities] == \
        [comparable(e.to_dict()) for e in from_files.entities]


def test_api_entities_follow_the_lenient_rules() -> None:
    bad_tag = entity("Component", "billing", type="service", lifecycle="production", owner="pay")
    bad_tag["metadata"]["tags"] = ["Java"]
    no_owner = entity("Component", "ledger", type="service", lifecycle="production")
    nameless = entity("Component", "x", type="service", lifecycle="production", owner="pay")
    del nameless["metadata"]["name"]
    loaded = parse_api_entities([bad_tag, no_owner, nameless, "not a mapping"], "backstage:test")
    names = {e.name: e for e in loaded.entities}
    assert set(names) == {"billing", "ledger"}  # kept as declared; the unusable two are dropped
    assert any("metadata.tags" in str(e) for e in names["billing"].errors)
    assert names["ledger"].owner is None and names["ledger"].errors
    assert len(loaded.errors) >= 4
    assert all(e.line is None and e.file == "backstage:test" for e in loaded.errors)


def test_a_page_that_fails_once_is_retried() -> None:
    fake = FakeBackstage(sample_entities(40), page_size=10, faults={3: Fault("500", times=2)})
    with BackstageServer(fake) as server:
        assert len(client(server).fetch()) == 60
    assert len(fake.requests) == 6 + 2


@pytest.mark.parametrize(("fault", "message"), [
    (Fault("500"), "page 4: HTTP 500 Internal Server Error after 4 tries"),
    (Fault("timeout"), "page 4: timed out"),
    (Fault("malformed"), "page 4 is not JSON"),
    (Fault("short"), "read 59 entities but totalItems says 60"),
    (Fault("401"), "page 4: HTTP 401 Unauthorized (the token was refused"),
])
def test_a_sync_that_fails_raises_sync_error_naming_what_failed(fault: Fault, message: str) -> None:
    fake = FakeBackstage(sample_entities(40), page_size=10, faults={4: fault}, delay=1.0)
    with BackstageServer(fake) as server, pytest.raises(SyncError) as raised:
        client(server, timeout=0.3).fetch()
    assert message in str(raised.value)
    assert TOKEN not in str(raised.value)
    tries = [r for r in fake.requests if r["query"].get("cursor")]
    # pages 2-3, then page 4 tried four times (three retries) or once; a short page is noticed at the end
    assert len(tries) == {"500": 2 + 4, "timeout": 2 + 4, "short": 5}.get(fault.kind, 2 + 1)


def test_a_wrong_token_is_refused_at_once_without_retries() -> None:
    fake = FakeBackstage(sample_entities(5))
    with BackstageServer(fake) as server, pytest.raises(SyncError, match="HTTP 401"):
        client(server, token="wrong").fetch()
    assert len(fake.requests) == 1


def test_a_server_that_is_gone_is_a_sync_error() -> None:
    fake = FakeBackstage(sample_entities(5))
    server = BackstageServer(fake)
    api = client(server)
    server.stop()
    with pytest.raises(SyncError, match="page 1: ConnectError"):
        api.fetch()


@pytest.mark.parametrize(("body", "message"), [
    (b"[]", "not a JSON object"),
    (b'{"items": {}, "totalItems": 1}', "no items list"),
    (b'{"items": [], "totalItems": "3"}', "no totalItems"),
    (b'{"items": [], "totalItems": 0, "pageInfo": {"nextCursor": 5}}', "nextCursor is not a string"),
])
def test_malformed_pages_are_named(body: bytes, message: str) -> None:
    from ownership.catalog.backstage_api import parse_page

    with pytest.raises(SyncError, match=message):
        parse_page(body, 2)


@pytest.mark.parametrize(("entry", "base"), [
    ("backstage+https://backstage.example.com", "https://backstage.example.com"),
    ("backstage+https://backstage.example.com:7007/", "https://backstage.example.com:7007"),
    ("backstage+http://127.0.0.1:7007/internal/backstage/", "http://127.0.0.1:7007/internal/backstage"),
])
def test_api_base(entry: str, base: str) -> None:
    assert api_base(entry) == base


@pytest.mark.parametrize("entry", ["backstage+https://user:pw@host", "backstage+https://host/?token=x",
                                   "backstage+https://", "backstage+ftp://host"])
def test_api_base_refuses_credentials_queries_and_other_schemes(entry: str) -> None:
    with pytest.raises(ValueError, match=r"OWNERMAP_BACKSTAGE_TOKEN|not backstage"):
        api_base(entry)
