"""The cache's pure parts: event subject -> stale key prefixes, keys, read-through."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from core_api.cache import (
    CacheError,
    NullCache,
    affected_prefixes,
    build_cache,
    cache_key,
    read_through,
)
from kernel.settings import Settings


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("covenant.ams.project.created", ("country:", "stats:")),
        ("covenant.ams.project.deleted", ("country:", "stats:")),
        ("covenant.ams.user.updated", ("stats:",)),
        ("covenant.ams.country.updated", ("country:", "stats:")),
        ("covenant.ams.sprocket.created", ("country:", "stats:")),  # unknown: clear all
        ("covenant.iad.project.created", ()),  # another region's cache
        ("covenant.controlplane.action.applied", ()),
        ("covenant.ams.project", ()),  # malformed
        ("other.ams.project.created", ()),
    ],
)
def test_affected_prefixes(subject: str, expected: tuple[str, ...]) -> None:
    assert affected_prefixes(subject, "ams") == expected


def test_cache_key_joins_and_rejects_bad_groups() -> None:
    assert cache_key("country", "FRA") == "country:FRA"
    assert cache_key("stats", "rankings", "gdp?limit=10") == "stats:rankings:gdp?limit=10"
    with pytest.raises(ValueError, match="cache group"):
        cache_key("country:FRA")


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self.data[key] = value

    def invalidate(self, prefixes: Iterable[str]) -> int:
        stale = [k for k in self.data if any(k.startswith(p) for p in prefixes)]
        for k in stale:
            del self.data[k]
        return len(stale)


def test_read_through_loads_once_then_serves_from_cache() -> None:
    cache = DictCache()
    loads: list[str] = []

    def load() -> bytes:
        loads.append("x")
        return b"FRA"

    assert read_through(cache, "country:FRA", 60, load) == b"FRA"
    assert read_through(cache, "country:FRA", 60, load) == b"FRA"
    assert loads == ["x"]
    cache.invalidate(affected_prefixes("covenant.ams.project.created", "ams"))
    assert read_through(cache, "country:FRA", 60, load) == b"FRA"
    assert loads == ["x", "x"]


def test_without_redis_the_cache_is_a_no_op() -> None:
    cache = build_cache(Settings(redis_url=None), "ams")
    assert isinstance(cache, NullCache)
    cache.set("country:FRA", b"x", 60)
    assert cache.get("country:FRA") is None
    assert cache.invalidate(["country:"]) == 0


def test_a_redis_outage_turns_reads_into_misses() -> None:
    # Port 1 refuses connections: reads miss and writes are dropped instead of failing.
    cache = build_cache(Settings(redis_url="redis://127.0.0.1:1/0"), "ams")
    cache.set("country:FRA", b"x", 60)
    assert cache.get("country:FRA") is None
    with pytest.raises(CacheError, match="cannot invalidate"):
        cache.invalidate(["country:"])
