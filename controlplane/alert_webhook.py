"""The Alertmanager webhook receiver: ``POST /v1/alerts/alertmanager`` (payload version 4).

Alertmanager sends a group's alerts on every ``group_interval`` change and again every
``repeat_interval``, and retries a notification the receiver answered with a 5xx (or did not
answer). So each alert is deduplicated by its fingerprint and ``startsAt`` (the trigger key
``alert:<fingerprint>@<startsAt>``, in ``rb_trigger_keys``): a repeat attaches to the run the
first copy started, or is refused once that run has ended. A resolved alert resolves its run
(closing it if it waits for a person). The answer is 5xx only when a retry is wanted: the
journal is unavailable, or this replica is not the leader; a malformed payload is a 400
naming every problem (a retry would not fix it), and anything else a 200 saying what
happened to each alert. The sender authenticates with a bearer key of role
``alertmanager`` (``http_config.authorization`` in alertmanager.yml).

Each delivery that reaches the handler is told to ``on_delivery`` with its outcome (one of
:data:`DELIVERY_OUTCOMES`; the control plane counts them in
``covenant_webhook_deliveries_total``). One refused for its key never reaches it: the
access rules answer 401/403 first.

Alertmanager may send hundreds of notifications a second, mostly repeats answered from the
dispatcher's memory, so FastAPI's routing and dependency handling cost more than the work.
:func:`webhook_route` is the route the control plane serves: a plain Starlette route, put
ahead of FastAPI's routes (``ApiExtras.hot``), checking the key inline with the same
:class:`controlplane.auth.Guard`. :func:`webhook_router` is the same handler as a FastAPI
route: it lists the webhook in ``/openapi.json`` (never reached where the hot route is
mounted) and serves an app that mounts no hot route.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.routing import Route

from controlplane.auth import Guard
from controlplane.runs_api import RunbookDesk
from runbooks.dispatch import AlertNotice
from runbooks.errors import JournalError

log = logging.getLogger(__name__)
PATH = "/v1/alerts/alertmanager"
# What became of a delivery: handled (200), malformed (400), sent to a standby (503), or the
# journal was unavailable (503; Alertmanager retries both 503s).
ACCEPTED, MALFORMED, NOT_LEADER, JOURNAL_UNAVAILABLE = (
    "accepted", "malformed", "not_leader", "journal_unavailable")
DELIVERY_OUTCOMES = (ACCEPTED, MALFORMED, NOT_LEADER, JOURNAL_UNAVAILABLE)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Alert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str = Field(alias="startsAt", min_length=1)
    ends_at: str = Field(default="", alias="endsAt")
    fingerprint: str = Field(min_length=1)


class Notification(_Lenient):
    """Alertmanager's webhook payload, version 4."""

    version: str
    group_key: str = Field(alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[Alert]


class AlertOutcome(BaseModel):
    alert: str
    fingerprint: str
    status: str
    runbook: str | None = None
    decision: str
    run: int | None = None
    reason: str = ""


class Received(BaseModel):
    alerts: int
    outcomes: list[AlertOutcome]


def parse_notification(body: bytes) -> tuple[list[AlertNotice], list[str]]:
    """(the alerts, every problem) of a webhook body. Pure."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        return [], [f"the body is not JSON ({exc}); Alertmanager sends a JSON object"]
    try:
        note = Notification.model_validate(data)
    except ValidationError as exc:
        return [], [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
    if note.version != "4":
        return [], [f"version {note.version!r} is not supported; Covenant reads Alertmanager "
                    "webhook payload version 4 (Alertmanager 0.16 and later)"]
    missing = [f"alerts[{i}].labels.alertname: missing; every alert has one"
               for i, a in enumerate(note.alerts) if not a.labels.get("alertname")]
    if missing:
        return [], missing
    return [AlertNotice(a.labels["alertname"], a.labels, a.fingerprint, a.starts_at,
                        note.group_key, a.status == "firing") for a in note.alerts], []


def _where(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<body>"


def webhook_route(desk: RunbookDesk, guard: Guard | None,
                  on_delivery: Callable[[str], None] | None = None) -> Route:
    """The webhook as a plain Starlette route (mount it ahead of FastAPI's: ``ApiExtras.hot``,
    ``create_api(hot=...)``). It asks ``guard`` for the sender's key itself, as FastAPI's
    dependency would (``None``: an app without keys, where every route is open)."""
    deliver = _Receiver(desk, on_delivery or (lambda _: None))

    async def receive(request: Request) -> Response:
        if guard is not None:  # 401/403 as HTTPException: the app's handler answers them
            await guard.check("POST", PATH, request.headers.get("authorization"))
        return await deliver(await request.body())

    return Route(PATH, receive, methods=["POST"], name="alertmanager_webhook",
                 include_in_schema=False)


def webhook_router(desk: RunbookDesk,
                   on_delivery: Callable[[str], None] | None = None) -> APIRouter:
    """The webhook as a FastAPI route, under the app's guard: what ``/openapi.json`` lists,
    and what serves the webhook where :func:`webhook_route` is not mounted."""
    router = APIRouter()
    deliver = _Receiver(desk, on_delivery or (lambda _: None))

    @router.post(PATH, response_model=Received)
    async def receive(request: Request) -> Response:
        return await deliver(await request.body())

    return router


class _Receiver:
    """One delivery, once its sender's key passed: parse, dispatch each alert, answer."""

    def __init__(self, desk: RunbookDesk, told: Callable[[str], None]) -> None:
        self.desk, self.told = desk, told

    async def __call__(self, body: bytes) -> Response:
        alerts, problems = parse_notification(body)
        if problems:
            self.told(MALFORMED)
            raise HTTPException(400, "malformed Alertmanager notification: "
                                     + "; ".join(problems[:20]))
        try:
            self.desk.require_leader()
        except HTTPException:
            self.told(NOT_LEADER)
            raise
        outcomes: list[AlertOutcome] = []
        try:
            for alert in alerts:
                outcomes += await _dispatch(self.desk, alert)
        except JournalError as exc:  # Alertmanager retries a 5xx: what we want here
            self.told(JOURNAL_UNAVAILABLE)
            log.error("webhook: journal unavailable, asking Alertmanager to retry: %s", exc)
            raise HTTPException(503, f"the runbook journal is unavailable ({exc}); "
                                     "retry", headers={"Retry-After": "5"}) from exc
        self.told(ACCEPTED)
        # Answered as built (no second validation of the model: every notification pays it).
        answer = Received(alerts=len(alerts), outcomes=outcomes).model_dump_json()
        return Response(answer, media_type="application/json")


async def _dispatch(desk: RunbookDesk, alert: AlertNotice) -> list[AlertOutcome]:
    status = "firing" if alert.firing else "resolved"
    found = await desk.dispatcher.on_alert(alert)
    if not found:
        why = ("no runbook is triggered by it" if alert.firing
               else "no run was started by it")
        return [AlertOutcome(alert=alert.name, fingerprint=alert.fingerprint, status=status,
                             decision="none", reason=why)]
    return [AlertOutcome(alert=alert.name, fingerprint=alert.fingerprint, status=status,
                         runbook=o.runbook, decision=o.admission.decision, run=o.run_id,
                         reason=o.admission.reason) for o in found]
