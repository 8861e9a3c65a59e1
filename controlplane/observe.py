"""Observe: probe /live, /ready, /health and scrape /metrics of every region concurrently,
each with a timeout, and reduce what came back to one frozen RegionObservation per region:
probe status and latency, and from the scrape the requests, 5xx, request rate and the
users' p99 latency since the previous scrape, and whether its Redis and NATS answer.

The network sits behind the injected ``httpx.AsyncBaseTransport`` (the lean ProbeTransport
in use, MockTransport or ASGITransport in tests), called directly: a probe needs none of
the client's layers (cookies, redirects, auth), which cost ~3 ms of CPU per pass.
``clock`` stamps the cycle, ``timer`` measures probe latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from controlplane.desired import DesiredState, Region
from controlplane.histogram import Buckets, bucket_counts, bucket_deltas, quantile
from controlplane.observation import ProbeStatus, RegionObservation
from core_api import contract
from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.exposition import ExpositionError, Sample, parse_exposition

log = logging.getLogger(__name__)

PROBE_PATHS: tuple[str, ...] = contract.PROBE_PATHS
REQUESTS_METRIC = contract.REQUESTS_TOTAL
# What a scrape is read for, parsed once: requests and 5xx, the users' latency histogram, and
# the SLI series the SLO tracker takes from the same samples (``on_scrape``).
SCRAPED_METRICS: tuple[str, ...] = (contract.REQUESTS_TOTAL, contract.DURATION_BUCKET,
                                    contract.DURATION_COUNT, contract.CACHE_UP,
                                    contract.EVENT_BUS_UP)
ScrapeHook = Callable[[str, Sequence[Sample], float], None]  # (region, samples, cycle time)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    path: str
    ok: bool
    latency_s: float
    problem: str          # "" when ok
    connect_failed: bool  # nothing answered at all (refused, connect timeout)


class Observer:
    def __init__(self, desired: DesiredState, transport: httpx.AsyncBaseTransport,
                 clock: Clock = SYSTEM_CLOCK,
                 timer: Callable[[], float] = time.perf_counter,
                 on_scrape: ScrapeHook | None = None) -> None:
        self._desired = desired
        self._transport = transport
        self._clock = clock
        self._timer = timer
        self._on_scrape = on_scrape  # e.g. the SLO budgets' tracker
        self._last: dict[str, Scrape] = {}  # region -> its previous scrape, to diff against

    async def observe(
        self, healthy: frozenset[str] = frozenset()
    ) -> dict[str, RegionObservation]:
        """One cycle: every region at once; never raises for a region's failure.

        For a region in ``healthy`` the only question is whether it is still good, so its
        cycle ends as soon as the median probe is known to be slower than the policy's slow
        threshold, instead of waiting for the slow answers (a sick region gets full probes,
        so its verdict carries the real latency and tells a hung region from a slow one).
        """
        at = self._clock.time()
        cutoff = self._desired.health.slow_latency_s
        snapshots = await asyncio.gather(*(
            self._region(r, at, cutoff if r.name in healthy else None)
            for r in self._desired.regions))
        return {s.region: s for s in snapshots}

    async def _region(self, region: Region, at: float,
                      cutoff: float | None = None) -> RegionObservation:
        results, scrape = await self._gather(region.endpoint, cutoff)
        since = NO_INTERVAL
        cache_up = bus_up = None
        if scrape is not None:
            samples = scrape_samples(scrape)
            cache_up, bus_up = gauge_up(samples, contract.CACHE_UP), \
                gauge_up(samples, contract.EVENT_BUS_UP)
            current = Scrape.of(samples, at)
            since = interval(self._last.get(region.name), current)
            self._last[region.name] = current
            if self._on_scrape is not None:
                self._on_scrape(region.name, samples, at)
        status, latency, detail = summarise(results)
        return RegionObservation(region.name, at, status, latency, since.requests,
                                 since.errors, scrape is not None, detail, since.rate,
                                 since.p99_s, cache_up, bus_up)

    async def _gather(self, base: str,
                      cutoff: float | None) -> tuple[list[ProbeResult], str | None]:
        start = self._timer()
        probes = [asyncio.ensure_future(self._probe(base, p)) for p in PROBE_PATHS]
        scrape = asyncio.ensure_future(self._scrape(base))
        if cutoff is not None:
            await asyncio.wait(probes, timeout=cutoff)
            pending = [t for t in probes if not t.done()]
            if len(pending) > len(probes) // 2:  # the median probe is slower than the cutoff
                for task in (*pending, scrape):
                    task.cancel()
                await asyncio.gather(*pending, scrape, return_exceptions=True)
                waited = max(self._timer() - start, cutoff + 0.001)
                return [t.result() if not t.cancelled() else
                        ProbeResult(path, True, waited, "", False)
                        for path, t in zip(PROBE_PATHS, probes, strict=True)], None
        results = list(await asyncio.gather(*probes))
        return results, await scrape

    async def _probe(self, base: str, path: str) -> ProbeResult:
        timeout = self._desired.probe.timeout_s
        start = self._timer()
        try:
            response = await self._get(base + path, timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return ProbeResult(path, False, self._timer() - start,
                               f"connect failed ({type(exc).__name__})", True)
        except httpx.TimeoutException:
            return ProbeResult(path, False, self._timer() - start,
                               f"timed out after {timeout:g} s", True)
        except httpx.TransportError as exc:
            # Accepted, then reset or garbled: the region answers but cannot serve.
            return ProbeResult(path, False, self._timer() - start,
                               f"failed mid-request ({type(exc).__name__})", False)
        latency = self._timer() - start
        if response.is_success:
            return ProbeResult(path, True, latency, "", False)
        return ProbeResult(path, False, latency, f"answered {response.status_code}", False)

    async def _scrape(self, base: str) -> str | None:
        try:
            response = await self._get(base + "/metrics", self._desired.probe.scrape_timeout_s)
        except httpx.HTTPError:
            return None
        return response.text if response.is_success else None

    async def _get(self, url: str, timeout: float) -> httpx.Response:
        limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        request = httpx.Request("GET", url, extensions={"timeout": limits})
        response = await self._transport.handle_async_request(request)
        await response.aread()
        return response


def summarise(results: Sequence[ProbeResult]) -> tuple[ProbeStatus, float | None, str]:
    """Status, latency and the one-line detail of a region's probes (``/live`` first).

    Unreachable when ``/live`` could not connect; not ready when any probe failed
    otherwise. The latency is the median probe: a latency fault slows all three, a
    scheduling hiccup only one."""
    live = results[0]
    failed = [r for r in results if not r.ok]
    if not live.ok and live.connect_failed:
        status = ProbeStatus.UNREACHABLE
    elif failed:
        status = ProbeStatus.NOT_READY
    else:
        status = ProbeStatus.UP
    latency = None if status is ProbeStatus.UNREACHABLE else \
        sorted(r.latency_s for r in results)[len(results) // 2]
    problems = {r.problem for r in failed}
    if len(failed) == len(results) and len(problems) == 1:
        detail = f"every probe {problems.pop()}"
    else:
        detail = "; ".join(f"{r.path} {r.problem}" for r in failed)
    return status, latency, detail


@dataclass(frozen=True, slots=True)
class Scrape:
    """What one /metrics scrape said, cumulative: what the next one is diffed against."""

    at: float
    total: float   # http_requests_total, all series
    errors: float  # of which 5xx
    buckets: Buckets  # users' request durations (see controlplane.histogram)

    @classmethod
    def of(cls, samples: Sequence[Sample], at: float) -> Scrape:
        total, errors = count_requests(samples)
        return cls(at, total, errors, bucket_counts(samples))


@dataclass(frozen=True, slots=True)
class Interval:
    """What happened between two scrapes of a region."""

    requests: int
    errors: int
    rate: float | None  # requests per second (the anomaly detector's traffic series)
    p99_s: float | None  # the users' p99 latency


NO_INTERVAL = Interval(0, 0, None, None)


def interval(previous: Scrape | None, current: Scrape) -> Interval:
    """Requests, 5xx, rate and p99 since ``previous``; nothing without one. A counter that
    went down means the region restarted: its requests count from zero, as Prometheus does."""
    if previous is None:
        return NO_INTERVAL
    requests, errors = current.total - previous.total, current.errors - previous.errors
    if requests < 0 or errors < 0:
        requests, errors = current.total, current.errors
    seconds = current.at - previous.at
    return Interval(int(requests), int(errors), requests / seconds if seconds > 0 else None,
                    quantile(0.99, bucket_deltas(current.buckets, previous.buckets)))


def scrape_samples(text: str) -> tuple[Sample, ...]:
    """The series a scrape is read for; an unparsable scrape counts as no data."""
    try:
        return parse_exposition(text, SCRAPED_METRICS)
    except ExpositionError as exc:
        log.debug("unparsable /metrics: %s", exc)
        return ()


def gauge_up(samples: Sequence[Sample], name: str) -> bool | None:
    """A 0/1 up gauge of the scrape: None when the region exports none (the dependency is
    not configured there), False when any of its series says 0."""
    values = [s.value for s in samples if s.name == name]
    return min(values) >= 1 if values else None


def count_requests(samples: Sequence[Sample]) -> tuple[float, float]:
    """Sum ``http_requests_total`` over all series, and over those with a 5xx status."""
    total = errors = 0.0
    for sample in samples:
        if sample.name != REQUESTS_METRIC:
            continue
        total += sample.value
        if sample.label("status").startswith("5"):
            errors += sample.value
    return total, errors
