"""Zipkin v2 JSON span arrays to ownermap spans.

Zipkin specifics handled here, in the spirit of Zipkin's own DependencyLinker:

1. Fragments of one span reported separately (same trace id, span id, local service, kind and
   endpoint; a fragment missing any of these fits any value) are merged first.
2. Client and server halves sharing one span id are split: the CLIENT (or PRODUCER) half keeps the
   id, every other half gets a new deterministic id whose parent is that id, and each child of the
   shared id hangs under the half of its own service (else under the kept half).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from collector.errors import DecodeError
from collector.formats.jaeger import (
    MAX_NS,
    attr_text,
    beyond_2262,
    brief,
    micros,
    span_id_from_hex,
    to_ns,
    trace_id_from_hex,
)
from collector.hygiene import tags_unmarked_failure
from collector.valid_text import checked, load_json
from graph.model import (
    NETWORK_PEER_ADDRESS,
    PEER_SERVICE_KEYS,
    SPAN_ATTRIBUTE_KEYS,
    UNKNOWN_SERVICE,
    DecodeResult,
    Resource,
    Span,
    SpanKind,
    cap_name,
)

_KINDS = {
    "CLIENT": SpanKind.CLIENT,
    "SERVER": SpanKind.SERVER,
    "PRODUCER": SpanKind.PRODUCER,
    "CONSUMER": SpanKind.CONSUMER,
}
_CALLERS = (SpanKind.CLIENT, SpanKind.PRODUCER)
_CALLEES = (SpanKind.SERVER, SpanKind.CONSUMER)
# Zipkin instrumentation tags that stand for one of our attributes.
_TAG_ALIASES = {"kafka.topic": "messaging.destination.name"}
_MAX_HOPS = 64

Key = tuple[bytes, bytes]


class _Piece:
    """One logical span assembled from one or more fragments (times in microseconds)."""

    __slots__ = (
        "trace_id", "span_id", "parent_id", "new_id", "service", "kind", "shared", "ipv4", "ipv6",
        "port", "start", "end", "ann_min", "ann_max", "error", "unmarked", "attrs", "remote_service",
        "remote_addr",
    )

    def __init__(self, trace_id: bytes, span_id: bytes, parent_id: bytes) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.new_id = span_id
        self.service: str | None = None
        self.kind = SpanKind.UNSPECIFIED
        self.shared = False
        self.ipv4: str | None = None
        self.ipv6: str | None = None
        self.port: int | None = None
        self.start: int | None = None
        self.end: int | None = None
        self.ann_min: int | None = None
        self.ann_max: int | None = None
        self.error = False
        self.unmarked = False  # a status code tag says it failed (rule 12: counts for SERVER spans)
        self.attrs: dict[str, str] = {}
        self.remote_service: str | None = None
        self.remote_addr: str | None = None

    def fits(self, other: _Piece) -> bool:
        """Whether `other` can be a fragment of this span (no conflicting identity field)."""
        if other.kind == SpanKind.UNSPECIFIED and other.shared and self.kind in _CALLERS:
            return False  # a kind-less shared fragment belongs to the server half
        return (
            _agree(self.service, other.service)
            and _agree(self.kind or None, other.kind or None)
            and _agree(self.ipv4, other.ipv4)
            and _agree(self.ipv6, other.ipv6)
            and _agree(self.port, other.port)
        )

    def absorb(self, other: _Piece) -> None:
        """Merge a fragment of the same span into this one."""
        for name in ("service", "ipv4", "ipv6", "port", "remote_service", "remote_addr"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(other, name))
        self.kind = self.kind or other.kind
        self.parent_id = self.parent_id or other.parent_id
        self.shared = self.shared or other.shared
        self.error = self.error or other.error
        self.unmarked = self.unmarked or other.unmarked
        self.start = _pick(min, self.start, other.start)
        self.end = _pick(max, self.end, other.end)
        self.ann_min = _pick(min, self.ann_min, other.ann_min)
        self.ann_max = _pick(max, self.ann_max, other.ann_max)
        self.attrs.update(other.attrs)


def _agree(a: Any, b: Any) -> bool:
    return a is None or b is None or a == b


def _pick(fn: Any, a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else fn(a, b)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse(raw: Any, result: DecodeResult) -> _Piece | None:
    """One Zipkin span object as a piece; rejects it (and returns None) when its ids are unusable."""
    if not isinstance(raw, dict):
        result.reject("zipkin span is not an object")
        return None
    trace_id = trace_id_from_hex(raw.get("traceId"))
    if trace_id is None:
        result.reject(f"zipkin span: invalid traceId {brief(raw.get('traceId'))}")
        return None
    span_id = span_id_from_hex(raw.get("id"))
    if span_id is None:
        result.reject(f"zipkin span: invalid id {brief(raw.get('id'))}")
        return None
    parent_raw = raw.get("parentId")
    parent_id = b""
    if not (parent_raw in (None, "") or (isinstance(parent_raw, str) and parent_raw.strip("0") == "")):
        parent = span_id_from_hex(parent_raw)
        if parent is None:
            result.reject(f"zipkin span: invalid parentId {brief(parent_raw)}")
            return None
        parent_id = b"" if parent == span_id else parent
    piece = _Piece(trace_id, span_id, parent_id)
    kind = raw.get("kind")
    piece.kind = _KINDS.get(kind.upper(), SpanKind.UNSPECIFIED) if isinstance(kind, str) else SpanKind.UNSPECIFIED
    piece.shared = raw.get("shared") is True
    _read_endpoints(piece, raw)
    _read_times(piece, raw)
    _read_tags(piece, raw.get("tags"))
    return piece


def _read_endpoints(piece: _Piece, raw: dict[str, Any]) -> None:
    local = raw.get("localEndpoint")
    if isinstance(local, dict):
        name = _text(local.get("serviceName"))
        piece.service = cap_name(name.lower()) if name else None
        piece.ipv4 = _text(local.get("ipv4"))
        piece.ipv6 = _text(local.get("ipv6"))
        port = local.get("port")
        piece.port = port if isinstance(port, int) and not isinstance(port, bool) else None
    remote = raw.get("remoteEndpoint")
    if isinstance(remote, dict):
        name = _text(remote.get("serviceName"))
        piece.remote_service = cap_name(name.lower()) if name else None
        addr = _text(remote.get("ipv4")) or _text(remote.get("ipv6"))
        piece.remote_addr = cap_name(addr) if addr else None


def _read_times(piece: _Piece, raw: dict[str, Any]) -> None:
    start = micros(raw.get("timestamp"))
    piece.start = start
    duration = micros(raw.get("duration"))
    if start is not None and duration is not None:
        piece.end = start + duration
    annotations = raw.get("annotations")
    if isinstance(annotations, list):
        for note in annotations:
            ts = micros(note.get("timestamp")) if isinstance(note, dict) else None
            if ts is not None:
                piece.ann_min = _pick(min, piece.ann_min, ts)
                piece.ann_max = _pick(max, piece.ann_max, ts)


def _read_tags(piece: _Piece, tags: Any) -> None:
    if not isinstance(tags, dict):
        return
    piece.error = "error" in tags  # Zipkin's convention: the tag's presence marks an error
    piece.unmarked = tags_unmarked_failure(tags.items())
    for key, value in tags.items():
        target = _TAG_ALIASES.get(key, key)
        if target in SPAN_ATTRIBUTE_KEYS and (key == target or target not in tags):
            text = attr_text(value)
            if text is not None:
                piece.attrs[target] = text


def _merge(pieces: list[_Piece]) -> dict[Key, list[_Piece]]:
    """Group pieces by (trace id, span id), merging fragments of one span.

    Fully identified fragments are placed first, so that a fragment without kind or service joins
    the half it fits, preferring the one of the same kind, then the CLIENT/PRODUCER half.
    """
    order = sorted(range(len(pieces)), key=lambda i: (pieces[i].service is None, not pieces[i].kind, i))
    groups: dict[Key, list[_Piece]] = {}
    for i in order:
        piece = pieces[i]
        group = groups.setdefault((piece.trace_id, piece.span_id), [])
        best: _Piece | None = None
        best_rank = (2, 2)
        for candidate in group:
            if candidate.fits(piece):
                rank = (
                    0 if piece.kind and candidate.kind == piece.kind else 1,
                    0 if candidate.kind in _CALLERS else 1,
                )
                if rank < best_rank:
                    best, best_rank = candidate, rank
        if best is None:
            group.append(piece)
        else:
            best.absorb(piece)
    return groups


def _derived_id(piece: _Piece, taken: set[Key]) -> bytes:
    """A deterministic new 8-byte id for a non-kept half, distinct from every id of its trace."""
    seed = repr((piece.service, int(piece.kind), piece.ipv4, piece.ipv6, piece.port)).encode()
    salt = 0
    while True:
        digest = hashlib.blake2b(
            piece.trace_id + piece.span_id + seed + salt.to_bytes(4, "big"), digest_size=8
        ).digest()
        if any(digest) and (piece.trace_id, digest) not in taken:
            taken.add((piece.trace_id, digest))
            return digest
        salt += 1


def _kept_half(group: list[_Piece]) -> _Piece:
    for kind in _CALLERS:
        for piece in group:
            if piece.kind == kind:
                return piece
    return next((p for p in group if not p.shared), group[0])


def _split_shared(groups: dict[Key, list[_Piece]]) -> dict[Key, list[_Piece]]:
    """Give every non-kept half of a shared span id its own id; returns the other halves per id."""
    taken: set[Key] = set(groups)
    others_by_key: dict[Key, list[_Piece]] = {}
    for key, group in groups.items():
        if len(group) < 2:
            # A server half marked `shared` whose client half is reported elsewhere (Zipkin
            # reporters send each service's spans separately) gets the same derived id it would
            # get beside its client half, so the two pair across requests.
            lone = group[0]
            if lone.shared and lone.kind in _CALLEES:
                lone.new_id = _derived_id(lone, taken)
                others_by_key[key] = [lone]
            continue
        kept = _kept_half(group)
        others = [p for p in group if p is not kept]
        for piece in others:
            piece.new_id = _derived_id(piece, taken)
        others_by_key[key] = others
    for key, others in others_by_key.items():
        for piece in others:
            piece.parent_id = key[1]
    return others_by_key


def _reparent(pieces: list[_Piece], others_by_key: dict[Key, list[_Piece]]) -> None:
    """Hang each child of a shared id under the half of its own service, when there is one."""
    for piece in pieces:
        if piece.new_id != piece.span_id or not piece.parent_id:
            continue  # derived halves already point at the kept half
        others = others_by_key.get((piece.trace_id, piece.parent_id))
        if not others:
            continue
        same = [p for p in others if p.service == piece.service]
        if same:
            piece.parent_id = _closest(piece, same).new_id


def _closest(child: _Piece, halves: list[_Piece]) -> _Piece:
    """Among same-service halves, the one on the child's host, else a SERVER/CONSUMER one."""
    if len(halves) > 1 and (child.ipv4 or child.ipv6):
        for half in halves:
            if (half.ipv4, half.ipv6) == (child.ipv4, child.ipv6):
                return half
    return next((h for h in halves if h.kind in _CALLEES), halves[0])


def _fill_times(pieces: list[_Piece], groups: dict[Key, list[_Piece]], result: DecodeResult) -> list[_Piece]:
    """Complete start/end times; a span without any time borrows its other half's, its nearest
    timed ancestor's, or its trace's earliest start. Rejects spans of traces with no time at all."""
    for piece in pieces:
        if piece.start is None:
            piece.start = piece.ann_min
    by_id = {(p.trace_id, p.new_id): p for p in pieces}
    trace_start: dict[bytes, int] = {}
    for piece in pieces:
        if piece.start is not None:
            first = trace_start.get(piece.trace_id)
            trace_start[piece.trace_id] = piece.start if first is None else min(first, piece.start)
    kept: list[_Piece] = []
    for piece in pieces:
        if piece.start is None:
            piece.start = _borrowed_start(piece, groups, by_id)
        if piece.start is None:
            piece.start = trace_start.get(piece.trace_id)
        if piece.start is None:
            result.reject(f"zipkin span {piece.span_id.hex()}: no timestamp in the span or its trace")
            continue
        if piece.end is None:
            piece.end = max(piece.start, piece.ann_max or 0)
        if beyond_2262(piece.start, piece.end):
            result.reject(f"zipkin span {piece.span_id.hex()}: time is beyond the year 2262")
            continue
        kept.append(piece)
    return kept


def _borrowed_start(piece: _Piece, groups: dict[Key, list[_Piece]], by_id: dict[Key, _Piece]) -> int | None:
    for half in groups.get((piece.trace_id, piece.span_id), ()):
        if half.start is not None:
            return half.start
    current = piece
    for _ in range(_MAX_HOPS):
        parent = by_id.get((current.trace_id, current.parent_id)) if current.parent_id else None
        if parent is None:
            return None
        if parent.start is not None:
            return parent.start
        current = parent
    return None


def _to_span(piece: _Piece, resources: dict[str, Resource]) -> Span:
    service = piece.service or UNKNOWN_SERVICE
    resource = resources.get(service)
    if resource is None:
        resource = resources[service] = Resource(service)
    attrs = piece.attrs
    if piece.kind in _CALLERS and piece.remote_service and not any(k in attrs for k in PEER_SERVICE_KEYS):
        attrs["peer.service"] = piece.remote_service
    if piece.remote_addr:
        attrs.setdefault(NETWORK_PEER_ADDRESS, piece.remote_addr)
    start_ns = to_ns(piece.start or 0)
    end_ns = min(to_ns(piece.end or 0), MAX_NS)
    return Span(
        piece.trace_id, piece.new_id, piece.parent_id, resource, piece.kind, start_ns, max(end_ns, start_ns),
        error=piece.error or (piece.kind == SpanKind.SERVER and piece.unmarked), attrs=attrs,
    )


def decode_zipkin(doc: list[Any], owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Decode a Zipkin v2 JSON span array; unusable spans are rejected one by one.

    `owner_keys` is accepted for the decoders' common signature (Zipkin has no resource tags).
    Raises DecodeError (a ValueError) when the document is not a list.
    """
    if not isinstance(doc, list):
        raise DecodeError("Zipkin v2 JSON must be a list of span objects")
    result = DecodeResult(spans=[])
    parsed = [p for p in (_parse(raw, result) for raw in doc) if p is not None]
    groups = _merge(parsed)
    heads = {id(p) for group in groups.values() for p in group}
    pieces = [p for p in parsed if id(p) in heads]  # merged spans, in input order
    others_by_key = _split_shared(groups)
    _reparent(pieces, others_by_key)
    resources: dict[str, Resource] = {}
    result.spans = [_to_span(p, resources) for p in _fill_times(pieces, groups, result)]
    return result


def decode_zipkin_bytes(data: bytes, owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Decode a Zipkin v2 JSON body (the `/api/v2/spans` receiver)."""
    doc, suspect = load_json(data)
    return checked(decode_zipkin(doc, owner_keys), suspect)
