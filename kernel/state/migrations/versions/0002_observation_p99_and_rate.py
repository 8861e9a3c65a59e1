"""observations record the p99 latency and the request rate

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

Both nullable: observations recorded before them have no value, and the observer leaves them
empty until it has two scrapes to diff. (Stores from before this history gained them by ALTER
TABLE at open; ``kernel.state.migrate`` stamps those at 0002.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cp_observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latency_p99_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("request_rate", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cp_observations", schema=None) as batch_op:
        batch_op.drop_column("request_rate")
        batch_op.drop_column("latency_p99_s")
