"""Reading OTLP/HTTP and Zipkin request bodies: a size limit as sent and a second one after gunzip."""

from __future__ import annotations

import zlib

from starlette.requests import Request


class PayloadError(Exception):
    """A request that gets a 4xx answer."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status


async def read_body(request: Request, max_bytes: int, max_decompressed: int) -> bytes:
    """The request body, size-limited, gunzipped when Content-Encoding says so."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadError(413, f"body of {declared} bytes is over the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadError(413, f"body is over the {max_bytes}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise PayloadError(415, f"content-encoding {encoding!r} is not supported (use gzip)")
    return gunzip_limited(body, max_decompressed, gzip=encoding == "gzip")


def gunzip_limited(body: bytes, limit: int, gzip: bool = True) -> bytes:
    """Decompress at most `limit` bytes (all gzip members); more is an error, not an out-of-memory."""
    name = "gzip" if gzip else "deflate"
    out: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=31 if gzip else 15)
        try:
            data = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise PayloadError(400, f"body is not valid {name} data: {exc}") from None
        size += len(data)
        if size > limit or inflater.unconsumed_tail:
            raise PayloadError(413, f"decompressed body is over the {limit}-byte limit")
        if not inflater.eof:
            raise PayloadError(400, f"{name} body is truncated")
        out.append(data)
        rest = inflater.unused_data
        if not gzip or not rest:
            return b"".join(out)
