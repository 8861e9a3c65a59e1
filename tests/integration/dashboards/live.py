"""What the live dashboard test drives and reads: a warm anomaly history in the state
store, traffic through the front door (reads and writes for every home region), and every
panel query of every dashboard with its template variables set."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.store import StateStore
from core_api.countries import load_countries
from dashboards.lint import panels
from dashboards.preview_data import interval_values
from dashboards.prometheus import Prometheus, Window
from dashboards.variables import substitute
from kernel.regions import REGION_CODES
from kernel.settings import state_store_url

Json = dict[str, Any]
HISTORY_CYCLES = 200  # above the detector's 150-point cold start: bands fit at start


def seed_history(data_dir: Path, now: float) -> None:
    """One observation per region per second for the last HISTORY_CYCLES seconds, as a
    running stack would have recorded, so the anomaly watch fits bands as it starts."""
    store = StateStore(state_store_url(None, data_dir))
    try:
        for k in range(HISTORY_CYCLES):
            at = now - HISTORY_CYCLES + k
            wave = math.sin(k / 10)
            store.record_cycle(at, [RegionObservation(
                r, at, ProbeStatus.UP, 0.004 + 0.001 * wave, 20, 0, True,
                request_rate=20 + 2 * wave, latency_p99_s=0.02 + 0.002 * wave)
                for r in REGION_CODES], [], {})
    finally:
        store.close()


def home_countries() -> dict[str, str]:
    """One country (ISO3) per home region."""
    out: dict[str, str] = {}
    for c in load_countries():
        out.setdefault(c.home_region, c.iso3)
    return out


async def traffic(front_door: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """Reads for every home, and a write (a user, region-owned) per home every fifth round,
    through the front door, until ``stop``."""
    homes = home_countries()
    async with httpx.AsyncClient(base_url=front_door, timeout=10) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            for region, iso3 in homes.items():
                await _send(client, counts, "GET", f"/v1/countries/{iso3}", region)
                if n % 5 == 0:
                    await _send(client, counts, "POST", "/v1/users", region, {
                        "name": f"Load {n}", "email": f"load{n}.{region}@example.org",
                        "country": iso3})
            await asyncio.sleep(0.05)


async def _send(client: httpx.AsyncClient, counts: dict[str, int], method: str, path: str,
                region: str, body: Json | None = None) -> None:
    try:
        r = await client.request(method, path, json=body,
                                 headers={"x-covenant-region": region})
        key = str(r.status_code)
    except httpx.HTTPError:
        key = "error"
    counts[key] = counts.get(key, 0) + 1


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    expr: str
    instant: bool
    pending: bool

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel}: {self.expr}"


def variable_sets(d: Json, regions: tuple[str, ...]) -> list[dict[str, str]]:
    """The values the test runs a dashboard's queries with: "All" (``.+``) for multi
    variables, each region for a single-value region variable, the service's name."""
    sets: list[dict[str, str]] = [{}]
    for t in d["templating"]["list"]:
        name = t["name"]
        if t["type"] in ("constant", "datasource"):
            values = [str(t["query"])]
        elif t.get("includeAll"):
            values = [str(t["allValue"])]
        elif name == "region":
            values = list(regions)
        elif name == "service":
            values = ["core-api"]
        else:
            raise AssertionError(f"{d['uid']}: no test value for variable {name}")
        sets = [{**s, name: v} for s in sets for v in values]
    return sets


def panel_queries(d: Json, values: Mapping[str, str]) -> Iterator[PanelQuery]:
    merged = {**values, **interval_values(Window(0, 60, 1))}
    for p in panels(d):
        for t in p.get("targets", []):
            yield PanelQuery(d["uid"], p["title"], substitute(t["expr"], merged),
                             bool(t.get("instant")), bool(p.get("covenantPending")))


def annotation_queries(d: Json, values: Mapping[str, str]) -> Iterator[PanelQuery]:
    merged = {**values, **interval_values(Window(0, 60, 1))}
    for a in d["annotations"]["list"]:
        if a.get("expr"):
            yield PanelQuery(d["uid"], f"annotation {a['name']}", substitute(a["expr"], merged),
                             False, bool(a.get("covenantPending")))


def has_data(prom: Prometheus, q: PanelQuery, window: Window) -> bool:
    """At least one series with one finite value (instant: at the window's end)."""
    found = prom.query(q.expr, window.end) if q.instant else prom.query_range(q.expr, window)
    return any(s.finite() for s in found)


def now_window(start: float, step: float = 1.0) -> Window:
    return Window(start, time.time(), step)
