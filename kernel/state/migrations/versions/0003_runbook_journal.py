"""runbook journal: runs, their steps, and the trigger keys that dedupe notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Rows of ``runbooks.journal_sql``. ``rb_runs`` is listed newest first by keyset on ``id``
(with or without a runbook or region filter, hence the two composite indexes) and its active
runs found by ``ended_at IS NULL``; ``rb_trigger_keys`` holds one row per alert notification
(fingerprint@startsAt) or verdict occurrence, so a repeated notification is recognised.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rb_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("runbook", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("deadline_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("escalated_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("rb_runs_pkey")),
    )
    with op.batch_alter_table("rb_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rb_runs_ended_at"), ["ended_at"], unique=False)
        batch_op.create_index("ix_rb_runs_runbook_id", ["runbook", "id"], unique=False)
        batch_op.create_index("ix_rb_runs_region_id", ["region", "id"], unique=False)
    op.create_table(
        "rb_steps",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["rb_runs.id"], name=op.f("rb_steps_run_id_fkey")),
        sa.PrimaryKeyConstraint("run_id", "idx", name=op.f("rb_steps_pkey")),
    )
    op.create_table(
        "rb_trigger_keys",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["rb_runs.id"],
                                name=op.f("rb_trigger_keys_run_id_fkey")),
        sa.PrimaryKeyConstraint("key", name=op.f("rb_trigger_keys_pkey")),
    )
    with op.batch_alter_table("rb_trigger_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rb_trigger_keys_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rb_trigger_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rb_trigger_keys_run_id"))
    op.drop_table("rb_trigger_keys")
    op.drop_table("rb_steps")
    with op.batch_alter_table("rb_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_rb_runs_region_id")
        batch_op.drop_index("ix_rb_runs_runbook_id")
        batch_op.drop_index(batch_op.f("ix_rb_runs_ended_at"))
    op.drop_table("rb_runs")
