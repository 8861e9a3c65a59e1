"""control-plane API keys (hashes only) and every key and role change

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

``cp_api_keys`` keeps the SHA-256 of each key (never the key), its display prefix, name,
role and runbook teams, and when it was revoked. ``cp_key_events`` is append-only: one row
per key created, revoked or given another role, with who did it, for the compliance
evidence collectors.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cp_api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("teams", sa.Text(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("cp_api_keys_pkey")),
    )
    with op.batch_alter_table("cp_api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cp_api_keys_hash"), ["hash"], unique=True)
    op.create_table(
        "cp_key_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("key_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("teams", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("cp_key_events_pkey")),
    )
    with op.batch_alter_table("cp_key_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cp_key_events_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cp_key_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cp_key_events_at"))
    op.drop_table("cp_key_events")
    with op.batch_alter_table("cp_api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cp_api_keys_hash"))
    op.drop_table("cp_api_keys")
