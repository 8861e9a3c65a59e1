"""Reading PromQL (selectors, their ranges and functions) and substituting variables."""

from __future__ import annotations

import pytest

from dashboards.errors import DashboardError
from dashboards.promql import metric_names, selectors
from dashboards.variables import names, substitute


def test_selectors_with_matchers_ranges_and_functions() -> None:
    found = selectors('sum by (region) (rate(http_requests_total{region=~"$region", '
                      'status=~"5.."}[$__rate_interval])) / on (home) group_left '
                      "max(up) by (job)")
    assert [(s.metric, s.range, s.function) for s in found] == [
        ("http_requests_total", "$__rate_interval", "rate"), ("up", "", "max")]
    assert found[0].matcher("region") == ("=~", "$region")
    assert found[0].matcher("job") is None


@pytest.mark.parametrize(("expr", "expected"), [
    ("histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m])))", {"x_bucket"}),
    ('{__name__=~"slo:sli_error:ratio_rate.+", a="b"} / ignoring(w) group_left y', {
        "slo:sli_error:ratio_rate.+", "y"}),
    ("sum(a > bool 0) or vector(0)", {"a"}),
    ("count_values without (x) (\"v\", b)", {"b"}),
])
def test_metric_names(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


@pytest.mark.parametrize("expr", ["sum(rate(x[1m])", "x{a=\"b\"", "x{a=\"b}"])
def test_broken_expressions_are_errors(expr: str) -> None:
    with pytest.raises(DashboardError, match="fix the expression"):
        selectors(expr)


def test_substitute_every_syntax_and_the_builtins() -> None:
    text = 'rate(x{r=~"$region", s="${service}", t="[[team]]"}[$__rate_interval])'
    assert names(text) == {"region", "service", "team", "__rate_interval"}
    assert substitute(text, {"region": ".+", "service": "core-api", "team": "sre"}) == \
        'rate(x{r=~".+", s="core-api", t="sre"}[1m])'


def test_an_unknown_variable_is_named() -> None:
    with pytest.raises(DashboardError, match=r"variable \$slo .* has no value"):
        substitute('x{s="$slo"}', {})
