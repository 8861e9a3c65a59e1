"""Simulate an incident against an SLO's generated rules, minute by minute.

The emulator evaluates what the generated rules compute, the way Prometheus 2.x does it
(``rate`` with its extrapolation, ``avg_over_time``, ``sum_over_time`` in order, ``for:``
pending), over synthetic input series for the native SLI kinds. The same series go into a
promtool test, so promtool itself confirms each predicted detection and reset time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kernel.matchers import Matcher, matches_all
from slo.burn import Severity, alert_windows, rule_windows
from slo.errors import SloError
from slo.model import SLO, SliKind
from slo.promfn import STEP, Ratio, SliceSeries, prom_avg_over_time, prom_rate, ratio_div
from slo.rules import fmt

_CANDIDATES = ("500", "503", "200", "error", "ok", "true", "false", "1", "0")

class SimulationError(SloError):
    """The SLO cannot be simulated (e.g. a Sloth events/raw SLI with arbitrary queries)."""


@dataclass(frozen=True)
class Scenario:
    error_ratio: float
    start: int  # seconds after t=0 when errors begin (the clean warm-up before)
    duration: int
    horizon: int  # last evaluation, seconds
    requests_per_step: float = 1000.0

    def bad_step(self, i: int) -> bool:
        """Traffic of sample i covers ((i-1)*STEP, i*STEP]: bad inside the incident."""
        return i >= 1 and self.start <= (i - 1) * STEP and i * STEP <= self.start + self.duration


@dataclass(frozen=True)
class SimSeries:
    name: str
    labels: dict[str, str]
    values: tuple[float, ...]

    def promql(self) -> str:
        inner = ", ".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"{self.name}{{{inner}}}"


@dataclass(frozen=True)
class AlertTiming:
    alert: str
    severity: str
    detected_at: int | None  # seconds, first eval where it fires
    reset_at: int | None  # first eval after detection where it no longer fires


@dataclass
class SimResult:
    slo: SLO
    scenario: Scenario
    series: tuple[SimSeries, ...]
    firing: dict[str, list[bool]] = field(default_factory=dict)  # rule key -> per eval
    timings: list[AlertTiming] = field(default_factory=list)
    budget_spent: float = 0.0

    def firing_at(self, key: str, t: int) -> bool:
        return self.firing[key][t // STEP]


def _concrete(matchers: tuple[Matcher, ...], extra: tuple[Matcher, ...] = ()) -> dict[str, str]:
    labels: dict[str, str] = {}
    for m in (*matchers, *extra):
        if m.op == "=":
            labels[m.name] = m.value
    for m in (*matchers, *extra):
        if m.op == "=~" and m.name not in labels:
            pick = next((c for c in _CANDIDATES if m.matches({m.name: c})), None)
            if pick is None:
                raise SimulationError(f"cannot invent a value for {m.render()}; use = matchers")
            labels[m.name] = pick
    return labels


def build_series(slo: SLO, sc: Scenario) -> tuple[SimSeries, ...]:
    n = sc.horizon // STEP + 1
    sli, r = slo.sli, sc.requests_per_step
    if sli.kind is SliKind.AVAILABILITY:
        vals = tuple(1.0 - sc.error_ratio if sc.bad_step(i + 1) else 1.0 for i in range(n))
        return (SimSeries(sli.metric, _concrete(sli.selector), vals),)
    bad, good, cum_bad, cum_all = [], [], 0.0, 0.0
    for i in range(n):
        if i:
            e = sc.error_ratio if sc.bad_step(i) else 0.0
            cum_bad += r * e
            cum_all += r
        bad.append(cum_bad)
        good.append(cum_all - cum_bad)
    if sli.kind is SliKind.RATIO:
        err_l = _concrete(sli.selector, sli.error_selector)
        ok_l = dict(err_l)
        for m in sli.error_selector:
            ok_l[m.name] = next((c for c in _CANDIDATES if not m.matches({m.name: c})), "ok")
        if not matches_all(sli.selector, ok_l) or matches_all(sli.error_selector, ok_l):
            raise SimulationError(f"cannot build a good series for {slo.id}")
        return (SimSeries(sli.metric, ok_l, tuple(good)), SimSeries(sli.metric, err_l, tuple(bad)))
    if sli.kind is SliKind.LATENCY:
        base = _concrete(sli.selector)
        inf = tuple(g + b for g, b in zip(good, bad, strict=True))
        return (SimSeries(sli.metric, {**base, "le": "+Inf"}, inf),
                SimSeries(sli.metric, {**base, "le": sli.threshold}, tuple(good)))
    raise SimulationError(f"{slo.id}: {sli.kind} SLIs use arbitrary queries; simulate supports "
                          "the native ratio, latency and availability kinds")


def _ratio_fns(slo: SLO, series: tuple[SimSeries, ...]) -> tuple[
        Callable[[int, int], Ratio], Callable[[int, int], tuple[Ratio, Ratio]] | None]:
    kind = slo.sli.kind
    if kind is SliKind.AVAILABILITY:
        g = series[0].values
        runs = [0]
        for i in range(1, len(g)):
            runs.append(runs[-1] if g[i] == g[i - 1] else i)
        run_start = tuple(runs)

        def avail(t: int, w: int) -> Ratio:
            m = prom_avg_over_time(g, t, w, run_start)
            return None if m is None else 1 - m
        return avail, None
    if kind is SliKind.RATIO:
        ok, bad = series[0].values, series[1].values

        def events(t: int, w: int) -> tuple[Ratio, Ratio]:
            e, o = prom_rate(bad, t, w), prom_rate(ok, t, w)
            total = None if e is None or o is None else o + e
            return (0.0 if e is None else e), total
    else:
        inf, fast = series[0].values, series[1].values

        def events(t: int, w: int) -> tuple[Ratio, Ratio]:
            a, b = prom_rate(inf, t, w), prom_rate(fast, t, w)
            return (None if a is None or b is None else a - b), a

    def ratio(t: int, w: int) -> Ratio:
        return ratio_div(*events(t, w))
    return ratio, events


Condition = Callable[[dict[int, Ratio], Ratio], bool]


def _conditions(slo: SLO) -> dict[str, tuple[int, Condition]]:
    """Each enabled alert: its ``for:`` and its expression over (window ratios, period)."""
    wins = alert_windows(slo.period)
    short = rule_windows(slo.period)[0]
    eb = float(fmt(slo.error_budget))
    eb_meta = 1 - float(fmt(slo.objective_ratio))  # vector(1-<objective>) in the meta rules

    def mwmb(quick_i: int) -> Condition:
        def cond(r: dict[int, Ratio], _: Ratio) -> bool:
            return any(_over(r[w.short_seconds], w.factor, eb)
                       and _over(r[w.long_seconds], w.factor, eb)
                       for w in wins[quick_i:quick_i + 2])
        return cond

    rules: dict[str, tuple[int, Condition]] = {}
    if not slo.page.disable:
        rules["page"] = (slo.page.for_seconds, mwmb(0))
    if not slo.ticket.disable:
        rules["ticket"] = (slo.ticket.for_seconds, mwmb(2))
    if not slo.exhausted.disable:
        rules["exhausted"] = (slo.exhausted.for_seconds,
                              lambda _r, p: p is not None and 1 - p / eb_meta <= 0)
    if not slo.no_data.disable:
        rules["no_data"] = (slo.no_data.for_seconds, lambda r, _p: r[short] is None)
    return rules


def simulate(slo: SLO, sc: Scenario) -> SimResult:
    """Evaluate every generated alert of ``slo`` at each STEP up to the horizon."""
    if sc.horizon >= slo.period.seconds:
        raise SimulationError("the horizon must be shorter than the SLO period")
    series = build_series(slo, sc)
    ratio, events = _ratio_fns(slo, series)
    res = SimResult(slo, sc, series)
    rules = _conditions(slo)
    short = rule_windows(slo.period)[0]
    active: dict[str, int | None] = {k: None for k in rules}
    res.firing = {k: [] for k in rules}
    sums = [0.0, 0.0, 0]  # period numerator, denominator, sample count (running, in order)
    slices = SliceSeries(slo, ratio) if slo.timeslice is not None else None
    for t in range(0, sc.horizon + 1, STEP):
        if slices is not None:
            r = slices.step(t)
            period = slices.period
        else:
            r = {w: ratio(t, w) for w in rule_windows(slo.period)[:-1]}
            period = _period(sums, r[short], events(t, short) if events else None)
        for key, (for_s, cond) in rules.items():
            if cond(r, period):
                start = active[key]
                active[key] = t if start is None else start
                res.firing[key].append(t - (active[key] or 0) >= for_s)
            else:
                active[key] = None
                res.firing[key].append(False)
    res.timings = [_timing(slo, k, v) for k, v in res.firing.items()]
    res.budget_spent = _spent(slo, sc, series)
    return res


def _over(r: Ratio, factor: float, eb: float) -> bool:
    return r is not None and r > float(fmt(factor)) * eb


def _period(sums: list[float], short: Ratio, ev: tuple[Ratio, Ratio] | None) -> Ratio:
    if ev is not None:  # traffic-weighted: running sums of the 5m event-rate records
        err, total = ev
        if err is not None:
            sums[0] += err
        if total is not None:
            sums[1] += total
            sums[2] += 1
        return sums[0] / max(sums[1], 1e-300) if sums[2] else None
    if short is not None:
        sums[0] += short
        sums[2] += 1
    return sums[0] / sums[2] if sums[2] else None


def _timing(slo: SLO, key: str, firing: list[bool]) -> AlertTiming:
    names = {"page": (slo.page.name, Severity.PAGE), "ticket": (slo.ticket.name, Severity.TICKET),
             "exhausted": (slo.exhausted.name, "ticket"), "no_data": (slo.no_data.name, "ticket")}
    name, sev = names[key]
    det = next((i for i, f in enumerate(firing) if f), None)
    reset = None if det is None else next(
        (i for i in range(det, len(firing)) if not firing[i]), None)
    return AlertTiming(name, str(sev),
                       None if det is None else det * STEP, None if reset is None else reset * STEP)


def _spent(slo: SLO, sc: Scenario, series: tuple[SimSeries, ...]) -> float:
    """Share of the period's budget the incident spent, at steady traffic."""
    bad_steps = sum(1 for i in range(sc.horizon // STEP + 1) if sc.bad_step(i))
    budget_steps = slo.error_budget * slo.period.seconds / STEP
    return bad_steps * sc.error_ratio / budget_steps if budget_steps > 0 else 0.0
