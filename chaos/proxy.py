"""One proxy: its listener, its live connections and its two toxic chains (spec 1.7.1-1.7.2)."""

from __future__ import annotations

import asyncio
import logging

from chaos import address, toxic_math
from chaos.connection import Connection, Link
from chaos.sockets import Side
from chaos.toxic_spec import DOWNSTREAM, UPSTREAM, ToxicSpec
from kernel.clock import Clock

log = logging.getLogger(__name__)


class Proxy:
    """A named listener that dials ``upstream`` for every accepted client."""

    def __init__(
        self, name: str, listen: str, upstream: str, clock: Clock, rng: toxic_math.Rng
    ) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.chains: dict[str, list[ToxicSpec]] = {UPSTREAM: [], DOWNSTREAM: []}
        self.connections: set[Connection] = set()
        self._clock = clock
        self._rng = rng
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind ``listen`` (ApiError 500 on failure, staying disabled); store the bound address."""
        if self.enabled:
            return
        endpoint = await address.resolve(self.listen)
        sock = address.bind(endpoint)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._accept, sock=sock, backlog=4096)
        except OSError:
            sock.close()
            raise
        self.listen = address.bound_address(sock)
        log.info("proxy %s listening on %s, upstream %s", self.name, self.listen, self.upstream)

    def stop(self) -> None:
        """Close the listener and every live connection; toxics are kept."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.close()

    @property
    def enabled(self) -> bool:
        """Listening: a disabled proxy has no listener (and so no connections)."""
        return self._server is not None

    def _accept(self) -> Side:
        conn = Connection(
            self.upstream, self._current_chains, self._clock, self._rng, self.connections.discard
        )
        self.connections.add(conn)
        return conn.client

    def _current_chains(self) -> dict[str, list[ToxicSpec]]:
        return {key: list(chain) for key, chain in self.chains.items()}

    # Toxics
    def toxics(self) -> list[ToxicSpec]:
        """Upstream toxics first, then downstream, each in insertion order (spec 1.2)."""
        return self.chains[UPSTREAM] + self.chains[DOWNSTREAM]

    def find_toxic(self, name: str) -> ToxicSpec | None:
        return next((spec for spec in self.toxics() if spec.name == name), None)

    def add_toxic(self, spec: ToxicSpec) -> None:
        self.chains[spec.direction].append(spec)
        for link in self._live_links(spec.direction):
            link.add(spec)

    def update_toxic(self, spec: ToxicSpec) -> None:
        chain = self.chains[spec.direction]
        chain[[s.name for s in chain].index(spec.name)] = spec
        for link in self._live_links(spec.direction):
            link.replace(spec)

    def remove_toxic(self, spec: ToxicSpec) -> None:
        self.chains[spec.direction].remove(spec)
        for link in self._live_links(spec.direction):
            link.remove(spec.name)

    def _live_links(self, direction: str) -> list[Link]:
        """The links in ``direction`` of every connection already past its dial (spec 1.7.2:
        toxic changes apply to live connections; one still dialling gets the chain then)."""
        return [conn.links[direction] for conn in list(self.connections) if conn.links]

    def remove_all_toxics(self) -> None:
        for spec in self.toxics():
            self.remove_toxic(spec)

    def document(self) -> dict[str, object]:
        """The Proxy object of the API, fields in Go's order (``Logger`` is Go's artefact)."""
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "Logger": {},
            "toxics": [spec.document() for spec in self.toxics()],
        }
