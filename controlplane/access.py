"""Who may call what on the control-plane API: roles, their scopes, and one rule per route.
Pure; :mod:`controlplane.auth` applies it to every request.

Open (no key): ``/health`` and ``/metrics`` (probes and Prometheus), the regions' state and
the route table (a status page: no personal data, no evidence), the runbook library and its
pages (public in the repository; a page shows its latest runs only to a key that may read
runs), and the API schema. Everything that shows evidence or personal data (incidents,
actions, runs and their approvers, keys) or changes state needs a key whose role has the
route's scope. A route without a rule is refused to everyone (fail closed), and the test
that walks every route and role fails until the rule is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"                # everything, and manages keys
    SRE = "sre"                    # reads everything, starts and approves runs, acts by hand
    ONCALL = "oncall"              # the same powers during an incident
    AUDITOR = "auditor"            # reads runs, incidents, actions and keys; changes nothing
    ALERTMANAGER = "alertmanager"  # a machine: may only post alert notifications


class Scope(StrEnum):
    INCIDENTS_READ = "incidents:read"
    ACTIONS_READ = "actions:read"
    RUNS_READ = "runs:read"
    RUNS_START = "runs:start"
    RUNS_APPROVE = "runs:approve"
    ACT = "actuators:call"         # one actuator by hand (what the pages' "By hand" lines do)
    KEYS_READ = "keys:read"
    KEYS_MANAGE = "keys:manage"
    ALERTS_RECEIVE = "alerts:receive"


_READ = frozenset({Scope.INCIDENTS_READ, Scope.ACTIONS_READ, Scope.RUNS_READ})
_OPERATE = _READ | {Scope.RUNS_START, Scope.RUNS_APPROVE, Scope.ACT}
ROLE_SCOPES: Mapping[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.SRE: _OPERATE,
    Role.ONCALL: _OPERATE,
    Role.AUDITOR: _READ | {Scope.KEYS_READ},
    Role.ALERTMANAGER: frozenset({Scope.ALERTS_RECEIVE}),
}

OPEN = None  # a rule of None: no key needed
RULES: Mapping[tuple[str, str], Scope | None] = {
    ("GET", "/health"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("GET", "/v1/regions"): OPEN,
    ("GET", "/v1/routes"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("GET", "/v1/runbooks"): OPEN,
    ("GET", "/runbooks/{runbook_id}"): OPEN,  # latest runs shown only with runs:read
    ("GET", "/v1/incidents"): Scope.INCIDENTS_READ,
    ("GET", "/v1/incidents/{incident_id}/plot.png"): Scope.INCIDENTS_READ,
    ("GET", "/v1/actions"): Scope.ACTIONS_READ,
    ("GET", "/v1/runs"): Scope.RUNS_READ,
    ("GET", "/v1/runs/{run_id}"): Scope.RUNS_READ,
    ("GET", "/v1/locks"): Scope.RUNS_READ,  # who holds each region (what is running there)
    ("GET", "/v1/probes/{name}"): Scope.RUNS_READ,
    ("POST", "/v1/runbooks/{runbook_id}/runs"): Scope.RUNS_START,
    ("POST", "/v1/runs/{run_id}/steps/{step_id}/approve"): Scope.RUNS_APPROVE,
    ("POST", "/v1/actuators/{name}"): Scope.ACT,
    ("POST", "/v1/alerts/alertmanager"): Scope.ALERTS_RECEIVE,
    ("GET", "/v1/keys"): Scope.KEYS_READ,
    ("GET", "/v1/keys/events"): Scope.KEYS_READ,
    ("POST", "/v1/keys"): Scope.KEYS_MANAGE,
    ("DELETE", "/v1/keys/{key_id}"): Scope.KEYS_MANAGE,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to one request: ``status`` 0 means go ahead."""

    status: int
    message: str = ""


ALLOW = Verdict(0)
KEY_HINT = ("send 'Authorization: Bearer <key>' (the local admin key is <data_dir>/admin.key; "
            "create others with `covenant keys create --role R --name N`)")


def rule_for(method: str, path: str) -> tuple[bool, Scope | None]:
    """(whether a rule exists, its scope). HEAD is GET's rule."""
    key = ("GET" if method == "HEAD" else method, path)
    return key in RULES, RULES.get(key)


def decide_access(method: str, path: str, header_problem: str, role: Role | None,
                  key_problem: str = "") -> Verdict:
    """The verdict for a request to ``method path`` (the route's template). Pure.

    ``header_problem`` says what is wrong with the Authorization header ("" when a bearer
    token was sent, "missing" when none); ``role`` is the sender's when the token named a
    live key, else ``key_problem`` says why not (unknown, revoked)."""
    known, scope = rule_for(method, path)
    if not known:
        return Verdict(403, f"no access rule for {method} {path}: refused to everyone; add one "
                            "to controlplane.access.RULES")
    if scope is None:
        return ALLOW
    if header_problem == "missing":
        return Verdict(401, f"{method} {path} needs an API key with {scope}; {KEY_HINT}")
    if header_problem:
        return Verdict(401, f"malformed Authorization header: {header_problem}; {KEY_HINT}")
    if role is None:
        return Verdict(401, f"{key_problem or 'unknown API key'}; {KEY_HINT}")
    if scope not in ROLE_SCOPES[role]:
        allowed = ", ".join(r for r, scopes in ROLE_SCOPES.items() if scope in scopes)
        return Verdict(403, f"role {role} may not {method} {path}: it needs {scope}, which "
                            f"roles {allowed} have")
    return ALLOW


def can(role: Role | None, scope: Scope) -> bool:
    return role is not None and scope in ROLE_SCOPES[role]
