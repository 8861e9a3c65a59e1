"""Access control of the control-plane API: every route the app serves, called with no key,
a malformed header, a revoked key and a key of each role, answers 401, 403 or 2xx as the
table below says. The routes come from the app itself, so a route added without an access
rule (or without a line here) fails this test."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from controlplane.access import RULES, Role, decide_access
from controlplane.alert_webhook import PATH, webhook_route, webhook_router
from controlplane.api import HealthPublic, create_api
from controlplane.auth import Guard, bearer
from controlplane.decide import Action, ActionKind
from controlplane.keys import KeyStore
from controlplane.keys_api import keys_router
from controlplane.runs_api import RunbookDesk, runs_router
from controlplane.store import StateStore
from runbooks.dispatch import Dispatcher
from tests.runbooks.fakes import Rig, gated_runbook, rig

GATED = gated_runbook("sre-oncall")
A, S, ONC, U, M = Role.ADMIN, Role.SRE, Role.ONCALL, Role.AUDITOR, Role.ALERTMANAGER
OPEN = "open"
READERS = {A, S, ONC, U}
OPERATORS = {A, S, ONC}
# Who may call what: written out here, not derived from controlplane.access.
EXPECTED: dict[tuple[str, str], str | set[Role]] = {
    ("GET", "/health"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("GET", "/v1/regions"): OPEN,
    ("GET", "/v1/routes"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("GET", "/v1/runbooks"): OPEN,
    ("GET", "/runbooks/{runbook_id}"): OPEN,
    ("GET", "/v1/incidents"): READERS,
    ("GET", "/v1/incidents/{incident_id}/plot.png"): READERS,
    ("GET", "/v1/actions"): READERS,
    ("GET", "/v1/runs"): READERS,
    ("GET", "/v1/locks"): READERS,
    ("GET", "/v1/runs/{run_id}"): READERS,
    ("GET", "/v1/probes/{name}"): READERS,
    ("POST", "/v1/runbooks/{runbook_id}/runs"): OPERATORS,
    ("POST", "/v1/runs/{run_id}/steps/{step_id}/approve"): OPERATORS,
    ("POST", "/v1/actuators/{name}"): OPERATORS,
    ("POST", "/v1/alerts/alertmanager"): {A, M},
    ("GET", "/v1/keys"): {A, U},
    ("GET", "/v1/keys/events"): {A, U},
    ("POST", "/v1/keys"): {A},
    ("DELETE", "/v1/keys/{key_id}"): {A},
}
ALERT = {"version": "4", "groupKey": "{}:{}", "status": "firing", "receiver": "covenant",
         "alerts": [{"status": "firing", "labels": {"alertname": "NothingRuns", "region": "syd"},
                     "startsAt": "2026-12-07T10:00:00Z", "fingerprint": "f00"}]}


@dataclass
class World:
    app: FastAPI
    store: StateStore
    keys: KeyStore
    rig: Rig
    tokens: dict[str, str]


@pytest.fixture()
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store, keys, r = StateStore(url), KeyStore(url), rig(GATED)
    r.probes.script = {"region.health": ["healthy"]}
    executor = r.executor()
    desk = RunbookDesk(r.runbooks, r.journal, executor,
                       Dispatcher(r.runbooks, executor, r.journal, r.lock), executor_runners(r))
    guard = Guard(keys)
    app = create_api(store, CollectorRegistry(), lambda: None,
                     lambda: HealthPublic(status="ok", leader=True, passes=1), guard=guard,
                     routers=[runs_router(desk, guard), webhook_router(desk), keys_router(keys)],
                     incident_runs=r.journal.incident_runs,
                     hot=[webhook_route(desk, guard)])  # as covenant up serves the webhook
    tokens = {role.value: keys.create(f"{role.value}-key", role, ["sre-oncall"], "test")[1]
              for role in Role}
    info, tokens["revoked"] = keys.create("gone", Role.ADMIN, [], "test")
    keys.revoke(str(info.id), "test")
    store.record_actions(time.time(), [Action(ActionKind.OPEN_INCIDENT, "syd down", "syd",
                                              "inc-1", "down")], "test")
    store.save_plot("inc-1", time.time(), b"\x89PNG")
    yield World(app, store, keys, r, tokens)
    store.close()
    keys.close()


def executor_runners(r: Rig) -> Any:
    from runbooks.ports import Runners

    return Runners(checks={"probe": r.probes}, actuators=r.actuators())


Sample = Callable[[World], Awaitable[tuple[str, object]]]


async def _waiting_run(w: World) -> int:
    run = await w.rig.executor().start("gated", {"region": "iad"}, "test")
    return run.id


def samples() -> dict[tuple[str, str], Sample]:
    async def fixed(url: str, body: object = None) -> tuple[str, object]:
        return url, body

    async def approve(w: World) -> tuple[str, object]:
        return f"/v1/runs/{await _waiting_run(w)}/steps/ok/approve", None

    async def revoke(w: World) -> tuple[str, object]:
        info, _ = w.keys.create("victim", Role.ONCALL, [], "test")
        return f"/v1/keys/{info.id}", None

    async def a_run(w: World) -> tuple[str, object]:
        return f"/v1/runs/{await _waiting_run(w)}", None

    return {
        ("GET", "/runbooks/{runbook_id}"): lambda w: fixed("/runbooks/gated"),
        ("GET", "/v1/incidents/{incident_id}/plot.png"):
            lambda w: fixed("/v1/incidents/inc-1/plot.png"),
        ("GET", "/v1/runs/{run_id}"): a_run,
        ("GET", "/v1/probes/{name}"): lambda w: fixed("/v1/probes/region.health?region=syd"),
        ("POST", "/v1/runbooks/{runbook_id}/runs"):
            lambda w: fixed("/v1/runbooks/gated/runs", {"region": "sfo"}),
        ("POST", "/v1/runs/{run_id}/steps/{step_id}/approve"): approve,
        ("POST", "/v1/actuators/{name}"):
            lambda w: fixed("/v1/actuators/route.drain", {"args": {"region": "syd"}}),
        ("POST", "/v1/alerts/alertmanager"): lambda w: fixed("/v1/alerts/alertmanager", ALERT),
        ("POST", "/v1/keys"): lambda w: fixed("/v1/keys", {"name": "new", "role": "auditor"}),
        ("DELETE", "/v1/keys/{key_id}"): revoke,
    }


def routes_of(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, included routers too."""
    import fastapi.routing

    flatten = getattr(fastapi.routing, "iter_route_contexts", None)  # FastAPI >= 0.16x
    routes = list(flatten(app.routes)) if flatten else app.routes
    out = []
    for route in routes:
        assert isinstance(route.path, str), route
        out += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return out


CALLERS = ("none", "malformed", "revoked", *(r.value for r in Role))


def header(w: World, caller: str) -> dict[str, str]:
    if caller == "none":
        return {}
    if caller == "malformed":
        return {"Authorization": "Basic dXNlcjpwYXNz"}
    return {"Authorization": f"Bearer {w.tokens[caller]}"}


def expected_status(rule: str | set[Role], caller: str) -> str:
    if rule == OPEN:
        return "2xx"
    if caller in ("none", "malformed", "revoked"):
        return "401"
    assert isinstance(rule, set)
    return "2xx" if Role(caller) in rule else "403"


async def test_every_route_and_role_gets_the_answer_the_table_says(world: World) -> None:
    served = routes_of(world.app)
    assert set(served) == set(EXPECTED), ("routes without a line in EXPECTED (add one, and a "
                                          "rule in controlplane.access.RULES): "
                                          f"{set(served) ^ set(EXPECTED)}")
    assert set(served) <= set(RULES), f"routes without an access rule: {set(served) - set(RULES)}"
    build = samples()
    wrong = []
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cp") as client:
        for method, path in served:
            for caller in CALLERS:
                default = (path, None)
                url, body = await build[(method, path)](world) if (method, path) in build \
                    else default
                response = await client.request(method, url, json=body,
                                                headers=header(world, caller))
                got = "2xx" if response.is_success else str(response.status_code)
                want = expected_status(EXPECTED[(method, path)], caller)
                if got != want:
                    wrong.append(f"{method} {path} as {caller}: {got} (want {want}) "
                                 f"{response.text[:160]}")
    assert not wrong, "\n".join(wrong)


async def test_the_webhook_is_served_ahead_of_fastapi_and_still_in_the_schema(
        world: World) -> None:
    """The walk above reaches the webhook's hot route (first in the app: FastAPI's route of
    the same path only documents it), so its inline key check is what it tested."""
    first = next(r for r in world.app.routes if getattr(r, "path", None) == PATH)
    assert type(first) is Route, f"{PATH} is served by {type(first).__name__}"
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cp") as client:
        schema = (await client.get("/openapi.json")).json()
        refused = await client.post(PATH, json=ALERT, headers=header(world, "auditor"))
    assert "post" in schema["paths"][PATH]
    assert refused.status_code == 403
    assert "role auditor may not POST /v1/alerts/alertmanager: it needs alerts:receive" in \
        refused.json()["detail"]


async def test_401_and_403_name_the_fix(world: World) -> None:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cp") as client:
        none = await client.get("/v1/incidents")
        assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
        assert "needs an API key with incidents:read" in none.json()["detail"]
        assert "admin.key" in none.json()["detail"]
        revoked = await client.get("/v1/runs", headers=header(world, "revoked"))
        assert re.search(r"API key cov_\S+… \(gone\) was revoked", revoked.json()["detail"])
        auditor = await client.post("/v1/runbooks/gated/runs", json={"region": "syd"},
                                    headers=header(world, "auditor"))
        assert auditor.status_code == 403
        assert "role auditor may not POST /v1/runbooks/{runbook_id}/runs: it needs runs:start"\
            in auditor.json()["detail"]


async def test_a_key_revoked_by_another_process_fails_on_its_next_request(
        world: World, tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=world.app)
    sre = {"Authorization": f"Bearer {world.tokens['sre']}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://cp") as client:
        assert (await client.get("/v1/runs", headers=sre)).status_code == 200
        other = KeyStore(f"sqlite:///{tmp_path / 'state.db'}")  # e.g. `covenant keys revoke`
        other.revoke("sre-key", "cli:ops")
        other.close()
        assert (await client.get("/v1/runs", headers=sre)).status_code == 401
    kinds = [(e.key_name, e.kind, e.actor) for e in world.keys.events()]
    assert ("sre-key", "revoked", "cli:ops") in kinds


async def test_the_locks_show_who_holds_each_region(world: World) -> None:
    assert world.rig.lock is not None
    assert await world.rig.lock.acquire("syd", "gameday:g1", 600)  # e.g. another process
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cp") as client:
        locks = (await client.get("/v1/locks", headers=header(world, "auditor"))).json()
    assert {r["region"]: r["holder"] for r in locks if r["holder"]} == {"syd": "gameday:g1"}
    assert len(locks) == 6


async def test_an_approval_records_the_keys_name(world: World) -> None:
    run_id = await _waiting_run(world)
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cp") as client:
        done = await client.post(f"/v1/runs/{run_id}/steps/ok/approve",
                                 headers=header(world, "oncall"))
    assert done.status_code == 200, done.text
    assert done.json()["by"] == "oncall-key"
    assert done.json()["output"] == "approved by oncall-key (sre-oncall)"


@pytest.mark.parametrize(("header_value", "token", "problem"), [
    (None, "", "missing"),
    ("", "", "missing"),
    ("Bearer cov_abc", "cov_abc", ""),
    ("bearer   cov_abc  ", "cov_abc", ""),
    ("Basic xyz", "", "scheme 'Basic' is not Bearer"),
    ("Bearer", "", "no key after 'Bearer'"),
    ("Bearer abc", "", "a Covenant key starts with 'cov_' (then 43 characters)"),
])
def test_bearer(header_value: str | None, token: str, problem: str) -> None:
    assert bearer(header_value) == (token, problem)


@pytest.mark.parametrize(("method", "path", "problem", "role", "status"), [
    ("GET", "/health", "missing", None, 0),
    ("HEAD", "/v1/regions", "missing", None, 0),
    ("GET", "/v1/secret", "", Role.ADMIN, 403),          # no rule: refused to everyone
    ("GET", "/v1/runs", "missing", None, 401),
    ("GET", "/v1/runs", "scheme 'Basic' is not Bearer", None, 401),
    ("GET", "/v1/runs", "", None, 401),                  # unknown or revoked key
    ("GET", "/v1/runs", "", Role.ALERTMANAGER, 403),
    ("GET", "/v1/runs", "", Role.AUDITOR, 0),
    ("POST", "/v1/keys", "", Role.SRE, 403),
    ("POST", "/v1/keys", "", Role.ADMIN, 0),
])
def test_decide_access(method: str, path: str, problem: str, role: Role | None,
                       status: int) -> None:
    assert decide_access(method, path, problem, role).status == status
