"""The MetricsSource seam: exposition parsing, direct scrape, Prometheus API (mocked)."""

from __future__ import annotations

import httpx
import pytest

from kernel.exposition import Sample
from slo.errors import MetricsSourceError
from slo.metrics_source import PrometheusSource, ScrapeSource

EXPOSITION = """# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{region="ams",route="/a",method="GET",status="200"} 12.0
http_requests_total{region="ams",route="/a",method="GET",status="500"} 3.0
# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{region="ams",route="/a",method="GET",le="0.001"} 1.0
http_request_duration_seconds_bucket{region="ams",route="/a",method="GET",le="0.1"} 14.0
http_request_duration_seconds_bucket{region="ams",route="/a",method="GET",le="+Inf"} 15.0
http_request_duration_seconds_count{region="ams",route="/a",method="GET"} 15.0
http_request_duration_seconds_sum{region="ams",route="/a",method="GET"} 0.9
# TYPE covenant_region_up gauge
covenant_region_up{region="ams"} 1
"""


def test_scrape_source_uses_the_injected_transport() -> None:
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(str(req.url))
        return httpx.Response(200, text=EXPOSITION)

    src = ScrapeSource({"ams": "http://ams.test/metrics"}, transport=httpx.MockTransport(handler))
    assert len(src.collect("ams")) == 8 and seen == ["http://ams.test/metrics"]
    with pytest.raises(MetricsSourceError, match="no scrape target"):
        src.collect("iad")
    down = ScrapeSource({"ams": "http://ams.test/metrics"},
                        transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    with pytest.raises(MetricsSourceError, match="scrape of ams"):
        down.collect("ams")


def test_prometheus_source_query_and_range() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/api/v1/query":
            assert 'region="ams"' in req.url.params["query"] and req.url.params["time"] == "100.0"
            return httpx.Response(200, json={"status": "success", "data": {
                "resultType": "vector", "result": [
                    {"metric": {"__name__": "covenant_region_up", "region": "ams"},
                     "value": [100, "1"]}]}})
        return httpx.Response(200, json={"status": "success", "data": {
            "resultType": "matrix", "result": [
                {"metric": {"__name__": "up"}, "values": [[1, "0"], [2, "1"]]}]}})

    src = PrometheusSource("http://prom.test", transport=httpx.MockTransport(handler))
    assert src.collect("ams", at=100.0) == (Sample("covenant_region_up", {"region": "ams"}, 1.0),)
    (series,) = src.query_range("up", 1, 2, 1)
    assert series.name == "up" and series.points == ((1.0, 0.0), (2.0, 1.0))
    bad = PrometheusSource("http://prom.test", transport=httpx.MockTransport(
        lambda r: httpx.Response(400, json={"status": "error", "error": "parse error"})))
    with pytest.raises(MetricsSourceError, match="parse error"):
        bad.query("sum(")
