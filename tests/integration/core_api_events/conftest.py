"""Fixtures for the event-pipeline integration tests: an outbox on SQLite, a private
nats-server that a test can stop and restart, and a JetStream reader that checks what a
real consumer receives."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from core_api.db import Base
from core_api.outbox import OutboxEvent
from tests.waiting import wait_until

NATS_SERVER = "/usr/sbin/nats-server"


def outbox_sessions(url: str) -> sessionmaker[Session]:
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[OutboxEvent.__table__])  # type: ignore[list-item]
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture()
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    sessions = outbox_sessions(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    yield sessions
    bind = sessions.kw["bind"]
    bind.dispose()


@pytest.fixture()
def pg_sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    sessions = outbox_sessions(postgres_url)
    yield sessions
    sessions.kw["bind"].dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateNats:
    """A nats-server -js of this test's own, on an ephemeral port, stoppable and restartable."""

    def __init__(self, store: Path) -> None:
        self.port = _free_port()
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-js", "-sd", str(self.store), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._accepts, f"nats-server on port {self.port} to accept connections")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False


@pytest.fixture()
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    server = PrivateNats(tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


@dataclass
class Received:
    subject: str
    msg_id: str
    data: bytes


class StreamReader:
    """Reads a stream through a real JetStream pull consumer (ephemeral, from the start)."""

    def __init__(self, nc: Client, stream: str, prefix: str) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.stream = stream
        self.prefix = prefix

    async def message_count(self) -> int:
        info = await self.js.stream_info(self.stream)
        return int(info.state.messages)

    async def read_all(self, expected: int, deadline_s: float = 10.0) -> list[Received]:
        """Every message in the stream; waits for ``expected``, then checks none follow."""
        psub = await self.js.pull_subscribe(f"{self.prefix}covenant.>", stream=self.stream)
        got: list[Received] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        while len(got) < expected and loop.time() < end:
            try:
                msgs = await psub.fetch(expected - len(got), timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            for m in msgs:
                await m.ack()
                got.append(Received(
                    m.subject.removeprefix(self.prefix),
                    (m.headers or {}).get("Nats-Msg-Id", ""), m.data,
                ))
        try:
            extra = await psub.fetch(1, timeout=0.3)
        except nats.errors.TimeoutError:
            extra = []
        got.extend(Received(m.subject, "", m.data) for m in extra)
        await psub.unsubscribe()
        return got


@pytest.fixture()
async def shared_stream(nats_url: str, unique: str) -> AsyncIterator[StreamReader]:
    """A unique stream name and subject prefix on the shared NATS; deleted afterwards."""
    nc = await nats.connect(nats_url)
    reader = StreamReader(nc, stream=f"T_EV_{unique}", prefix=f"t{unique}.")
    yield reader
    with contextlib.suppress(nats.errors.Error):  # the test may never have created it
        await reader.js.delete_stream(reader.stream)
    await nc.close()
