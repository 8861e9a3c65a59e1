"""`covenant up --config` seams on real services: the region APIs and the state store on
PostgreSQL, the leader lease as a PostgreSQL advisory lock, events on NATS JetStream."""

from __future__ import annotations

import json
from pathlib import Path

import nats
import sqlalchemy as sa

from controlplane.desired import StackPorts, load_desired
from controlplane.leader import PostgresLease
from covenant.stack import Stack
from kernel.bus import Event
from kernel.nats_bus import NatsBus
from kernel.settings import load_settings
from tests.waiting import eventually


async def test_up_with_postgres_and_nats(tmp_path: Path, postgres_url: str, nats_url: str,
                                         redis_url: str, unique: str) -> None:
    config = tmp_path / "covenant.yaml"
    config.write_text(
        "stack: {control_plane: 0, front_door: 0, region_api_base: 0, proxy_base: 0, "
        "toxiproxy: 0}\n"
        f"settings:\n  data_dir: '{tmp_path}/data'\n  database_url: '{postgres_url}'\n"
        f"  state_url: '{postgres_url}'\n  nats_url: '{nats_url}'\n  redis_url: '{redis_url}'\n"
        f"  nats_stream: 'CP{unique}'\n  nats_subject_prefix: 't{unique}.'\n")
    settings = load_settings(config)
    desired = load_desired(config)
    assert desired.stack == StackPorts(control_plane=0, front_door=0, region_api_base=0,
                                       proxy_base=0, toxiproxy=0)
    events: list[Event] = []

    async def collect(event: Event) -> None:
        events.append(event)

    watcher = NatsBus(nats_url, stream=f"CP{unique}", subject_prefix=f"t{unique}.")
    stack = Stack(desired, settings)
    try:
        await stack.start()
        await watcher.subscribe("covenant.controlplane.>", collect)
        plane, tox = stack.plane, stack.toxiproxy
        assert plane is not None and tox is not None
        assert isinstance(plane.lease, PostgresLease) and plane.store.url.startswith("postgresql")
        await tox.update_proxy("jnb_api", enabled=False)
        await eventually(lambda: plane.router.current is not None
                         and plane.router.current.target("jnb") != "jnb",
                         "jnb rerouted", 15, interval=0.05)
        await eventually(lambda: "jnb" in plane.store.open_incidents(),
                         "incident in PostgreSQL", 3, interval=0.05)
        await eventually(lambda: any(e.subject == "covenant.controlplane.open_incident"
                                     for e in events), "event on NATS", 10, interval=0.05)
        opened = next(e for e in events if e.subject == "covenant.controlplane.open_incident")
        assert json.loads(opened.data)["region"] == "jnb"
        recorded = plane.store.observation_count()
        await stack.stop()
        # A restart replays the cycles recorded in PostgreSQL into the anomaly watch.
        stack = Stack(desired, settings)
        await stack.start()
        assert 0 < stack.replayed <= recorded * 3
    finally:
        await stack.stop()
        await watcher.close()
        await _drop_stream(nats_url, f"CP{unique}")
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert {"cp_incidents", "cp_actions", "cp_observations"} <= tables
        assert conn.execute(sa.text("SELECT count(*) FROM cp_incidents")).scalar() == 1
    engine.dispose()


async def _drop_stream(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()
