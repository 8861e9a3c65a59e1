"""Each toxic measured on real loopback traffic through the embedded server (spec 1.7.3)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time

import pytest

from chaos.loopback import round_trip
from chaos.server import ToxiproxyServer
from tests.waiting import eventually


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def rtt(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, size: int = 16) -> float:
    return await asyncio.wait_for(round_trip(reader, writer, b"x" * size), 10)


async def read_all(reader: asyncio.StreamReader, limit: float = 10) -> bytes:
    return await asyncio.wait_for(reader.read(), limit)


async def test_latency_200ms_adds_200_per_round_trip(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    reader, writer = await connect(echo_proxy)
    base = statistics.median([await rtt(reader, writer) for _ in range(5)])
    await toxiproxy.add_toxic("echo", "latency", attributes={"latency": 200})
    slowed = [await rtt(reader, writer) - base for _ in range(7)]  # the live connection too
    # Never faster than the toxic allows; a loaded CI box can only add scheduling delay,
    # so the typical (median) round trip is held to the +-20 ms band.
    assert min(slowed) >= 0.180, slowed
    assert 0.180 <= statistics.median(slowed) <= 0.220, slowed
    await toxiproxy.add_toxic("echo", "latency", stream="upstream", attributes={"latency": 100})
    both = statistics.median([await rtt(reader, writer) for _ in range(3)]) - base
    assert 0.280 <= both <= 0.320, both  # two directions add up
    writer.close()


async def test_two_latency_toxics_in_one_direction_add_up(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    reader, writer = await connect(echo_proxy)
    base = await rtt(reader, writer)
    await toxiproxy.add_toxic("echo", "latency", name="a", attributes={"latency": 100})
    await toxiproxy.add_toxic("echo", "latency", name="b", attributes={"latency": 100})
    added = statistics.median([await rtt(reader, writer) for _ in range(3)]) - base
    assert 0.180 <= added <= 0.220, added
    writer.close()


async def test_latency_jitter_stays_in_bounds(toxiproxy: ToxiproxyServer, echo_proxy: int) -> None:
    await toxiproxy.add_toxic("echo", "latency", attributes={"latency": 100, "jitter": 50})
    reader, writer = await connect(echo_proxy)
    samples = [await rtt(reader, writer) for _ in range(8)]
    assert all(0.045 <= s <= 0.170 for s in samples), samples
    writer.close()


async def test_removing_latency_releases_pending_data_at_once(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    await toxiproxy.add_toxic("echo", "latency", attributes={"latency": 5000})
    reader, writer = await connect(echo_proxy)
    started = time.perf_counter()
    writer.write(b"held")
    read = asyncio.ensure_future(reader.readexactly(4))
    await asyncio.sleep(0.1)  # let the chunk enter the toxic: the test's subject, not a sync
    assert not read.done()
    await toxiproxy.remove_toxic("echo", "latency_downstream")
    assert await asyncio.wait_for(read, 2) == b"held"
    assert time.perf_counter() - started < 1.0
    writer.close()


async def test_bandwidth_100kbs_within_ten_percent(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    await toxiproxy.add_toxic("echo", "bandwidth", attributes={"rate": 100})
    reader, writer = await connect(echo_proxy)
    payload = bytes(range(256)) * 800  # 204,800 bytes: about 2 s at 100 KB/s
    started = time.perf_counter()
    writer.write(payload)
    received = await asyncio.wait_for(reader.readexactly(len(payload)), 10)
    rate = len(payload) / (time.perf_counter() - started)
    assert received == payload
    assert 90_000 <= rate <= 110_000, rate
    writer.close()


async def test_bandwidth_zero_stalls_until_removed(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    await toxiproxy.add_toxic("echo", "bandwidth", attributes={"rate": 0})
    reader, writer = await connect(echo_proxy)
    writer.write(b"stuck")
    read = asyncio.ensure_future(reader.readexactly(5))
    done, _ = await asyncio.wait({read}, timeout=0.3)
    assert not done
    await toxiproxy.remove_toxic("echo", "bandwidth_downstream")
    assert await asyncio.wait_for(read, 2) == b"stuck"
    writer.close()


async def test_timeout_holds_data_then_closes(toxiproxy: ToxiproxyServer, echo_proxy: int) -> None:
    await toxiproxy.add_toxic("echo", "timeout", attributes={"timeout": 300})
    reader, writer = await connect(echo_proxy)
    started = time.perf_counter()
    writer.write(b"never answered")
    assert await read_all(reader) == b""  # no data, then EOF
    assert 0.28 <= time.perf_counter() - started <= 1.5
    writer.close()


async def test_timeout_is_an_inactivity_timer(toxiproxy: ToxiproxyServer, echo_proxy: int) -> None:
    await toxiproxy.add_toxic("echo", "timeout", stream="upstream", attributes={"timeout": 300})
    reader, writer = await connect(echo_proxy)
    started = time.perf_counter()
    for _ in range(5):  # keep it busy for ~0.5 s: longer than the timeout
        writer.write(b"tick")
        await asyncio.sleep(0.1)
    assert await read_all(reader) == b""
    # The last tick is at ~0.4 s, so an inactivity timer closes at ~0.7 s; an absolute
    # deadline would have closed at 0.3 s.
    assert time.perf_counter() - started >= 0.6
    writer.close()


async def test_removing_timeout_zero_closes_connection(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    await toxiproxy.add_toxic("echo", "timeout", attributes={"timeout": 0})
    reader, writer = await connect(echo_proxy)
    writer.write(b"dropped")
    read = asyncio.ensure_future(reader.read())
    done, _ = await asyncio.wait({read}, timeout=0.3)
    assert not done
    await toxiproxy.remove_toxic("echo", "timeout_downstream")
    assert await asyncio.wait_for(read, 1) == b""
    writer.close()


async def test_timeout_update_from_toxicity_zero(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    await toxiproxy.add_toxic("echo", "timeout", toxicity=0, attributes={"timeout": 0})
    reader, writer = await connect(echo_proxy)
    assert await rtt(reader, writer) < 0.5  # toxicity 0: data passes
    await toxiproxy.update_toxic(
        "echo", "timeout_downstream", toxicity=1, attributes={"timeout": 100}
    )
    started = time.perf_counter()
    assert await read_all(reader, 2) == b""
    assert time.perf_counter() - started < 0.5
    writer.close()


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
async def test_reset_peer_gives_connection_reset(
    toxiproxy: ToxiproxyServer, echo_proxy: int, stream: str
) -> None:
    await toxiproxy.add_toxic("echo", "reset_peer", stream=stream, attributes={"timeout": 100})
    reader, writer = await connect(echo_proxy)
    started = time.perf_counter()
    writer.write(b"trigger")
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(100), 5)
    assert time.perf_counter() - started >= 0.09
    writer.close()


async def test_reset_peer_stops_the_other_toxics_tasks(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    """A reset while another toxic holds data leaves no task of the connection behind."""
    await toxiproxy.add_toxic("echo", "bandwidth", attributes={"rate": 0})  # holds forever
    reader, writer = await connect(echo_proxy)
    proxy = toxiproxy.collection.get("echo")
    await eventually(lambda: len(proxy.connections) == 1 and bool(
        next(iter(proxy.connections)).links), "the connection to be linked")
    conn = next(iter(proxy.connections))
    writer.write(b"held")  # echoed back into the stalled downstream bandwidth toxic
    await eventually(lambda: any(not t.done() for t in conn._tasks), "the toxic to hold it")
    await toxiproxy.add_toxic("echo", "reset_peer", stream="upstream",
                              attributes={"timeout": 50})
    writer.write(b"trigger")
    # Accepted before reset_peer existed, so closed with FIN rather than RST (spec 1.7.3).
    with contextlib.suppress(ConnectionResetError):
        assert await asyncio.wait_for(reader.read(100), 5) == b""
    await eventually(lambda: not proxy.connections, "the connection to be forgotten")
    await eventually(lambda: all(t.done() for t in conn._tasks), "its toxic tasks to end")
    writer.close()


@pytest.mark.parametrize(
    ("limit", "sends", "expected"),
    [
        (1000, [3000], 1000),  # over: truncated to exactly N
        (1000, [400, 600], 1000),  # equal, over two chunks
        (1000, [600, 600], 1000),  # overflow on the second chunk
        (0, [10], 0),  # zero: the first data closes
    ],
)
async def test_limit_data_closes_after_exactly_n_bytes(
    toxiproxy: ToxiproxyServer, echo_proxy: int, limit: int, sends: list[int], expected: int
) -> None:
    await toxiproxy.add_toxic("echo", "limit_data", attributes={"bytes": limit})
    reader, writer = await connect(echo_proxy)
    for size in sends:
        writer.write(b"d" * size)
        await asyncio.sleep(0.05)  # separate chunks on purpose
    assert len(await read_all(reader)) == expected
    writer.close()


async def test_limit_data_under_the_limit_stays_open(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    await toxiproxy.add_toxic("echo", "limit_data", attributes={"bytes": 100})
    reader, writer = await connect(echo_proxy)
    assert await rtt(reader, writer, 50) < 1
    assert await rtt(reader, writer, 49) < 1  # 99 bytes: still open
    writer.close()


async def test_slicer_delivers_small_chunks(toxiproxy: ToxiproxyServer, echo_proxy: int) -> None:
    await toxiproxy.add_toxic(
        "echo", "slicer", attributes={"average_size": 100, "size_variation": 20, "delay": 2000}
    )
    reader, writer = await connect(echo_proxy)
    payload = bytes(range(256)) * 8  # 2,048 bytes: at least 17 pieces of <= 120
    writer.write(payload)
    reads: list[bytes] = []
    while sum(map(len, reads)) < len(payload):
        reads.append(await asyncio.wait_for(reader.read(65536), 5))
    assert b"".join(reads) == payload
    assert len(reads) >= 10, [len(r) for r in reads]
    assert statistics.median(len(r) for r in reads) <= 120
    writer.close()


async def test_slow_close_delays_the_close(toxiproxy: ToxiproxyServer, echo_proxy: int) -> None:
    await toxiproxy.add_toxic("echo", "slow_close", attributes={"delay": 400})
    reader, writer = await connect(echo_proxy)
    writer.write(b"bye")
    await reader.readexactly(3)
    started = time.perf_counter()
    writer.write_eof()
    assert await read_all(reader) == b""
    assert 0.38 <= time.perf_counter() - started <= 2
    writer.close()


async def test_toxicity_half_affects_about_half_the_connections(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    # limit_data 0 closes a connection at its first reply: a yes/no effect per connection.
    await toxiproxy.add_toxic("echo", "limit_data", toxicity=0.5, attributes={"bytes": 0})

    async def affected() -> bool:
        reader, writer = await connect(echo_proxy)
        writer.write(b"hello")
        data = await asyncio.wait_for(reader.read(100), 10)  # b"" is EOF: closed by the toxic
        writer.close()
        assert data in (b"", b"hello")
        return data == b""

    hits = sum(await asyncio.gather(*(affected() for _ in range(200))))
    # Binomial(200, 0.5): P(outside 60..140) < 1e-8, so this bound cannot flake.
    assert 60 <= hits <= 140, hits


async def test_no_data_lost_while_toxics_come_and_go(
    toxiproxy: ToxiproxyServer, echo_proxy: int
) -> None:
    reader, writer = await connect(echo_proxy)
    total = 20_000
    payload = b"".join(i.to_bytes(2, "big") for i in range(total))

    async def churn() -> None:
        for i in range(150):
            name = f"lat{i}"
            await toxiproxy.add_toxic("echo", "latency", name=name, attributes={"latency": 1})
            await asyncio.sleep(0)
            await toxiproxy.remove_toxic("echo", name)

    async def send() -> None:
        for offset in range(0, len(payload), 200):
            writer.write(payload[offset : offset + 200])
            await writer.drain()
            await asyncio.sleep(0)

    received, _, _ = await asyncio.gather(
        asyncio.wait_for(reader.readexactly(len(payload)), 20), churn(), send()
    )
    assert received == payload
    writer.close()


async def test_disable_closes_live_connections(toxiproxy: ToxiproxyServer, echo_proxy: int) -> None:
    reader, writer = await connect(echo_proxy)
    assert await rtt(reader, writer) < 1
    await toxiproxy.update_proxy("echo", enabled=False)
    assert await read_all(reader, 2) == b""
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await connect(echo_proxy)
