"""Dashboards into a running Grafana through its HTTP API: the folder made if missing, then
each dashboard ``POST /api/dashboards/db`` with ``overwrite: true``. The transport is
injectable; the tests run it against a stub server."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from dashboards.errors import DashboardError
from dashboards.provisioning import FOLDER, FOLDER_UID

log = logging.getLogger(__name__)
Json = dict[str, Any]
MESSAGE = "covenant dashboards push"


@dataclass(frozen=True, slots=True)
class Pushed:
    uid: str
    url: str
    version: int


def _check(r: httpx.Response, what: str) -> Json:
    if r.status_code in (401, 403):
        raise DashboardError(f"Grafana refused {what} ({r.status_code}): pass a service "
                             "account token with the Editor role as --token")
    if not r.is_success:
        raise DashboardError(f"Grafana could not {what}: {r.status_code} {r.text[:300]}")
    body: Json = r.json()
    return body


def _ensure_folder(client: httpx.Client, uid: str, title: str) -> None:
    r = client.get(f"/api/folders/{uid}")
    if r.status_code == 404:
        _check(client.post("/api/folders", json={"uid": uid, "title": title}),
               f"create folder {title!r}")
    else:
        _check(r, f"read folder {uid!r}")


def push(dashboards: Iterable[Json], grafana_url: str, token: str, *,
         folder_uid: str = FOLDER_UID, folder: str = FOLDER,
         transport: httpx.BaseTransport | None = None) -> list[Pushed]:
    """Upload every dashboard (ids dropped: Grafana matches them by UID) into ``folder``."""
    if not token:
        raise DashboardError("no Grafana token: pass --token (a service account token)")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    done: list[Pushed] = []
    try:
        with httpx.Client(base_url=grafana_url.rstrip("/"), headers=headers,
                          transport=transport, timeout=30) as client:
            _ensure_folder(client, folder_uid, folder)
            for d in dashboards:
                body = {"dashboard": {**d, "id": None}, "folderUid": folder_uid,
                        "overwrite": True, "message": MESSAGE}
                answer = _check(client.post("/api/dashboards/db", json=body),
                                f"save dashboard {d.get('uid')!r}")
                done.append(Pushed(str(answer.get("uid", d.get("uid"))),
                                   str(answer.get("url", "")), int(answer.get("version", 0))))
                log.info("pushed %s (version %s)", done[-1].uid, done[-1].version)
    except httpx.HTTPError as exc:
        raise DashboardError(f"Grafana at {grafana_url} did not answer ({exc}); check "
                             "--grafana-url") from exc
    return done
