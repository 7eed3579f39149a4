"""OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

The handler takes the raw request bytes (so an undecodable request is answered with
INVALID_ARGUMENT, which grpcio's generated servicer would not do), then stays thin:
decode, hand over, map errors to gRPC status codes.
"""

from __future__ import annotations

import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from collector.decode import DecodeError, decode_request_bytes, encode_response, encode_status
from collector.ingest import CommitTimeoutError, Receiver
from collector.pipeline import NotRunningError, OverloadedError

log = logging.getLogger(__name__)

SERVICE_NAME = "opentelemetry.proto.collector.trace.v1.TraceService"
RETRY_AFTER_SECONDS = 2


def _identity(data: bytes) -> bytes:
    return data


class TraceExportHandler:
    """The Export method."""

    def __init__(self, receiver: Receiver, token: str | None = None) -> None:
        self.receiver = receiver
        self._expected = f"Bearer {token}".encode() if token else None

    def _authorised(self, context: grpc.ServicerContext) -> bool:
        if self._expected is None:
            return True
        for key, value in context.invocation_metadata():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else value
                return hmac.compare_digest(given, self._expected)
        return False

    def export(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        """Handle one Export call."""
        if not self._authorised(context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        owner_keys = self.receiver.owner_keys
        try:
            result = self.receiver.accept("grpc", lambda: decode_request_bytes(request, owner_keys), len(request))
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except OverloadedError:
            _abort_retryable(context, "ownermap is overloaded; retry later")
        except (NotRunningError, CommitTimeoutError) as exc:
            _abort_retryable(context, f"{exc}; retry later")
        except Exception:
            log.exception("OTLP/gRPC export failed")
            _abort_retryable(context, "storing the batch failed; retry later")
        return encode_response(result)


def _abort_retryable(context: grpc.ServicerContext, message: str) -> None:
    """UNAVAILABLE with a google.rpc.RetryInfo detail, as the OTLP specification asks."""
    details = encode_status(grpc.StatusCode.UNAVAILABLE.value[0], message, RETRY_AFTER_SECONDS)
    context.set_trailing_metadata((("grpc-status-details-bin", details),))
    context.abort(grpc.StatusCode.UNAVAILABLE, message)


def build_grpc_server(
    receiver: Receiver,
    bind: str,
    *,
    max_request_bytes: int,
    token: str | None = None,
    tls: tuple[bytes, bytes] | None = None,
    workers: int = 8,
) -> tuple[grpc.Server, int]:
    """A gRPC server with the Export handler bound to `bind` (HOST:PORT); returns it and the port."""
    handler = TraceExportHandler(receiver, token)
    method = grpc.unary_unary_rpc_method_handler(
        handler.export, request_deserializer=_identity, response_serializer=_identity
    )
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", max_request_bytes),
        ("grpc.max_send_message_length", 4 * 1024 * 1024),
    ]
    server = grpc.server(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"), options=options)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, {"Export": method}),))
    if tls is not None:
        credentials = grpc.ssl_server_credentials([(tls[1], tls[0])])
        port = server.add_secure_port(bind, credentials)
    else:
        port = server.add_insecure_port(bind)
    if port == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {bind}")
    return server, port
