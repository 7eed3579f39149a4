"""The listeners' plumbing: sockets, and uvicorn servers that run beside the others in one process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from ownermap.settings import split_hostport


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ownermap (several run in one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve_in_own_thread(
    server: uvicorn.Server, sock: socket.socket, name: str, thread_setup: Callable[[], None] | None = None
) -> asyncio.Future[None]:
    """Run a uvicorn server on its own thread and event loop; the future completes when it stops.

    Stop it with `server.should_exit = True` (uvicorn polls the flag). Requests on it can then
    never hold the event loop, nor the worker threads, of the servers on other loops.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def finish(error: BaseException | None) -> None:
        if not done.done():
            done.set_exception(error) if error is not None else done.set_result(None)

    def run() -> None:
        error: BaseException | None = None
        if thread_setup is not None:
            thread_setup()  # the threads of its loop's executor, started from here, inherit what it sets
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the awaiting loop
            error = exc
        loop.call_soon_threadsafe(finish, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return done


def bind_socket(hostport: str) -> socket.socket:
    """A listening TCP socket for HOST:PORT (port 0 picks a free port)."""
    host, port = split_hostport(hostport)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    infos = socket.getaddrinfo(host, port, family if ":" in host else 0, socket.SOCK_STREAM)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def address_of(sock: socket.socket) -> str:
    """HOST:PORT a socket listens on (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def stop_uvicorn(server: uvicorn.Server, serving: asyncio.Future[Any]) -> None:
    """Ask a uvicorn server to finish its requests and stop; wait until it has."""
    server.should_exit = True
    await asyncio.gather(serving, return_exceptions=True)
