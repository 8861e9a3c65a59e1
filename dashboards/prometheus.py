"""A small client of Prometheus's HTTP API for previews and the live checks: range and
instant queries, label values. The transport is injectable (httpx's one seam)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from dashboards.errors import DashboardError


@dataclass(frozen=True, slots=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]  # (unix seconds, value); NaN kept

    def finite(self) -> tuple[tuple[float, float], ...]:
        return tuple(p for p in self.points if math.isfinite(p[1]))


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    end: float
    step: float


class Prometheus:
    def __init__(self, url: str, transport: httpx.BaseTransport | None = None,
                 timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, transport=transport, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, str | float]) -> Any:
        try:
            r = self._client.post(path, data=dict(params))
        except httpx.HTTPError as exc:
            raise DashboardError(f"Prometheus at {self.url} did not answer ({exc}); is it "
                                 "running? pass its URL with --prometheus-url") from exc
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") \
            else {}
        if r.status_code != 200 or body.get("status") != "success":
            error = body.get("error") or r.text[:200]
            raise DashboardError(f"Prometheus refused {params.get('query', path)!r}: {error}")
        return body["data"]

    def query_range(self, expr: str, window: Window) -> list[Series]:
        data = self._get("/api/v1/query_range", {"query": expr, "start": window.start,
                                                 "end": window.end, "step": window.step})
        return [Series(s["metric"], tuple((float(t), float(v)) for t, v in s["values"]))
                for s in data["result"]]

    def query(self, expr: str, at: float) -> list[Series]:
        data = self._get("/api/v1/query", {"query": expr, "time": at})
        if data["resultType"] == "scalar":
            return [Series({}, ((float(data["result"][0]), float(data["result"][1])),))]
        return [Series(s["metric"], ((float(s["value"][0]), float(s["value"][1])),))
                for s in data["result"]]

    def label_values(self, label: str, match: str = "") -> list[str]:
        params: dict[str, str | float] = {"match[]": match} if match else {}
        try:
            r = self._client.get(f"/api/v1/label/{label}/values", params=params)
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise DashboardError(f"Prometheus at {self.url}: label values of {label!r} "
                                 f"failed ({exc})") from exc
        return sorted(str(v) for v in r.json()["data"])
