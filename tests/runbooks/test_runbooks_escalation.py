"""Escalation channels: PagerDuty Events v2 JSON to a real local HTTP receiver, the bus, the
incident desk, and the fan-out that tries every channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from kernel.bus import InProcessBus
from runbooks.errors import EscalationError
from runbooks.escalation import (
    BusEscalator,
    FanoutEscalator,
    HttpPagerDuty,
    IncidentEscalator,
    pagerduty_event,
)
from runbooks.ports import RUN_FAILED_SUBJECT, Escalation
from tests.waiting import eventually

ESC = Escalation(42, "postgres-primary-down", "PostgreSQL primary down", "syd", "P0",
                 "runbook postgres-primary-down failed in syd: step promote failed", "promote",
                 1_700_000_000.0, {"owner": "sre-database"})


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server on 127.0.0.1:0 that records each request body."""

    status: int = 202
    bodies: list[dict[str, object]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        self.paths.append(head.split(" ")[1])
        length = next(int(line.split(":")[1]) for line in head.split("\r\n")
                      if line.lower().startswith("content-length:"))
        self.bodies.append(json.loads(await reader.readexactly(length)))
        reply = b'{"status":"success","message":"Event processed"}'
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(reply)}\r\nConnection: close\r\n\r\n".encode() + reply)
        await writer.drain()
        writer.close()


@pytest.fixture()
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    server = await asyncio.start_server(rec.handle, "127.0.0.1", 0)
    rec.port = server.sockets[0].getsockname()[1]
    async with server:
        yield rec


async def test_pagerduty_gets_an_events_v2_trigger(receiver: Receiver) -> None:
    pager = HttpPagerDuty("R0UT1NGKEY", url=f"http://127.0.0.1:{receiver.port}/v2/enqueue",
                          source="covenant-test")
    await pager.escalate(ESC)
    [body] = receiver.bodies
    assert receiver.paths == ["/v2/enqueue"]
    assert body == pagerduty_event(ESC, "R0UT1NGKEY", "covenant-test")
    assert (body["routing_key"], body["event_action"], body["dedup_key"]) == (
        "R0UT1NGKEY", "trigger", "covenant-runbook-42")
    payload = body["payload"]
    assert isinstance(payload, dict)
    assert payload["severity"] == "critical" and payload["source"] == "covenant-test"
    assert payload["summary"].startswith("runbook postgres-primary-down failed in syd")
    assert payload["custom_details"]["run_id"] == 42
    assert payload["custom_details"]["owner"] == "sre-database"
    assert payload["timestamp"] == "2023-11-14T22:13:20+00:00"


async def test_a_refused_page_raises_naming_the_status(receiver: Receiver) -> None:
    receiver.status = 400
    pager = HttpPagerDuty("bad", url=f"http://127.0.0.1:{receiver.port}/v2/enqueue")
    with pytest.raises(EscalationError, match="refused run #42: HTTP 400"):
        await pager.escalate(ESC)


async def test_an_unreachable_pager_raises_naming_the_url() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is free now: nothing listens
    pager = HttpPagerDuty("k", url=f"http://127.0.0.1:{port}/v2/enqueue", timeout_s=2)
    with pytest.raises(EscalationError, match=f"127.0.0.1:{port}/v2/enqueue unreachable"):
        await pager.escalate(ESC)


async def test_the_bus_gets_runbook_failed_once_per_run() -> None:
    bus = InProcessBus()
    got: list[bytes] = []

    async def handler(event: object) -> None:
        got.append(event.data)  # type: ignore[attr-defined]

    await bus.subscribe(RUN_FAILED_SUBJECT, handler)
    escalator = BusEscalator(bus)
    await escalator.escalate(ESC)
    await escalator.escalate(ESC)  # a retry: the same msg_id, dropped as a duplicate
    await eventually(lambda: len(got) == 1, "the event")
    await bus.drain()
    await bus.close()
    event = json.loads(got[0])
    assert (event["run_id"], event["region"], event["severity"]) == (42, "syd", "P0")
    assert len(got) == 1


@dataclass
class Desk:
    raised: list[tuple[str, str]] = field(default_factory=list)
    broken: bool = False

    async def raise_severity(self, region: str, severity: str, reason: str) -> None:
        if self.broken:
            raise RuntimeError("desk down")
        self.raised.append((region, severity))


async def test_the_fanout_tries_every_channel_and_names_the_failures() -> None:
    broken, desk = Desk(broken=True), Desk()
    fan = FanoutEscalator(IncidentEscalator(broken), IncidentEscalator(desk))
    with pytest.raises(EscalationError, match="could not raise the syd incident.*desk down"):
        await fan.escalate(ESC)
    assert desk.raised == [("syd", "P0")]
