"""The MetricsSource seam: where SLIs read their counters.

Embedded default: :class:`ScrapeSource`, a direct scrape of each region's ``/metrics``.
Production: :class:`PrometheusSource`, the Prometheus HTTP API (``COVENANT_PROMETHEUS_URL``).
Both return the same thing -- a tuple of :class:`Sample` per region -- so budgets computed
from either agree on the same data. The network sits behind an injected httpx transport.
The parser, ``Sample`` and the ``MetricsSource`` protocol live in :mod:`kernel.exposition`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from core_api import contract
from kernel.exposition import ExpositionError, Sample, Series, parse_exposition
from slo.errors import MetricsSourceError

log = logging.getLogger(__name__)

# The series the SLIs are over: the core API's RED metrics and the control plane's probe.
SLI_METRICS: tuple[str, ...] = (
    contract.REQUESTS_TOTAL,
    contract.DURATION_BUCKET,
    contract.DURATION_COUNT,
    "covenant_region_up",  # the control plane's probe verdict per region
)


class ScrapeSource:
    """Scrape each region's ``/metrics`` directly (the embedded default)."""

    def __init__(
        self,
        targets: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        self._targets = dict(targets)
        self._client = httpx.Client(transport=transport, timeout=timeout)

    def collect(self, region: str) -> tuple[Sample, ...]:
        url = self._targets.get(region)
        if url is None:
            raise MetricsSourceError(f"no scrape target for region {region!r}; add it to targets")
        try:
            resp = self._client.get(url)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise MetricsSourceError(f"scrape of {region} at {url} failed: {exc}") from exc
        try:
            return parse_exposition(resp.text)
        except ExpositionError as exc:
            raise MetricsSourceError(f"scrape of {region} at {url}: {exc}") from exc

    def close(self) -> None:
        self._client.close()


class PrometheusSource:
    """Read the same series from the Prometheus HTTP API (``/api/v1/query``, ``query_range``)."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        metrics: Iterable[str] = SLI_METRICS,
    ) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), transport=transport,
                                    timeout=timeout)
        self._metrics = tuple(metrics)

    def collect(self, region: str, at: float | None = None) -> tuple[Sample, ...]:
        names = "|".join(self._metrics)
        return self.query(f'{{__name__=~"{names}",region="{region}"}}', at)

    def query(self, expr: str, at: float | None = None) -> tuple[Sample, ...]:
        params = {"query": expr} if at is None else {"query": expr, "time": repr(at)}
        data = self._get("/api/v1/query", params)
        if data.get("resultType") != "vector":
            raise MetricsSourceError(f"query {expr!r} returned {data.get('resultType')}, "
                                     "expected an instant vector")
        return tuple(_sample(item) for item in data.get("result", []))

    def query_range(self, expr: str, start: float, end: float, step: float) -> tuple[Series, ...]:
        params = {"query": expr, "start": repr(start), "end": repr(end), "step": repr(step)}
        data = self._get("/api/v1/query_range", params)
        out: list[Series] = []
        for item in data.get("result", []):
            labels = dict(item.get("metric", {}))
            name = labels.pop("__name__", "")
            pts = tuple((float(t), float(v)) for t, v in item.get("values", []))
            out.append(Series(name, labels, pts))
        return tuple(out)

    def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            resp = self._client.get(path, params=dict(params))
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise MetricsSourceError(f"Prometheus {path} failed: {exc}") from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            err = body.get("error") if isinstance(body, dict) else body
            raise MetricsSourceError(f"Prometheus {path} {params.get('query')!r}: {err}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise MetricsSourceError(f"Prometheus {path}: response has no data object")
        return data

    def close(self) -> None:
        self._client.close()


def _sample(item: object) -> Sample:
    if not isinstance(item, dict):
        raise MetricsSourceError(f"unexpected vector element {item!r}")
    labels = dict(item.get("metric", {}))
    name = labels.pop("__name__", "")
    _, value = item.get("value", (0, "NaN"))
    return Sample(name, labels, float(value))
