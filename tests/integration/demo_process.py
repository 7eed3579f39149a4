"""Start `ownermap demo` as a real subprocess on free loopback ports and learn its addresses."""

from __future__ import annotations

from tests.integration.serve_process import ServeProcess


class DemoProcess(ServeProcess):
    """A running `ownermap demo` (its own throwaway database); same helpers as ServeProcess."""

    def __init__(self, *extra: str, env: dict[str, str] | None = None) -> None:
        super().__init__(None, *extra, env=env, command="demo")
