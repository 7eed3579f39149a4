"""Attribute hygiene and failures the instrumentation did not mark (DESIGN §2, rules 12 and 13).

Telemetry is untrusted: a blank value is no value, loopback and wildcard addresses never name a
node, and a SERVER span left with status UNSET can still say it failed through its HTTP or gRPC
status code attribute.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from graph.model import GRPC_SERVER_ERRORS, GRPC_STATUS_KEY, HTTP_STATUS_KEYS, cap_name

_LOOPBACK_WORDS = frozenset({"localhost", "::1", "::", "[::1]", "[::]", "0.0.0.0"})  # noqa: S104
_STATUS_KEYS = frozenset({*HTTP_STATUS_KEYS, GRPC_STATUS_KEY})


def is_loopback(value: str) -> bool:
    """True for loopback and wildcard addresses: 127.0.0.0/8, ::1, 0.0.0.0, ::, localhost and
    *.localhost, in any case (also bracketed IPv6 and IPv4-mapped forms)."""
    text = value.strip().lower()
    if text in _LOOPBACK_WORDS or text.endswith(".localhost"):
        return True
    if not text or not (text[0].isdigit() or text[0] in ":["):
        return False  # not an IP literal: skip the parse
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_unspecified


def names_a_node(value: str | None) -> bool:
    """True when an attribute value may name a node: present, not blank, not loopback."""
    if not value or value.isspace():
        return False
    if value[0].isalpha() and "LOCALHOST" not in value.upper():
        return True  # a host or service name (the usual case): no address to parse
    return not is_loopback(value)


def first_name(attrs: dict[str, str], keys: Iterable[str]) -> str | None:
    """The first attribute among `keys` that names a node (blank, loopback and wildcard never do),
    capped like every name."""
    for key in keys:
        value = attrs.get(key)
        if value and names_a_node(value):
            return cap_name(value)
    return None


def present(value: str | None) -> bool:
    """True when an attribute value counts as given (not empty, not whitespace only)."""
    return bool(value) and not value.isspace()  # type: ignore[union-attr]


def _code(value: Any) -> int | None:
    """A status code given as an integer or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 9:
            return int(text)
    return None


def failed_by_code(key: str, value: Any) -> bool:
    """Rule 12: does this status attribute say the server failed?"""
    code = _code(value)
    if code is None:
        return False
    if key == GRPC_STATUS_KEY:
        return code in GRPC_SERVER_ERRORS
    return code >= 500


def proto_unmarked_failure(attributes: Iterable[Any]) -> bool:
    """Rule 12 over a protobuf span's attributes (KeyValue messages; the ingest hot path: an integer
    is read without asking which field is set, as an unset one reads 0 and no status code is 0)."""
    keys = _STATUS_KEYS
    for kv in attributes:
        key = kv.key
        if key in keys:
            value = kv.value
            code = value.int_value or _code(value.string_value)
            if code and (code in GRPC_SERVER_ERRORS if key == GRPC_STATUS_KEY else code >= 500):
                return True
    return False


def tags_unmarked_failure(tags: Iterable[tuple[str, Any]]) -> bool:
    """Rule 12 over Zipkin or Jaeger tags (key, value): a status code tag says the server failed and
    no `otel.status_code` tag says OK (those formats have no UNSET status of their own)."""
    failed = False
    for key, value in tags:
        if key == "otel.status_code" and isinstance(value, str) and value.upper() == "OK":
            return False
        if key in _STATUS_KEYS and failed_by_code(key, value):
            failed = True
    return failed


def json_unmarked_failure(items: Any) -> bool:
    """Rule 12 over an OTLP/JSON span's `attributes` list."""
    if not isinstance(items, list):
        return False
    for kv in items:
        if not isinstance(kv, dict) or kv.get("key") not in _STATUS_KEYS:
            continue
        value = kv.get("value")
        if not isinstance(value, dict):
            continue
        for name in ("intValue", "int_value", "stringValue", "string_value"):
            if name in value:
                if failed_by_code(kv["key"], value[name]):
                    return True
                break
    return False


def json_status_unset(status: Any) -> bool:
    """True when an OTLP/JSON status is UNSET (absent, 0 or its enum name)."""
    if not isinstance(status, dict):
        return True
    return status.get("code") in (None, 0, "0", "STATUS_CODE_UNSET")
