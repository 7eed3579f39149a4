"""OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

Every call is judged when it arrives, before its message is read: a wrong or missing bearer
token is UNAUTHENTICATED, a call beyond the bounds of `ExportAdmission` is UNAVAILABLE or
RESOURCE_EXHAUSTED with a google.rpc.RetryInfo (so OTLP clients retry). Export is served as a
stream-unary method so that a refused call never reads its message. An admitted call takes the
raw request bytes (an undecodable request is INVALID_ARGUMENT, which grpcio's generated servicer
would not do), then stays thin: decode, hand over, map errors to gRPC status codes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from collector.decode import DecodeError, decode_request_bytes, encode_response, encode_status
from collector.grpc_admission import ExportAdmission, Refusal
from collector.ingest import CommitTimeoutError, Receiver
from collector.pipeline import NotRunningError, OverloadedError
from graph.bearer import BearerCheck

log = logging.getLogger(__name__)

SERVICE_NAME = "opentelemetry.proto.collector.trace.v1.TraceService"
EXPORT_METHOD = f"/{SERVICE_NAME}/Export"
RETRY_AFTER_SECONDS = 2
# Threads beyond the admitted calls' own, so refusals are answered at once even when every
# admitted call is busy (a refusal reads nothing and takes a fraction of a millisecond).
REFUSAL_THREADS = 4


def _identity(data: bytes) -> bytes:
    return data


def _abort_retryable(context: grpc.ServicerContext, message: str,
                     code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
    """Abort with `code` and a google.rpc.RetryInfo detail, as the OTLP specification asks."""
    details = encode_status(code.value[0], message, RETRY_AFTER_SECONDS)
    context.set_trailing_metadata((("grpc-status-details-bin", details),))
    context.abort(code, message)


def _refusing(refusal: Refusal, retry: bool) -> grpc.RpcMethodHandler:
    """A method handler that answers `refusal` without reading the request."""

    def refuse(_requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        if retry:
            _abort_retryable(context, refusal.message, refusal.code)
        context.abort(refusal.code, refusal.message)
        return b""  # not reached: abort raises

    return grpc.stream_unary_rpc_method_handler(refuse, request_deserializer=_identity,
                                                response_serializer=_identity)


_UNAUTHENTICATED = _refusing(Refusal(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token"), retry=False)


class TraceExportHandler:
    """The Export method of an admitted call."""

    def __init__(self, receiver: Receiver, admission: ExportAdmission) -> None:
        self.receiver = receiver
        self.admission = admission

    def export(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        """Read the one request message (within the byte budget) and handle it; always leaves admission."""
        held = 0
        try:
            request = next(requests, None)
            if request is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Export needs exactly one request message")
            refusal = self.admission.hold(len(request))
            if refusal is not None:
                self.receiver.pipeline.stats.overloaded += 1
                _abort_retryable(context, refusal.message, refusal.code)
            held = len(request)
            return self._accept(request, context)
        finally:
            self.admission.leave(held)

    def _accept(self, request: bytes, context: grpc.ServicerContext) -> bytes:
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


class ExportService(grpc.GenericRpcHandler):
    """Picks each call's handler from its metadata: refused unread, or admitted to `TraceExportHandler`."""

    def __init__(self, receiver: Receiver, admission: ExportAdmission, token: str | None = None) -> None:
        self.receiver = receiver
        self.admission = admission
        self.auth = BearerCheck(token)
        handler = TraceExportHandler(receiver, admission)
        self._export = grpc.stream_unary_rpc_method_handler(handler.export, request_deserializer=_identity,
                                                            response_serializer=_identity)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        """Called by grpc as each call arrives, before any message is read."""
        if handler_call_details.method != EXPORT_METHOD:
            return None
        if not self.auth.allows_metadata(handler_call_details.invocation_metadata):  # type: ignore[attr-defined]
            return _UNAUTHENTICATED
        refusal = self.admission.enter()
        if refusal is not None:
            self.receiver.pipeline.stats.overloaded += 1
            return _refusing(refusal, retry=True)
        return self._export


def build_grpc_server(
    receiver: Receiver,
    bind: str,
    *,
    max_request_bytes: int,
    token: str | None = None,
    tls: tuple[bytes, bytes] | None = None,
    max_concurrent: int = 16,
    max_inflight_bytes: int = 64 * 1024 * 1024,
    thread_setup: Callable[[], None] | None = None,
) -> tuple[grpc.Server, int]:
    """A gRPC server with the Export handler bound to `bind` (HOST:PORT); returns it and the port.

    At most `max_concurrent` Export calls run at once, holding at most `max_inflight_bytes` of
    requests together (one call may always hold one message of up to `max_request_bytes`).
    `thread_setup` runs first on each of the handler threads.
    """
    admission = ExportAdmission(max_concurrent, max_inflight_bytes)
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", max_request_bytes),
        ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ("grpc.http2.bdp_probe", 0),
    ]
    pool = ThreadPoolExecutor(max_workers=max_concurrent + REFUSAL_THREADS, thread_name_prefix="otlp-grpc",
                              initializer=thread_setup)
    server = grpc.server(pool, options=options)
    server.add_generic_rpc_handlers((ExportService(receiver, admission, token),))
    if tls is not None:
        credentials = grpc.ssl_server_credentials([(tls[1], tls[0])])
        port = server.add_secure_port(bind, credentials)
    else:
        port = server.add_insecure_port(bind)
    if port == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {bind}")
    return server, port
