"""Statistics reads go through Redis, and a committed project change invalidates them."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from core_api.app import create_app
from core_api.prepare import prepare_region
from kernel.settings import Settings
from tests.waiting import eventually

REGION = "syd"  # a region few other tests touch in the shared Redis


async def test_country_statistics_are_cached_and_invalidated(redis_url: str,
                                                             tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None, nats_url=None, redis_url=redis_url)
    prepare_region(settings, REGION)
    key = f"covenant:{REGION}:country:NZL:statistics"
    client_redis = redis.Redis.from_url(redis_url)
    client_redis.delete(key)
    app = create_app(settings, REGION)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://syd") as client:
            before = (await client.get("/v1/countries/NZL/statistics")).json()
            assert client_redis.get(key) is not None  # read-through stored it
            body = {"name": "Geothermal", "country": "NZL", "sector": "energy",
                    "budget_usd": 5_000}
            assert (await client.post("/v1/projects", json=body)).status_code == 201
            now: dict[str, int] = {}

            async def invalidated() -> bool:
                now.update((await client.get("/v1/countries/NZL/statistics")).json())
                return now["projects"] == before["projects"] + 1

            await eventually(invalidated, "the cache to be invalidated", 10, interval=0.05)
            assert now["budget_usd"] == before["budget_usd"] + 5_000
    finally:
        client_redis.delete(key)
        client_redis.close()
