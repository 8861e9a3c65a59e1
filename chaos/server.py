"""The embedded Toxiproxy-compatible server: the HTTP API and the TCP proxies in one event loop.

Embeddable: ``await ToxiproxyServer(port=0).start()`` inside any running loop (``covenant up``
does this next to its other servers), with in-process methods mirroring the API.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from pathlib import Path

from chaos import address
from chaos.api import ToxiproxyApi
from chaos.collection import ProxyCollection, ProxyInput
from chaos.errors import ApiError, ChaosError
from chaos.http11 import HttpConnection
from chaos.models import Proxy, ProxyConfig, Toxic
from chaos.toxic_math import Rng
from kernel.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class ToxiproxyServer:
    """API on ``host:port`` (127.0.0.1:8474 by default; port 0 picks one, see ``.port``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8474,
        clock: Clock | None = None,
        rng: Rng | None = None,
        version: str = "2.12.0",
    ) -> None:
        self.host = host
        self._requested_port = port
        self.collection = ProxyCollection(clock or SystemClock(), rng or random.Random())
        self.api = ToxiproxyApi(self.collection, version)
        self._server: asyncio.Server | None = None
        self._bound = ""
        self._sessions: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        endpoint = await address.resolve(address.format_address(self.host, self._requested_port))
        try:
            sock = address.bind(endpoint)
        except ApiError as exc:
            raise ChaosError(f"cannot serve the Toxiproxy API: {exc.message}") from exc
        self._server = await asyncio.start_server(self._session, sock=sock)
        self._bound = address.bound_address(sock)
        log.info("Toxiproxy API listening on %s", self._bound)

    @property
    def port(self) -> int:
        if not self._bound:
            raise ChaosError("the server is not started; await start() first")
        return int(self._bound.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        return f"http://{self._bound}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._sessions):
            writer.close()  # the session reads EOF and ends; cancelling would log noise
        self.collection.stop_all()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sessions.add(writer)
        try:
            await HttpConnection(self.api.handle, reader, writer).serve()
        finally:
            self._sessions.discard(writer)

    async def load_config(self, path: Path) -> list[Proxy]:
        """The ``-config`` file: a JSON list of proxies, applied like /populate."""
        configs = [ProxyConfig.model_validate(item) for item in _read_json_list(path)]
        return await self.populate(configs)

    # In-process API: the same semantics as HTTP, raising ApiError instead of answering -------
    def proxies(self) -> dict[str, Proxy]:
        return {p.name: Proxy.model_validate(p.document()) for p in self.collection.all()}

    async def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        proxy = await self.collection.create(ProxyInput(name, listen, upstream, enabled))
        return Proxy.model_validate(proxy.document())

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> Proxy:
        body = {"listen": listen, "upstream": upstream, "enabled": enabled}
        proxy = await self.collection.update(name, body)
        return Proxy.model_validate(proxy.document())

    async def delete_proxy(self, name: str) -> None:
        await self.collection.delete(name)

    async def populate(self, configs: Sequence[ProxyConfig]) -> list[Proxy]:
        done = await self.collection.populate([c.model_dump() for c in configs])
        return [Proxy.model_validate(p.document()) for p in done]

    async def add_toxic(
        self,
        proxy: str,
        type: str,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, int] | None = None,
    ) -> Toxic:
        body = {"name": name, "type": type, "stream": stream, "toxicity": toxicity}
        spec = await self.collection.add_toxic(proxy, {**body, "attributes": attributes})
        return Toxic.model_validate(spec.document())

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        attributes: dict[str, int] | None = None,
        toxicity: float | None = None,
    ) -> Toxic:
        body = {"attributes": attributes, "toxicity": toxicity}
        return Toxic.model_validate(
            (await self.collection.update_toxic(proxy, name, body)).document()
        )

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self.collection.remove_toxic(proxy, name)

    async def reset(self) -> None:
        await self.collection.reset()


def _read_json_list(path: Path) -> list[object]:
    import json

    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ChaosError(f"{path}: cannot read a JSON proxy list ({exc}); fix the file") from exc
    if not isinstance(loaded, list):
        raise ChaosError(f"{path}: the top level must be a JSON list of proxies")
    return loaded
