"""The SQL region lock's cases, run on SQLite (tests/kernel) and on PostgreSQL
(tests/integration/kernel) alike: each takes the database URL.

The same semantics as the in-memory lock (exclusive, refreshed by its holder, released only
by it, expiring after its TTL), and what only a shared table can show: other engines and
other processes contending for one region, exactly one winning, all of them seeing it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from kernel.clock import FakeClock
from kernel.state.locks import SqlRegionLock

ROOT = Path(__file__).resolve().parents[2]
# A process of its own: take ``region`` as ``holder`` for 60 s and print whether it won.
CHILD = """
import asyncio, sys
from kernel.state.locks import SqlRegionLock
url, region, holder = sys.argv[1:4]
lock = SqlRegionLock(url)
print("ready", flush=True)
sys.stdin.readline()  # every child opens first, then all try at once
won = asyncio.run(lock.acquire(region, holder, 60))
print("won" if won else "lost", asyncio.run(lock.holder(region)), flush=True)
lock.close()
"""


async def assert_exclusive_refreshable_released_by_holder_and_expiring(url: str) -> None:
    clock = FakeClock()
    lock = SqlRegionLock(url, clock=clock.time)
    try:
        assert await lock.holder("syd") is None
        assert await lock.acquire("syd", "runbook:a", 60)
        assert not await lock.acquire("syd", "gameday:g1", 60)
        assert await lock.acquire("iad", "gameday:g1", 60)  # another region: its own lock
        clock.advance(50)
        assert await lock.acquire("syd", "runbook:a", 60)  # a refresh: now until +110
        await lock.release("syd", "gameday:g1")  # not the holder: a no-op
        assert await lock.holder("syd") == "runbook:a"
        clock.advance(55)
        assert await lock.holder("syd") == "runbook:a"  # the refresh moved the expiry
        assert await lock.holders() == {"syd": ("runbook:a", clock.time() + 5)}  # iad expired
        clock.advance(5)
        assert await lock.holder("syd") is None  # expired: nobody holds it
        assert await lock.acquire("syd", "gameday:g1", 60)  # and anyone may take it
        assert not await lock.acquire("syd", "runbook:a", 60)
        await lock.release("syd", "gameday:g1")
        assert await lock.holder("syd") is None and await lock.acquire("syd", "runbook:a", 1)
    finally:
        lock.close()


async def assert_engines_see_one_holder(url: str) -> None:
    """A lock taken through one engine is seen, refused and released through another."""
    first, second = SqlRegionLock(url), SqlRegionLock(url)
    try:
        assert await first.acquire("ams", "runbook:redis-outage", 60)
        assert await second.holder("ams") == "runbook:redis-outage"
        assert not await second.acquire("ams", "dbfailover:ams", 60)
        await second.release("ams", "dbfailover:ams")
        await first.release("ams", "runbook:redis-outage")
        assert await second.acquire("ams", "dbfailover:ams", 60)
        assert await first.holder("ams") == "dbfailover:ams"
    finally:
        first.close()
        second.close()


def assert_threads_on_engines_contend_one_winner(url: str, contenders: int = 8) -> None:
    """Contenders on two engines, released together, race for one free region."""
    import asyncio

    locks = [SqlRegionLock(url), SqlRegionLock(url)]
    start = threading.Barrier(contenders)
    won: list[str] = []

    def contend(i: int) -> None:
        start.wait()
        if asyncio.run(locks[i % 2].acquire("sin", f"gameday:{i}", 60)):
            won.append(f"gameday:{i}")

    try:
        threads = [threading.Thread(target=contend, args=(i,)) for i in range(contenders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(won) == 1, f"{len(won)} contenders took one region: {won}"
        assert asyncio.run(locks[0].holder("sin")) == won[0]
    finally:
        for lock in locks:
            lock.close()


def assert_processes_contend_one_winner(url: str, processes: int = 3) -> None:
    """Separate processes (as ``covenant db switchover`` next to ``covenant up``) race for
    one free region: exactly one wins, and every one of them sees the winner."""
    SqlRegionLock(url).close()  # migrated before the race, so no child waits on it
    children = [subprocess.Popen(
        [sys.executable, "-c", CHILD, url, "jnb", f"proc:{i}"], cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(processes)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready", \
                child.stderr.read() if child.stderr else ""
        for child in children:  # all open: let them go
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        lines = [child.communicate(timeout=60)[0].split() for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    winners = [f"proc:{i}" for i, line in enumerate(lines) if line[0] == "won"]
    assert len(winners) == 1, lines
    assert {line[1] for line in lines} == set(winners), lines
