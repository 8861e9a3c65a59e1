"""The state store on SQLite and on a real PostgreSQL: cycles, actions, incident timelines."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.decide import ReconcilerState, decide
from controlplane.desired import HealthPolicy, default_desired
from controlplane.errors import StoreError
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.store import StateStore
from kernel.settings import state_store_url

DESIRED = default_desired(health=HealthPolicy(min_dwell_s=0, recover_after=1))


def _cycle(store: StateStore, state: ReconcilerState, now: float, syd_up: bool
           ) -> ReconcilerState:
    obs = {n: RegionObservation(n, now, ProbeStatus.UP if syd_up or n != "syd"
                                else ProbeStatus.UNREACHABLE, 0.01, 10, 0, True,
                                request_rate=10.0 if now > 100.0 else None, latency_p99_s=0.05)
           for n in DESIRED.region_names()}
    d = decide(DESIRED, obs, state, now)
    routed = d.state.routes.as_dict() if d.state.routes else {}
    store.record_cycle(now, obs.values(), d.verdicts,
                       {h: max(w, key=lambda t: w[t]) for h, w in routed.items()})
    store.record_actions(now, d.actions, leader="test-leader")
    return d.state


def exercise(store: StateStore) -> None:
    state = ReconcilerState()
    for i, up in enumerate([True, False, False, False, True, True, True]):
        state = _cycle(store, state, 100.0 + i, up)
    incidents = store.incidents()
    assert len(incidents) == 1
    inc = incidents[0]
    assert (inc.region, inc.status, inc.opened_at, inc.resolved_at) == (
        "syd", "resolved", 102.0, 105.0)
    assert [(e[1], e[2]) for e in inc.timeline] == [
        ("opened", "degraded"), ("updated", "down"), ("updated", "recovering"),
        ("resolved", "resolved")]
    regions = {r.region: r for r in store.regions()}
    assert regions["syd"].state == "healthy" and regions["syd"].routed_to == "syd"
    kinds = [a.kind for a in store.actions()]
    assert kinds.count("set_routes") == 3  # assert, move away, move back
    assert store.observation_count() == 7 * 6
    assert any(v.line.startswith("syd healthy -> degraded") for v in
               store.verdicts(changed_only=True))
    assert store.open_incidents() == {}
    history = store.history(3)  # the newest 3 cycles of each region, oldest first
    assert [o.at for o in history] == [104.0] * 6 + [105.0] * 6 + [106.0] * 6
    syd = [o for o in history if o.region == "syd"]
    assert [o.status for o in syd] == [ProbeStatus.UP] * 3
    assert [o.request_rate for o in syd] == [10.0, 10.0, 10.0]  # as the observer saw it
    assert syd[1].scraped and syd[1].latency_s == 0.01 and syd[1].latency_p99_s == 0.05


def test_sqlite_store_under_data_dir(tmp_path: Path) -> None:
    url = state_store_url(None, tmp_path / "data")
    assert url.endswith("data/state.db")
    store = StateStore(url)
    try:
        exercise(store)
    finally:
        store.close()


def test_open_incident_survives_for_the_next_leader(tmp_path: Path) -> None:
    store = StateStore(state_store_url(None, tmp_path))
    state = ReconcilerState()
    for i in range(3):
        state = _cycle(store, state, float(i), syd_up=False)
    opened = store.open_incidents()
    assert list(opened) == ["syd"] and opened["syd"].severity == "down"
    store.close()


def test_bad_url_names_the_setting() -> None:
    with pytest.raises(StoreError, match="COVENANT_STATE_URL"):
        StateStore("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_prune_drops_old_observations_and_verdicts_only(tmp_path: Path) -> None:
    store = StateStore(state_store_url(None, tmp_path))
    state = ReconcilerState()
    for i in range(4):
        state = _cycle(store, state, 100.0 + i, syd_up=i < 1)
    assert store.prune(before=102.0) == 2 * 6 * 2  # two cycles of observations and verdicts
    assert store.observation_count() == 2 * 6
    assert store.incidents() and store.actions()
    store.close()


# Older stores gaining the p99 and request-rate columns (once an ALTER TABLE at open, now the
# state migrations): tests/kernel/test_state_migrations.py and its PostgreSQL twin under
# tests/integration/kernel.
