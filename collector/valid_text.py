"""Keep text that cannot be stored out of decoded spans: the JSON boundary's Unicode check.

Protobuf strings are valid UTF-8 already (upb checks them), but `json.loads` turns a `\\ud800`
escape into a lone UTF-16 surrogate, which no database (nor UTF-8) can encode. JSON bodies are
therefore read as strict UTF-8, a cheap scan of the raw text tells whether any surrogate escape is
present at all, and only then are the decoded spans' strings checked:

- a span whose service name is invalid is rejected (its identity is unknown);
- an invalid environment, identity hint or span attribute value is dropped and the span kept
  (those values only name things; the edge rules fall back to the next attribute), with a warning
  in the partial-success message.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from collector.errors import DecodeError
from graph.model import ENVIRONMENT_KEYS, DecodeResult, Resource, Span

# A JSON escape of a UTF-16 surrogate (\uD800-\uDFFF), paired or not: the only way a lone
# surrogate gets into text that was valid UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidTextError(ValueError):
    """The payload is not UTF-8."""


def utf8_text(data: bytes) -> str:
    """`data` as strict UTF-8 (a leading byte-order mark is allowed); InvalidTextError otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidTextError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason})"
        ) from None


def may_hold_surrogates(text: str) -> bool:
    """Whether JSON `text` escapes any UTF-16 surrogate (so decoded strings may be invalid)."""
    return _SURROGATE_ESCAPE.search(text) is not None


def is_valid(text: str) -> bool:
    """Whether `text` can be encoded as UTF-8 (has no lone surrogate)."""
    return text.isascii() or _SURROGATE.search(text) is None


def printable(text: str) -> str:
    """`text` with any surrogate written as an escape, safe for messages and logs."""
    return text if is_valid(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def drop_invalid_text(result: DecodeResult) -> None:
    """Reject the spans of `result` whose service name is invalid and drop other invalid values."""
    resources: dict[int, Resource | None] = {}
    dropped: Counter[str] = Counter()
    kept: list[Span] = []
    for span in result.spans:
        key = id(span.resource)
        if key not in resources:
            resources[key] = _clean_resource(span.resource, dropped)
        resource = resources[key]
        if resource is None:
            result.reject(
                f"span {span.span_id.hex()}: service name '{printable(span.resource.service)[:60]}' "
                "is not valid Unicode (lone UTF-16 surrogate)"
            )
            continue
        span.resource = resource
        attrs = span.attrs
        for name in [name for name, value in attrs.items() if not is_valid(value)]:
            del attrs[name]
            dropped[name] += 1
        kept.append(span)
    result.spans = kept
    if dropped:
        names = ", ".join(sorted(dropped))
        result.warnings.append(
            f"dropped {sum(dropped.values())} attribute value(s) that are not valid Unicode "
            f"(lone UTF-16 surrogates) and kept their spans: {names}"
        )


def _clean_resource(resource: Resource, dropped: Counter[str]) -> Resource | None:
    """The resource with invalid hints removed; None when its service name itself is invalid."""
    if not is_valid(resource.service):
        return None
    bad = [name for name, value in resource.hints.items() if not is_valid(value)]
    if not bad and is_valid(resource.environment):
        return resource
    hints = {name: value for name, value in resource.hints.items() if name not in bad}
    dropped.update(bad)
    environment = next((hints[k] for k in ENVIRONMENT_KEYS if hints.get(k)), "")
    if not bad:  # an environment that came from elsewhere than the hints
        dropped["environment"] += 1
    return Resource(resource.service, environment, hints)


def load_json(data: bytes | str, what: str = "body") -> tuple[Any, bool]:
    """Parse UTF-8 JSON; the flag says whether it escapes surrogates (see this module's docstring).

    Raises DecodeError when `data` is not UTF-8 or not JSON."""
    try:
        text = data if isinstance(data, str) else utf8_text(data)
        return json.loads(text), may_hold_surrogates(text)
    except InvalidTextError as exc:
        raise DecodeError(f"{what} is {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"{what} is not valid JSON: {exc}") from None


def checked(result: DecodeResult, suspect: bool) -> DecodeResult:
    """`result` with invalid text removed when its JSON `suspect`ly escaped surrogates."""
    if suspect:
        drop_invalid_text(result)
    return result
