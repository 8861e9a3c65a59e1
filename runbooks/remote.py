"""The control-plane runs API from the CLI: ``covenant runbook run/approve/status/...``
talk to a running ``covenant up`` (default http://127.0.0.1:8000) with an API key.

Synchronous httpx; the answers come back as the journal's own records, so the CLI prints
them exactly as it prints a local run. Every failure is a :class:`RemoteError` that names
what went wrong and the fix (start the stack, pass --url, use another key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from runbooks.errors import RunbookError
from runbooks.journal import RunRecord, RunStatus, StepRecord, StepStatus
from runbooks.templating import ArgValue

DEFAULT_URL = "http://127.0.0.1:8000"


class RemoteError(RunbookError):
    """The control-plane API refused or could not be reached."""


class RemoteRuns:
    def __init__(self, url: str, key: str | None, timeout_s: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s,
                                    transport=transport)

    def close(self) -> None:
        self._client.close()

    def runbooks(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/runbooks"))

    def start(self, runbook: str, region: str, inputs: Mapping[str, str],
              dry_run: bool = False) -> dict[str, Any]:
        body = {"region": region, "inputs": dict(inputs), "dry_run": dry_run}
        return dict(self._call("POST", f"/v1/runbooks/{runbook}/runs", body))

    def approve(self, run_id: int, step_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/v1/runs/{run_id}/steps/{step_id}/approve"))

    def runs(self, limit: int = 20, before: int | None = None,
             runbook: str | None = None) -> list[RunRecord]:
        params: dict[str, str | int] = {"limit": limit}
        if before is not None:
            params["before"] = before
        if runbook is not None:
            params["runbook"] = runbook
        page = self._call("GET", "/v1/runs", params=params)
        return [run_record(r) for r in page["runs"]]

    def locks(self) -> dict[str, str]:
        """Region -> who holds its lock, for the regions held now."""
        return {str(r["region"]): str(r["holder"]) for r in self._call("GET", "/v1/locks")
                if r.get("holder")}

    def run(self, run_id: int) -> tuple[RunRecord, list[StepRecord]]:
        detail = self._call("GET", f"/v1/runs/{run_id}")
        return run_record(detail), [step_record(run_id, s) for s in detail["steps"]]

    def call(self, actuator: str, args: Mapping[str, ArgValue]) -> str:
        return str(self._call("POST", f"/v1/actuators/{actuator}", {"args": dict(args)})
                   ["output"])

    def probe(self, name: str, args: Mapping[str, str]) -> tuple[object, str]:
        seen = self._call("GET", f"/v1/probes/{name}", params=dict(args))
        return seen["value"], str(seen["detail"])

    def _call(self, method: str, path: str, body: object = None,
              params: Mapping[str, str | int] | None = None) -> Any:
        try:
            response = self._client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise RemoteError(f"the control plane at {self.url} is not answering "
                              f"({type(exc).__name__}); start it with `covenant up`, or pass "
                              "--url") from exc
        if response.status_code in (401, 403):
            raise RemoteError(f"{method} {path}: {_detail(response)} (HTTP "
                              f"{response.status_code})")
        if response.is_error:
            raise RemoteError(f"{_detail(response)} (HTTP {response.status_code})")
        return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return detail if isinstance(detail, str) else str(detail)


def run_record(r: Mapping[str, Any]) -> RunRecord:
    return RunRecord(int(r["id"]), r["runbook"], r["region"], dict(r["inputs"]),
                     RunStatus(r["status"]), r["actor"], r["trigger"], float(r["started_at"]),
                     float(r["deadline_at"]), r["ended_at"], r["error"], r["escalated_at"],
                     r.get("incident"), r.get("resolved_at"))


def step_record(run_id: int, s: Mapping[str, Any]) -> StepRecord:
    return StepRecord(run_id, int(s["index"]), s["id"], s["kind"], StepStatus(s["status"]),
                      s["actor"], s["started_at"], s["ended_at"], s["output"], s["error"],
                      int(s["attempt"]))
