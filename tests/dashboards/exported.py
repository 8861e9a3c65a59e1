"""The metric families Covenant exports, read from the real registries: a core API app
(SQLite, migrated) scraped through ASGI, the control plane's ControlPlaneMetrics and
RunbookMetrics (over the shipped runbook library), the front door's counters and the anomaly
watch's gauges."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
            "summary": ("_count", "_sum"), "gauge": ("",), "untyped": ("",), "info": ("_info",)}


def families(text: str) -> dict[str, frozenset[str]]:
    """{family: the sample names Prometheus stores for it} of an exposition. The client
    library's ``<family>_created`` timestamps count as part of their family, not as a
    family of their own."""
    found = {f.name: frozenset(f.name + s for s in SUFFIXES.get(f.type, ("",)))
             for f in text_string_to_metric_families(text)}
    return {name: samples for name, samples in found.items()
            if not (name.endswith("_created") and name.removesuffix("_created") in found)}


async def core_api_families(data_dir: Path) -> dict[str, frozenset[str]]:
    from core_api.app import create_app
    from core_api.prepare import upgrade_regions
    from kernel.settings import Settings

    settings = Settings(data_dir=data_dir, database_url=None, nats_url=None, redis_url=None)
    upgrade_regions(settings, ["ams"])
    app = create_app(settings, "ams")
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ams.test") as client:
        await client.get("/v1/regions")  # a request, so the RED families have samples
        text = (await client.get("/metrics")).text
    return families(text)


def control_plane_families() -> dict[str, frozenset[str]]:
    from controlplane.metrics import ControlPlaneMetrics
    from controlplane.runbook_metrics import RunbookMetrics
    from kernel.regions import REGION_CODES
    from runbooks.spec import load_library

    registry = CollectorRegistry()
    metrics = ControlPlaneMetrics(registry)
    RunbookMetrics(registry, load_library(), REGION_CODES)  # its series exist at 0 from start
    metrics.reconcile_seconds.observe(0.01)
    metrics.actions.labels(kind="reroute").inc()
    metrics.region_up.labels(region="ams").set(1)
    metrics.region_state.labels(region="ams").set(0)
    return families(generate_latest(registry).decode())


def front_door_families() -> dict[str, frozenset[str]]:
    from controlplane.frontdoor_metrics import FrontDoorMetrics

    m = FrontDoorMetrics()
    m.served("syd", "sin", 200)
    m.retried("syd", "connect")
    m.answered("syd", "/v1/countries/{iso3}", "GET", 503, "down")
    m.route_updates = 1
    return families(m.render().decode())


def anomaly_families() -> dict[str, frozenset[str]]:
    from anomaly.metrics import AnomalyMetrics

    registry = CollectorRegistry()
    AnomalyMetrics.register(registry).record("ams", "latency_ms", 1.0, 2.0, 0.1)
    return families(generate_latest(registry).decode())
