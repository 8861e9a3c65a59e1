"""Bring region databases to the head migration and seed them (``covenant db ...``)."""

from __future__ import annotations

from collections.abc import Iterable

from core_api import migrate
from core_api.database import Database
from core_api.seed import SeedResult, seed_region
from kernel.settings import Settings


def upgrade_regions(settings: Settings, regions: Iterable[str]) -> list[str]:
    """Upgrade each region's database; returns the URLs touched (passwords hidden)."""
    done = []
    for region in regions:
        db = Database.for_region(settings, region)
        try:
            migrate.upgrade(db.engine)
            done.append(db.engine.url.render_as_string(hide_password=True))
        finally:
            db.dispose()
    return done


def seed_regions(settings: Settings, regions: Iterable[str]) -> list[SeedResult]:
    results = []
    for region in regions:
        db = Database.for_region(settings, region)
        try:
            with db.write() as session:
                results.append(seed_region(session, region))
        finally:
            db.dispose()
    return results


def prepare_region(settings: Settings, region: str) -> SeedResult:
    """Upgrade then seed one region (idempotent): what ``covenant api`` does before serving."""
    upgrade_regions(settings, [region])
    return seed_regions(settings, [region])[0]
