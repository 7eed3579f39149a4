"""Errors every decoder raises."""

from __future__ import annotations


class DecodeError(ValueError):
    """The payload as a whole cannot be decoded (the request is rejected)."""
