"""SQLAlchemy tables of a region's database, all on the shared ``core_api.db.Base``.

Reference tables (regions, sectors, countries) are the same in every region and exist so that
projects and users have foreign keys; the API serves reference data from memory. Projects and
users carry ``region`` so one PostgreSQL database can hold several regions when
``COVENANT_DATABASE_URL`` has no ``{region}`` placeholder; their key is (region, number),
which the API shows as the id ``"<region>-<number>"`` (``core_api.ids``), numbered per region
by ``id_counters`` (``core_api.numbering``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core_api import outbox  # noqa: F401  (registers outbox_events on Base.metadata)
from core_api.db import Base


class RegionRow(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    city: Mapped[str] = mapped_column(String(100))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class SectorRow(Base):
    __tablename__ = "sectors"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))


class CountryRow(Base):
    __tablename__ = "countries"
    iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    iso2: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    un_region: Mapped[str] = mapped_column(String(40))
    eu_member: Mapped[bool] = mapped_column(Boolean)
    gdp_usd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    population: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    home_region: Mapped[str] = mapped_column(ForeignKey("regions.code"))


class ProjectRow(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
        CheckConstraint("budget_usd >= 0", name="budget_not_negative"),
        # The key and each index end with number, so a page is read in id order unsorted.
        PrimaryKeyConstraint("region", "number"),
        Index("ix_projects_region_country", "region", "country", "number"),
        Index("ix_projects_region_sector", "region", "sector", "number"),
    )
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    number: Mapped[int] = mapped_column(Integer, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(ForeignKey("countries.iso3"))
    sector: Mapped[str] = mapped_column(ForeignKey("sectors.code"))
    budget_usd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    beneficiaries: Mapped[int] = mapped_column(BigInteger)
    progress: Mapped[int] = mapped_column(Integer)
    profit_usd: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserRow(Base):
    """Personal data: only ever written in the user's home region (data residency)."""

    __tablename__ = "users"
    __table_args__ = (
        PrimaryKeyConstraint("region", "number"),
        Index("ix_users_region_country", "region", "country", "number"),
    )
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    number: Mapped[int] = mapped_column(Integer, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    country: Mapped[str] = mapped_column(ForeignKey("countries.iso3"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdCounterRow(Base):
    """The last number handed out per (region, entity): ids are never reused."""

    __tablename__ = "id_counters"
    region: Mapped[str] = mapped_column(String(3), primary_key=True)
    entity: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class IdempotencyRow(Base):
    """The response of a create sent with an ``Idempotency-Key``, committed in the create's
    own transaction and replayed for a repeat of the key within 24 h."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_region_created", "region", "created_at"),)
    region: Mapped[str] = mapped_column(String(3), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
