"""A region that answers errors, seen end to end without a network: two real core API apps
(ams with fault injection on), the real Observer scraping their /metrics and probing them
through ASGI transports, and decide(). The error ratio computed from the scraped
http_requests_total counters alone degrades ams and moves its traffic to iad; with the
probes failing too, the probes say so first. Also: covenant up's fault-injection switch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from controlplane.decide import ActionKind, Decision, ReconcilerState, decide
from controlplane.desired import DesiredState, HealthPolicy, ProbePolicy, default_desired
from controlplane.health import Health
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.observe import Observer
from core_api.app import create_app
from core_api.prepare import prepare_region
from covenant.stack import region_fault_injection, settings_env
from kernel.settings import Settings
from tests.clocks import Ticking

POLICY = HealthPolicy(degrade_after=2, min_dwell_s=0.0, recover_after=1)


class ByHost(httpx.AsyncBaseTransport):
    """Sends each request to the ASGI app of its host (ams.test, iad.test)."""

    def __init__(self, apps: dict[str, httpx.ASGITransport]) -> None:
        self.apps = apps

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.apps[request.url.host].handle_async_request(request)


@dataclass
class World:
    desired: DesiredState
    observer: Observer
    client: httpx.AsyncClient
    now: float = 1000.0
    state: ReconcilerState = ReconcilerState()

    async def cycle(self) -> tuple[dict[str, RegionObservation], Decision]:
        self.now += 1.0
        observations = await self.observer.observe()
        decision = decide(self.desired, observations, self.state, self.now)
        self.state = decision.state
        return observations, decision

    async def users_load(self, n: int) -> list[int]:
        return [(await self.client.get("http://ams.test/v1/countries/NLD")).status_code
                for _ in range(n)]


@pytest.fixture()
async def world(tmp_path: Path) -> AsyncIterator[World]:
    transports = {}
    for region, faults in (("ams", True), ("iad", False)):
        settings = Settings(data_dir=tmp_path, database_url=None, nats_url=None,
                            redis_url=None, fault_injection=faults)
        prepare_region(settings, region)
        transports[f"{region}.test"] = httpx.ASGITransport(app=create_app(settings, region))
    base = default_desired(health=POLICY, probe=ProbePolicy(timeout_s=5, scrape_timeout_s=5))
    regions = tuple(r.model_copy(update={"endpoint": f"http://{r.name}.test"})
                    for r in base.regions if r.name in ("ams", "iad"))
    desired = base.model_copy(update={"regions": regions})
    async with httpx.AsyncClient(transport=ByHost(transports)) as client:
        observer = Observer(desired, ByHost(transports), clock=Ticking())
        yield World(desired, observer, client)


async def test_error_ratio_from_scraped_counters_degrades_and_reroutes(world: World) -> None:
    for _ in range(2):  # the first scrape is the baseline; then steady and healthy
        observations, decision = await world.cycle()
    assert decision.state.regions["ams"].state is Health.HEALTHY
    spec = {"error_rate": 1.0, "status": 500, "probes": False}  # health checks stay green
    assert (await world.client.put("http://ams.test/_chaos/fault", json=spec)).is_success
    decisions = []
    for _ in range(2):
        assert set(await world.users_load(10)) == {500}
        observations, decision = await world.cycle()
        decisions.append(decision)
        ams = observations["ams"]
        assert ams.status is ProbeStatus.UP and ams.scraped
        # The 10 user requests failed; the probes and the scrape since the last cycle did not.
        assert ams.errors == 10 and 10 < ams.requests <= 18, ams
    assert [d.state.regions["ams"].state for d in decisions] == [Health.HEALTHY,
                                                                 Health.DEGRADED]
    verdict = next(v for v in decisions[-1].verdicts if v.region == "ams")
    assert "erroring: 10/" in verdict.line and "5xx" in verdict.line, verdict.line
    kinds = {a.kind: a for a in decisions[-1].actions}
    assert "erroring" in kinds[ActionKind.OPEN_INCIDENT].reason
    routes = kinds[ActionKind.SET_ROUTES].routes
    assert routes is not None and routes.target("ams") == "iad"
    assert decisions[-1].state.regions["iad"].state is Health.HEALTHY

    assert (await world.client.delete("http://ams.test/_chaos/fault")).status_code == 204
    assert set(await world.users_load(10)) == {200}
    observations, decision = await world.cycle()
    assert observations["ams"].errors == 0
    observations, decision = await world.cycle()
    assert decision.state.regions["ams"].state is Health.HEALTHY
    assert ActionKind.RESOLVE_INCIDENT in {a.kind for a in decision.actions}


async def test_a_drained_region_with_green_probes_looks_good_again(world: World) -> None:
    """The documented limit of the ratio: with the traffic moved away only the (green)
    probes reach ams, so it recovers while its API routes still fail."""
    await world.cycle()
    await world.client.put("http://ams.test/_chaos/fault", json={"probes": False})
    for _ in range(2):
        await world.users_load(10)
        _, decision = await world.cycle()
    assert decision.state.regions["ams"].state is Health.DEGRADED
    states = []
    for _ in range(3):  # no user load reaches ams now: only probes and scrapes
        observations, decision = await world.cycle()
        states.append(decision.state.regions["ams"].state)
        assert observations["ams"].errors == 0
    assert states[-1] is Health.HEALTHY, states
    assert set(await world.users_load(3)) == {503}  # still failing its users


async def test_failing_probes_are_seen_before_the_ratio(world: World) -> None:
    await world.cycle()
    await world.client.put("http://ams.test/_chaos/fault", json={"status": 503})
    observations, _ = await world.cycle()
    ams = observations["ams"]
    assert ams.status is ProbeStatus.NOT_READY and ams.scraped
    assert ams.detail == "/ready answered 503; /health answered 503"
    observations, decision = await world.cycle()
    assert decision.state.regions["ams"].state is Health.DEGRADED
    assert observations["ams"].errors == 2  # the failed /ready and /health, counted


def test_covenant_up_turns_fault_injection_on_unless_told_otherwise() -> None:
    assert region_fault_injection(Settings()) is True
    assert settings_env(Settings())["COVENANT_FAULT_INJECTION"] == "true"
    assert region_fault_injection(Settings(fault_injection=False)) is False
    assert settings_env(Settings(fault_injection=False))["COVENANT_FAULT_INJECTION"] == "false"
    assert region_fault_injection(Settings(environment="production")) is False
    assert Settings().fault_injection is False  # a region API started alone: off
