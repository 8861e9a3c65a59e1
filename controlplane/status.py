"""``covenant status``: the regions as a table, from the control-plane API."""

from __future__ import annotations

from typing import Any

import httpx
from rich.table import Table

_STYLE = {"healthy": "green", "degraded": "yellow", "down": "red", "recovering": "cyan"}


def regions_table(regions: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> Table:
    """Pure rendering: one row per region, with its open incident if any."""
    open_by_region = {i["region"]: i for i in incidents if i.get("status") == "open"}
    table = Table(title="Covenant regions")
    for column in ("region", "state", "latency", "5xx", "traffic to", "incident", "process",
                   "verdict"):
        table.add_column(column)
    for r in regions:
        style = _STYLE.get(r["state"], "")
        latency = "-" if r.get("latency_ms") is None else f"{r['latency_ms']:.0f} ms"
        incident = open_by_region.get(r["region"])
        table.add_row(r["region"], f"[{style}]{r['state']}[/]", latency,
                      f"{r['error_ratio']:.0%}", r["routed_to"],
                      incident["id"] if incident else "", process_cell(r.get("process")),
                      r["line"])
    return table


def process_cell(process: dict[str, Any] | None) -> str:
    """``pid 5591``, with its restarts and last exit once it has been restarted."""
    if not process:
        return "-"
    cell = f"pid {process['pid']}" if process.get("running") else "[red]not running[/]"
    if process.get("restarts"):
        cell += f", {process['restarts']} restart(s), last {process.get('last_exit')}"
    return cell


async def fetch(client: httpx.AsyncClient) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    regions = await client.get("/v1/regions")
    incidents = await client.get("/v1/incidents", params={"status": "open"})
    regions.raise_for_status()
    incidents.raise_for_status()
    return regions.json(), incidents.json()
