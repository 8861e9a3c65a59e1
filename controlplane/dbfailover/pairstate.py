"""The pair's own record, ``<dir>/pair.json``: which node is primary now, which is the
standby, which are fenced, the generation (bumped by every change of roles) and where its
endpoint lives. Written atomically; every operation on the pair holds ``<dir>/pair.lock``
(``flock``: released by the kernel if its holder dies), and the control plane's probe sees
a held lock as "busy" and does not act.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.postgres import PgNode
from kernel.files import atomic_write

STATE_FILE = "pair.json"
LOCK_FILE = "pair.lock"
HISTORY_KEPT = 20


class EndpointInfo(BaseModel):
    """The fault-proxy endpoint the region API connects to, and the links before each node."""

    model_config = ConfigDict(frozen=True)
    toxiproxy: str                 # the Toxiproxy API's URL
    proxy: str                     # the endpoint proxy's name, e.g. ams_db
    port: int                      # what the region's database URL names
    links: dict[str, str]          # node -> its link proxy's name, e.g. {"a": "ams_db_a"}
    link_ports: dict[str, int]     # node -> the link's listening port


class PairState(BaseModel):
    model_config = ConfigDict(frozen=True)
    region: str
    database: str = "covenant"
    nodes: dict[str, int]          # node name -> its PostgreSQL port
    primary: str
    standby: str | None
    fenced: tuple[str, ...] = ()
    generation: int = 1
    endpoint: EndpointInfo | None = None
    history: tuple[str, ...] = ()

    def with_roles(self, primary: str, standby: str | None, fenced: tuple[str, ...],
                   note: str) -> PairState:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} gen {self.generation + 1}: {note}"
        return self.model_copy(update={
            "primary": primary, "standby": standby, "fenced": fenced,
            "generation": self.generation + 1,
            "history": (*self.history, line)[-HISTORY_KEPT:]})

    def other(self, node: str) -> str:
        return next(n for n in self.nodes if n != node)


def node(directory: Path, state: PairState, name: str) -> PgNode:
    return PgNode(state.region, name, state.nodes[name], directory / name)


def load_state(directory: Path) -> PairState:
    path = directory / STATE_FILE
    try:
        return PairState.model_validate_json(path.read_text())
    except FileNotFoundError as exc:
        raise DbFailoverError(f"{path}: no pair here; create one with `covenant db pair init "
                              f"REGION --dir {directory}`") from exc
    except (OSError, ValidationError) as exc:
        raise DbFailoverError(f"{path}: unreadable pair state ({exc}); restore it or "
                              "re-create the pair") from exc


def save_state(directory: Path, state: PairState) -> None:
    atomic_write(directory / STATE_FILE, state.model_dump_json(indent=2))


@contextlib.contextmanager
def holding(directory: Path, operation: str) -> Iterator[None]:
    """Hold the pair for ``operation``; a pair already held is an error naming its holder."""
    path = directory / LOCK_FILE
    handle = open(path, "a+")  # noqa: SIM115 - closed below, which releases the lock
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DbFailoverError(f"pair {directory} is busy ({holder}); wait for it to "
                                  "finish, or stop that process") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{operation} by pid {os.getpid()} since {time.strftime('%H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
    finally:
        handle.close()


def busy(directory: Path) -> str:
    """Who holds the pair ("" when nobody does)."""
    path = directory / LOCK_FILE
    if not path.exists():
        return ""
    with open(path) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "held"
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return ""
