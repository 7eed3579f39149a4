"""Format detection over the real fixtures and hand-made shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.formats.sniff import detect_format


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("otlp_hotrod_dispatch_40spans.json", "otlp"),
        ("otlp_oteldemo_checkout_26spans.json", "otlp"),
        ("otlp_istio_bookinfo_8spans_derived.json", "otlp"),
        ("tempoapi_istio_bookinfo_8spans.json", "otlp"),
        ("jaeger_deathstarbench_socialnetwork_20traces.json", "jaeger"),
        ("zipkin_netflix_8spans.json", "zipkin"),
        ("zipkin_yelp_16spans.json", "zipkin"),
        ("zipkin_messaging_kafka_28spans.json", "zipkin"),
        ("zipkin_smartthings_mobile_web_install_1041spans.json", "zipkin"),
    ],
)
def test_fixtures_are_detected(traces_dir: Path, name: str, expected: str) -> None:
    doc = json.loads((traces_dir / name).read_text())
    assert detect_format(doc) == expected


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"resourceSpans": []}, "otlp"),
        ({"batches": []}, "otlp"),
        ({"data": [{"traceID": "1", "spans": []}]}, "jaeger"),
        ({"data": []}, "jaeger"),
        ([{"traceId": "a" * 16, "id": "b" * 16}], "zipkin"),
        ([], "zipkin"),
        ([42, {"traceId": "a" * 16, "id": "b" * 16}], "zipkin"),  # bad elements are the decoder's job
    ],
)
def test_shapes(doc: object, expected: str) -> None:
    assert detect_format(doc) == expected


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"data": "nope"},
        {"data": [{"traceID": "1"}]},
        {"resourceSpans": "x"},
        [1, 2, 3],
        [{"traceId": "a" * 16}],
        "resourceSpans",
        None,
        42,
    ],
)
def test_unrecognised_documents_name_the_expected_shapes(doc: object) -> None:
    with pytest.raises(ValueError, match="expected OTLP/JSON") as info:
        detect_format(doc)
    assert "Jaeger" in str(info.value)
    assert "Zipkin" in str(info.value)
