"""The keys ``covenant up`` keeps for this machine, so the walk-through stays two commands:
``<data_dir>/admin.key`` (role admin, for the CLI and your curl lines) and
``<data_dir>/alertmanager.key`` (role alertmanager, for alertmanager.yml's
``authorization.credentials_file``). Mode 0600; made on the first start, and again when
the key in the file no longer works (revoked, or a new state store).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from controlplane.access import Role
from controlplane.keys import KeyStore
from kernel.files import atomic_write

log = logging.getLogger(__name__)
ADMIN_FILE = "admin.key"
ALERTMANAGER_FILE = "alertmanager.key"
ADMIN_NAME = "local-admin"
ALERTMANAGER_NAME = "alertmanager"


def read_key(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def ensure_key(keys: KeyStore, path: Path, name: str, role: Role,
               teams: Sequence[str] = ()) -> str:
    """The key in ``path`` if it still authenticates, else a new one written there (0600)."""
    token = read_key(path)
    if token is not None and keys.authenticate(token) is not None:
        return token
    info, token = keys.create(name, role, teams, actor=f"covenant-up:{_user()}")
    atomic_write(path, token + "\n")
    path.chmod(0o600)
    log.info("made API key %s (%s, %s) in %s", info.prefix, name, role, path)
    return token


def ensure_local_keys(keys: KeyStore, data_dir: Path, teams: Sequence[str]) -> None:
    ensure_key(keys, data_dir / ADMIN_FILE, ADMIN_NAME, Role.ADMIN, teams)
    ensure_key(keys, data_dir / ALERTMANAGER_FILE, ALERTMANAGER_NAME, Role.ALERTMANAGER)


def _user() -> str:
    try:
        return os.getlogin()
    except OSError:
        return str(os.getuid())
