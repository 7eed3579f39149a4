"""The one bearer-token check shared by OTLP/gRPC, OTLP/HTTP and the API."""

from __future__ import annotations

import pytest

from graph.bearer import BearerCheck, bearer_credentials


@pytest.mark.parametrize("header", ["Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR s3cret",
                                    b"Bearer s3cret", "  Bearer   s3cret  "])
def test_the_scheme_is_case_insensitive_and_the_token_matches(header: str | bytes) -> None:
    assert BearerCheck("s3cret").allows(header)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "s3cret", "Basic s3cret", "Bearer S3CRET",
                                    "Bearer s3cret-and-more", "Bearer s3cre", "Bearers3cret", "Token s3cret",
                                    "Bearer s3cret extra", b"Bearer \xff\xfe"])
def test_anything_else_is_refused(header: str | bytes | None) -> None:
    assert not BearerCheck("s3cret").allows(header)


def test_without_a_token_everything_is_allowed() -> None:
    check = BearerCheck(None)
    assert not check.required
    assert check.allows(None)
    assert check.allows_metadata([])
    assert BearerCheck("").allows("whatever")


def test_grpc_metadata() -> None:
    check = BearerCheck("s3cret")
    assert check.required
    assert check.allows_metadata([("user-agent", "x"), ("authorization", "bearer s3cret")])
    assert not check.allows_metadata([("x-token", "Bearer s3cret")])
    assert not check.allows_metadata(None)
    assert not check.allows_metadata([("authorization", "Bearer nope")])


def test_credentials_parsing() -> None:
    assert bearer_credentials("Bearer abc") == b"abc"
    assert bearer_credentials("bearer  abc ") == b"abc"
    assert bearer_credentials("Basic abc") is None
    assert bearer_credentials("Bearer ") is None
    assert bearer_credentials(None) is None
