"""GDP-based contributions: an annual fund split by GDP share, with a floor for no-GDP countries.

Pure arithmetic in whole US dollars. For a fund ``F``, a floor ``f`` and ``k`` countries without
GDP data:

* each country without GDP contributes ``f``;
* the rest, ``R = F - k*f``, is split over the countries with GDP in proportion to their GDP:
  ``c_i = R * gdp_i / sum(gdp)``, rounded down, and the dollars lost to rounding go one each to
  the largest remainders (largest-remainder method), so the contributions add up to ``F`` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core_api.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class ContributionPolicy:
    annual_fund_usd: int
    floor_usd: int


@dataclass(frozen=True, slots=True)
class Contribution:
    iso3: str
    amount_usd: int
    share: float  # of the whole fund, 0..1
    basis: str  # "gdp_share" or "floor"


def allocate(
    gdp_by_country: Iterable[tuple[str, int | None]], policy: ContributionPolicy
) -> dict[str, Contribution]:
    """Each country's contribution under ``policy``; the amounts add up to the fund exactly."""
    items = list(gdp_by_country)
    with_gdp = [(iso3, gdp) for iso3, gdp in items if gdp is not None and gdp > 0]
    without = [iso3 for iso3, gdp in items if gdp is None or gdp <= 0]
    fund, floor = policy.annual_fund_usd, policy.floor_usd
    rest = fund - floor * len(without)
    if floor < 0 or rest < 0:
        raise ConfigurationError(
            f"contribution_fund_usd={fund} cannot cover contribution_floor_usd={floor} for "
            f"{len(without)} countries without GDP; raise the fund or lower the floor"
        )
    amounts = _largest_remainder(with_gdp, rest)
    result = {iso3: Contribution(iso3, floor, _share(floor, fund), "floor") for iso3 in without}
    for iso3, amount in amounts.items():
        result[iso3] = Contribution(iso3, amount, _share(amount, fund), "gdp_share")
    return result


def _share(amount: int, fund: int) -> float:
    return amount / fund if fund else 0.0


def _largest_remainder(weights: list[tuple[str, int]], total: int) -> dict[str, int]:
    weight_sum = sum(w for _, w in weights)
    if weight_sum == 0:
        return {}
    # Integer arithmetic throughout: GDP sums reach 1e14, beyond exact float cents.
    floors = {key: total * w // weight_sum for key, w in weights}
    remainders = sorted(weights, key=lambda kw: (-(total * kw[1] % weight_sum), kw[0]))
    left = total - sum(floors.values())
    for key, _ in remainders[:left]:
        floors[key] += 1
    return floors
