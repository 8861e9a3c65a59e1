"""``covenant runbook``: the runbooks package's commands, given the control-plane API of a
running ``covenant up`` and this machine's admin key (``<data_dir>/admin.key``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from runbooks import cli as runbooks_cli

if TYPE_CHECKING:
    from runbooks.remote import RemoteRuns


def remote(url: str) -> RemoteRuns:
    """A client of the runs API with the local admin key (none when the file is missing:
    the API then answers 401 naming the fix)."""
    from pathlib import Path

    from covenant.local_keys import ADMIN_FILE, read_key
    from kernel.settings import load_settings
    from runbooks.remote import RemoteRuns

    return RemoteRuns(url, read_key(Path(load_settings().data_dir) / ADMIN_FILE))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    runbooks_cli.register(app, bench, runbooks_cli.library_context, remote=remote)
