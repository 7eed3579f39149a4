"""A running Backstage as a catalog source (DESIGN §3c): the paged `by-query` API, read whole or not at all.

`BackstageApi.fetch` reads every page (`limit` 500, `cursor` paging) with a per-request deadline and
bounded retries, and checks the pages add up to `totalItems`; anything short of that raises
`SyncError`. `parse_api_entities` turns the items into entities through the same Backstage entity
reader (and lenient rules) as descriptor files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ownership.catalog.backstage import parse_entity
from ownership.catalog.model import LoadResult
from ownership.catalog.safe_yaml import YamlDocument

SCHEME_PREFIX = "backstage+"
KINDS = ("Component", "Resource", "API", "System", "Domain", "Group", "User")
PAGE_LIMIT = 500
MAX_PAGES = 10_000
MAX_PAGE_BYTES = 64 * 1024 * 1024
ENTITIES_PATH = "/api/catalog/entities/by-query"


class SyncError(Exception):
    """A sync that did not complete; the message names what failed (never the token)."""


def is_backstage_source(entry: str) -> bool:
    """Whether a `--catalog` entry names a Backstage API (`backstage+https://…` or `backstage+http://…`)."""
    return entry.lower().startswith((f"{SCHEME_PREFIX}https://", f"{SCHEME_PREFIX}http://"))


def api_base(entry: str) -> str:
    """The base URL of `backstage+https://HOST[:PORT][/PREFIX]`; ValueError when it is not one."""
    url = httpx.URL(entry[len(SCHEME_PREFIX):])
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{entry!r} is not backstage+https://HOST[:PORT][/PREFIX]")
    if url.userinfo or url.query or url.fragment:
        raise ValueError(f"{entry!r}: give the token in OWNERMAP_BACKSTAGE_TOKEN; no credentials, query or "
                         "fragment in the URL")
    return str(url.copy_with(path=url.path.rstrip("/"))).rstrip("/")


def _transient(exc: BaseException) -> bool:
    """Worth another try: network errors, timeouts, 5xx, 408 and 429."""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status >= 500 or status in (408, 429)
    return isinstance(exc, httpx.TransportError)


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        refused = " (the token was refused: check OWNERMAP_BACKSTAGE_TOKEN)" if status in (401, 403) else ""
        return f"HTTP {status} {exc.response.reason_phrase}{refused}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({exc})" if str(exc) else "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class Page:
    """One page of the by-query answer."""

    items: list[Any]
    total: int
    next_cursor: str | None


def parse_page(body: bytes, number: int) -> Page:
    """Check one page's shape (`{"items":[…],"totalItems":N,"pageInfo":{"nextCursor"?}}`); SyncError if not."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SyncError(f"page {number} is not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise SyncError(f"page {number} is not a JSON object")
    items, total, info = data.get("items"), data.get("totalItems"), data.get("pageInfo", {})
    if not isinstance(items, list):
        raise SyncError(f"page {number} has no items list")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise SyncError(f"page {number} has no totalItems count")
    if not isinstance(info, Mapping):
        raise SyncError(f"page {number}: pageInfo is not an object")
    cursor = info.get("nextCursor")
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        raise SyncError(f"page {number}: pageInfo.nextCursor is not a string")
    return Page(items, total, cursor)


@dataclass
class BackstageApi:
    """Reads every entity of the kinds ownermap uses from one Backstage."""

    base: str
    token: str | None = None
    timeout: float = 30.0
    retries: int = 3
    initial_wait: float = 1.0

    def fetch(self) -> list[Any]:
        """Every item, in page order; SyncError when any page fails or the pages do not add up."""
        items: list[Any] = []
        total: int | None = None
        cursor: str | None = None
        seen: set[str] = set()
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with httpx.Client(timeout=self.timeout, headers=headers, follow_redirects=False) as client:
            for number in range(1, MAX_PAGES + 1):
                page = self._page(client, number, cursor)
                items.extend(page.items)
                total = page.total if total is None else total
                cursor = page.next_cursor
                if cursor is None:
                    break
                if cursor in seen:
                    raise SyncError(f"page {number} repeats an earlier cursor")
                seen.add(cursor)
            else:
                raise SyncError(f"more than {MAX_PAGES} pages")
        if len(items) != total:
            raise SyncError(f"read {len(items)} entities but totalItems says {total}: the sync was cut short")
        return items

    def _params(self, cursor: str | None) -> list[tuple[str, str | int]]:
        if cursor is not None:
            return [("limit", PAGE_LIMIT), ("cursor", cursor)]  # the cursor carries the filters
        return [*(("filter", f"kind={kind.lower()}") for kind in KINDS), ("limit", PAGE_LIMIT)]

    def _page(self, client: httpx.Client, number: int, cursor: str | None) -> Page:
        retrying = Retrying(stop=stop_after_attempt(self.retries + 1), reraise=True,
                            wait=wait_exponential(multiplier=self.initial_wait, max=30),
                            retry=retry_if_exception(_transient))
        try:
            body = retrying(self._get, client, self._params(cursor))
        except httpx.HTTPError as exc:
            tries = "" if not _transient(exc) else f" after {self.retries + 1} tries"
            raise SyncError(f"page {number}: {_describe(exc)}{tries}") from None
        return parse_page(body, number)

    def _get(self, client: httpx.Client, params: list[tuple[str, str | int]]) -> bytes:
        """One GET whose whole exchange must end within `timeout` seconds (a trickling answer too)."""
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        size = 0
        with client.stream("GET", self.base + ENTITIES_PATH, params=params) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_PAGE_BYTES:
                    raise SyncError(f"a page is larger than {MAX_PAGE_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"no complete answer within {self.timeout:g} s")
                chunks.append(chunk)
        return b"".join(chunks)


def parse_api_entities(items: list[Any], source: str) -> LoadResult:
    """Entities from API items, read like descriptor documents (lenient: field errors stay attached;
    server-added fields such as `relations`, `status`, `metadata.uid` and `metadata.etag` are ignored)."""
    result = LoadResult()
    where = Path(source)
    for index, item in enumerate(items, start=1):
        entity = parse_entity(YamlDocument(item, 0), where, index=index, result=result)
        if entity is not None:
            entity.line = None
            result.entities.append(entity)
    for problem in [*result.errors, *result.warnings]:
        problem.line = None  # an API item has no line
    return result
