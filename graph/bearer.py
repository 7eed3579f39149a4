"""One bearer-token check for every door (OTLP/gRPC, OTLP/HTTP, the API).

It lives in `graph/` because that is the one package both `collector` and `api` may import
(DESIGN §1); it depends on nothing but the standard library.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

SCHEME = "bearer"


def bearer_credentials(header: str | bytes | None) -> bytes | None:
    """The token of an `Authorization: Bearer <token>` value (scheme in any case, RFC 7235), else None."""
    if header is None:
        return None
    raw = header.encode("utf-8", "surrogateescape") if isinstance(header, str) else header
    scheme, _, token = raw.strip().partition(b" ")
    if scheme.lower() != SCHEME.encode() or not token.strip():
        return None
    return token.strip()


class BearerCheck:
    """Whether a request's Authorization value carries the expected token (compared in constant time).

    With no expected token every request is authorised.
    """

    def __init__(self, token: str | None) -> None:
        self._expected = token.encode() if token else None

    @property
    def required(self) -> bool:
        """A token is expected."""
        return self._expected is not None

    def allows(self, header: str | bytes | None) -> bool:
        """True when no token is expected or `header` is `Bearer <the token>`."""
        if self._expected is None:
            return True
        given = bearer_credentials(header)
        # Compare even when nothing was given, so a missing token takes as long as a wrong one.
        return hmac.compare_digest(given or b"", self._expected) and given is not None

    def allows_metadata(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> bool:
        """`allows` for gRPC invocation metadata (pairs of key and value; keys are lower case)."""
        if self._expected is None:
            return True
        for key, value in metadata or ():
            if key == "authorization":
                return self.allows(value)
        return self.allows(None)
