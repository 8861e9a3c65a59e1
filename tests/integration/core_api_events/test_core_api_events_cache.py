"""The read-through cache on real Redis, and its invalidation by real events: a commit
in the outbox -> relay -> JetStream -> the invalidator's durable consumer -> Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from core_api.cache import RedisCache, build_cache, cache_key
from core_api.events import build_event_pipeline
from core_api.outbox import enqueue
from kernel.settings import Settings
from tests.waiting import eventually


@pytest.fixture()
def region(redis_url: str, unique: str) -> Iterator[str]:
    """A region name no other test uses; its Redis keys are deleted afterwards."""
    name = f"t{unique}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"covenant:{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()



def test_redis_cache_namespaces_expires_and_invalidates_by_prefix(
    redis_url: str, region: str
) -> None:
    cache = build_cache(Settings(redis_url=redis_url), region)
    other = build_cache(Settings(redis_url=redis_url), region + "x")
    assert isinstance(cache, RedisCache)
    cache.set(cache_key("country", "FRA"), b"fra", 60)
    cache.set(cache_key("country", "DEU"), b"deu", 60)
    cache.set(cache_key("stats", "rankings", "gdp"), b"rank", 60)
    cache.set(cache_key("stats", "short"), b"s", 30)
    other.set(cache_key("country", "FRA"), b"other-region", 60)
    assert cache.get("country:FRA") == b"fra"
    assert other.get("country:FRA") == b"other-region"
    client = redis.Redis.from_url(redis_url)
    assert client.get(f"covenant:{region}:country:FRA") == b"fra"
    assert 0 < client.pttl(f"covenant:{region}:stats:short") <= 30_000  # the ttl given

    assert cache.invalidate(["country:F"]) == 1
    assert cache.get("country:FRA") is None
    assert cache.get("country:DEU") == b"deu"
    assert cache.invalidate(["country:", "stats:rankings"]) == 2
    assert cache.get("country:DEU") is None and cache.get("stats:rankings:gdp") is None
    assert other.get("country:FRA") == b"other-region"  # another region's cache is untouched
    assert client.smembers(f"covenant:{region}:_index:country") == set()
    other.invalidate(["country:"])
    client.close()


async def test_committed_changes_invalidate_the_cache_through_jetstream(
    nats_url: str, redis_url: str, region: str, unique: str, shared_stream: Any,
    sqlite_sessions: sessionmaker[Session],
) -> None:
    settings = Settings(
        nats_url=nats_url, redis_url=redis_url,
        nats_stream=shared_stream.stream, nats_subject_prefix=shared_stream.prefix,
    )
    cache = build_cache(settings, region)
    pipeline = build_event_pipeline(settings, region, sqlite_sessions)
    await pipeline.start()
    invalidator = pipeline.invalidator
    assert invalidator is not None
    await eventually(lambda: invalidator.started, "the invalidator to subscribe")

    cache.set("country:FRA", b"fra", 300)
    cache.set("stats:rankings", b"rank", 300)
    with sqlite_sessions() as session:
        enqueue(session, region, "user", "created", {"id": 1})
        session.commit()
    await eventually(lambda: cache.get("stats:rankings") is None, "stats invalidation")
    assert cache.get("country:FRA") == b"fra"  # a user change leaves countries cached

    cache.set("stats:rankings", b"rank", 300)
    with sqlite_sessions() as session:
        enqueue(session, region, "project", "updated", {"id": 7})
        session.commit()
    await eventually(
        lambda: cache.get("country:FRA") is None and cache.get("stats:rankings") is None,
        "country and stats invalidation",
    )
    assert invalidator.events_seen == 2
    await pipeline.stop()
