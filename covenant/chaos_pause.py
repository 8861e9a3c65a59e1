"""Pausing chaos on the embedded Toxiproxy server: the ``ChaosPause`` behind the runbooks'
``chaos.pause`` and ``chaos.resume``.

Every fault the stack's chaos injects lives in the Toxiproxy server (a proxy disabled, a
toxic added), so pausing takes a snapshot of every proxy's ``enabled`` and toxics, then
resets the server (all proxies on, no toxics): the faults stop. Resuming puts the snapshot
back, so an experiment that was running continues where it was. Idempotent both ways; the
snapshot lives in this process (a restart forgets it: resume then has nothing to restore,
and says so). Faults outside the proxies (a region API's own ``/_chaos/fault``) are not
touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chaos.models import Proxy
from chaos.server import ToxiproxyServer

log = logging.getLogger(__name__)


@dataclass
class ToxiproxyChaosPause:
    server: ToxiproxyServer
    paused: bool = False
    reason: str = ""
    snapshot: tuple[Proxy, ...] = ()

    async def pause(self, reason: str) -> None:
        if self.paused:
            return
        self.snapshot = tuple(self.server.proxies().values())
        await self.server.reset()
        self.paused, self.reason = True, reason
        faults = sum(len(p.toxics) + (not p.enabled) for p in self.snapshot)
        log.warning("chaos paused (%s): %d fault(s) lifted", reason, faults)

    async def resume(self, reason: str) -> None:
        if not self.paused:
            return
        for proxy in self.snapshot:
            for toxic in proxy.toxics:
                await self.server.add_toxic(proxy.name, toxic.type, name=toxic.name,
                                            stream=toxic.stream, toxicity=toxic.toxicity,
                                            attributes=dict(toxic.attributes))
            if not proxy.enabled:
                await self.server.update_proxy(proxy.name, enabled=False)
        log.warning("chaos resumed (%s): %d proxies restored", reason, len(self.snapshot))
        self.paused, self.reason, self.snapshot = False, "", ()

    def describe(self) -> str:
        faults = sum(len(p.toxics) + (not p.enabled) for p in self.snapshot)
        return (f"paused ({self.reason}), {faults} fault(s) held back" if self.paused
                else "running")
