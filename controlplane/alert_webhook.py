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
"""

from __future__ import annotations

import json
import logging
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controlplane.runs_api import RunbookDesk
from runbooks.dispatch import AlertNotice
from runbooks.errors import JournalError

log = logging.getLogger(__name__)
PATH = "/v1/alerts/alertmanager"


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


def webhook_router(desk: RunbookDesk) -> APIRouter:
    router = APIRouter()

    @router.post(PATH, response_model=Received)
    async def receive(request: Request) -> Response:
        alerts, problems = parse_notification(await request.body())
        if problems:
            raise HTTPException(400, "malformed Alertmanager notification: "
                                     + "; ".join(problems[:20]))
        desk.require_leader()
        outcomes: list[AlertOutcome] = []
        try:
            for alert in alerts:
                outcomes += await _dispatch(desk, alert)
        except JournalError as exc:  # Alertmanager retries a 5xx: what we want here
            log.error("webhook: journal unavailable, asking Alertmanager to retry: %s", exc)
            raise HTTPException(503, f"the runbook journal is unavailable ({exc}); "
                                     "retry", headers={"Retry-After": "5"}) from exc
        # Answered as built (no second validation of the model: every notification pays it).
        body = Received(alerts=len(alerts), outcomes=outcomes).model_dump_json()
        return Response(body, media_type="application/json")

    return router


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
