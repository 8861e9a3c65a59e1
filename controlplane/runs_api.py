"""The runs API: runbooks, their runs and journals, starting and approving runs, one
actuator or probe by hand, and each runbook's page with its latest runs.

Routes (their access rules are in :mod:`controlplane.access`):
``GET /v1/runbooks``, ``GET /runbooks/{id}`` (HTML), ``GET /v1/runs`` (filter by runbook,
region, state; keyset pages: ``before`` = the ``next`` of the previous page),
``GET /v1/runs/{id}`` (with its steps: the journal), ``POST /v1/runbooks/{id}/runs``,
``POST /v1/runs/{id}/steps/{step}/approve`` (the approver is the key's name, its teams the
roles checked against the step's ``approvers``), ``POST /v1/actuators/{name}``,
``GET /v1/probes/{name}``. A journal that cannot be read or written answers 503.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from controlplane.access import Scope
from controlplane.auth import Guard, actor, sender
from kernel.regions import REGION_CODES
from runbooks.actuators import ACTUATORS, arg_problems, suggest
from runbooks.admission import Decision
from runbooks.dispatch import Dispatcher
from runbooks.errors import (
    ApprovalRefused,
    InputError,
    JournalError,
    NotAnApprover,
    RunbookError,
    RunNotFound,
)
from runbooks.executor import Executor
from runbooks.expect import CheckSpec
from runbooks.journal import Journal, RunRecord, RunStatus, StepRecord
from runbooks.model import Runbook
from runbooks.ports import CallContext, Runners
from runbooks.probes import PROBES
from runbooks.render import render_html
from runbooks.templating import ArgValue

log = logging.getLogger(__name__)
Scalar = str | int | float | bool
T = TypeVar("T")


@dataclass
class RunbookDesk:
    """What the runs API and the webhook work with, wired by the composition root."""

    runbooks: Mapping[str, Runbook]
    journal: Journal
    executor: Executor
    dispatcher: Dispatcher
    runners: Runners = field(default_factory=Runners)
    leading: Callable[[], bool] = lambda: True

    def require_leader(self) -> None:
        if not self.leading():
            raise HTTPException(503, "this control-plane replica is not the leader; the "
                                     "leader runs runbooks: retry, or send it to the leader",
                                headers={"Retry-After": "1"})


class RunPublic(BaseModel):
    id: int
    runbook: str
    region: str
    status: str
    active: bool
    actor: str
    trigger: str
    incident: str | None
    inputs: dict[str, Scalar | None]
    started_at: float
    deadline_at: float
    ended_at: float | None
    escalated_at: float | None
    resolved_at: float | None
    error: str


class StepPublic(BaseModel):
    index: int
    id: str
    kind: str
    status: str
    actor: str
    attempt: int
    started_at: float | None
    ended_at: float | None
    output: str
    error: str


class RunDetail(RunPublic):
    steps: list[StepPublic]
    triggers: list[str]


class RunPage(BaseModel):
    runs: list[RunPublic]
    next: int | None = Field(description="Pass as before= for the next (older) page.")


class RegionLockPublic(BaseModel):
    region: str
    holder: str | None = Field(description="Who holds the region's lock (runbook:<id>, "
                               "gameday:<id>, dbfailover:<pair>); null when it is free.")


class RunbookPublic(BaseModel):
    id: str
    title: str
    severity: str
    owner: str
    triggers: list[str]
    runnable: bool
    blocked: list[str] = Field(description="Why it runs only as a dry run here.")


class StartRun(BaseModel):
    region: str
    inputs: dict[str, Scalar] = Field(default_factory=dict)
    dry_run: bool = False


class Started(BaseModel):
    decision: str
    reason: str
    run: int | None = None
    plan: list[dict[str, str | int]] = Field(default_factory=list)


class Approved(BaseModel):
    run: int
    step: str
    by: str
    output: str


class CallActuator(BaseModel):
    args: dict[str, ArgValue] = Field(default_factory=dict)


class Observed(BaseModel):
    value: Scalar | None
    detail: str


def run_public(run: RunRecord) -> RunPublic:
    return RunPublic(id=run.id, runbook=run.runbook, region=run.region, status=run.status,
                     active=run.active, actor=run.actor, trigger=run.trigger,
                     incident=run.incident, inputs=dict(run.inputs),
                     started_at=run.started_at, deadline_at=run.deadline_at,
                     ended_at=run.ended_at, escalated_at=run.escalated_at,
                     resolved_at=run.resolved_at, error=run.error)


def step_public(step: StepRecord) -> StepPublic:
    return StepPublic(index=step.index, id=step.step_id, kind=step.kind, status=step.status,
                      actor=step.actor, attempt=step.attempt, started_at=step.started_at,
                      ended_at=step.ended_at, output=step.output, error=step.error)


def runs_router(desk: RunbookDesk, guard: Guard | None) -> APIRouter:
    router = APIRouter()
    _library_routes(router, desk, guard)
    _run_routes(router, desk)
    _hand_routes(router, desk)
    return router


def _library_routes(router: APIRouter, desk: RunbookDesk, guard: Guard | None) -> None:
    @router.get("/v1/runbooks", response_model=list[RunbookPublic])
    async def runbooks() -> list[RunbookPublic]:
        return [RunbookPublic(id=rb.id, title=rb.title, severity=rb.severity, owner=rb.owner,
                              triggers=[t.alert or f"verdict:{t.verdict}" for t in rb.triggers],
                              runnable=rb.id not in desk.executor.refused,
                              blocked=list(desk.executor.refused.get(rb.id, ())))
                for rb in sorted(desk.runbooks.values(), key=lambda r: r.id)]

    @router.get("/runbooks/{runbook_id}", response_class=HTMLResponse)
    async def page(runbook_id: str, request: Request) -> HTMLResponse:
        rb = _runbook(desk, runbook_id)
        reader = await guard.optional(request, Scope.RUNS_READ) if guard else None
        runs = await _journal(desk.journal.list_runs(runbook=rb.id, limit=20)) if (
            reader is not None or guard is None) else []
        return HTMLResponse(render_html(rb, runs))


def _run_routes(router: APIRouter, desk: RunbookDesk) -> None:
    @router.get("/v1/locks", response_model=list[RegionLockPublic])
    async def locks() -> list[RegionLockPublic]:
        """Each region's lock (runbooks, game days and DB failovers share it), from wherever
        it lives: another process holding it shows here too."""
        lock = desk.dispatcher.lock
        return [RegionLockPublic(region=r, holder=await lock.holder(r) if lock else None)
                for r in REGION_CODES]

    @router.get("/v1/runs", response_model=RunPage)
    async def runs(runbook: str | None = None, region: str | None = None,
                   state: Annotated[RunStatus | None, Query()] = None,
                   before: Annotated[int | None, Query(ge=1)] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> RunPage:
        found = await _journal(desk.journal.list_runs(before=before, limit=limit,
                                                      runbook=runbook, region=region,
                                                      status=state))
        return RunPage(runs=[run_public(r) for r in found],
                       next=found[-1].id if len(found) == limit else None)

    @router.get("/v1/runs/{run_id}", response_model=RunDetail)
    async def run(run_id: int) -> RunDetail:
        record = await _journal(desk.journal.run(run_id))
        steps = await _journal(desk.journal.steps(run_id))
        keys = await _journal(desk.journal.trigger_keys(run_id))
        return RunDetail(**run_public(record).model_dump(),
                         steps=[step_public(s) for s in steps], triggers=keys)

    @router.post("/v1/runbooks/{runbook_id}/runs", response_model=Started, status_code=201)
    async def start(runbook_id: str, body: StartRun, request: Request) -> Started:
        rb = _runbook(desk, runbook_id)
        if body.dry_run:
            return _dry_run(desk.executor, rb, body)
        desk.require_leader()
        outcome = await _journal(desk.dispatcher.start(rb.id, body.region, body.inputs,
                                                       actor(request)))
        decision = outcome.admission
        if decision.decision is Decision.HOLD:
            raise HTTPException(409, decision.reason)
        if decision.decision is Decision.REFUSE:
            raise HTTPException(422, decision.reason)
        return Started(decision=decision.decision, reason=decision.reason, run=outcome.run_id)

    @router.post("/v1/runs/{run_id}/steps/{step_id}/approve", response_model=Approved)
    async def approve(run_id: int, step_id: str, request: Request) -> Approved:
        desk.require_leader()
        key = sender(request)
        try:
            await desk.executor.record_approval(run_id, step_id, key.name, key.teams)
        except NotAnApprover as exc:
            raise HTTPException(403, str(exc)) from exc
        except ApprovalRefused as exc:
            raise HTTPException(409, str(exc)) from exc
        except RunNotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        except JournalError as exc:
            raise _unavailable(exc) from exc
        desk.dispatcher.spawn(run_id)
        steps = await _journal(desk.journal.steps(run_id))
        done = next(s for s in steps if s.step_id == step_id)
        return Approved(run=run_id, step=step_id, by=key.name, output=done.output)


def _hand_routes(router: APIRouter, desk: RunbookDesk) -> None:
    @router.post("/v1/actuators/{name}")
    async def call(name: str, body: CallActuator, request: Request) -> dict[str, str]:
        spec, impl = ACTUATORS.get(name), desk.runners.actuators.get(name)
        if spec is None:
            raise HTTPException(404, f"unknown actuator {name!r}{suggest(name, ACTUATORS)}")
        problems = [p for _, p in arg_problems(spec, body.args)]
        if problems:
            raise HTTPException(422, "; ".join(problems))
        if impl is None:
            raise HTTPException(501, f"{name} cannot act in this stack (not wired)")
        region = str(body.args.get("region", ""))
        log.info("%s calls %s by hand with %s", actor(request), name, body.args)
        try:
            out = await impl.call(body.args, CallContext(0, "by-hand", name, region))
        except Exception as exc:  # noqa: BLE001 - the actuator's failure is the answer
            raise HTTPException(502, f"{name} failed: {exc}") from exc
        return {"output": out}

    @router.get("/v1/probes/{name}", response_model=Observed)
    async def probe(name: str, request: Request) -> Observed:
        runner = desk.runners.checks.get("probe")
        if name not in PROBES:
            raise HTTPException(404, f"unknown probe {name!r}{suggest(name, PROBES)}")
        if runner is None:
            raise HTTPException(501, "no probe is wired in this stack")
        args: dict[str, ArgValue] = dict(request.query_params)
        try:
            result = await runner.check(CheckSpec(type="probe", probe=name, args=args),
                                        CallContext(0, "by-hand", name,
                                                    str(args.get("region", ""))))
        except Exception as exc:  # noqa: BLE001 - the probe's failure is the answer
            raise HTTPException(502, f"probe {name} failed: {exc}") from exc
        return Observed(value=result.value, detail=result.detail)


def _dry_run(executor: Executor, rb: Runbook, body: StartRun) -> Started:
    try:
        steps = executor.dry_run(rb.id, {**body.inputs, "region": body.region})
    except InputError as exc:
        raise HTTPException(422, str(exc)) from exc
    return Started(decision="dry_run", reason="nothing was called or journaled",
                   plan=[{"index": s.index, "id": s.id, "kind": s.kind, "call": s.call,
                          "note": s.note} for s in steps])


def _runbook(desk: RunbookDesk, runbook_id: str) -> Runbook:
    rb = desk.runbooks.get(runbook_id)
    if rb is None:
        raise HTTPException(404, f"unknown runbook {runbook_id!r}"
                                 f"{suggest(runbook_id, desk.runbooks)}; GET /v1/runbooks "
                                 "lists them")
    return rb


async def _journal(work: Awaitable[T]) -> T:
    """Await a journal call; 404 for an unknown run, 503 when the journal is unavailable."""
    try:
        return await work
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except JournalError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: RunbookError) -> HTTPException:
    return HTTPException(503, f"the runbook journal is unavailable: {exc}; retry later",
                         headers={"Retry-After": "5"})

