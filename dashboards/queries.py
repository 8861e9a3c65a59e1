"""PromQL the dashboards share: RED from the core API's counters and histogram, always over
``$__rate_interval`` so a panel follows Grafana's step and the scrape interval."""

from __future__ import annotations

from dashboards import metrics as m

RATE = "$__rate_interval"
SERVER_ERRORS = 'status=~"5.."'


def rate(metric: str, selector: str) -> str:
    return f"rate({metric}{{{selector}}}[{RATE}])"


def join(*matchers: str) -> str:
    return ", ".join(x for x in matchers if x)


def request_rate(selector: str, by: str) -> str:
    return f"sum by ({by}) ({rate(m.REQUESTS, selector)})"


def error_ratio(selector: str, by: str) -> str:
    """5xx share of requests. A region without a single 5xx yet still gets a 0 series (the
    ``or ... * 0`` branch), not a gap that looks like missing data."""
    errors = f"sum by ({by}) ({rate(m.REQUESTS, join(selector, SERVER_ERRORS))})"
    total = request_rate(selector, by)
    return f"({errors} or {total} * 0)\n/\n{total}"


def p99(selector: str, by: str, scale: str = "") -> str:
    """The 99th percentile of users' request durations (the probes and scrapes left out)."""
    users = join(selector, f'route!~"{m.NOT_USER_ROUTES}"')
    quantile = (f"histogram_quantile(0.99, sum by ({join('le', by)}) "
                f"({rate(m.DURATION_BUCKET, users)}))")
    return f"{scale} * {quantile}" if scale else quantile


def writes(selector: str, by: str) -> str:
    """Committed writes (2xx POST/PUT/PATCH/DELETE on the API, not its chaos switch): each
    commits one event to the outbox."""
    sel = join(selector, 'method=~"POST|PUT|PATCH|DELETE"', 'status=~"2.."',
               'route!~"/_chaos/.*"')
    return request_rate(sel, by)
