"""One client connection of the front door: each request (read by ``frontdoor_reader``)
gets its region decided (``frontdoor_routing``), is relayed on a pooled region connection
and its answer streamed back, retried only where the routing rules allow.

The hot path runs in protocol callbacks, without a task or a timer per request: a request
for which a pooled connection is idle is written to it from ``data_received``, and its
response bytes go to the client as they arrive. A task is spawned only to open a new
region connection or to fan a list out to every region. Requests pipelined on one
connection are answered in order, one at a time.
"""

from __future__ import annotations

import logging

import orjson

from controlplane.frontdoor_fanout import fan_out
from controlplane.frontdoor_reader import RequestReader
from controlplane.frontdoor_routing import (
    STOP,
    Facts,
    Failure,
    Home,
    Kind,
    Outcome,
    Plan,
    classify,
    counted_route,
    describe,
    give_up,
    misdirected_to,
    next_step,
    plan,
    reject_target,
    retry_safe,
    routes_by_body,
)
from controlplane.frontdoor_state import Door, Request
from controlplane.frontdoor_tracing import RelaySpan
from controlplane.frontdoor_upstream import ConnectFailed, Upstream
from controlplane.frontdoor_wire import (
    header_value,
    local_response,
    raw_response,
    rewrite_head,
    status_of,
    upstream_request,
)
from core_api.contract import HOME_HEADER

log = logging.getLogger(__name__)

_HOME = HOME_HEADER.encode()
OWN_PREFIX = "/_frontdoor/"


class ClientConnection(RequestReader):
    def __init__(self, door: Door) -> None:
        super().__init__(door.max_body_bytes, door.clients, traced=door.tracing is not None)
        self.door = door
        self.span: RelaySpan | None = None  # the request's span, when tracing is on
        # the request being relayed
        self.plan: Plan | None = None
        self.attempt = 0
        self.safe = False
        self.upstream: Upstream | None = None
        self.head_sent = self.discarding = False
        self.failures: list[str] = []
        self.redirect = ""  # a 421 named this home: go there once

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.upstream is not None:
            self.upstream.detach()
            self.upstream = None
        self._end_span("the client connection closed before the answer was written")

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.pause()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.resume()

    def refused(self, status: int) -> None:
        self.door.metrics.served("none", "none", status)

    def dispatch(self, req: Request) -> None:
        problem = reject_target(req.target)
        if problem:
            self.door.metrics.served("none", "none", 400)
            self.respond(local_response(400, {"detail": problem}, close=not req.keep_alive))
            return
        if req.path.startswith(OWN_PREFIX):
            self._own_endpoint(req)
            return
        facts = Facts(req.method, req.path, req.query, req.region_header, req.country_header,
                      _body_country(req) if routes_by_body(req.method, req.path) else "")
        chosen = plan(classify(facts, self.door.topo), self.door.routed, self.door.topo)
        if self.door.tracing is not None:
            self.span = self.door.tracing.start(req.method, req.path, req.traceparent,
                                                chosen.home, chosen.kind.value)
            req.trace = self.span.header
        if chosen.refusal:
            self.plan = chosen
            self.answer_for_home(503, chosen.refusal, True, "region_down")
        elif chosen.kind is Kind.FANOUT:
            self.plan = chosen
            self.door.spawn(fan_out(self.door, self, req, chosen))
        else:
            self._relay(req, chosen)

    def _relay(self, req: Request, chosen: Plan) -> None:
        self.plan, self.attempt, self.redirect = chosen, 0, ""
        self.failures.clear()
        self.safe = retry_safe(req.method, req.keyed)
        req.wire = upstream_request(req.method, req.target, req.headers, req.body, req.trace)
        self._try()

    def _try(self) -> None:
        assert self.plan is not None
        region = self.plan.regions[self.attempt]
        if self.span is not None:
            self.span.tried()
        upstream = self.door.pool.take(region)
        if upstream is None:
            self.door.spawn(self._connect(region))
        else:
            self._send(upstream)

    async def _connect(self, region: str) -> None:
        try:
            upstream = await self.door.pool.open(region)
        except ConnectFailed as exc:
            log.debug("connect failed: %s", exc)
            if not self.closed and self.current is not None:
                self._outcome(Failure.CONNECT, region)
            return
        if self.closed or self.current is None:
            self.door.pool.release(upstream)
            return
        self._send(upstream)

    def _send(self, upstream: Upstream) -> None:
        assert self.current is not None
        self.upstream, self.head_sent, self.discarding = upstream, False, False
        upstream.send(self, self.current.wire, self.current.method == "HEAD")

    # Sink: what the region connection reports
    def upstream_head(self, conn: Upstream, head: bytes) -> None:
        assert self.plan is not None and self.current is not None
        status = status_of(head)
        if status == 421 and "421" not in self.failures:  # follow one 421, not a loop
            home = misdirected_to(status, header_value(head, _HOME), conn.region,
                                  self.door.topo)
            if home:  # the region says the data lives elsewhere: drop this, go there
                self.discarding, self.redirect = True, home
                self.door.metrics.retried(self.plan.home, "421")
                return
        step = next_step(status, self.safe)
        if step != "serve" and self.attempt + 1 < len(self.plan.regions):
            self.discarding = True  # a 502-504 on a retryable request: drop it, try again
            self.failures.append(f"{conn.region}: {describe(status)}")
            self.door.metrics.retried(self.plan.home, step)
            return
        self.head_sent = True
        self.door.metrics.served(self.plan.home, conn.region, status)
        if self.span is not None:
            self.span.answered(status, conn.region)
        if self.transport is not None:
            self.transport.write(rewrite_head(head, self.door.stamp(self.plan.home, conn.region),
                                              not self.current.keep_alive))

    def upstream_data(self, data: bytes) -> None:
        if not self.discarding and self.transport is not None:
            self.transport.write(data)

    def upstream_done(self, conn: Upstream) -> None:
        self.upstream = None
        if self.discarding:
            self.discarding = False
            if self.redirect:
                self._follow(self.redirect)
                return
            self.attempt += 1
            self._try()
            return
        if self.span is not None:
            self._end_span()
        self.finish()

    def _follow(self, home: str) -> None:
        """Send the request once more, to the home a 421 named (or refuse if it is down)."""
        chosen = plan(Home(home, Kind.OWNED, "421 Misdirected"), self.door.routed,
                      self.door.topo, attempts=1)
        self.failures.append("421")
        self.plan, self.attempt, self.redirect = chosen, 0, ""
        if chosen.refusal:
            self.answer_for_home(503, chosen.refusal, True, "region_down")
        else:
            self._try()

    def upstream_failed(self, conn: Upstream, failure: Failure) -> None:
        self.upstream = None
        if self.head_sent:  # the answer is half-sent: only closing tells the client
            self._end_span(f"{conn.region}: {describe(failure)} after the answer began")
            self._abort()
            return
        self.discarding = False
        self._outcome(failure, conn.region)

    def _outcome(self, outcome: Outcome, region: str) -> None:
        assert self.plan is not None and isinstance(outcome, Failure)
        step = next_step(outcome, self.safe)
        self.failures.append(f"{region}: {describe(outcome)}")
        if step != STOP and self.attempt + 1 < len(self.plan.regions):
            self.door.metrics.retried(self.plan.home, step)
            self.attempt += 1
            self._try()
            return
        answer = give_up(self.plan.home, self.plan.kind, outcome, self.safe,
                         "; ".join(self.failures))
        self.answer_for_home(answer.status, answer.reason, answer.retry_after, outcome.value)

    # the end of a request: its span ends with it (relayed: in upstream_done)
    def respond(self, data: bytes) -> None:
        if self.span is not None:  # a fan-out's answer (the front door's own: above)
            self.span.answered(status_of(data), "all")
            self._end_span()
        super().respond(data)

    def _end_span(self, error: str = "") -> None:
        if self.span is not None:
            self.span.end(error)
            self.span = None

    # answers the front door makes itself
    def answer_for_home(self, status: int, reason: str, retry_after: bool, why: str) -> None:
        assert self.plan is not None and self.current is not None
        req, home = self.current, self.plan.home
        self.door.metrics.answered(home, counted_route(req.path), req.method, status, why)
        body: dict[str, object] = {"detail": reason, "region": home}
        headers = self.door.stamp(home, "none")
        if retry_after:
            body["retry_after_s"] = self.door.retry_after_s
            headers += b"retry-after: %d\r\n" % self.door.retry_after_s
        if self.span is not None:  # served by nobody, a fan-out's refusal too
            self.span.answered(status, "none")
            self._end_span()
        self.respond(local_response(status, body, headers, close=not req.keep_alive))

    def _own_endpoint(self, req: Request) -> None:
        if req.path == OWN_PREFIX + "metrics" and req.method == "GET":
            self.respond(raw_response(200, self.door.metrics.render(),
                                      b"content-type: text/plain; version=0.0.4\r\n",
                                      close=not req.keep_alive))
        else:
            self.respond(local_response(404, {"detail": f"no front door endpoint {req.path}"},
                                        close=not req.keep_alive))


def _body_country(req: Request) -> str:
    """The ``country`` of a JSON object body, "" when there is none to read."""
    try:
        data = orjson.loads(req.body)
    except orjson.JSONDecodeError:
        return ""
    country = data.get("country") if isinstance(data, dict) else None
    return country if isinstance(country, str) else ""
