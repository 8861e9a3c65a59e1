"""Pure domain arithmetic: contributions, the profit split, rankings, the seed plan."""

from __future__ import annotations

from collections import Counter
from importlib import resources

import pytest

from core_api import profit
from core_api.contributions import ContributionPolicy, allocate
from core_api.countries import countries_in_region, get_country, load_countries
from core_api.errors import (
    ConfigurationError,
    InvalidFieldError,
    MisdirectedError,
    NotFoundError,
)
from core_api.rankings import RankedValue, rank
from core_api.regions import REGION_CODES, REGIONS, default_port, get_region
from core_api.residency import require_home, require_stays_home
from core_api.sectors import Sector
from core_api.seed_plan import PROJECTS_PER_REGION, plan_projects


def test_reference_counts_are_195_countries_6_regions_6_sectors() -> None:
    countries = load_countries()
    assert len(countries) == 195
    assert len({c.iso3 for c in countries}) == 195
    assert len(REGIONS) == 6 and REGION_CODES == ("ams", "iad", "syd", "sin", "sfo", "jnb")
    assert len(Sector) == 6
    per_region = Counter(c.home_region for c in countries)
    assert per_region == {"ams": 82, "jnb": 39, "iad": 27, "sin": 26, "syd": 11, "sfo": 10}


def test_country_values_come_from_the_csv_unchanged() -> None:
    fra = get_country("fra")
    assert (fra.iso2, fra.numeric, fra.capital, fra.home_region) == ("FR", "250", "Paris", "ams")
    assert fra.gdp_usd == 3030904089608 and fra.eu_member
    assert get_country("PRK").gdp_usd is None and get_country("VAT").population is None


def test_attribution_ships_with_the_data() -> None:
    data = resources.files("core_api").joinpath("data")
    readme = data.joinpath("README.md").read_text("utf-8")
    for name in ("ODbL", "World Bank", "GeoNames", "Natural Earth", "mledoze/countries"):
        assert name in readme
    assert "commit" in data.joinpath("SOURCES.md").read_text("utf-8")


def test_unknown_codes_name_the_fix() -> None:
    with pytest.raises(NotFoundError, match="ISO 3166-1 alpha-3"):
        get_country("XYZ")
    with pytest.raises(NotFoundError, match="ams, iad"):
        get_region("lhr")
    assert default_port("ams") == 8101 and default_port("jnb") == 8106


def test_contributions_add_up_to_the_fund_and_follow_gdp() -> None:
    policy = ContributionPolicy(annual_fund_usd=1_000, floor_usd=10)
    result = allocate([("A", 300), ("B", 100), ("C", None), ("D", 0)], policy)
    assert sum(c.amount_usd for c in result.values()) == 1_000
    assert result["C"].amount_usd == result["D"].amount_usd == 10
    assert result["C"].basis == "floor" and result["A"].basis == "gdp_share"
    # The rest (980) is split 3:1 by GDP: 735 and 245.
    assert (result["A"].amount_usd, result["B"].amount_usd) == (735, 245)
    assert result["A"].share == pytest.approx(0.735)


def test_rounding_leftovers_go_to_the_largest_remainders() -> None:
    result = allocate([("A", 1), ("B", 1), ("C", 1)], ContributionPolicy(100, 0))
    assert sorted(c.amount_usd for c in result.values()) == [33, 33, 34]
    assert result["A"].amount_usd == 34  # tie broken by code, deterministically


def test_real_countries_contributions_sum_exactly() -> None:
    policy = ContributionPolicy(10_000_000_000, 1_000_000)
    result = allocate(((c.iso3, c.gdp_usd) for c in load_countries()), policy)
    assert len(result) == 195
    assert sum(c.amount_usd for c in result.values()) == 10_000_000_000
    assert result["PRK"].amount_usd == result["VAT"].amount_usd == 1_000_000
    assert result["USA"].amount_usd > result["CHN"].amount_usd > result["DEU"].amount_usd


def test_a_fund_smaller_than_the_floors_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="contribution_fund_usd"):
        allocate([("A", None), ("B", None)], ContributionPolicy(annual_fund_usd=5, floor_usd=3))


@pytest.mark.parametrize(
    ("amount", "host", "contributors", "reinvestment"),
    [(100, 50, 30, 20), (1_000_001, 500_000, 300_000, 200_001), (7, 3, 2, 2), (0, 0, 0, 0),
     (-50, 0, 0, 0)],
)
def test_profit_split_is_50_30_20_and_exact(
    amount: int, host: int, contributors: int, reinvestment: int
) -> None:
    s = profit.split(amount)
    assert (s.host_country_usd, s.contributors_usd, s.reinvestment_usd) == (
        host, contributors, reinvestment)
    assert s.host_country_usd + s.contributors_usd + s.reinvestment_usd == s.profit_usd


def test_group_split_is_the_split_of_the_sum() -> None:
    assert profit.split_total([100, 200, -30]) == profit.split(300)


def test_rankings_share_ranks_on_ties_and_skip_unknown_values() -> None:
    ranked = rank([("B", 5), ("A", 5), ("C", 9), ("D", None), ("E", 1)])
    assert ranked == [RankedValue(1, "C", 9), RankedValue(2, "A", 5), RankedValue(2, "B", 5),
                      RankedValue(4, "E", 1)]


@pytest.mark.parametrize("region", REGION_CODES)
def test_seed_plan_is_deterministic_and_spread(region: str) -> None:
    countries = countries_in_region(region)
    first, second = plan_projects(region, countries), plan_projects(region, countries)
    assert first == second
    assert len(first) == max(PROJECTS_PER_REGION, len(countries)) >= 50
    per_sector = Counter(p.sector for p in first)
    assert set(per_sector) == set(Sector) and max(per_sector.values()) - min(
        per_sector.values()) <= 1
    assert {p.country for p in first} == {c.iso3 for c in countries}
    assert all(0 <= p.progress <= 100 and p.budget_usd > 0 for p in first)


def test_seed_plans_differ_between_regions_and_total_at_least_300() -> None:
    plans = {r: plan_projects(r, countries_in_region(r)) for r in REGION_CODES}
    assert sum(len(p) for p in plans.values()) == 82 + 5 * 60
    assert plans["ams"][0].budget_usd != plans["iad"][0].budget_usd


def test_residency_names_the_field_and_the_right_region() -> None:
    require_home("ams", "FRA")
    with pytest.raises(MisdirectedError, match="lives in region iad") as info:
        require_home("ams", "USA")
    assert (info.value.field, info.value.home_region) == ("country", "iad")
    with pytest.raises(InvalidFieldError, match="not an ISO"):
        require_home("ams", "ZZZ")
    require_stays_home("ams", "DEU", "project")
    with pytest.raises(InvalidFieldError, match="cannot move to another region") as moved:
        require_stays_home("ams", "USA", "project")
    assert moved.value.field == "country" and "iad" in str(moved.value)
