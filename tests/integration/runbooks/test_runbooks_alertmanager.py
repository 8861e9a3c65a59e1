"""A real Alertmanager (Debian's prometheus-alertmanager) posting to the control plane's
webhook with a bearer key: alerts added with ``amtool`` start exactly one run each, whatever
Alertmanager's retries (the first notification is answered 503: the journal is down) and
repeats (repeat_interval 2 s); resolving an alert closes its run. The control plane here is
the real API (uvicorn, keys, webhook, runs API) over the SQL journal, with a test runbook
that waits at an approval gate so the run is still open when its alert resolves."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Receive, Scope, Send

from controlplane.access import Role
from controlplane.alert_webhook import PATH, webhook_route, webhook_router
from controlplane.api import HealthPublic, create_api
from controlplane.auth import Guard
from controlplane.keys import KeyStore
from controlplane.runs_api import RunbookDesk, runs_router
from controlplane.servers import RunningServer, start_server
from controlplane.store import StateStore
from kernel.locks import InMemoryRegionLock
from runbooks.dispatch import Dispatcher
from runbooks.errors import JournalError
from runbooks.executor import Executor
from runbooks.journal import RunRecord, RunStatus
from runbooks.journal_sql import SqlJournal
from runbooks.ports import Runners
from runbooks.spec import parse_runbook
from tests.integration.promstack import free_port
from tests.runbooks.fakes import Escalations, Probes
from tests.waiting import eventually

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
ALERT = "CovenantTestAlert"
RUNBOOK = f"""
id: am-gated
title: Alertmanager test - wait for a person
severity: P3
owner: sre
triggers:
  - alert: {ALERT}
steps:
  - id: look
    kind: check
    check: {{type: probe, probe: region.health, args: {{region: "{{{{ inputs.region }}}}"}}}}
    expect: {{equals: degraded}}
  - id: ok
    kind: approval
    prompt: act on {{{{ inputs.region }}}}?
    approvers: [sre-oncall]
    deadline_s: 600
"""


def _tool(path: str) -> str:
    found = shutil.which(path) or (path if Path(path).exists() else None)
    if found is None:
        pytest.fail(f"{path} is not installed; apt-get install prometheus-alertmanager "
                    "(scripts/ensure-tools.sh does)")
    return found


class FlakyJournal(SqlJournal):
    """The SQL journal, unavailable for its first ``failures`` reads of the active runs."""

    failures = 0

    async def list_runs(self, **kwargs: object) -> list[RunRecord]:  # type: ignore[override]
        if self.failures > 0:
            self.failures -= 1
            raise JournalError("database is locked (injected)")
        return await super().list_runs(**kwargs)  # type: ignore[arg-type]


@dataclass
class Seen:
    """Every webhook answer: (status, alert fingerprints and statuses in the body)."""

    answers: list[int] = field(default_factory=list)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
            async def spy(message: dict[str, object]) -> None:
                if (scope["type"] == "http" and scope["path"] == PATH
                        and message["type"] == "http.response.start"):
                    self.answers.append(int(message["status"]))  # type: ignore[call-overload]
                await send(message)
            await app(scope, receive, spy)  # type: ignore[arg-type]
        return recorded


@dataclass
class ControlPlane:
    url: str
    journal: FlakyJournal
    seen: Seen
    admin: str


@pytest.fixture()
async def control_plane(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, str]]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store, keys = StateStore(url), KeyStore(url)
    journal = FlakyJournal(url)
    rb = parse_runbook(RUNBOOK, "am-gated.yaml")
    books = {rb.id: rb}
    probes = Probes({"region.health": ["degraded"]})
    lock = InMemoryRegionLock()
    executor = Executor(books, journal, Runners(checks={"probe": probes}), Escalations(),
                        lock=lock)
    desk = RunbookDesk(books, journal, executor, Dispatcher(books, executor, journal, lock))
    guard, seen = Guard(keys), Seen()
    app = create_api(store, CollectorRegistry(), lambda: None,
                     lambda: HealthPublic(status="ok", leader=True, passes=1), guard=guard,
                     routers=[runs_router(desk, guard), webhook_router(desk)],
                     incident_runs=journal.incident_runs,
                     hot=[webhook_route(desk, guard)])  # what covenant up serves
    _, sender = keys.create("alertmanager", Role.ALERTMANAGER, [], "test")
    _, admin = keys.create("admin", Role.ADMIN, ["sre-oncall"], "test")
    server: RunningServer = await start_server(seen.wrap(app))
    try:
        yield ControlPlane(server.url, journal, seen, admin), sender
    finally:
        await server.stop()
        await asyncio.gather(*desk.dispatcher.tasks, return_exceptions=True)
        journal.close()
        keys.close()
        store.close()


def _config(tmp_path: Path, webhook: str, token: str) -> Path:
    (tmp_path / "token").write_text(token)
    (tmp_path / "token").chmod(0o600)
    config = tmp_path / "alertmanager.yml"
    config.write_text(f"""
route:
  receiver: covenant
  group_by: [alertname, region]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: covenant
    webhook_configs:
      - url: {webhook}{PATH}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: {tmp_path / 'token'}
""")
    return config


@pytest.fixture()
async def alertmanager(tmp_path: Path, control_plane: tuple[ControlPlane, str]
                       ) -> AsyncIterator[str]:
    binary = _tool(ALERTMANAGER)
    cp, token = control_plane
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("w")
    proc = subprocess.Popen([binary, f"--config.file={_config(tmp_path, cp.url, token)}",
                             f"--storage.path={tmp_path / 'am'}",
                             f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient(timeout=1) as c:
                return (await c.get(f"{url}/-/ready")).status_code == 200
        except httpx.HTTPError:
            return False
    try:
        await eventually(ready, "Alertmanager ready", 30, interval=0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


async def amtool(url: str, *args: str) -> None:
    tool = _tool("amtool")
    done = await asyncio.to_thread(subprocess.run, [tool, "alert", "add", ALERT, *args,
                                                    f"--alertmanager.url={url}"],
                                   capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


async def runs(cp: ControlPlane) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=cp.url, timeout=5,
                                 headers={"Authorization": f"Bearer {cp.admin}"}) as c:
        page = (await c.get("/v1/runs", params={"limit": 50})).json()
    return list(page["runs"])


async def test_one_run_per_alert_whatever_the_retries_and_repeats_and_resolve_closes_it(
        control_plane: tuple[ControlPlane, str], alertmanager: str) -> None:
    cp, _ = control_plane
    cp.journal.failures = 1  # the first notification finds the journal down: 503, retried
    await amtool(alertmanager, "region=syd", "severity=page")
    await amtool(alertmanager, "region=sfo")
    await eventually(lambda: sum(s == 200 for s in cp.seen.answers) >= 6,
                     "Alertmanager's notifications, retries and repeats", 60, interval=0.2)
    assert 503 in cp.seen.answers  # the journal outage was retried by Alertmanager
    found = await runs(cp)
    assert sorted(str(r["region"]) for r in found) == ["sfo", "syd"], found
    assert all(r["status"] == RunStatus.WAITING and r["actor"] == f"alertmanager:{ALERT}"
               for r in found)
    syd = next(r for r in found if r["region"] == "syd")
    sfo = next(r for r in found if r["region"] == "sfo")
    async with httpx.AsyncClient(base_url=cp.url, timeout=5, headers={
            "Authorization": f"Bearer {cp.admin}"}) as c:
        detail = (await c.get(f"/v1/runs/{syd['id']}")).json()
    assert len(detail["triggers"]) == 1 and detail["triggers"][0].startswith("alert:")

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    await amtool(alertmanager, "region=syd", "severity=page", f"--end={now}")

    async def syd_closed() -> bool:
        return any(r["id"] == syd["id"] and r["status"] == RunStatus.CANCELLED
                   for r in await runs(cp))
    await eventually(syd_closed, "the syd run closed by the resolved alert", 30, interval=0.2)
    answers = len(cp.seen.answers)
    await eventually(lambda: len(cp.seen.answers) >= answers + 3, "more repeats of sfo", 30,
                     interval=0.2)
    after = {r["id"]: r for r in await runs(cp)}
    assert len(after) == 2, after  # repeats of sfo attached; the resolved syd started nothing
    assert after[sfo["id"]]["status"] == RunStatus.WAITING
    assert after[syd["id"]]["resolved_at"] is not None
    assert after[syd["id"]]["error"] == f"alert {ALERT} resolved"


async def test_the_webhook_refuses_strangers_and_malformed_payloads(
        control_plane: tuple[ControlPlane, str]) -> None:
    cp, token = control_plane
    async with httpx.AsyncClient(base_url=cp.url, timeout=5) as c:
        assert (await c.post(PATH, json={"version": "4"})).status_code == 401
        bad = await c.post(PATH, content=b'{"version": "4", "alerts": 3}',
                           headers={"Authorization": f"Bearer {token}"})
        assert bad.status_code == 400
        assert "alerts: Input should be a valid list" in bad.json()["detail"]
        assert "groupKey: Field required" in bad.json()["detail"]
        runs_by_sender = await c.get("/v1/runs", headers={"Authorization": f"Bearer {token}"})
        assert runs_by_sender.status_code == 403  # the alertmanager role only posts alerts
