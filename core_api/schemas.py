"""Request and response models of the REST API (``Create``/``Update``/``Public`` naming)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core_api.ids import ID_EXAMPLE, ID_PATTERN
from core_api.project_status import ProjectStatus
from core_api.sectors import Sector


def _printable(value: str) -> str:
    # NUL and other control characters are rejected here: PostgreSQL refuses NUL in text.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored timestamp is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
Iso3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["FRA"])]
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN, examples=["ada@example.org"])]
Usd = Annotated[int, Field(ge=0, le=10**13, description="Whole US dollars.")]
Count = Annotated[int, Field(ge=0, le=10**10)]
Percent = Annotated[int, Field(ge=0, le=100)]
EntityId = Annotated[str, Field(
    pattern=ID_PATTERN, examples=[ID_EXAMPLE],
    description="'<region>-<number>': names the region that holds it (globally unique)")]


class Page(BaseModel):
    total: int
    limit: int
    offset: int


# --- reference data -----------------------------------------------------------------------
class RegionPublic(BaseModel):
    code: str
    city: str
    country: str
    latitude: float
    longitude: float
    countries: int
    population: int
    gdp_usd: int
    contribution_usd: int


class SectorPublic(BaseModel):
    code: Sector
    description: str


class CountryPublic(BaseModel):
    iso3: str
    iso2: str
    numeric: str
    name: str
    official_name: str
    un_region: str
    un_subregion: str
    continent: str
    eu_member: bool
    gdp_usd: int | None
    gdp_year: int | None
    population: int | None
    population_year: int | None
    capital: str
    home_region: str
    capital_lat: float
    capital_lon: float
    contribution_usd: int
    contribution_share: float
    contribution_basis: str


class CountryPage(Page):
    items: list[CountryPublic]


class ContributionPublic(BaseModel):
    iso3: str
    name: str
    home_region: str
    gdp_usd: int | None
    amount_usd: int
    share: float
    basis: str = Field(description="gdp_share, or floor for a country without GDP data")


class ContributionPage(Page):
    annual_fund_usd: int
    floor_usd: int
    items: list[ContributionPublic]


class RegionContribution(BaseModel):
    region: str
    countries: int
    amount_usd: int
    share: float


# --- profit split -------------------------------------------------------------------------
class ProfitSplitPublic(BaseModel):
    projects: int
    profit_usd: int
    host_country_usd: int = Field(description="50%: the country where the projects run")
    contributors_usd: int = Field(description="30%: the contributing countries, pro rata")
    reinvestment_usd: int = Field(description="20%: the sector's reinvestment pool")


class SectorProfitSplit(ProfitSplitPublic):
    sector: Sector


class CountryProfitSplit(ProfitSplitPublic):
    iso3: str
    region: str


# --- projects -----------------------------------------------------------------------------
class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    country: Iso3
    sector: Sector
    budget_usd: Usd
    status: ProjectStatus = ProjectStatus.PLANNED
    beneficiaries: Count = 0
    progress: Percent = 0
    profit_usd: Usd = 0


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = None
    country: Iso3 | None = None
    sector: Sector | None = None
    budget_usd: Usd | None = None
    status: ProjectStatus | None = None
    beneficiaries: Count | None = None
    progress: Percent | None = None
    profit_usd: Usd | None = None


class ProjectPublic(BaseModel):
    id: EntityId
    region: str
    name: str
    country: str
    sector: Sector
    budget_usd: int
    status: ProjectStatus
    beneficiaries: int
    progress: int
    profit_usd: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ProjectPage(Page):
    items: list[ProjectPublic]


# --- users --------------------------------------------------------------------------------
class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    email: Email
    country: Iso3


class UserUpdate(BaseModel):
    """A user's country is not editable: it decides where their personal data lives."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = None
    email: Email | None = None


class UserPublic(BaseModel):
    id: EntityId
    region: str
    name: str
    email: str
    country: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class UserPage(Page):
    items: list[UserPublic]


# --- statistics ---------------------------------------------------------------------------
class ProjectTotals(BaseModel):
    projects: int
    budget_usd: int
    beneficiaries: int
    profit_usd: int


class CountryStatistics(ProjectTotals):
    iso3: str
    region: str
    contribution_usd: int


class RegionStatistics(ProjectTotals):
    region: str
    countries: int
    users: int
    by_sector: dict[str, int]
    by_status: dict[str, int]


class RankedCountry(BaseModel):
    rank: int
    iso3: str
    name: str
    value: int


class Ranking(BaseModel):
    metric: str
    scope: str = Field(description="global (reference data) or the region whose projects count")
    items: list[RankedCountry]


class ErrorBody(BaseModel):
    detail: str


class MisdirectedBody(ErrorBody):
    """421: this region is the wrong server for the request; ``home_region`` is the right one."""

    home_region: str
