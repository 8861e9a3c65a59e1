"""Escalation channels for a failed, stuck or unanswered run.

:class:`FanoutEscalator` sends to several at once (the usual wiring: the incident desk, the
bus, PagerDuty) and fails only after trying them all, so one dead channel never silences the
others. Every channel is idempotent per run (dedup key, message id, a severity level), which
makes the executor's retry after a failure safe.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from runbooks.errors import EscalationError
from runbooks.model import Severity
from runbooks.ports import RUN_FAILED_SUBJECT, Escalation, Escalator, IncidentDesk, Publisher

log = logging.getLogger(__name__)
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


def pagerduty_event(escalation: Escalation, routing_key: str, source: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 ``trigger`` for ``escalation``. Pure."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": escalation.dedup_key,
        "payload": {
            "summary": escalation.reason[:1024],
            "source": source,
            "severity": Severity(escalation.severity).pagerduty,
            "timestamp": datetime.fromtimestamp(escalation.at, UTC).isoformat(),
            "component": escalation.region,
            "group": escalation.runbook,
            "class": "runbook",
            "custom_details": {"run_id": escalation.run_id, "runbook": escalation.runbook,
                               "title": escalation.title, "step": escalation.step_id,
                               **escalation.details},
        },
    }


class HttpPagerDuty:
    """POSTs the Events v2 JSON to ``url`` (PagerDuty, or anything that speaks its shape)."""

    def __init__(self, routing_key: str, url: str = PAGERDUTY_URL, source: str = "covenant",
                 client: httpx.AsyncClient | None = None, timeout_s: float = 10.0) -> None:
        self._routing_key, self._url, self._source = routing_key, url, source
        self._client, self._timeout = client, timeout_s

    async def escalate(self, escalation: Escalation) -> None:
        body = pagerduty_event(escalation, self._routing_key, self._source)
        try:
            if self._client is not None:
                response = await self._client.post(self._url, json=body, timeout=self._timeout)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise EscalationError(f"PagerDuty at {self._url} unreachable: {exc!r}; check the "
                                  "URL and the network") from exc
        if response.status_code >= 300:
            raise EscalationError(f"PagerDuty at {self._url} refused run #{escalation.run_id}: "
                                  f"HTTP {response.status_code} {response.text[:200]}; check "
                                  "the routing key")
        log.info("paged for run #%d (%s)", escalation.run_id, escalation.dedup_key)


class BusEscalator:
    """Publishes ``covenant.controlplane.runbook.failed`` (JSON of the escalation)."""

    def __init__(self, bus: Publisher, subject: str = RUN_FAILED_SUBJECT) -> None:
        self._bus, self._subject = bus, subject

    async def escalate(self, escalation: Escalation) -> None:
        data = json.dumps({"run_id": escalation.run_id, "runbook": escalation.runbook,
                           "region": escalation.region, "severity": escalation.severity,
                           "reason": escalation.reason, "step": escalation.step_id,
                           "at": escalation.at, "details": dict(escalation.details)},
                          sort_keys=True).encode()
        try:
            await self._bus.publish(self._subject, data, escalation.dedup_key)
        except Exception as exc:
            raise EscalationError(f"could not publish {self._subject} for run "
                                  f"#{escalation.run_id}: {exc!r}") from exc


class IncidentEscalator:
    """Raises the region's incident to the escalation's severity."""

    def __init__(self, desk: IncidentDesk) -> None:
        self._desk = desk

    async def escalate(self, escalation: Escalation) -> None:
        try:
            await self._desk.raise_severity(escalation.region, escalation.severity,
                                            escalation.reason)
        except Exception as exc:
            raise EscalationError(f"could not raise the {escalation.region} incident for run "
                                  f"#{escalation.run_id}: {exc!r}") from exc


class FanoutEscalator:
    def __init__(self, *escalators: Escalator) -> None:
        self._escalators = escalators

    async def escalate(self, escalation: Escalation) -> None:
        failures: list[str] = []
        for escalator in self._escalators:
            try:
                await escalator.escalate(escalation)
            except Exception as exc:
                log.error("escalation channel %s failed: %r", type(escalator).__name__, exc)
                failures.append(f"{type(escalator).__name__}: {exc}")
        if failures:
            raise EscalationError("; ".join(failures))


class LogEscalator:
    """Logs only: the default when nothing else is wired (never the production choice)."""

    async def escalate(self, escalation: Escalation) -> None:
        log.error("ESCALATION (no channel wired) run #%d %s: %s", escalation.run_id,
                  escalation.severity, escalation.reason)
