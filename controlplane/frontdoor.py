"""The front door: an HTTP reverse proxy standing in for DNS geo-routing.

Each request goes to the home region of its country (an ISO3 code in the path, or the
``X-Covenant-Country`` / ``X-Covenant-Region`` header), or wherever the current route table
sends that home's traffic. A connection that fails is retried on the next-nearest region
(safe for any method: nothing reached the origin); an idempotent request is also retried
after a reset or a 502/503/504, so clients see no error once traffic is rerouted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import httpx
from prometheus_client import CollectorRegistry, Counter, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controlplane.actuators import LocalRouter
from controlplane.desired import DesiredState

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailers", "transfer-encoding", "upgrade", "host",
                        "content-length"})
ISO3 = re.compile(r"[A-Z]{3}")  # a whole path segment, upper case as the API writes it
MAX_ATTEMPTS = 3


class FrontDoor:
    def __init__(self, desired: DesiredState, router: LocalRouter, client: httpx.AsyncClient,
                 homes: Mapping[str, str], registry: CollectorRegistry | None = None) -> None:
        self._desired = desired
        self._router = router
        self._client = client
        self._homes = dict(homes)
        self._endpoints = {r.name: r.endpoint for r in desired.regions}
        self._nearest = desired.nearest_order()
        self._default = desired.routing.default_region or desired.regions[0].name
        self.registry = registry or CollectorRegistry()
        self.requests = Counter("covenant_frontdoor_requests_total",
                                "Requests through the front door by home and serving region.",
                                ["home", "served", "status"], registry=self.registry)
        self.retries = Counter("covenant_frontdoor_retries_total",
                               "Requests retried on another region.", ["home", "reason"],
                               registry=self.registry)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/_frontdoor/metrics", self._metrics, methods=["GET"]),
            Route("/{path:path}", self.handle,
                  methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]),
        ])

    async def _metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4")

    def home_of(self, request: Request) -> str:
        explicit = request.headers.get("x-covenant-region", "").lower()
        if explicit in self._endpoints:
            return explicit
        country = request.headers.get("x-covenant-country", "").upper()
        if country in self._homes:
            return self._homes[country]
        for segment in request.url.path.split("/"):
            if ISO3.fullmatch(segment) and segment in self._homes:
                return self._homes[segment]
        query_country = request.query_params.get("country", "").upper()
        return self._homes.get(query_country, self._default)

    def candidates(self, home: str) -> list[str]:
        """Where to try, in order: the routed target, then the home's nearest others."""
        routes = self._router.current
        first = (routes.target(home) if routes else None) or home
        rest = [home] + list(self._nearest.get(home, ()))
        return [first] + [r for r in rest if r != first][: MAX_ATTEMPTS - 1]

    async def handle(self, request: Request) -> Response:
        home = self.home_of(request)
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        idempotent = request.method in IDEMPOTENT
        last_error = "no region tried"
        for region in self.candidates(home):
            url = self._endpoints[region] + request.url.path
            if request.url.query:
                url += "?" + request.url.query
            upstream: httpx.Response | None = None
            try:
                upstream = await self._client.request(request.method, url, content=body,
                                                      headers=headers)
                outcome: int | httpx.TransportError = upstream.status_code
            except httpx.TransportError as exc:
                outcome = exc
            step = next_step(outcome, idempotent)
            if step is not SERVE:
                last_error = f"{region}: {describe(outcome)}"
                if step is STOP:
                    break
                self.retries.labels(home=home, reason=step).inc()
                continue
            assert upstream is not None
            self.requests.labels(home=home, served=region,
                                 status=str(upstream.status_code)).inc()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
                   and k.lower() != "content-encoding"}
            out.update({"x-covenant-home": home, "x-covenant-served-by": region})
            return Response(upstream.content, status_code=upstream.status_code, headers=out)
        self.requests.labels(home=home, served="none", status="502").inc()
        return Response(f'{{"detail":"no region could serve: {last_error}"}}', status_code=502,
                        media_type="application/json",
                        headers={"x-covenant-home": home, "x-covenant-served-by": "none"})


SERVE, STOP = "serve", "stop"


def next_step(outcome: int | httpx.TransportError, idempotent: bool) -> str:
    """What the front door does after one attempt: ``SERVE`` the answer, ``STOP`` trying,
    or retry the next region (the retry's reason, for the metric).

    A connect failure never reached the origin, so any method may go elsewhere; a reset or
    timeout mid-request (the origin may have acted) and 502-504 retry only idempotent ones;
    any other answer, an origin's 500 included, is served as it is."""
    if isinstance(outcome, (httpx.ConnectError, httpx.ConnectTimeout)):
        return "connect"
    if isinstance(outcome, httpx.TransportError):
        return "reset" if idempotent else STOP
    if idempotent and outcome in RETRY_STATUSES:
        return str(outcome)
    return SERVE


def describe(outcome: int | httpx.TransportError) -> str:
    if isinstance(outcome, (httpx.ConnectError, httpx.ConnectTimeout)):
        return f"connect failed ({type(outcome).__name__})"
    if isinstance(outcome, httpx.TransportError):
        return type(outcome).__name__
    return f"answered {outcome}"
