"""Lists across regions: ask every region for its part of the page, merge the answers
(``frontdoor_pages``), answer once. Used for the global lists and the cross-region user
search (``GET /v1/users?email=...``, what a GDPR erasure starts from).

Each region is asked on a pooled connection with its answer buffered (a list page is
small); a region's validation error (e.g. ``limit=0``) is the answer as it is, since every
region validates alike. A region that does not answer makes the whole answer a 503 with
``Retry-After``: a search that silently missed a region would be worse than none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import httptools
import orjson

from controlplane.frontdoor_pages import Window, merge, page_params, windows, with_window
from controlplane.frontdoor_routing import Failure, Plan, describe
from controlplane.frontdoor_state import Door, Request
from controlplane.frontdoor_upstream import ConnectFailed, Upstream
from controlplane.frontdoor_wire import raw_response, status_of, upstream_request

ALL = "all"
ATTEMPTS = 2


class Responder(Protocol):
    closed: bool
    plan: Plan | None

    def respond(self, data: bytes) -> None: ...

    def answer_for_home(self, status: int, reason: str, retry_after: bool, why: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Answer:
    region: str
    status: int
    head: bytes
    body: bytes


class _Collect:
    """A Sink that buffers one response, de-chunked."""

    def __init__(self) -> None:
        self.done: asyncio.Future[Answer | Failure] = asyncio.get_running_loop().create_future()
        self.parser = httptools.HttpResponseParser(self)
        self.head = b""
        self.body: list[bytes] = []

    def upstream_head(self, conn: Upstream, head: bytes) -> None:
        self.head = head
        self.parser.feed_data(head)

    def upstream_data(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def upstream_done(self, conn: Upstream) -> None:
        if not self.done.done():
            self.done.set_result(Answer(conn.region, status_of(self.head), self.head,
                                        b"".join(self.body)))

    def upstream_failed(self, conn: Upstream, failure: Failure) -> None:
        if not self.done.done():
            self.done.set_result(failure)


async def fetch(door: Door, region: str, req: Request, query: str) -> Answer | Failure:
    """One region's answer to ``GET path?query`` (tried twice: a GET is safe to repeat)."""
    target = f"{req.path}?{query}" if query else req.path
    wire = upstream_request("GET", target.encode(), req.headers, b"", req.trace)
    outcome: Answer | Failure = Failure.CONNECT
    for _ in range(ATTEMPTS):
        upstream = door.pool.take(region)
        if upstream is None:
            try:
                upstream = await door.pool.open(region)
            except ConnectFailed:
                outcome = Failure.CONNECT
                continue
        sink = _Collect()
        upstream.send(sink, wire)
        outcome = await sink.done
        if isinstance(outcome, Answer):
            return outcome
    return outcome


async def fetch_all(door: Door, req: Request, plan: Plan, queries: Sequence[str | None]
                    ) -> list[Answer | Failure]:
    """Every region's answer to its own query (None: not asked, an empty page)."""
    async def one(region: str, query: str | None) -> Answer | Failure:
        if query is None:
            return Answer(region, 200, b"", b'{"items":[]}')
        return await fetch(door, region, req, query)

    return list(await asyncio.gather(*(one(r, q) for r, q in
                                       zip(plan.regions, queries, strict=True))))


async def fan_out(door: Door, conn: Responder, req: Request, plan: Plan) -> None:
    params = page_params(req.query)
    totals: list[int] | None = None
    if params is None:  # a malformed limit/offset: one region's validation error says so
        answers = [await fetch(door, plan.regions[0], req, req.query)]
    else:
        answers, totals = await _pages(door, req, plan, *params)
    if conn.closed:
        return
    failed = [a for a in answers if isinstance(a, Failure)]
    if failed:
        region = plan.regions[answers.index(failed[0])]
        conn.plan = replace(plan, home=region)  # counted against the region that failed
        conn.answer_for_home(503, f"region {region} did not answer ({describe(failed[0])}): "
                             "a list across regions would miss its data; retry later", True,
                             failed[0].value)
        return
    got = [a for a in answers if isinstance(a, Answer)]
    wrong = next((a for a in got if a.status != 200), None)
    if wrong is not None or params is None:
        first = wrong or got[0]
        door.metrics.served(ALL, first.region, first.status)
        conn.respond(_passthrough(door, first, req.keep_alive))
        return
    conn.respond(_merged(door, plan, got, totals, *params, keep_alive=req.keep_alive))


async def _pages(door: Door, req: Request, plan: Plan, limit: int, offset: int
                 ) -> tuple[list[Answer | Failure], list[int] | None]:
    """The regions' parts of one page, and their totals when a first round learnt them."""
    if offset == 0:
        first = with_window(req.query, Window(0, limit))
        return await fetch_all(door, req, plan, [first] * len(plan.regions)), None
    counts = await fetch_all(door, req, plan,
                             [with_window(req.query, Window(0, 1))] * len(plan.regions))
    if any(not isinstance(a, Answer) or a.status != 200 for a in counts):
        return counts, None
    totals = [int(orjson.loads(a.body).get("total", 0)) for a in counts
              if isinstance(a, Answer)]
    parts = windows(totals, offset, limit)
    queries = [with_window(req.query, w) if w.limit else None for w in parts]
    return await fetch_all(door, req, plan, queries), totals


def _merged(door: Door, plan: Plan, got: Sequence[Answer], totals: list[int] | None,
            limit: int, offset: int, keep_alive: bool) -> bytes:
    pages: list[dict[str, Any]] = [orjson.loads(answer.body) for answer in got]
    body = merge(pages, offset, limit, totals)
    door.metrics.served(ALL, ALL, 200)
    headers = b"content-type: application/json\r\n" + door.stamp(ALL, ",".join(plan.regions))
    return raw_response(200, orjson.dumps(body), headers, close=not keep_alive)


def _passthrough(door: Door, answer: Answer, keep_alive: bool) -> bytes:
    content_type = b"application/json"
    for line in answer.head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-type":
            content_type = value.strip()
    headers = b"content-type: " + content_type + b"\r\n" + door.stamp(ALL, answer.region)
    return raw_response(answer.status, answer.body, headers, close=not keep_alive)
