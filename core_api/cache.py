"""The optional Redis read-through cache for country and statistics reads.

Keys are ``<group>:<rest>`` built with :func:`cache_key` (groups: ``country``,
``stats``); in Redis they live under ``<cache_namespace>:<region>:`` (default
``covenant:ams:``) so regions sharing one Redis never see each other's entries. Events
invalidate them (:mod:`core_api.cache_invalidator`): :func:`affected_prefixes` is the pure
map from an event subject to the key prefixes it makes stale.

Without ``redis_url`` the cache is a no-op. A Redis outage turns reads into misses (the
API keeps serving from the database) instead of errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

import redis

from core_api.errors import CoreApiError

if TYPE_CHECKING:
    from kernel.settings import Settings

log = logging.getLogger(__name__)

COUNTRY = "country"
STATS = "stats"
ALL_GROUPS: tuple[str, ...] = (COUNTRY, STATS)

# Which cached groups a change to each entity makes stale. Country views carry project
# totals and statistics rank countries by them, so a project change touches both.
_STALE_GROUPS: dict[str, tuple[str, ...]] = {
    "project": (COUNTRY, STATS),
    "user": (STATS,),
    "country": (COUNTRY, STATS),
    "contribution": (COUNTRY, STATS),
}


class CacheError(CoreApiError):
    """The cache could not be invalidated; the event is redelivered later."""


def cache_key(group: str, *parts: str) -> str:
    """``cache_key("country", "FRA")`` -> ``"country:FRA"``."""
    if ":" in group or not group:
        raise ValueError(f"cache group {group!r} must be a non-empty word without ':'")
    return ":".join((group, *parts))


def affected_prefixes(subject: str, region: str) -> tuple[str, ...]:
    """Key prefixes an event on ``subject`` makes stale in ``region``'s cache (pure).

    ``covenant.<region>.<entity>.<verb>`` of this region maps through the entity table;
    an unknown entity clears every group (stale data is worse than a miss); events of
    other regions or of the control plane clear nothing.
    """
    tokens = subject.split(".")
    if len(tokens) != 4 or tokens[0] != "covenant" or tokens[1] != region:
        return ()
    groups = _STALE_GROUPS.get(tokens[2], ALL_GROUPS)
    return tuple(f"{group}:" for group in groups)


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: float) -> None: ...

    def invalidate(self, prefixes: Iterable[str]) -> int:
        """Drop every entry whose key starts with one of ``prefixes``; return the count."""


class NullCache:
    """No Redis configured: every read is a miss, nothing is stored."""

    def get(self, key: str) -> bytes | None:
        return None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        return None

    def invalidate(self, prefixes: Iterable[str]) -> int:
        return 0


class RedisCache:
    """Entries under ``covenant:<region>:``; each group keeps an index set of its keys.

    The index makes invalidation cost the number of cached keys of that group rather than
    a SCAN of the whole (shared) Redis database.
    """

    def __init__(
        self, client: redis.Redis[bytes], region: str, namespace: str = "covenant"
    ) -> None:
        self._client = client
        self._root = f"{namespace}:{region}:"

    def _key(self, key: str) -> str:
        return self._root + key

    def _index(self, group: str) -> str:
        return f"{self._root}_index:{group}"

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(self._key(key))
        except redis.RedisError as exc:
            log.warning("cache read of %s failed, serving from the database: %r", key, exc)
            return None
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        ttl_ms = max(1, int(ttl * 1000))
        index = self._index(key.split(":", 1)[0])
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.set(self._key(key), value, px=ttl_ms)
            pipe.sadd(index, key)
            # The index must outlive its longest-lived member: set if none, else only extend.
            pipe.pexpire(index, ttl_ms, nx=True)
            pipe.pexpire(index, ttl_ms, gt=True)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("cache write of %s failed: %r", key, exc)

    def invalidate(self, prefixes: Iterable[str]) -> int:
        prefixes = tuple(prefixes)
        removed = 0
        try:
            for prefix in prefixes:
                removed += self._invalidate_prefix(prefix)
        except redis.RedisError as exc:
            raise CacheError(
                f"cannot invalidate {list(prefixes)} in Redis: {exc!r}; check redis_url"
            ) from exc
        return removed

    def ping(self) -> bool:
        """Whether Redis answers PING (within the client's 0.5 s socket timeout)."""
        try:
            return bool(self._client.ping())
        except (redis.RedisError, OSError):
            return False

    def _invalidate_prefix(self, prefix: str) -> int:
        group = prefix.split(":", 1)[0]
        groups = [group] if group else list(ALL_GROUPS)
        removed = 0
        for g in groups:
            index = self._index(g)
            members = [m.decode() for m in self._client.smembers(index)]
            stale = [m for m in members if m.startswith(prefix)]
            if not stale:
                continue
            pipe = self._client.pipeline(transaction=True)
            pipe.delete(*(self._key(m) for m in stale))
            pipe.srem(index, *stale)
            deleted, _ = pipe.execute()
            removed += int(deleted)
        return removed


def read_through(cache: Cache, key: str, ttl: float, load: Callable[[], bytes]) -> bytes:
    """The cached bytes for ``key``, or ``load()`` stored for ``ttl`` seconds."""
    cached = cache.get(key)
    if cached is not None:
        return cached
    value = load()
    cache.set(key, value, ttl)
    return value


def build_cache(settings: Settings, region: str) -> Cache:
    """Redis when ``settings.redis_url`` is set, else the no-op cache."""
    if not settings.redis_url:
        return NullCache()
    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
    )
    return RedisCache(client, region, namespace=settings.cache_namespace)
