"""The proxy in front of the machine's real PostgreSQL, Redis and NATS: clients work through it,
and a latency toxic slows their round trips by the set amount."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from chaos.server import ToxiproxyServer

LATENCY_MS = 100


async def timed(call: Callable[[], Awaitable[object]], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def assert_latency_added(
    toxiproxy: ToxiproxyServer, proxy: str, call: Callable[[], Awaitable[object]]
) -> None:
    base = await timed(call)
    await toxiproxy.add_toxic(proxy, "latency", attributes={"latency": LATENCY_MS})
    added = (await timed(call)) - base
    assert LATENCY_MS - 20 <= added * 1000 <= LATENCY_MS + 20, added
    await toxiproxy.remove_toxic(proxy, "latency_downstream")
    assert (await timed(call)) * 1000 < LATENCY_MS / 2


async def test_postgres_through_the_proxy(toxiproxy: ToxiproxyServer, postgres_url: str) -> None:
    import psycopg

    url = urlparse(postgres_url.replace("+psycopg", ""))
    proxy = await toxiproxy.create_proxy("pg", f"{url.hostname}:{url.port}")
    conninfo = f"postgresql://postgres@127.0.0.1:{proxy.listen_port}{url.path}"
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("CREATE TABLE t (v int)")
        await conn.execute("INSERT INTO t SELECT generate_series(1, 1000)")
        row = await (await conn.execute("SELECT sum(v) FROM t")).fetchone()
        assert row == (500500,)

        async def select_one() -> object:
            return await (await conn.execute("SELECT 1")).fetchone()

        await assert_latency_added(toxiproxy, "pg", select_one)


async def test_redis_through_the_proxy(
    toxiproxy: ToxiproxyServer, redis_url: str, unique: str
) -> None:
    import redis.asyncio as aioredis

    url = urlparse(redis_url)
    proxy = await toxiproxy.create_proxy("redis", f"{url.hostname}:{url.port}")
    client = aioredis.Redis(host="127.0.0.1", port=proxy.listen_port)
    try:
        key = f"chaos-test-{unique}"
        await client.set(key, b"v" * 100_000, ex=60)
        assert await client.get(key) == b"v" * 100_000
        await assert_latency_added(toxiproxy, "redis", client.ping)
        await client.delete(key)
    finally:
        await client.aclose()


async def test_nats_through_the_proxy(
    toxiproxy: ToxiproxyServer, nats_url: str, unique: str
) -> None:
    import nats

    url = urlparse(nats_url)
    proxy = await toxiproxy.create_proxy("nats", f"{url.hostname}:{url.port}")
    nc = await nats.connect(f"nats://127.0.0.1:{proxy.listen_port}", connect_timeout=5)
    try:
        subject = f"chaos.test.{unique}"
        sub = await nc.subscribe(subject)
        await nc.publish(subject, b"through the proxy")
        message = await sub.next_msg(timeout=5)
        assert message.data == b"through the proxy"
        await assert_latency_added(toxiproxy, "nats", nc.flush)  # flush is a PING/PONG
    finally:
        await nc.close()
