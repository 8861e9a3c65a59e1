"""Alembic environment of the state database: runs on the connection ``kernel.state.migrate``
hands over (or on ``sqlalchemy.url``), recording revisions in ``covenant_state_version``.

Autogenerating a revision needs every package's rows on ``StateBase.metadata``, and the kernel
imports no other package, so name their modules:
``-x rows=controlplane.store,slo.store,runbooks.journal_sql`` (comma-separated, imported
here before comparing).
"""

from __future__ import annotations

import importlib

from alembic import context

from kernel.migrations import run_env
from kernel.state.base import StateBase
from kernel.state.migrate import VERSION_TABLE


def _import_rows() -> None:
    for module in filter(None, context.get_x_argument(as_dictionary=True).get("rows", "")
                         .split(",")):
        importlib.import_module(module.strip())


_import_rows()
run_env(StateBase.metadata, VERSION_TABLE)
