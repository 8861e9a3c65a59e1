"""A process running the executor on the SQL journal, for the kill -9 test: ``start`` a run
of the test runbook, or ``resume`` (the composition root's start-up sweep) and wait for the
runs to end. Its actions POST to the test's receiver; its slow check GETs it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping

import httpx

from runbooks.checks import HttpCheckRunner
from runbooks.escalation import LogEscalator
from runbooks.executor import Executor
from runbooks.journal import RunStatus
from runbooks.journal_sql import SqlJournal
from runbooks.ports import CallContext, Runners
from runbooks.spec import parse_runbook
from runbooks.templating import ArgValue

RUNBOOK = """
id: kill9
title: Three actions around a slow check
severity: P3
owner: sre
steps:
  - id: first
    kind: action
    action: route.drain
    args: {{region: "{{{{ inputs.region }}}}"}}
  - id: second
    kind: action
    action: chaos.pause
  - id: slow
    kind: check
    check: {{type: http, url: "{receiver}/slow"}}
    expect: {{equals: 200}}
    timeout_s: 120
  - id: third
    kind: action
    action: route.restore
    args: {{region: "{{{{ inputs.region }}}}"}}
"""


class Poster:
    """An actuator that POSTs ``/act/<step>`` to the receiver (it counts the calls)."""

    def __init__(self, client: httpx.AsyncClient, receiver: str) -> None:
        self._client, self._receiver = client, receiver

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        response = await self._client.post(f"{self._receiver}/act/{ctx.step_id}")
        response.raise_for_status()
        return f"posted {ctx.step_id}"


async def main(url: str, receiver: str, mode: str) -> None:
    journal = SqlJournal(url)
    rb = parse_runbook(RUNBOOK.format(receiver=receiver), "kill9.yaml")
    async with httpx.AsyncClient(timeout=150) as client:
        poster = Poster(client, receiver)
        executor = Executor({rb.id: rb}, journal, Runners(
            checks={"http": HttpCheckRunner(client)},
            actuators={"route.drain": poster, "chaos.pause": poster, "route.restore": poster}),
            LogEscalator())
        if mode == "start":
            run = await executor.start(rb.id, {"region": "syd"}, "test")
        else:
            [run] = await executor.sweep()
        print(f"run #{run.id} {run.status}", flush=True)
        sys.exit(0 if run.status is RunStatus.SUCCEEDED else 1)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
