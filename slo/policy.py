"""The error-budget policy, pure: budgets + incidents + now -> decisions.

- A service with an exhausted budget has deploys and chaos experiments frozen; P0 and
  security fixes are excepted (an open P0/security incident yields an explicit exception).
- One incident that consumed more than 20% of an SLO's budget requires a postmortem.
- A budget is only acted on once it stands on enough data (the SRE Workbook's low-traffic
  advice): at least ``min_events`` events and ``min_elapsed_share`` of its period observed.
  Below either minimum it yields ``insufficient_data`` and never a freeze; a service whose
  budgets are all below the minimum is allowed.

Why these defaults (:data:`MIN_EVENTS`, :data:`MIN_ELAPSED_SHARE`):

- 1,000 events: below that one request moves the SLI by more than 0.1 percentage point,
  more than a 99.9% objective's whole budget, so a handful of slow first requests after
  ``covenant up`` would "exhaust" it (observed: -4900% left 45 s after start, 59% left a
  minute later). From 1,000 events on, a 99% objective's budget holds 10 bad events and a
  99.9% one a whole event; tighter objectives on thin traffic still hinge on single
  requests (99.95% at 1,000 events: half a request), which the elapsed minimum guards.
- 2% of the period (14.4 h of 30 days, 13.4 h of 28, 3.4 h of 7): until then a budget is a
  ratio over a sliver of its period and an "exhausted" verdict can mean that almost nothing
  of the real period budget is spent. From 2% on, exhausted (a burn rate >= 1 over
  everything observed) means, at steady traffic, at least 2% of the period budget is gone:
  what the Workbook's fastest page (2% in 1 h) already calls significant. Before that the
  burn-rate alerts, which do not wait for this minimum, are the protection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from slo.budget import BudgetStatus

POSTMORTEM_SHARE = 0.20
MIN_EVENTS = 1_000  # events (slices, for timeslice budgets) before the policy acts
MIN_ELAPSED_SHARE = 0.02  # share of the period observed before the policy acts


class DecisionKind(StrEnum):
    FREEZE_DEPLOYS = "freeze_deploys"
    FREEZE_CHAOS = "freeze_chaos"
    ALLOW_DEPLOYS = "allow_deploys"
    ALLOW_CHAOS = "allow_chaos"
    DEPLOY_EXCEPTION = "deploy_exception"
    POSTMORTEM_REQUIRED = "postmortem_required"
    INSUFFICIENT_DATA = "insufficient_data"  # one per budget the policy does not act on yet


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


def data_shortfall(budget: BudgetStatus, min_events: float = MIN_EVENTS,
                   min_elapsed_share: float = MIN_ELAPSED_SHARE) -> str:
    """Why ``budget`` stands on too little data for the policy, or "" when it has enough."""
    missing = []
    if budget.total < min_events:
        missing.append(f"{budget.total:,.0f} events of the {min_events:,.0f} needed")
    if budget.elapsed_share < min_elapsed_share:
        missing.append(f"{budget.elapsed_share:.2%} of the period observed of the "
                       f"{min_elapsed_share:.2%} needed")
    return " and ".join(missing)


def _check_minimums(min_events: float, min_elapsed_share: float) -> None:
    if not math.isfinite(min_events) or min_events < 0:
        raise ValueError(f"min_events must be a finite number >= 0, got {min_events!r}; "
                         f"the default is {MIN_EVENTS}")
    if not 0 <= min_elapsed_share <= 1:
        raise ValueError(f"min_elapsed_share must be within [0, 1], got "
                         f"{min_elapsed_share!r}; the default is {MIN_ELAPSED_SHARE}")


def evaluate(budgets: Sequence[BudgetStatus], incidents: Sequence[Incident], now: float, *,
             min_events: float = MIN_EVENTS,
             min_elapsed_share: float = MIN_ELAPSED_SHARE) -> list[PolicyDecision]:
    """Per service: ``insufficient_data`` for each budget below the minimums (see the module
    docstring), then one verdict (freeze or allow, deploys and chaos) on the others, and
    deploy exceptions; postmortems last."""
    _check_minimums(min_events, min_elapsed_share)
    out: list[PolicyDecision] = []
    services = sorted({b.service for b in budgets} | {i.service for i in incidents})
    for svc in services:
        mine = [b for b in budgets if b.service == svc]
        short = {b.slo_id: why for b in mine
                 if (why := data_shortfall(b, min_events, min_elapsed_share))}
        out += [PolicyDecision(DecisionKind.INSUFFICIENT_DATA, svc,
                               f"{slo_id}: insufficient data ({why}); the policy does not act "
                               "on this budget yet", now, slo_id)
                for slo_id, why in short.items()]
        exhausted = [b for b in mine if b.exhausted and b.slo_id not in short]
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
            if short:
                reason = (f"every error budget with enough data has some left; {len(short)} "
                          f"of {len(mine)} have insufficient data")
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
