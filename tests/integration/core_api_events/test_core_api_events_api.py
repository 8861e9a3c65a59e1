"""End to end through the real API: POST/PATCH/DELETE a project on ``create_app`` with
NATS and Redis settings -> exactly the right events in JetStream (none for the rejected
writes), and the cached statistics dropped by the invalidator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import redis

from core_api.app import create_app
from core_api.prepare import prepare_region
from kernel.settings import Settings
from tests.waiting import eventually


async def test_api_writes_emit_exactly_their_events_and_invalidate_the_cache(
    tmp_path: Path, nats_url: str, redis_url: str, unique: str, shared_stream: Any,
) -> None:
    namespace = f"t{unique}"
    settings = Settings(
        data_dir=tmp_path, nats_url=nats_url, redis_url=redis_url, cache_namespace=namespace,
        nats_stream=shared_stream.stream, nats_subject_prefix=shared_stream.prefix,
    )
    await asyncio.to_thread(prepare_region, settings, "ams")
    app = create_app(settings, "ams")
    rds = redis.Redis.from_url(redis_url)
    stats_key = f"{namespace}:ams:stats:region"
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=transport, base_url="http://ams.test"
    ) as client:
        before = (await client.get("/v1/statistics")).json()
        assert rds.exists(stats_key) == 1  # the read went through the cache

        body = {"name": "Solar farm", "country": "FRA", "sector": "energy", "budget_usd": 1000}
        created = await client.post("/v1/projects", json=body)
        assert created.status_code == 201, created.text
        project_id = created.json()["id"]
        await eventually(lambda: rds.exists(stats_key) == 0, "stats invalidated by the event")
        after = (await client.get("/v1/statistics")).json()
        assert after != before  # recomputed from the database, not the stale entry

        patched = await client.patch(f"/v1/projects/{project_id}", json={"progress": 40})
        assert patched.status_code == 200, patched.text
        # Rejected writes roll back: no event for any of them.
        missing = await client.patch("/v1/projects/ams-999999999", json={"progress": 1})
        invalid = await client.post("/v1/projects", json=body | {"budget_usd": -5})
        deleted = await client.delete(f"/v1/projects/{project_id}")
        again = await client.delete(f"/v1/projects/{project_id}")
        assert [r.status_code for r in (missing, invalid, deleted, again)] == [404, 422, 204, 404]

        got = await shared_stream.read_all(expected=3)
    keys = list(rds.scan_iter(match=f"{namespace}:*"))
    if keys:
        rds.delete(*keys)
    rds.close()

    assert [r.subject for r in got] == [
        "covenant.ams.project.created", "covenant.ams.project.updated",
        "covenant.ams.project.deleted",
    ]
    payloads = [json.loads(r.data) for r in got]
    assert [p["data"]["id"] for p in payloads] == [project_id] * 3
    assert [p["id"] for p in payloads] == [r.msg_id for r in got]
    assert payloads[1]["data"]["progress"] == 40
    assert await shared_stream.message_count() == 3
