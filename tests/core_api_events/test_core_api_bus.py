"""The in-process bus: NATS wildcard matching, msg_id dedupe window, fan-out."""

from __future__ import annotations

import pytest

from kernel.bus import DedupeWindow, Event, InProcessBus, Outgoing, subject_matches
from kernel.clock import FakeClock
from tests.waiting import eventually


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("covenant.>", "covenant.ams.project.created", True),
        ("covenant.>", "covenant", False),
        ("covenant.*.project.*", "covenant.ams.project.deleted", True),
        ("covenant.*.project.*", "covenant.ams.user.deleted", False),
        ("covenant.*", "covenant.ams.project", False),
        ("covenant.ams.project.created", "covenant.ams.project.created", True),
        ("covenant.ams.project.created", "covenant.ams.project", False),
        ("covenant.ams", "covenant.ams.project", False),
        ("covenant.controlplane.>", "covenant.controlplane.action.applied", True),
        ("covenant.controlplane.>", "covenant.ams.project.created", False),
        ("*.*", "a.b", True),
        (">", "a", True),
    ],
)
def test_subject_matches_follows_nats_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


def test_dedupe_window_forgets_after_the_window() -> None:
    clock = FakeClock()
    window = DedupeWindow(10.0, clock)
    assert window.first_time("a")
    clock.set(5.0)
    assert not window.first_time("a")
    assert window.first_time("b")
    clock.set(10.5)
    assert window.first_time("a")  # 10.5 s after its first sighting: outside the window
    assert not window.first_time("b")  # 5.5 s after: still inside




async def test_in_process_bus_delivers_matching_in_order_and_drops_duplicates() -> None:
    bus = InProcessBus()
    projects: list[Event] = []
    everything: list[Event] = []

    async def on_project(event: Event) -> None:
        projects.append(event)

    async def on_any(event: Event) -> None:
        everything.append(event)

    await bus.subscribe("covenant.*.project.>", on_project)
    await bus.subscribe("covenant.>", on_any, durable="ignored-in-process")
    await bus.publish("covenant.ams.project.created", b"1", "m1")
    await bus.publish("covenant.ams.user.created", b"2", "m2")
    await bus.publish("covenant.ams.project.created", b"1-again", "m1")  # redelivery
    confirmed = await bus.publish_batch(
        [Outgoing("covenant.iad.project.updated", b"3", "m3"),
         Outgoing("covenant.iad.project.deleted", b"4", "m4")]
    )
    await bus.drain()
    assert confirmed == 2
    assert [e.msg_id for e in projects] == ["m1", "m3", "m4"]
    assert [e.msg_id for e in everything] == ["m1", "m2", "m3", "m4"]
    assert (bus.published, bus.duplicates) == (4, 1)
    await bus.close()


async def test_a_failing_handler_does_not_stop_later_deliveries() -> None:
    bus = InProcessBus()
    seen: list[str] = []

    async def handler(event: Event) -> None:
        if event.msg_id == "bad":
            raise RuntimeError("boom")
        seen.append(event.msg_id)

    sub = await bus.subscribe("x.>", handler)
    await bus.publish("x.a", b"", "bad")
    await bus.publish("x.b", b"", "good")
    await eventually(lambda: seen == ["good"])
    await sub.unsubscribe()
    await bus.publish("x.c", b"", "after")
    await bus.drain()
    assert seen == ["good"]
