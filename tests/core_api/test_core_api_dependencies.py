"""Whether the region's Redis and NATS answer: checked in the background, exported on
/metrics only when configured (the in-process default never reads as a lost dependency)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client.core import Metric

from core_api import contract
from core_api.dependencies import DependencyStatus, DependencyWatch, gauges
from kernel.bus import InProcessBus
from kernel.settings import Settings
from tests.core_api.conftest import open_api
from tests.waiting import eventually


def _values(metrics: list[Metric]) -> dict[str, float]:
    return {s.name: s.value for m in metrics for s in m.samples
            if s.labels == {"region": "ams"}}


@pytest.mark.parametrize(("status", "exported"), [
    (DependencyStatus(), {}),
    (DependencyStatus(cache_up=True), {contract.CACHE_UP: 1.0}),
    (DependencyStatus(cache_up=False), {contract.CACHE_UP: 0.0}),
    (DependencyStatus(bus_up=False), {contract.EVENT_BUS_UP: 0.0}),
    (DependencyStatus(True, True), {contract.CACHE_UP: 1.0, contract.EVENT_BUS_UP: 1.0}),
])
def test_only_the_answers_known_are_exported(status: DependencyStatus,
                                             exported: dict[str, float]) -> None:
    assert _values(gauges("ams", status)) == exported


class PingingBus(InProcessBus):
    def __init__(self) -> None:
        super().__init__()
        self.answer = True

    async def ping(self) -> bool:
        return self.answer


async def test_the_watch_asks_what_is_configured_and_keeps_the_answers() -> None:
    bus, cache = PingingBus(), [True]
    watch = DependencyWatch(DependencyStatus(), lambda: cache[0], bus)
    await watch.check()
    assert watch.status == DependencyStatus(cache_up=True, bus_up=True)
    cache[0], bus.answer = False, False
    await watch.check()
    assert watch.status == DependencyStatus(cache_up=False, bus_up=False)


async def test_the_in_process_bus_and_no_redis_are_not_watched() -> None:
    watch = DependencyWatch(DependencyStatus(), None, InProcessBus())
    assert not watch.watching
    await watch.check()
    assert watch.status == DependencyStatus()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_metrics_without_redis_or_nats_say_nothing_of_them(
        core_settings: Settings) -> None:
    async for api in open_api(core_settings):
        text = (await api.client.get(contract.METRICS_PATH)).text
        assert contract.OUTBOX_PENDING in text  # the scrape is a real one
        assert contract.CACHE_UP not in text and contract.EVENT_BUS_UP not in text


async def test_metrics_of_a_region_whose_redis_does_not_answer(
        core_settings: Settings) -> None:
    """(NATS the same, against a real nats-server stopped: tests/integration/runbooks/
    test_runbooks_dependency_verdicts.py; a first connect to nothing takes its 4 s here.)"""
    settings = core_settings.model_copy(update={
        "redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    async for api in open_api(settings):
        await eventually(_says(api.client, f'{contract.CACHE_UP}{{region="ams"}} 0.0'),
                         "cache_up 0 on /metrics", 20, 0.05)
        text = (await api.client.get(contract.METRICS_PATH)).text
        assert contract.EVENT_BUS_UP not in text  # the in-process bus: nothing to say


def _says(client: httpx.AsyncClient, line: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return line in (await client.get(contract.METRICS_PATH)).text
    return check
