"""A Prometheus HTTP API stand-in on httpx.MockTransport: every query answers with a few
deterministic series, so previews draw without a server."""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs

import httpx

REGIONS = ("ams", "iad", "syd")


def _series(query: str, start: float, end: float, step: float) -> list[dict[str, object]]:
    n = max(2, int((end - start) / step) + 1)
    out: list[dict[str, object]] = []
    for i, region in enumerate(REGIONS):
        values = [[start + k * step, str(0.5 + 0.4 * math.sin(k / 5 + i))] for k in range(n)]
        out.append({"metric": {"region": region, "route": "/v1/countries/{iso3}",
                               "sloth_slo": f"availability-{region}"}, "values": values})
    return out


def handler(empty: frozenset[str] = frozenset()) -> httpx.MockTransport:
    """Answers ``query_range``, ``query`` and label values; queries containing any of
    ``empty`` return no series."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode()) if request.method == "POST" else {}
        query = form.get("query", [""])[0]
        seen.append(query)
        if request.url.path.startswith("/api/v1/label/"):
            return httpx.Response(200, json={"status": "success", "data": list(REGIONS)})
        if any(e in query for e in empty):
            data: dict[str, object] = {"resultType": "matrix", "result": []}
        elif request.url.path == "/api/v1/query_range":
            start, end, step = (float(form[k][0]) for k in ("start", "end", "step"))
            data = {"resultType": "matrix", "result": _series(query, start, end, step)}
        else:
            at = float(form["time"][0])
            data = {"resultType": "vector", "result": [
                {"metric": s["metric"], "value": [at, "0.25"]}
                for s in _series(query, at, at, 1)]}
        return httpx.Response(200, content=json.dumps({"status": "success", "data": data}),
                              headers={"content-type": "application/json"})

    transport = httpx.MockTransport(answer)
    transport.seen = seen  # type: ignore[attr-defined]
    return transport
