"""Opt-in fault injection: /_chaos/fault and the middleware that answers 5xx.

Off by default (no endpoint, no middleware), refused in production; when on, the struck
requests are counted in http_requests_total under their route and status, while /live,
/metrics and /_chaos/* keep working."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from core_api.app import create_app
from core_api.errors import ConfigurationError
from core_api.faults import FaultSpec, FaultSwitch
from kernel.settings import Settings

from .conftest import Api, open_api

ALL_DOWN = {"error_rate": 1.0, "status": 503}


@pytest.fixture()
async def chaos_api(core_settings: Settings) -> AsyncIterator[Api]:
    settings = core_settings.model_copy(update={"fault_injection": True})
    async for opened in open_api(settings):
        yield opened


def requests_series(text: str) -> dict[tuple[str, str], float]:
    """(route, status) -> count over methods, from http_requests_total."""
    out: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        m = re.match(r'http_requests_total\{(.*)\} (\S+)$', line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            key = (labels["route"], labels["status"])
            out[key] = out.get(key, 0.0) + float(m.group(2))
    return out


def draws(*values: float) -> Iterator[float]:
    yield from values


@pytest.mark.parametrize(("path", "spec", "expected"), [
    ("/v1/countries/FRA", FaultSpec(), 503),
    ("/v1/projects", FaultSpec(status=500), 500),
    ("/no/such/path", FaultSpec(), 503),
    ("/ready", FaultSpec(), 503),
    ("/health", FaultSpec(status=502), 502),
    ("/ready", FaultSpec(probes=False), None),        # shallow checks stay green
    ("/health", FaultSpec(probes=False), None),
    ("/v1/countries/FRA", FaultSpec(probes=False), 503),
    ("/live", FaultSpec(), None),                     # never: the process is up
    ("/metrics", FaultSpec(), None),                  # never: the scrape counts the 5xx
    ("/_chaos/fault", FaultSpec(), None),             # never: else it could not be cleared
    ("/v1/countries/FRA", FaultSpec(error_rate=0.0), None),
])
def test_strike_by_path(path: str, spec: FaultSpec, expected: int | None) -> None:
    switch = FaultSwitch(draw=lambda: 0.999)
    switch.set(spec)
    assert switch.strike(path) == expected


def test_strike_takes_the_configured_fraction() -> None:
    sequence = draws(0.0, 0.29, 0.3, 0.99)
    switch = FaultSwitch(draw=lambda: next(sequence))
    switch.set(FaultSpec(error_rate=0.3, status=500))
    assert [switch.strike("/v1/sectors") for _ in range(4)] == [500, 500, None, None]
    switch.clear()
    assert switch.strike("/v1/sectors") is None


async def test_off_by_default_no_endpoint(api: Api) -> None:
    assert api.settings.fault_injection is False
    assert (await api.client.put("/_chaos/fault", json=ALL_DOWN)).status_code == 404
    assert (await api.client.get("/v1/countries/FRA")).status_code == 200
    assert "/_chaos/fault" not in (await api.client.get("/openapi.json")).json()["paths"]


def test_refused_in_production(core_settings: Settings) -> None:
    settings = core_settings.model_copy(update={"fault_injection": True,
                                                "environment": "production"})
    with pytest.raises(ConfigurationError, match="COVENANT_FAULT_INJECTION"):
        create_app(settings, "ams")


async def test_errors_are_served_counted_and_cleared(chaos_api: Api) -> None:
    client = chaos_api.client
    assert (await client.get("/_chaos/fault")).json() == {"region": "ams", "fault": None}
    put = await client.put("/_chaos/fault", json=ALL_DOWN)
    assert put.status_code == 200
    assert put.json()["fault"] == {"error_rate": 1.0, "status": 503, "probes": True}
    for _ in range(3):
        r = await client.get("/v1/countries/FRA")
        assert r.status_code == 503 and r.headers["x-covenant-fault"] == "injected"
        assert "DELETE /_chaos/fault" in r.json()["detail"]
    post = await client.post("/v1/projects", json={"name": "p", "country": "DEU",
                                                    "sector": "water", "budget_usd": 1})
    assert post.status_code == 503
    assert (await client.get("/health")).status_code == 503
    assert (await client.get("/ready")).status_code == 503
    assert (await client.get("/live")).status_code == 200
    assert (await client.get("/_chaos/fault")).json()["fault"]["status"] == 503
    counted = requests_series((await client.get("/metrics")).text)
    assert counted[("/v1/countries/{iso3}", "503")] == 3.0  # the route the router would pick
    assert counted[("/v1/projects", "503")] == 1.0
    assert counted[("/health", "503")] == counted[("/ready", "503")] == 1.0
    assert ("/v1/countries/{iso3}", "200") not in counted
    cleared = await client.delete("/_chaos/fault")
    assert cleared.status_code == 204
    assert (await client.get("/v1/countries/FRA")).status_code == 200
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/_chaos/fault")).json()["fault"] is None


async def test_probes_false_keeps_health_green(chaos_api: Api) -> None:
    client = chaos_api.client
    spec = {"error_rate": 1.0, "status": 500, "probes": False}
    assert (await client.put("/_chaos/fault", json=spec)).status_code == 200
    assert (await client.get("/v1/sectors")).status_code == 500
    assert (await client.get("/ready")).status_code == 200
    assert (await client.get("/health")).json()["status"] == "ok"
    assert (await client.get("/v1/nope")).status_code == 500
    counted = requests_series((await client.get("/metrics")).text)
    assert counted[("<unmatched>", "500")] == 1.0  # no route: the usual label
    # A wrong method is labelled with the route it partly matched, as the router does.
    assert (await client.delete("/v1/sectors")).status_code == 500
    counted = requests_series((await client.get("/metrics")).text)
    assert counted[("/v1/sectors", "500")] == 2.0


@pytest.mark.parametrize(("body", "field"), [
    ({"error_rate": 1.5}, "error_rate"),
    ({"error_rate": -0.1}, "error_rate"),
    ({"status": 404}, "status"),
    ({"status": 600}, "status"),
    ({"status": "503"}, "status"),            # strict: not coerced
    ({"probes": "no"}, "probes"),
    ({"error_rate": 1.0, "latency": 5}, "latency"),
])
async def test_bad_fault_is_422_naming_the_field(chaos_api: Api, body: dict[str, object],
                                                 field: str) -> None:
    r = await chaos_api.client.put("/_chaos/fault", json=body)
    assert r.status_code == 422
    assert any(err["loc"][-1] == field for err in r.json()["detail"]), r.json()
    assert (await chaos_api.client.get("/_chaos/fault")).json()["fault"] is None


async def test_rate_zero_is_a_no_op_and_defaults_fill_in(chaos_api: Api) -> None:
    client = chaos_api.client
    assert (await client.put("/_chaos/fault", json={"error_rate": 0.0})).status_code == 200
    assert (await client.get("/v1/countries/FRA")).status_code == 200
    put = await client.put("/_chaos/fault", json={})
    assert put.json()["fault"] == {"error_rate": 1.0, "status": 503, "probes": True}


async def test_other_apps_are_not_affected(chaos_api: Api) -> None:
    await chaos_api.client.put("/_chaos/fault", json=ALL_DOWN)
    other = create_app(chaos_api.settings, "iad")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other),
                                 base_url="http://t") as client:
        assert (await client.get("/v1/countries/USA")).status_code == 200
