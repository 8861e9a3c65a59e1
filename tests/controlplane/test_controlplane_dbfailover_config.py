"""The db section of covenant.yaml, the lease refusal, the probe's row parsing and the
Patroni / RDS observations (all pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.assembly import build_control_plane
from controlplane.dbfailover.lease import lease_problem
from controlplane.dbfailover.patroni import to_observation
from controlplane.dbfailover.probe import to_probe
from controlplane.dbspec import PairSpec
from controlplane.desired import parse_desired
from controlplane.errors import ControlPlaneError, DesiredStateError
from kernel.settings import Settings

YAML = "db: {pairs: {ams: {primary_port: 6001, standby_port: 6002, endpoint_port: 6000}}}\n"


def test_a_region_names_its_pair() -> None:
    desired = parse_desired(YAML)
    assert desired.db.pairs["ams"].links() == (6101, 6102)
    assert desired.db.policy.down_after == 2


@pytest.mark.parametrize(("text", "match"), [
    ("db: {pairs: {xyz: {}}}", "db.pairs names \\['xyz'\\]"),
    ("db: {pairs: {ams: {primary_port: 6001, standby_port: 6001}}}", "ports must differ"),
    ("db: {pairs: {ams: {backend: patroni}}}", "needs a 'patroni:' section"),
    ("db: {policy: {down_after: 0}}", "db.policy.down_after"),
    ("hooks: {db_failover_on_down: true}\ndb: {pairs: {ams: {}}}",
     "db_failover_on_down fails a database over when a region's API is down"),
])
def test_bad_db_sections_are_named(text: str, match: str) -> None:
    with pytest.raises(DesiredStateError, match=match):
        parse_desired(text)


@pytest.mark.parametrize(("url", "problem"), [
    (None, ""),
    ("sqlite:///state.db", ""),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/state", ""),
    ("postgresql+psycopg://postgres@127.0.0.1:6000/state", "its endpoint port 6000"),
    ("postgresql+psycopg://postgres@localhost:6002/state", "its standby port 6002"),
    ("postgresql+psycopg://postgres@127.0.0.1:6101/state", "its link port a 6101"),
])
def test_the_lease_may_not_live_on_a_pair(url: str | None, problem: str) -> None:
    pairs = {"ams": PairSpec(primary_port=6001, standby_port=6002, endpoint_port=6000)}
    found = lease_problem(url, pairs)
    assert (problem in found) if problem else found == ""
    if problem:
        assert "advisory lock" in found and "state_url" in found


def test_build_control_plane_refuses_a_lease_on_a_pair(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path,
                        state_url="postgresql+psycopg://postgres@127.0.0.1:6000/state")
    with pytest.raises(ControlPlaneError, match="pair of ams"):
        build_control_plane(parse_desired(YAML), settings)
    assert not (tmp_path / "state.db").exists()


def test_probe_row() -> None:
    probe = to_probe("a", (False, "0/3000148", None, '"ams_b"',
                           [["ams_b", "streaming", "sync", "0/3000100"]]), 0.003)
    assert probe.ok and probe.in_recovery is False and probe.lsn == 0x3000148
    replica = probe.replica("ams_b")
    assert replica is not None and replica.synchronous and replica.flush_lsn == 0x3000100


def test_patroni_cluster_to_observation() -> None:
    members = [{"name": "n1", "role": "leader", "state": "running", "timeline": 3},
               {"name": "n2", "role": "sync_standby", "state": "streaming"}]
    obs = to_observation("ams", 1.0, members)
    assert (obs.primary, obs.standby, obs.generation) == ("n1", "n2", 3)
    assert obs.standby_replica() is not None and obs.standby_replica().synchronous  # type: ignore[union-attr]
    leaderless = to_observation("ams", 2.0, [members[1]], lambda leader: leader or "n1")
    assert leaderless.primary == "n1" and not leaderless.nodes["n1"].ok


async def test_runbook_probes_read_the_last_observation() -> None:
    from controlplane.dbfailover.observation import NodeProbe, PairObservation, Replica
    from controlplane.dbfailover.runbook import db_probes
    from controlplane.dbfailover.supervisor import DbSupervisor
    from controlplane.dbspec import FailoverPolicy

    class Pair:
        region = "ams"

    supervisor = DbSupervisor(FailoverPolicy(), {"ams": Pair()})  # type: ignore[dict-item]
    supervisor.observations["ams"] = PairObservation("ams", 1.0, 1, "a", "b", "ams_b", "", {
        "a": NodeProbe("a", False, 0.5, "connection refused"),
        "b": NodeProbe("b", True, 0.01, "", True, 10, 10, "",
                       (Replica("x", "streaming", "sync", 10, 0.25),))})
    probes = db_probes(supervisor)
    assert await probes["db.role"]({"region": "ams", "node": "primary"}) == "down"
    assert await probes["db.role"]({"region": "ams", "node": "standby"}) == "standby"
    with pytest.raises(ControlPlaneError, match="region iad has no database pair"):
        await probes["db.role"]({"region": "iad", "node": "primary"})
