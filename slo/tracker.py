"""Live SLIs and budgets from counter samples over time (the control plane's embedded path).

The control plane calls :meth:`BudgetTracker.ingest` once per reconcile cycle with each
region's parsed samples (direct scrapes, or Prometheus instant queries -- the same
:class:`~slo.metrics_source.Sample` tuples) and then :meth:`BudgetTracker.status` with ``now``.
Counters are turned into per-series increases with Prometheus' reset rule (a drop means the
counter restarted from zero) and summed per SLO into cumulative bad/total events, so any window
is two bisects. A series seen for the first time is a baseline, as in Prometheus.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kernel.exposition import MetricsSource, Sample
from kernel.matchers import matches_all
from slo.budget import BudgetStatus, budget_status, window_burn
from slo.burn import rule_windows
from slo.model import SLO, Budgeting, SliKind

log = logging.getLogger(__name__)
SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]

# Membership roles of one series in one SLO: how its increase counts.
TOTAL, BOTH, FAST, GAUGE = 2, 3, 4, 5


@dataclass
class _Ledger:
    """Cumulative bad/total events of one SLO at each ingest time (merged per timestamp)."""

    times: list[float] = field(default_factory=list)
    bad: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)

    def add(self, at: float, bad: float, total: float) -> None:
        if self.times and at <= self.times[-1]:
            self.bad[-1] += bad
            self.total[-1] += total
            return
        self.times.append(at)
        self.bad.append((self.bad[-1] if self.bad else 0.0) + bad)
        self.total.append((self.total[-1] if self.total else 0.0) + total)

    def window(self, start: float, end: float) -> tuple[float, float]:
        """Bad and total events in (start, end]."""
        lo, hi = bisect.bisect_right(self.times, start), bisect.bisect_right(self.times, end)
        if hi == 0 or hi <= lo:
            return 0.0, 0.0
        b0 = self.bad[lo - 1] if lo else 0.0
        t0 = self.total[lo - 1] if lo else 0.0
        return self.bad[hi - 1] - b0, self.total[hi - 1] - t0

    def slices(self, start: float, end: float, length: float, bad_ratio: float) -> tuple[int, int]:
        """(bad slices, slices with traffic) of epoch-aligned slices in (start, end]."""
        lo, hi = bisect.bisect_right(self.times, start), bisect.bisect_right(self.times, end)
        buckets: dict[int, list[float]] = {}
        prev_b = self.bad[lo - 1] if lo else 0.0
        prev_t = self.total[lo - 1] if lo else 0.0
        for i in range(lo, hi):
            acc = buckets.setdefault(int(self.times[i] // length), [0.0, 0.0])
            acc[0] += self.bad[i] - prev_b
            acc[1] += self.total[i] - prev_t
            prev_b, prev_t = self.bad[i], self.total[i]
        with_data = [(b, t) for b, t in buckets.values() if t > 0]
        return sum(1 for b, t in with_data if b / t > bad_ratio), len(with_data)

    def observed(self, start: float, end: float) -> float:
        """Seconds of (start, end] since the first ingest (a baseline): 0 before any."""
        if not self.times:
            return 0.0
        return max(end - max(self.times[0], start), 0.0)

    def prune(self, before: float) -> None:
        cut = bisect.bisect_left(self.times, before)
        if cut > 1:
            del self.times[:cut - 1], self.bad[:cut - 1], self.total[:cut - 1]


class BudgetTracker:
    """Ingests samples over time; yields one :class:`BudgetStatus` per SLO."""

    def __init__(self, slos: Sequence[SLO]) -> None:
        self.slos = tuple(slos)
        self._ledgers = [_Ledger() for _ in self.slos]
        self._last: dict[SeriesKey, float] = {}
        self._roles: dict[SeriesKey, tuple[tuple[int, int], ...]] = {}
        self._keep = max((s.period.seconds for s in self.slos), default=0) + 86400

    def _membership(self, key: SeriesKey, s: Sample) -> tuple[tuple[int, int], ...]:
        roles = self._roles.get(key)
        if roles is None:
            roles = tuple((i, r) for i, slo in enumerate(self.slos)
                          if (r := _role(slo, s)) is not None)
            self._roles[key] = roles
        return roles

    def ingest(self, region: str, samples: Iterable[Sample], now: float) -> None:
        acc: dict[int, list[float]] = {}
        for s in samples:
            key = (region, s.name, tuple(sorted(s.labels.items())))
            roles = self._membership(key, s)
            if not roles:
                continue
            prev = self._last.get(key)
            self._last[key] = s.value
            delta = 0.0 if prev is None else (s.value if s.value < prev else s.value - prev)
            for i, role in roles:
                a = acc.setdefault(i, [0.0, 0.0, 0.0])
                if role == GAUGE:
                    a[0] += min(max(1.0 - s.value, 0.0), 1.0)
                    a[1] += 1.0
                elif role == FAST:
                    a[2] += delta
                else:
                    a[1] += delta if role in (TOTAL, BOTH) else 0.0
                    a[0] += delta if role == BOTH else 0.0
        for i, (bad, total, fast) in acc.items():
            if self.slos[i].sli.kind is SliKind.LATENCY:
                bad = max(total - fast, 0.0)
            self._ledgers[i].add(now, bad, total)

    def status(self, now: float) -> list[BudgetStatus]:
        out = []
        for slo, ledger in zip(self.slos, self._ledgers, strict=True):
            ledger.prune(now - self._keep)
            out.append(self._status(slo, ledger, now))
        return out

    def _status(self, slo: SLO, ledger: _Ledger, now: float) -> BudgetStatus:
        start, region = slo.period.start(now), slo.labels.get("region", "")
        burns = tuple(window_burn(w, *ledger.window(now - w, now), slo.objective_ratio)
                      for w in rule_windows(slo.period)[:-1])
        if slo.budgeting is Budgeting.TIMESLICES and slo.timeslice is not None:
            bad_n, total_n = ledger.slices(start, now, slo.timeslice.length_seconds,
                                           1 - slo.timeslice.good_threshold)
            bad, total = float(bad_n), float(total_n)
        else:
            bad, total = ledger.window(start, now)
        return budget_status(slo.id, slo.service, slo.objective_ratio, now, start, bad, total,
                             burns, region, period_s=float(slo.period.seconds),
                             observed_s=ledger.observed(start, now))

    def collect(self, source: MetricsSource, regions: Iterable[str], now: float) -> None:
        """One cycle from a MetricsSource (scrape or Prometheus): ingest every region."""
        for region in regions:
            self.ingest(region, source.collect(region), now)


def _role(slo: SLO, s: Sample) -> int | None:
    sli = slo.sli
    if s.name != sli.metric or not matches_all(sli.selector, s.labels):
        return None
    if sli.kind is SliKind.AVAILABILITY:
        return GAUGE
    if sli.kind is SliKind.RATIO:
        return BOTH if matches_all(sli.error_selector, s.labels) else TOTAL
    if sli.kind is SliKind.LATENCY:
        le = s.labels.get("le", "")
        if le == "+Inf":
            return TOTAL
        return FAST if _same_le(le, sli.threshold) else None
    return None


def _same_le(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b
