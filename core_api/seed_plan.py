"""The deterministic seed: which projects each region starts with. Pure; ``seed`` writes it.

Every region gets ``PROJECTS_PER_REGION`` projects, or one per country where it has more
countries (ams: 82), dealt round-robin over the six sectors and over that region's countries
(so every sector and every country gets projects), with budgets,
beneficiaries and progress drawn from a PRNG seeded by the region code: the same region always
gets the same projects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core_api.countries import Country
from core_api.project_status import ProjectStatus
from core_api.sectors import Sector

PROJECTS_PER_REGION = 60
SEED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

_KINDS: dict[Sector, tuple[str, ...]] = {
    Sector.AGRICULTURE: ("Irrigation scheme", "Grain storage", "Farm cooperative", "Seed bank"),
    Sector.MINERALS: ("Lithium refinery", "Mine tailings clean-up", "Copper smelter", "Quarry"),
    Sector.ENERGY: ("Solar farm", "Wind park", "Grid battery", "Geothermal plant"),
    Sector.WATER: ("Desalination plant", "Water mains", "Sanitation network", "Reservoir"),
    Sector.INFRASTRUCTURE: ("Port expansion", "Rail link", "Bridge", "Hospital"),
    Sector.TECHNOLOGY: ("Fibre backbone", "Data centre", "Digital ID service", "Tech campus"),
}
# Profit as a share of budget at full progress; decides seeded profit only.
_MARGIN_PERCENT: dict[Sector, int] = {
    Sector.AGRICULTURE: 8, Sector.MINERALS: 18, Sector.ENERGY: 12,
    Sector.WATER: 6, Sector.INFRASTRUCTURE: 7, Sector.TECHNOLOGY: 15,
}


@dataclass(frozen=True, slots=True)
class ProjectSeed:
    name: str
    country: str
    sector: Sector
    budget_usd: int
    status: ProjectStatus
    beneficiaries: int
    progress: int
    profit_usd: int
    created_at: datetime


def plan_projects(region: str, countries: tuple[Country, ...]) -> list[ProjectSeed]:
    """The seeded projects of ``region`` over its ``countries``."""
    rng = random.Random(f"covenant-seed-{region}")
    sectors = list(Sector)
    return [
        _project(rng, i, sectors[i % len(sectors)], countries[i % len(countries)])
        for i in range(max(PROJECTS_PER_REGION, len(countries)))
    ]


def _project(rng: random.Random, i: int, sector: Sector, country: Country) -> ProjectSeed:
    budget = rng.randrange(1_000, 500_000) * 1_000
    progress = rng.choice((0, 0, 10, 25, 40, 55, 70, 85, 100, 100))
    status = _status_for(progress, cancelled=rng.random() < 0.05)
    profit = budget * _MARGIN_PERCENT[sector] * progress // 10_000
    return ProjectSeed(
        name=f"{rng.choice(_KINDS[sector])} {country.capital} #{i + 1}",
        country=country.iso3, sector=sector, budget_usd=budget, status=status,
        beneficiaries=rng.randrange(500, 2_000_000), progress=progress, profit_usd=profit,
        created_at=SEED_EPOCH + timedelta(days=i * 3, hours=rng.randrange(24)),
    )


def _status_for(progress: int, cancelled: bool) -> ProjectStatus:
    if cancelled:
        return ProjectStatus.CANCELLED
    if progress == 0:
        return ProjectStatus.PLANNED
    return ProjectStatus.COMPLETED if progress == 100 else ProjectStatus.ACTIVE
