"""the region lock every process sees: one row per held region

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

``region_locks`` is :class:`kernel.state.locks.SqlRegionLock`'s table: the region, who holds
it (``runbook:<id>``, ``gameday:<id>``, ``dbfailover:<pair>``), when that holder took it and
when it expires unless refreshed. Runbook runs, game days and database failovers in any
process take it, so they never act on one region at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "region_locks",
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("region", name=op.f("region_locks_pkey")),
    )


def downgrade() -> None:
    op.drop_table("region_locks")
