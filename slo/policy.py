"""The error-budget policy, pure: budgets + incidents + now -> decisions.

- A service with an exhausted budget has deploys and chaos experiments frozen; P0 and
  security fixes are excepted (an open P0/security incident yields an explicit exception).
- One incident that consumed more than 20% of an SLO's budget requires a postmortem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from slo.budget import BudgetStatus

POSTMORTEM_SHARE = 0.20


class DecisionKind(StrEnum):
    FREEZE_DEPLOYS = "freeze_deploys"
    FREEZE_CHAOS = "freeze_chaos"
    ALLOW_DEPLOYS = "allow_deploys"
    ALLOW_CHAOS = "allow_chaos"
    DEPLOY_EXCEPTION = "deploy_exception"
    POSTMORTEM_REQUIRED = "postmortem_required"


@dataclass(frozen=True)
class Incident:
    id: str
    service: str
    priority: str = "P3"  # P0..P4
    security: bool = False
    open: bool = True
    # SLO id -> share of that SLO's period budget this incident consumed (0.25 = 25%).
    budget_consumed: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class PolicyDecision:
    kind: DecisionKind
    service: str
    reason: str
    at: float
    slo_id: str = ""
    incident_id: str = ""


def evaluate(budgets: Sequence[BudgetStatus], incidents: Sequence[Incident],
             now: float) -> list[PolicyDecision]:
    """One verdict per service (freeze or allow, deploys and chaos), exceptions, postmortems."""
    out: list[PolicyDecision] = []
    services = sorted({b.service for b in budgets} | {i.service for i in incidents})
    for svc in services:
        exhausted = [b for b in budgets if b.service == svc and b.exhausted]
        if exhausted:
            names = ", ".join(f"{b.slo_id} ({b.remaining:.1%} left)" for b in exhausted)
            reason = f"error budget exhausted: {names}"
            out.append(PolicyDecision(DecisionKind.FREEZE_DEPLOYS, svc, reason, now,
                                      exhausted[0].slo_id))
            out.append(PolicyDecision(DecisionKind.FREEZE_CHAOS, svc, reason, now,
                                      exhausted[0].slo_id))
            out += [PolicyDecision(DecisionKind.DEPLOY_EXCEPTION, svc,
                                   f"{i.priority}{' security' if i.security else ''} fix for "
                                   f"incident {i.id} may deploy despite the freeze", now,
                                   incident_id=i.id)
                    for i in incidents if i.service == svc and i.open and _excepted(i)]
        else:
            reason = "every error budget has some left"
            out.append(PolicyDecision(DecisionKind.ALLOW_DEPLOYS, svc, reason, now))
            out.append(PolicyDecision(DecisionKind.ALLOW_CHAOS, svc, reason, now))
    for inc in incidents:
        for slo_id, share in sorted(inc.budget_consumed.items()):
            if share > POSTMORTEM_SHARE:
                out.append(PolicyDecision(
                    DecisionKind.POSTMORTEM_REQUIRED, inc.service,
                    f"incident {inc.id} consumed {share:.1%} of {slo_id}'s budget "
                    f"(> {POSTMORTEM_SHARE:.0%})", now, slo_id, inc.id))
    return out


def _excepted(inc: Incident) -> bool:
    return excepted(inc.priority, inc.security)


def excepted(priority: str, security: bool) -> bool:
    """The policy's exceptions to a deploy freeze: a P0 change or a security fix."""
    return priority.upper() == "P0" or security


def deploys_frozen(decisions: Sequence[PolicyDecision], service: str) -> bool:
    """The latest freeze/allow verdict for ``service`` (False when there is none)."""
    for d in reversed(decisions):
        if d.service == service and d.kind in (DecisionKind.FREEZE_DEPLOYS,
                                               DecisionKind.ALLOW_DEPLOYS):
            return d.kind is DecisionKind.FREEZE_DEPLOYS
    return False


def gate_verdict(decisions: Sequence[PolicyDecision], service: str, priority: str = "",
                 security: bool = False) -> tuple[bool, str]:
    """``(allowed, why)`` for deploying ``service`` now: what ``covenant slo gate`` says."""
    if not deploys_frozen(decisions, service):
        return True, f"{service}: deploys allowed"
    last = next(d for d in reversed(decisions)
                if d.service == service and d.kind is DecisionKind.FREEZE_DEPLOYS)
    if excepted(priority, security):
        return True, (f"{service}: deploys frozen ({last.reason}); allowed as a "
                      f"{'security' if security else 'P0'} fix")
    return False, f"{service}: deploys frozen by the error-budget policy: {last.reason}"
