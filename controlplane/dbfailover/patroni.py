"""The ``patroni`` backend: a Patroni cluster through its REST API (``/cluster``,
``/failover``, ``/switchover``, ``/config``). Patroni fails over by itself when its leader
key expires (``ttl``); Covenant observes the cluster through the same pure decision, and a
failover it decides is a ``POST /failover`` to the synchronous standby."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.observation import NodeProbe, PairObservation, Replica

LEADER_ROLES = ("leader", "master", "primary", "standby_leader")
LIVE_STATES = ("running", "streaming")


@dataclass(frozen=True, slots=True)
class PatroniReport:
    operation: str
    region: str
    answer: str
    took_s: float

    def line(self) -> str:
        return f"{self.operation} of {self.region} via Patroni in {self.took_s:.3f} s: " \
               f"{self.answer}"


class PatroniPair:
    def __init__(self, region: str, urls: Sequence[str],
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.region = region
        self.urls = tuple(u.rstrip("/") for u in urls)
        self._transport = transport
        self._last_leader = ""

    async def cluster(self, timeout: float = 2.0) -> dict[str, Any]:
        """``GET /cluster`` from the first member that answers."""
        problems = []
        async with httpx.AsyncClient(timeout=timeout, transport=self._transport) as client:
            for url in self.urls:
                try:
                    response = await client.get(f"{url}/cluster")
                    if response.is_success:
                        data = response.json()
                        if isinstance(data, dict):
                            return data
                    problems.append(f"{url}: {response.status_code}")
                except httpx.HTTPError as exc:
                    problems.append(f"{url}: {type(exc).__name__}")
        raise DbFailoverError(f"no Patroni member of {self.region} answered /cluster "
                              f"({'; '.join(problems)}): check patroni.urls")

    async def observe(self, at: float, timeout: float) -> PairObservation:
        cluster = await self.cluster(timeout)
        return to_observation(self.region, at, cluster.get("members", []), self._remember)

    def _remember(self, leader: str) -> str:
        if leader:
            self._last_leader = leader
        return self._last_leader or "?"

    async def _post(self, path: str, body: Mapping[str, object], operation: str
                    ) -> PatroniReport:
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=60, transport=self._transport) as client:
            for url in self.urls:
                try:
                    response = await client.post(f"{url}{path}", json=body)
                except httpx.HTTPError:
                    continue
                if response.is_success:
                    return PatroniReport(operation, self.region, response.text.strip(),
                                         time.perf_counter() - started)
                raise DbFailoverError(f"Patroni {url}{path} refused {body}: "
                                      f"{response.status_code} {response.text.strip()}")
        raise DbFailoverError(f"no Patroni member of {self.region} answered {path}")

    async def failover(self, reason: str) -> PatroniReport:
        obs = await self.observe(time.time(), 2.0)
        if not obs.standby:
            raise DbFailoverError(f"{self.region}: Patroni lists no replica to fail over to")
        return await self._post("/failover", {"candidate": obs.standby}, "failover")

    async def switchover(self) -> PatroniReport:
        obs = await self.observe(time.time(), 2.0)
        if not obs.standby or obs.primary == "?":
            raise DbFailoverError(f"{self.region}: a switchover needs a leader and a replica")
        return await self._post("/switchover", {"leader": obs.primary,
                                                "candidate": obs.standby}, "switchover")

    async def set_synchronous(self, on: bool) -> None:
        async with httpx.AsyncClient(timeout=10, transport=self._transport) as client:
            response = await client.patch(f"{self.urls[0]}/config",
                                          json={"synchronous_mode": on})
        if not response.is_success:
            raise DbFailoverError(f"Patroni refused synchronous_mode={on}: {response.text}")


def to_observation(region: str, at: float, members: Sequence[Mapping[str, Any]],
                   remember: Any = lambda leader: leader or "?") -> PairObservation:
    """Patroni's member list -> the pure decision's observation (pure)."""
    leader = next((m for m in members if m.get("role") in LEADER_ROLES), None)
    primary = str(remember(str(leader["name"]) if leader else ""))
    others = [m for m in members if m is not leader]
    standby = next((m for m in others if m.get("role") == "sync_standby"),
                   others[0] if others else None)
    replicas = tuple(Replica(str(m["name"]),
                             "streaming" if m.get("state") in LIVE_STATES else
                             str(m.get("state")),
                             "sync" if m.get("role") == "sync_standby" else "async", None)
                     for m in others)
    nodes: dict[str, NodeProbe] = {}
    if leader is not None and leader.get("state") in LIVE_STATES:
        nodes[primary] = NodeProbe(primary, True, 0.0, "", False, None, None,
                                   "*" if any(r.sync_state == "sync" for r in replicas) else "",
                                   replicas)
    else:
        nodes[primary] = NodeProbe(primary, False, 0.0, "has no running leader in Patroni")
    if standby is not None:
        name = str(standby["name"])
        ok = standby.get("state") in LIVE_STATES
        nodes[name] = NodeProbe(name, ok, 0.0, "" if ok else str(standby.get("state")), True)
    generation = int(leader.get("timeline", 0)) if leader else -2
    standby_name = str(standby["name"]) if standby else None
    return PairObservation(region, at, generation, primary, standby_name, standby_name, "",
                           nodes)
