"""Alembic environment: runs on the connection (or URL) that ``core_api.migrate`` hands over."""

from __future__ import annotations

from core_api import models  # noqa: F401  (imports every table onto Base.metadata)
from core_api.db import Base
from kernel.migrations import run_env

run_env(Base.metadata)
