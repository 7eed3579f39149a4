"""Escaping untrusted names for Markdown and chat messages."""

from __future__ import annotations

import html
import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|~>])")
_WHITESPACE = re.compile(r"\s+")


def md(text: object) -> str:
    """Text that Markdown (and HTML inside Markdown) shows literally: no links, emphasis, tables or tags."""
    flat = _WHITESPACE.sub(" ", str(text)).strip()
    escaped = html.escape(flat, quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
