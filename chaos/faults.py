"""Region faults for drills and benchmarks: what a region's outage looks like from outside.

Three network faults go through the region's proxy on the embedded Toxiproxy (its API's
proxy is named ``<region>_api``): the proxy disabled, 500 ms of latency, connection resets.
The fourth, ``errors``, is the region API itself answering every request but /live and
/metrics with HTTP 500, switched on its own ``/_chaos/fault`` (mounted when the settings'
fault injection is on), called on the API's origin, not through the proxy it is reached by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from core_api.contract import CHAOS_FAULT_PATH

FAULTS = ("proxy_disabled", "latency_500ms", "connection_resets", "errors")
ERRORS_FAULT = {"error_rate": 1.0, "status": 500}
TOXIC_NAME = "bench"


class ToxiproxyControl(Protocol):
    """What the injector needs of Toxiproxy: ``chaos.client.ToxiproxyClient`` over HTTP, or
    an in-process ``chaos.server.ToxiproxyServer``."""

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> object: ...

    async def add_toxic(
        self,
        proxy: str,
        type: str,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, int] | None = None,
    ) -> object: ...

    async def remove_toxic(self, proxy: str, name: str) -> None: ...


@dataclass
class Injector:
    """Network faults through the region's proxy; errors through the region API's own fault
    switch, called on its origin (not through the proxy it is reached by)."""

    tox: ToxiproxyControl
    http: httpx.AsyncClient
    origins: dict[str, str]  # region -> its API's own URL

    async def inject(self, fault: str, region: str) -> None:
        proxy = f"{region}_api"
        if fault == "proxy_disabled":
            await self.tox.update_proxy(proxy, enabled=False)
        elif fault == "latency_500ms":
            await self.tox.add_toxic(proxy, "latency", name=TOXIC_NAME,
                                     attributes={"latency": 500})
        elif fault == "connection_resets":
            await self.tox.add_toxic(proxy, "reset_peer", name=TOXIC_NAME, stream="upstream",
                                     attributes={"timeout": 0})
        elif fault == "errors":
            url = self.origins[region] + CHAOS_FAULT_PATH
            (await self.http.put(url, json=ERRORS_FAULT)).raise_for_status()
        else:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")

    async def restore(self, fault: str, region: str) -> None:
        if fault == "proxy_disabled":
            await self.tox.update_proxy(f"{region}_api", enabled=True)
        elif fault == "errors":
            url = self.origins[region] + CHAOS_FAULT_PATH
            (await self.http.delete(url)).raise_for_status()
        else:
            await self.tox.remove_toxic(f"{region}_api", TOXIC_NAME)
