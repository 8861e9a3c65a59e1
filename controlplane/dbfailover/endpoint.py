"""The indirection: a per-region endpoint in the fault proxy (Toxiproxy API), and a link in
front of each node.

```
region API ──► <region>_db (endpoint_port) ──► <region>_db_<primary> (link) ──► PostgreSQL
control plane probes ──────────────────────► <region>_db_a / _b (links)  ──► nodes a / b
```

Failing over re-points the endpoint at the new primary's link, which drops every client
connection through it; fencing disables the old primary's link (its port blocked), so
nothing reaches it through the network any more. A node cut off "by the network" in tests
is a disabled link. Replication runs node to node, outside the links (docs/dbfailover.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.pairstate import EndpointInfo, PairState
from controlplane.dbfailover.postgres import HOST

TIMEOUT_S = 5.0


def endpoint_name(region: str) -> str:
    return f"{region}_db"


def link_name(region: str, node: str) -> str:
    return f"{region}_db_{node}"


class ToxiproxyEndpoint:
    """Re-points and blocks through the Toxiproxy HTTP API (the embedded server or a real
    Toxiproxy): works from the control plane's process and from the CLI alike."""

    def __init__(self, info: EndpointInfo, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.info = info
        self._transport = transport

    async def _post(self, path: str, body: Mapping[str, object]) -> dict[str, object]:
        async with httpx.AsyncClient(base_url=self.info.toxiproxy, timeout=TIMEOUT_S,
                                     transport=self._transport) as client:
            try:
                response = await client.post(path, json=body)
            except httpx.HTTPError as exc:
                raise DbFailoverError(f"Toxiproxy API {self.info.toxiproxy} unreachable "
                                      f"({exc!r}); is `covenant up` running?") from exc
        if not response.is_success:
            raise DbFailoverError(f"Toxiproxy {path} answered {response.status_code}: "
                                  f"{response.text[:200]}")
        data = response.json()
        return data if isinstance(data, dict) else {"items": data}

    async def point_at(self, node: str) -> None:
        """The endpoint's upstream becomes ``node``'s link (live connections are dropped)."""
        await self._post(f"/proxies/{self.info.proxy}",
                         {"upstream": f"{HOST}:{self.info.link_ports[node]}", "enabled": True})

    async def block(self, node: str) -> None:
        await self._post(f"/proxies/{self.info.links[node]}", {"enabled": False})

    async def unblock(self, node: str) -> None:
        await self._post(f"/proxies/{self.info.links[node]}", {"enabled": True})

    def node_port(self, node: str) -> int:
        """Where the control plane reaches ``node``: its link."""
        return self.info.link_ports[node]


async def ensure_endpoint(toxiproxy: str, state: PairState, endpoint_port: int,
                          link_ports: tuple[int, int],
                          transport: httpx.AsyncBaseTransport | None = None) -> EndpointInfo:
    """Create (or keep) the links and the endpoint for ``state``'s roles: the endpoint's
    upstream is the primary's link; a fenced node's link stays blocked."""
    region, names = state.region, sorted(state.nodes)
    body: list[dict[str, object]] = [
        {"name": link_name(region, n), "listen": f"{HOST}:{port}",
         "upstream": f"{HOST}:{state.nodes[n]}", "enabled": n not in state.fenced}
        for n, port in zip(names, link_ports, strict=True)]
    async with httpx.AsyncClient(base_url=toxiproxy, timeout=TIMEOUT_S,
                                 transport=transport) as client:
        links = await _populate(client, body)
        link_ports_bound = {n: _port(links[link_name(region, n)]) for n in names}
        endpoint = await _populate(client, [{
            "name": endpoint_name(region), "listen": f"{HOST}:{endpoint_port}",
            "upstream": f"{HOST}:{link_ports_bound[state.primary]}", "enabled": True}])
    return EndpointInfo(toxiproxy=toxiproxy, proxy=endpoint_name(region),
                        port=_port(endpoint[endpoint_name(region)]),
                        links={n: link_name(region, n) for n in names},
                        link_ports=link_ports_bound)


async def _populate(client: httpx.AsyncClient,
                    body: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    try:
        response = await client.post("/populate", json=body)
    except httpx.HTTPError as exc:
        raise DbFailoverError(f"Toxiproxy API {client.base_url} unreachable ({exc!r})") from exc
    if not response.is_success:
        raise DbFailoverError(f"could not create the database proxies {[b['name'] for b in body]}"
                              f": Toxiproxy answered {response.status_code} {response.text[:200]}"
                              " (a port in use? choose other endpoint_port / link_ports)")
    proxies = response.json().get("proxies", [])
    return {str(p["name"]): p for p in proxies}


def _port(proxy: Mapping[str, object]) -> int:
    return int(str(proxy["listen"]).rsplit(":", 1)[1])
