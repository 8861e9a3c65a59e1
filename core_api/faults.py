"""Opt-in fault injection: make a region API answer a fraction of its requests with a 5xx.

Network faults (down, latency, resets) live in the Toxiproxy-compatible proxy in front of a
region; a region that *answers* with errors can only come from the region itself. With
``COVENANT_FAULT_INJECTION`` on (``covenant up`` turns it on for the region APIs it starts;
off by default, refused in production) ``PUT /_chaos/fault`` sets a :class:`FaultSpec` and
:class:`FaultMiddleware` answers that fraction of requests with its status.

Never faulted: ``/live`` (the process is up: the region is erroring, not gone),
``/metrics`` (the control plane must keep scraping, and the scrape counts the 5xx) and
``/_chaos/*`` (else the fault could not be cleared). ``/ready`` and ``/health`` fail with
the API routes unless the spec says ``probes: false`` — a shallow health check that stays
green while users get errors, which only the scraped error ratio reveals.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from core_api import contract

logger = logging.getLogger(__name__)

NEVER_FAULTED = frozenset({contract.LIVE_PATH, contract.METRICS_PATH})
PROBES = frozenset({contract.READY_PATH, contract.HEALTH_PATH})
CHAOS_PREFIX = contract.CHAOS_PREFIX


class FaultSpec(BaseModel):
    """What ``PUT /_chaos/fault`` takes: answer ``error_rate`` of requests with ``status``."""

    # Strict: "503" or "yes" is a client mistake to name, not to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    error_rate: float = Field(default=1.0, ge=0.0, le=1.0, allow_inf_nan=False,
                              description="Fraction of requests answered with the error.")
    status: int = Field(default=503, ge=500, le=599, description="The 5xx status to answer.")
    probes: bool = Field(default=True, description="Fail /ready and /health too; false "
                         "keeps them green while the API routes fail.")


class FaultSwitch:
    """The region's current fault (``spec`` None: none). ``draw`` is the randomness seam."""

    def __init__(self, draw: Callable[[], float] = random.random) -> None:
        self.spec: FaultSpec | None = None
        self._draw = draw

    def set(self, spec: FaultSpec) -> None:
        self.spec = spec

    def clear(self) -> None:
        self.spec = None

    def strike(self, path: str) -> int | None:
        """The status to answer a request for ``path`` with, or None to serve it."""
        spec = self.spec
        if spec is None or path in NEVER_FAULTED or path.startswith(CHAOS_PREFIX):
            return None
        if path in PROBES and not spec.probes:
            return None
        # draw() is in [0, 1): a rate of 1.0 always strikes, 0.0 never does.
        return spec.status if self._draw() < spec.error_rate else None


class FaultMiddleware:
    """Pure ASGI: answers a struck request itself, before routing. It sits inside the metrics
    middleware, so the error is counted in ``http_requests_total``; it labels the request with
    the route the router would have chosen (``scope["route"]``) so the count lands on the same
    series a real failure of that route would."""

    def __init__(self, app: ASGIApp, switch: FaultSwitch, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.switch = switch
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = None
        if scope["type"] == "http" and self.switch.spec is not None:
            status = self.switch.strike(scope["path"])
        if status is None:
            await self.app(scope, receive, send)
            return
        route = _route_of(self.routes, scope)
        if route is not None:
            scope["route"] = route
        body = b'{"detail":"injected fault: answering %d (DELETE /_chaos/fault clears it)"}' \
            % status
        await send({
            "type": "http.response.start", "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (contract.FAULT_HEADER.encode(), b"injected")],
        })
        await send({"type": "http.response.body", "body": body})


def _route_of(routes: Iterable[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The route Starlette's router would pick: the first full match, else the first partial
    (a wrong method). Only run for struck requests, so its cost never touches normal ones."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial
