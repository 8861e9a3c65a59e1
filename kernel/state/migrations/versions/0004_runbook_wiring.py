"""runbook wiring: runs know their incident and their alert's resolution; route overrides

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

``rb_runs.incident_id`` links a run to the incident open in its region when it started (the
incidents API lists each incident's runs by it); ``rb_runs.resolved_at`` records when the
alert that started a run resolved; ``(status, id)`` pages the runs API's state filter by
keyset. ``cp_route_overrides`` holds the regions a runbook drained (``route.drain``): the
reconciler keeps them out of routing until ``route.restore``, across restarts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rb_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_rb_runs_incident_id"), ["incident_id"],
                              unique=False)
        batch_op.create_index("ix_rb_runs_status_id", ["status", "id"], unique=False)
    op.create_table(
        "cp_route_overrides",
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("region", name=op.f("cp_route_overrides_pkey")),
    )


def downgrade() -> None:
    op.drop_table("cp_route_overrides")
    with op.batch_alter_table("rb_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_rb_runs_status_id")
        batch_op.drop_index(batch_op.f("ix_rb_runs_incident_id"))
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("incident_id")
