"""API keys kept as hashes with every change recorded; the Alertmanager payload parsed
(pure) with every problem named; route overrides and the incident desk on the store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from controlplane.access import Role
from controlplane.alert_webhook import parse_notification
from controlplane.incident_desk import IncidentDesk
from controlplane.keys import ApiKeyError, KeyStore, token_hash
from controlplane.overrides import RouteOverrides
from controlplane.store import StateStore


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_keys_are_stored_as_hashes_and_every_change_is_an_event(url: str,
                                                                 tmp_path: Path) -> None:
    keys = KeyStore(url)
    info, token = keys.create("alice", "sre", ["sre-oncall"], "cli:root")
    assert token.startswith("cov_") and len(token) == 47 and info.prefix == token[:12]
    assert keys.authenticate(token) == info and keys.authenticate(token + "x") is None
    keys.set_role("alice", "oncall", "cli:root")
    assert keys.authenticate(token).role is Role.ONCALL  # type: ignore[union-attr]
    keys.revoke(str(info.id), "api:admin")
    assert keys.authenticate(token) is None
    assert "was revoked" in keys.why_refused(token)
    events = [(e.kind, e.role, e.actor) for e in reversed(keys.events())]
    assert events == [("created", "sre", "cli:root"), ("role_changed", "oncall", "cli:root"),
                      ("revoked", "oncall", "api:admin")]
    keys.close()
    db = sqlite3.connect(tmp_path / "state.db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert token not in dump and token[12:] not in dump and token_hash(token) in dump


@pytest.mark.parametrize(("name", "role", "teams", "problem"), [
    ("bad name!", "sre", [], "name 'bad name!'"),
    ("bob", "root", [], "role 'root': use one of admin, sre, oncall, auditor, alertmanager"),
    ("bob", "sre", ["SRE Team"], "team 'SRE Team'"),
])
def test_a_bad_key_is_refused_naming_the_field(url: str, name: str, role: str,
                                               teams: list[str], problem: str) -> None:
    keys = KeyStore(url)
    with pytest.raises(ApiKeyError, match=problem.replace("(", r"\(")):
        keys.create(name, role, teams, "t")
    with pytest.raises(ApiKeyError, match="no live key 'nobody'; list them"):
        keys.revoke("nobody", "t")
    keys.close()


def _note(**changes: object) -> bytes:
    alert = {"status": "firing", "labels": {"alertname": "CoreApiLatency", "region": "syd"},
             "annotations": {}, "startsAt": "2026-12-07T10:00:00.1Z",
             "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "abc123",
             "generatorURL": "http://prom/graph"}
    body: dict[str, object] = {"version": "4", "groupKey": "{}:{alertname=\"x\"}",
                               "truncatedAlerts": 0, "status": "firing", "receiver": "page",
                               "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                               "externalURL": "http://am", "alerts": [alert]}
    body.update(changes)
    return json.dumps(body).encode()


def test_a_notification_becomes_alert_notices() -> None:
    [alert], problems = parse_notification(_note())
    assert not problems
    assert alert.key == "alert:abc123@2026-12-07T10:00:00.1Z" and alert.firing
    assert alert.name == "CoreApiLatency" and alert.labels["region"] == "syd"


@pytest.mark.parametrize(("body", "problem"), [
    (b"{nope", "the body is not JSON"),
    (_note(version="3"), "version '3' is not supported; Covenant reads Alertmanager webhook "
                         "payload version 4"),
    (_note(alerts=[{"status": "firing", "labels": {}}]), "alerts[0].startsAt: Field required"),
    (_note(alerts=[{"status": "firing", "labels": {"a": "b"}, "startsAt": "t",
                    "fingerprint": "f"}]), "alerts[0].labels.alertname: missing"),
    (_note(status="pending"), "status: Input should be 'firing' or 'resolved'"),
    (b"[]", "<body>: Input should be a valid dictionary"),
])
def test_a_malformed_notification_names_every_problem(body: bytes, problem: str) -> None:
    alerts, problems = parse_notification(body)
    assert not alerts and any(problem in p for p in problems), problems


async def test_overrides_survive_a_reopen(url: str) -> None:
    overrides = RouteOverrides(url)
    assert await overrides.drain("syd", "runbook x", "runbook:x#1", 10.0)
    assert not await overrides.drain("syd", "again", "t", 11.0)
    overrides.close()
    again = RouteOverrides(url)
    assert again.drained() == {"syd": "runbook x"}
    assert await again.restore("syd", "back", "t") and not await again.restore("syd", "", "t")
    again.reload()
    assert again.drained() == {}
    again.close()


def test_the_incident_desk_notes_escalates_and_opens(url: str) -> None:
    store = StateStore(url)  # migrates the store
    desk = IncidentDesk(url)
    assert desk.annotate("syd", "hello") is None
    assert desk.raise_severity("syd", "P1", "no incident: nothing to raise") is None
    incident, opened = desk.open("syd", "P2", "bus down")
    assert opened and desk.open("syd", "P2", "again") == (incident, False)
    assert desk.annotate("syd", "looking") == incident
    assert desk.raise_severity("syd", "P1", "burning") == incident
    [view] = store.incidents()
    assert view.severity == "P1" and [e[1] for e in view.timeline] == ["opened", "note",
                                                                         "escalated"]
    desk.close()
    store.close()
