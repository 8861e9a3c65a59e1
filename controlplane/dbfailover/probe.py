"""The database probe: one fresh connection and one query per node per cycle, under a tight
timeout, like an external health checker. Never raises: a failure is a ``NodeProbe`` with
``ok=False`` and the problem in a few words."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import psycopg

from controlplane.dbfailover.observation import NodeProbe, Replica, parse_lsn
from controlplane.dbfailover.postgres import HOST, conninfo

QUERY = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text
            ELSE pg_current_wal_flush_lsn()::text END,
       pg_last_wal_receive_lsn()::text,
       current_setting('synchronous_standby_names'),
       COALESCE((SELECT json_agg(json_build_array(application_name, state, sync_state,
                                                  flush_lsn::text,
                                                  extract(epoch FROM replay_lag)))
                 FROM pg_stat_replication), '[]'::json)
"""


async def probe_node(node: str, port: int, timeout: float, host: str = HOST,
                     timer: Callable[[], float] = time.perf_counter) -> NodeProbe:
    start = timer()
    try:
        row = await asyncio.wait_for(_query(host, port), timeout)
    except TimeoutError:
        return NodeProbe(node, False, timer() - start, f"timed out after {timeout:g} s")
    except psycopg.OperationalError as exc:
        return NodeProbe(node, False, timer() - start, _short(exc))
    except psycopg.Error as exc:
        return NodeProbe(node, False, timer() - start, f"query failed: {_short(exc)}")
    return to_probe(node, row, timer() - start)


async def _query(host: str, port: int) -> tuple[Any, ...]:
    conn = await psycopg.AsyncConnection.connect(
        conninfo(port, application_name="covenant_probe", host=host), autocommit=True)
    try:
        cur = await conn.execute(QUERY)
        row = await cur.fetchone()
        assert row is not None
        return tuple(row)
    finally:
        await conn.close()


def to_probe(node: str, row: tuple[Any, ...], latency: float) -> NodeProbe:
    """The probe's row -> a NodeProbe (pure; tested with literal rows)."""
    in_recovery, lsn, receive, sync_names, replicas = row
    if isinstance(replicas, str):
        replicas = json.loads(replicas)
    return NodeProbe(node, True, latency, "", bool(in_recovery), parse_lsn(lsn),
                     parse_lsn(receive), str(sync_names or ""),
                     tuple(Replica(str(r[0]), str(r[1]), str(r[2]), parse_lsn(r[3]),
                                   float(r[4]) if len(r) > 4 and r[4] is not None else None)
                           for r in replicas or ()))


def _short(exc: BaseException) -> str:
    """libpq's message in a few words: 'connection refused', 'server closed the connection'."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    for words in ("connection refused", "server closed the connection", "timeout expired",
                  "the database system is starting up", "the database system is shutting down",
                  "no route to host"):
        if words in lowered:
            return words
    return text[:120]
