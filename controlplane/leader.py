"""Leader election: several replicas may run, exactly one acts.

Two leases behind one Protocol. ``FileLease`` (embedded default) is an fcntl lock on a file
under data_dir; ``PostgresLease`` is a session-level advisory lock on a dedicated
connection. Both are released by the kernel or the server the moment the holder dies, so
a standby that retries every half lease period takes over within one period. Each
acquisition bumps an epoch, which ``decide()`` uses to re-assert routes after a change.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from controlplane.errors import LeaseError

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x636F76  # "cov": one lock id shared by every replica of one deployment


class Lease(Protocol):
    holder: str

    @property
    def epoch(self) -> int: ...

    def try_acquire(self) -> bool:
        """Acquire, or confirm we still hold it; False when another replica holds it."""

    def release(self) -> None: ...


class FileLease:
    def __init__(self, path: Path, holder: str) -> None:
        self.holder = holder
        self._path = path
        self._file: IO[str] | None = None
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "a+")  # noqa: SIM115 - held open for the whole lease
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        previous = handle.read().split()
        self._epoch = int(previous[0]) + 1 if previous and previous[0].isdigit() else 1
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self._epoch} {self.holder} {os.getpid()}\n")
        handle.flush()
        self._file = handle
        log.info("%s leads (file lease %s, epoch %d)", self.holder, self._path, self._epoch)
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class PostgresLease:
    """``pg_try_advisory_lock`` on a connection kept open; checked alive on every renew."""

    def __init__(self, url: str, holder: str, key: int = ADVISORY_KEY) -> None:
        self.holder = holder
        self._key = key
        self._engine = create_engine(url, isolation_level="AUTOCOMMIT")
        self._conn: Connection | None = None
        self._held = False
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def try_acquire(self) -> bool:
        try:
            conn = self._connection()
            if self._held:
                conn.execute(text("SELECT 1"))  # the lock lives as long as this session
                return True
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": self._key}).scalar())
            if got:
                self._held = True
                self._epoch = self._bump_epoch(conn)
                log.info("%s leads (advisory lock %d, epoch %d)", self.holder, self._key,
                         self._epoch)
            return got
        except SQLAlchemyError as exc:
            # Losing the session loses the lock: step down and reconnect next time.
            self._drop()
            log.warning("%s: lease session lost (%s); standing by", self.holder, exc)
            return False

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def _bump_epoch(self, conn: Connection) -> int:
        conn.execute(text("CREATE TABLE IF NOT EXISTS cp_leader_epoch ("
                          "key bigint PRIMARY KEY, epoch bigint NOT NULL, holder text)"))
        row = conn.execute(text(
            "INSERT INTO cp_leader_epoch AS e (key, epoch, holder) VALUES (:k, 1, :h) "
            "ON CONFLICT (key) DO UPDATE SET epoch = e.epoch + 1, holder = :h "
            "RETURNING epoch"), {"k": self._key, "h": self.holder}).scalar()
        if row is None:
            raise LeaseError(f"lease table cp_leader_epoch gave no epoch for key {self._key}")
        return int(row)

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        if self._conn is not None and self._held:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
        self._drop()
        self._engine.dispose()


def build_lease(state_url: str | None, data_dir: Path, holder: str) -> Lease:
    """PostgreSQL advisory lock when the state store is PostgreSQL, else a file lock."""
    if state_url and state_url.startswith("postgresql"):
        return PostgresLease(state_url, holder)
    return FileLease(data_dir / "leader.lock", holder)


def main() -> None:
    """``python -m controlplane.leader URL_OR_PATH HOLDER PERIOD``: contend and report."""
    import sys
    import time

    target, holder, period = sys.argv[1], sys.argv[2], float(sys.argv[3])
    lease: Lease = (PostgresLease(target, holder) if target.startswith("postgresql")
                    else FileLease(Path(target), holder))
    said = ""
    while True:
        word = "LEADER" if lease.try_acquire() else "STANDBY"
        if word != said:
            print(f"{word} {holder} epoch {lease.epoch}", flush=True)
            said = word
        time.sleep(period / 2)


if __name__ == "__main__":
    main()
