"""The six sectors projects belong to."""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    AGRICULTURE = "agriculture"
    MINERALS = "minerals"
    ENERGY = "energy"
    WATER = "water"
    INFRASTRUCTURE = "infrastructure"
    TECHNOLOGY = "technology"


SECTOR_DESCRIPTIONS: dict[Sector, str] = {
    Sector.AGRICULTURE: "Irrigation, storage and farm cooperatives.",
    Sector.MINERALS: "Responsible extraction and processing of mineral resources.",
    Sector.ENERGY: "Generation, storage and transmission of low-carbon energy.",
    Sector.WATER: "Drinking water, sanitation and desalination.",
    Sector.INFRASTRUCTURE: "Roads, ports, rail and public buildings.",
    Sector.TECHNOLOGY: "Connectivity, data centres and digital public services.",
}
