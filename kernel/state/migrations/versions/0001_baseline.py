"""baseline: the state store's tables as create_all made them before this history

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-06

The control plane's records (observations without the p99 and request-rate columns, which
0002 adds), its incident plots, and the SLO engine's decisions and budget snapshots.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(table: str) -> bool:
    # A store from before this history (``create_all`` at open) may hold any of these tables
    # already, exactly as below; adopting it creates only the ones it lacks. An empty
    # database lacks them all.
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    _control_plane_records()
    _incidents()
    _slo_records()


def _control_plane_records() -> None:
    if _missing("cp_observations"):
        op.create_table(
            "cp_observations",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("region", sa.String(length=16), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("latency_s", sa.Float(), nullable=True),
            sa.Column("requests", sa.Integer(), nullable=False),
            sa.Column("errors", sa.Integer(), nullable=False),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("cp_observations_pkey")),
        )
        with op.batch_alter_table("cp_observations", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_cp_observations_at"), ["at"], unique=False)
    if _missing("cp_verdicts"):
        op.create_table(
            "cp_verdicts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("region", sa.String(length=16), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("changed", sa.Boolean(), nullable=False),
            sa.Column("line", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("cp_verdicts_pkey")),
        )
        with op.batch_alter_table("cp_verdicts", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_cp_verdicts_at"), ["at"], unique=False)
    if _missing("cp_regions"):
        op.create_table(
            "cp_regions",
            sa.Column("region", sa.String(length=16), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("line", sa.Text(), nullable=False),
            sa.Column("latency_s", sa.Float(), nullable=True),
            sa.Column("error_ratio", sa.Float(), nullable=False),
            sa.Column("routed_to", sa.String(length=16), nullable=False),
            sa.PrimaryKeyConstraint("region", name=op.f("cp_regions_pkey")),
        )
    if _missing("cp_actions"):
        op.create_table(
            "cp_actions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("region", sa.String(length=16), nullable=True),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("leader", sa.String(length=128), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("cp_actions_pkey")),
        )
        with op.batch_alter_table("cp_actions", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_cp_actions_at"), ["at"], unique=False)


def _incidents() -> None:
    if _missing("cp_incidents"):
        op.create_table(
            "cp_incidents",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("region", sa.String(length=16), nullable=False),
            sa.Column("severity", sa.String(length=16), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("opened_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.Column("resolved_at", sa.Float(), nullable=True),
            sa.Column("summary", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("cp_incidents_pkey")),
        )
        with op.batch_alter_table("cp_incidents", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_cp_incidents_region"), ["region"], unique=False)
            batch_op.create_index(batch_op.f("ix_cp_incidents_status"), ["status"], unique=False)
    if _missing("cp_incident_events"):
        op.create_table(
            "cp_incident_events",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("incident_id", sa.String(length=64), nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("severity", sa.String(length=16), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(["incident_id"], ["cp_incidents.id"],
                                    name=op.f("cp_incident_events_incident_id_fkey")),
            sa.PrimaryKeyConstraint("id", name=op.f("cp_incident_events_pkey")),
        )
        with op.batch_alter_table("cp_incident_events", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_cp_incident_events_incident_id"),
                                  ["incident_id"], unique=False)
    if _missing("cp_incident_plots"):
        op.create_table(
            "cp_incident_plots",
            sa.Column("incident_id", sa.String(length=64), nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("png", sa.LargeBinary(), nullable=False),
            sa.ForeignKeyConstraint(["incident_id"], ["cp_incidents.id"],
                                    name=op.f("cp_incident_plots_incident_id_fkey")),
            sa.PrimaryKeyConstraint("incident_id", name=op.f("cp_incident_plots_pkey")),
        )


def _slo_records() -> None:
    if _missing("slo_policy_decisions"):
        op.create_table(
            "slo_policy_decisions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("service", sa.String(length=200), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("slo_id", sa.String(length=300), nullable=False),
            sa.Column("incident_id", sa.String(length=200), nullable=False),
            sa.Column("reason", sa.String(length=2000), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("slo_policy_decisions_pkey")),
        )
        with op.batch_alter_table("slo_policy_decisions", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_slo_policy_decisions_at"), ["at"], unique=False)
            batch_op.create_index(batch_op.f("ix_slo_policy_decisions_service"), ["service"],
                                  unique=False)
    if _missing("slo_budget_snapshots"):
        op.create_table(
            "slo_budget_snapshots",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.Column("slo_id", sa.String(length=300), nullable=False),
            sa.Column("service", sa.String(length=200), nullable=False),
            sa.Column("objective", sa.Float(), nullable=False),
            sa.Column("sli", sa.Float(), nullable=False),
            sa.Column("consumed", sa.Float(), nullable=False),
            sa.Column("remaining", sa.Float(), nullable=False),
            sa.Column("burn_rate", sa.Float(), nullable=False),
            sa.Column("total", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("slo_budget_snapshots_pkey")),
        )
        with op.batch_alter_table("slo_budget_snapshots", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_slo_budget_snapshots_at"), ["at"], unique=False)
            batch_op.create_index(batch_op.f("ix_slo_budget_snapshots_slo_id"), ["slo_id"],
                                  unique=False)


def downgrade() -> None:
    # Children before the incidents they reference; indexes go with their tables.
    for table in ("slo_budget_snapshots", "slo_policy_decisions", "cp_incident_plots",
                  "cp_incident_events", "cp_incidents", "cp_actions", "cp_regions",
                  "cp_verdicts", "cp_observations"):
        op.drop_table(table)
