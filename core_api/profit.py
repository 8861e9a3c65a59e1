"""The 50/30/20 profit split, in whole US dollars.

Of the profit a project makes:

* 50% goes to the **host country**, where the project runs;
* 30% goes to the **contributors**, the countries paying into the fund (pro rata to contribution);
* 20% goes to the **sector reinvestment pool**, which funds the sector's next projects.

Rounding: host and contributor shares are rounded down and the reinvestment pool takes the
remaining dollars, so the three always add up to the profit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

HOST_PERCENT = 50
CONTRIBUTORS_PERCENT = 30
REINVESTMENT_PERCENT = 20


@dataclass(frozen=True, slots=True)
class ProfitSplit:
    profit_usd: int
    host_country_usd: int
    contributors_usd: int
    reinvestment_usd: int


def split(profit_usd: int) -> ProfitSplit:
    """Split one amount 50/30/20; negative profit (a loss) is not distributed."""
    profit = max(profit_usd, 0)
    host = profit * HOST_PERCENT // 100
    contributors = profit * CONTRIBUTORS_PERCENT // 100
    return ProfitSplit(profit, host, contributors, profit - host - contributors)


def split_total(profits: Iterable[int]) -> ProfitSplit:
    """The split of a group of projects' profits (a sector, a country): split of the sum."""
    return split(sum(max(p, 0) for p in profits))
