"""Issue 16's end-to-end check, through ``covenant up`` (covenant.stack.Stack, one region with
a native pair, the runbook engine wired): the region API writes continuously through its
normal endpoint; the primary is killed (kill -9); the control plane detects it and the
failover runs as the postgres-primary-down runbook: the run, linked to the pair's incident,
shows each step in its journal, its promote step promotes the standby, the API resumes and
every write it acknowledged is on the new primary; the old primary rejoins with
``covenant db rejoin`` (the CLI function), the person confirms the run's manual step through
the runs API and the run succeeds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from controlplane.dbfailover.cli import rejoin
from controlplane.dbfailover.pairstate import load_state
from controlplane.dbfailover.postgres import sql
from controlplane.dbspec import DbPolicy, FailoverPolicy, PairSpec
from controlplane.desired import DesiredState, ProbePolicy, Region, SloPolicy, StackPorts
from covenant.stack import Stack
from kernel.settings import Settings
from tests.integration.dbfailover.pairs import free_port, kill_primary_under_writes, stop_all
from tests.waiting import eventually

RUNBOOK = "postgres-primary-down"
RTO_LIMIT_S = 5.0  # the target (a median: the benchmark measures it over trials)
PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)


def _desired(directory: Path) -> DesiredState:
    spec = PairSpec(dir=str(directory), primary_port=free_port(), standby_port=free_port(),
                    endpoint_port=0, link_ports=(0, 0))
    return DesiredState(
        regions=(Region(name="ams", latitude=52.37, longitude=4.9,
                        endpoint="http://127.0.0.1:1", origin="http://127.0.0.1:1"),),
        stack=PORTS, probe=ProbePolicy(interval_s=1.0), slo=SloPolicy(enforce=False),
        db=DbPolicy(pairs={"ams": spec}, policy=FailoverPolicy(down_after=2)))


async def _names(port: int) -> set[str]:
    rows = await sql(port, "SELECT name FROM projects WHERE name LIKE 'rb-%'",
                     dbname="covenant")
    return {r[0] for r in rows}


async def _run(api: httpx.AsyncClient, run_id: int) -> dict[str, Any]:
    response = await api.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def test_kill_primary_fails_over_as_the_runbook_and_the_old_primary_rejoins(
        pair_root: Path) -> None:
    directory = pair_root / "ams"
    stack = Stack(_desired(directory), Settings(data_dir=pair_root / "data"))
    await stack.start()
    try:
        origin = stack.desired.regions[0].origin
        key = (pair_root / "data" / "admin.key").read_text().strip()
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30, headers={
                "Authorization": f"Bearer {key}"}) as api:
            log, rto = await kill_primary_under_writes(origin, directory, "rb",
                                                       "the runbook's promote step")
            print(f"\nRTO {rto:.2f} s (kill -9 to the next acknowledged write through the "
                  f"region API), {len(log.acked)} acknowledged, {log.failed} failed")
            assert rto <= RTO_LIMIT_S

            runs = (await api.get("/v1/runs", params={"runbook": RUNBOOK, "region": "ams"})
                    ).json()["runs"]
            assert len(runs) == 1, runs
            run_id = runs[0]["id"]

            async def waiting() -> bool:
                return (await _run(api, run_id))["status"] == "waiting"
            await eventually(waiting, "the run to wait for the rejoin", 60, 0.2)
            run = await _run(api, run_id)
            steps = {s["id"]: s["status"] for s in run["steps"]}
            print("run", run_id, steps)
            assert steps == {
                "primary-down": "succeeded", "standby-alive": "succeeded",
                "primary-serving": "succeeded",  # informational: no primary serving
                "promote": "succeeded", "note-promoted": "succeeded",
                "region-serves": "succeeded", "rejoin-old-primary": "waiting_approval",
                "standby-back": "pending"}
            promote = next(s for s in run["steps"] if s["id"] == "promote")
            assert "failover of ams done" in promote["output"]
            assert run["actor"].startswith("reconciler:") and run["incident"]
            assert run["incident"].startswith("db-ams-")

            incidents = (await api.get("/v1/incidents")).json()
            pair_incident = next(i for i in incidents if i["id"] == run["incident"])
            assert pair_incident["runs"] == [run_id]  # the incident links to the run
            locks = {x["region"]: x["holder"] for x in (await api.get("/v1/locks")).json()}
            assert locks.get("ams") == f"runbook:{RUNBOOK}"  # held until the run ends

            after = load_state(directory)
            assert (after.primary, after.standby, after.fenced) == ("b", None, ("a",))
            assert {name for _, name in log.acked} <= await _names(after.nodes["b"])

            await asyncio.to_thread(rejoin, "ams", directory)  # `covenant db rejoin ams`
            rejoined = load_state(directory)
            assert (rejoined.primary, rejoined.standby, rejoined.fenced) == ("b", "a", ())
            approved = await api.post(f"/v1/runs/{run_id}/steps/rejoin-old-primary/approve")
            assert approved.status_code == 200, approved.text

            async def succeeded() -> bool:
                return (await _run(api, run_id))["status"] == "succeeded"
            await eventually(succeeded, "the run to succeed once the standby is back", 60,
                             0.2)

            async def resolved() -> bool:
                found = [i for i in (await api.get("/v1/incidents")).json()
                         if i["id"] == run["incident"]]
                return bool(found) and found[0]["status"] == "resolved"
            await eventually(resolved, "the pair's incident to resolve", 30, 0.2)
            assert {name for _, name in log.acked} <= await _names(rejoined.nodes["a"])
    finally:
        await stack.stop()
        await stop_all(directory)
