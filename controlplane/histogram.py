"""Request-latency quantiles from a region's scraped duration histogram, between two scrapes.

Pure functions: ``bucket_counts`` sums the cumulative buckets of
``http_request_duration_seconds`` out of a scrape's samples (summed over routes, methods and
statuses, leaving out the probe and scrape routes so the figure is what users were served),
``bucket_deltas`` turns two scrapes into the requests of the interval, and ``quantile``
interpolates inside a bucket the way PromQL's ``histogram_quantile`` does.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping

from core_api import contract
from kernel.exposition import Sample

# Probes and scrapes are the control plane's own traffic: keep them out of the users' p99.
NOT_USER_ROUTES: frozenset[str] = contract.NOT_USER_ROUTES

Buckets = dict[float, float]  # upper bound (le, +Inf included) -> cumulative count


def bucket_counts(samples: Iterable[Sample],
                  exclude_routes: Collection[str] = NOT_USER_ROUTES) -> Buckets:
    """Cumulative count per ``le`` summed over every series of the duration histogram."""
    buckets: Buckets = {}
    for sample in samples:
        if sample.name != contract.DURATION_BUCKET:
            continue
        le = sample.labels.get("le")
        if le is None or sample.labels.get("route") in exclude_routes:
            continue
        try:
            bound = float(le)
        except ValueError:
            continue  # a garbled bound: skip it, as an unparsable scrape counts as no data
        buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def bucket_deltas(current: Mapping[float, float], previous: Mapping[float, float] | None
                  ) -> Buckets:
    """Counts of the interval; a bucket that went down means a restart, counted from zero."""
    if previous is None:
        return {}
    deltas = {le: count - previous.get(le, 0.0) for le, count in current.items()}
    if any(d < 0 for d in deltas.values()):
        return dict(current)
    return deltas


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """``histogram_quantile(q, …)`` over cumulative ``buckets``; None without observations.

    Linear interpolation inside the bucket holding the rank, from 0 for the first bucket;
    a rank in the +Inf bucket answers the highest finite bound, as PromQL does.
    """
    bounds = sorted(buckets)
    if not bounds or not math.isinf(bounds[-1]):
        return None
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound
