"""The one exposition parser: what the observer, the histogram and the SLO tracker all read."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kernel.exposition import ExpositionError, Sample, parse_exposition

EXPOSITION = """# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{region="ams",route="/a",method="GET",status="200"} 12.0
http_requests_total{region="ams",route="/a",method="GET",status="500"} 3.0
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{region="ams",route="/a",method="GET",le="0.001"} 1.0
http_request_duration_seconds_bucket{region="ams",route="/a",method="GET",le="0.1"} 14.0
http_request_duration_seconds_bucket{region="ams",route="/a",method="GET",le="+Inf"} 15.0
http_request_duration_seconds_count{region="ams",route="/a",method="GET"} 15.0
# TYPE covenant_region_up gauge
covenant_region_up{region="ams"} 1
"""


def test_every_sample_with_its_labels_and_value() -> None:
    samples = parse_exposition(EXPOSITION)
    assert samples[0] == Sample("http_requests_total",
                                {"region": "ams", "route": "/a", "method": "GET", "status": "200"},
                                12.0)
    assert [s.name for s in samples].count("http_request_duration_seconds_bucket") == 3
    assert samples[4].labels["le"] == "+Inf" and samples[-1] == Sample(
        "covenant_region_up", {"region": "ams"}, 1.0)
    with pytest.raises(TypeError):
        samples[0].labels["x"] = "y"  # type: ignore[index]


def test_only_the_names_asked_for() -> None:
    samples = parse_exposition(EXPOSITION, ("http_requests_total", "covenant_region_up"))
    assert [s.name for s in samples] == ["http_requests_total"] * 2 + ["covenant_region_up"]
    # a name that is a prefix of another is not confused with it
    assert parse_exposition(EXPOSITION, ("http_request_duration_seconds",)) == ()


@pytest.mark.parametrize(("line", "expected"), [
    ('m{a="x\\"y",b="1\\\\2",c="l\\nm"} 2', Sample("m", {"a": 'x"y', "b": "1\\2", "c": "l\nm"}, 2)),
    ("m 3 1700000000000", Sample("m", {}, 3.0)),             # a timestamp is allowed
    ('m{a="1",} 4', Sample("m", {"a": "1"}, 4.0)),            # a trailing comma too
    ('m{a="{ } ,"} 5', Sample("m", {"a": "{ } ,"}, 5.0)),     # braces inside a value
    ("m -Inf", Sample("m", {}, -math.inf)),
])
def test_lines(line: str, expected: Sample) -> None:
    assert parse_exposition(line) == (expected,)


def test_nan() -> None:
    (sample,) = parse_exposition("m NaN")
    assert math.isnan(sample.value)


@pytest.mark.parametrize("text", ["this is { not metrics", "m{a=1} 2", 'm{a="1" 2', "m",
                                  "m abc", "9m 1"])
def test_bad_lines_name_the_line(text: str) -> None:
    with pytest.raises(ExpositionError, match="line 1"):
        parse_exposition(text)


def test_agrees_with_prometheus_client_on_a_real_exposition() -> None:
    registry = CollectorRegistry()
    c = Counter("requests", "r", ["route", "status"], registry=registry)
    h = Histogram("duration_seconds", "d", ["route"], registry=registry)
    c.labels('/v1/"q"', "200").inc(7)
    h.labels("/a\\b").observe(0.2)
    text = generate_latest(registry).decode()
    reference = tuple(Sample(s.name, dict(s.labels), float(s.value))
                      for fam in text_string_to_metric_families(text) for s in fam.samples)
    assert parse_exposition(text) == reference
