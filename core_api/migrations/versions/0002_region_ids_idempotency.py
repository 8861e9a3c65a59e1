"""ids that name their region; idempotency keys

Projects and users were keyed by one integer sequence per database, so two regions with
their own databases both had project 1. They are now keyed by (region, number) and the API
shows "<region>-<number>"; existing rows keep their integer as their number ("project 61
of syd" becomes "syd-61"), which also holds when all regions share one database (their
integers were unique there). ``id_counters`` continues each region's numbering after the
largest number it holds (on PostgreSQL also after the old sequence's last value, so no
number issued before is issued again). Pending outbox events get the new string ids;
published ones are history and stay as they were sent. ``idempotency_keys`` stores the
responses of creates sent with an Idempotency-Key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ENTITIES = {"projects": "project", "users": "user"}
OLD_INDEXES = {
    "projects": {"ix_projects_region_id": ["region", "id"],
                 "ix_projects_region_country": ["region", "country", "id"],
                 "ix_projects_region_sector": ["region", "sector", "id"]},
    "users": {"ix_users_region_id": ["region", "id"],
              "ix_users_region_country": ["region", "country", "id"]},
}
NEW_INDEXES = {
    "projects": {"ix_projects_region_country": ["region", "country", "number"],
                 "ix_projects_region_sector": ["region", "sector", "number"]},
    "users": {"ix_users_region_country": ["region", "country", "number"]},
}
_OUTBOX = sa.table("outbox_events", sa.column("seq", sa.Integer()),
                   sa.column("payload", sa.Text()), sa.column("published_at", sa.DateTime()))


def upgrade() -> None:
    op.create_table(
        "id_counters",
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region", "entity", name=op.f("pk_id_counters")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("region", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_region_created", "idempotency_keys",
                    ["region", "created_at"], unique=False)
    for table, entity in ENTITIES.items():
        issued = _sequence_last_value(table)
        _key_by_region_and_number(table)
        _start_counters(table, entity, issued)
    _rewrite_pending_ids(qualify_ids)


def downgrade() -> None:
    for table in ENTITIES:
        _refuse_shared_numbers(table)
    _rewrite_pending_ids(unqualify_ids)
    for table, entity in ENTITIES.items():
        _key_by_id(table, entity)
    op.drop_index("ix_idempotency_keys_region_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("id_counters")


# --- upgrade steps -------------------------------------------------------------------------
def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _sequence_last_value(table: str) -> int:
    """The last value the old ``<table>.id`` sequence handed out (PostgreSQL; else 0)."""
    if not _is_postgresql():
        return 0
    bind = op.get_bind()
    sequence = bind.scalar(sa.text(f"SELECT pg_get_serial_sequence('{table}', 'id')"))
    if sequence is None:
        return 0
    last, called = bind.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one()
    return int(last) if called else 0


def _key_by_region_and_number(table: str) -> None:
    """(id) -> (region, number), keeping every row's integer as its number."""
    sequence = None
    if _is_postgresql():
        sequence = op.get_bind().scalar(
            sa.text(f"SELECT pg_get_serial_sequence('{table}', 'id')"))
    with op.batch_alter_table(table) as batch_op:
        for name in OLD_INDEXES[table]:
            batch_op.drop_index(name)
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_constraint(f"pk_{table}", type_="primary")
        batch_op.alter_column("id", new_column_name="number", existing_type=sa.Integer(),
                              existing_nullable=False, server_default=None)
    # A batch of its own: SQLite's copy would drop a key naming a column renamed with it.
    with op.batch_alter_table(table) as batch_op:
        batch_op.create_primary_key(f"pk_{table}", ["region", "number"])
        for name, columns in NEW_INDEXES[table].items():
            batch_op.create_index(name, columns, unique=False)
    if sequence is not None:
        op.execute(sa.text(f"DROP SEQUENCE IF EXISTS {sequence}"))


def _start_counters(table: str, entity: str, issued: int) -> None:
    op.execute(sa.text(
        f"INSERT INTO id_counters (region, entity, last) "
        f"SELECT region, :entity, MAX(number) FROM {table} GROUP BY region"
    ).bindparams(entity=entity))
    if issued:
        op.execute(sa.text(
            "UPDATE id_counters SET last = :issued WHERE entity = :entity AND last < :issued"
        ).bindparams(issued=issued, entity=entity))


def qualify_ids(envelope: dict[str, object]) -> bool:
    """Give a project or user event's integer id its region: 61 -> "syd-61". Pure."""
    data = envelope.get("data")
    if (envelope.get("entity") not in ENTITIES.values() or not isinstance(data, dict)
            or type(data.get("id")) is not int):
        return False
    data["id"] = f"{envelope['region']}-{data['id']}"
    return True


def unqualify_ids(envelope: dict[str, object]) -> bool:
    """The inverse of ``qualify_ids``: "syd-61" -> 61. Pure."""
    data = envelope.get("data")
    if (envelope.get("entity") not in ENTITIES.values() or not isinstance(data, dict)
            or not isinstance(data.get("id"), str)):
        return False
    data["id"] = int(str(data["id"]).rpartition("-")[2])
    return True


def _rewrite_pending_ids(rewrite: Callable[[dict[str, object]], bool]) -> None:
    bind = op.get_bind()
    pending = bind.execute(sa.select(_OUTBOX.c.seq, _OUTBOX.c.payload)
                           .where(_OUTBOX.c.published_at.is_(None))).all()
    for seq, payload in pending:
        envelope = json.loads(payload)
        if rewrite(envelope):
            bind.execute(sa.update(_OUTBOX).where(_OUTBOX.c.seq == seq).values(
                payload=json.dumps(envelope, default=str, separators=(",", ":"))))


# --- downgrade steps -----------------------------------------------------------------------
def _refuse_shared_numbers(table: str) -> None:
    shared = op.get_bind().execute(sa.text(
        f"SELECT number FROM {table} GROUP BY number HAVING COUNT(*) > 1 LIMIT 3")).scalars()
    numbers = list(shared)
    if numbers:
        raise RuntimeError(
            f"cannot downgrade {table} below 0002: regions share the numbers {numbers} in "
            "this database, and the old schema had one integer id per database; move the "
            "regions to databases of their own first")


def _key_by_id(table: str, entity: str) -> None:
    with op.batch_alter_table(table) as batch_op:
        for name in NEW_INDEXES[table]:
            batch_op.drop_index(name)
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_constraint(f"pk_{table}", type_="primary")
        batch_op.alter_column("number", new_column_name="id", existing_type=sa.Integer(),
                              existing_nullable=False)
    with op.batch_alter_table(table) as batch_op:
        batch_op.create_primary_key(f"pk_{table}", ["id"])
        for name, columns in OLD_INDEXES[table].items():
            batch_op.create_index(name, columns, unique=False)
    if _is_postgresql():
        sequence = f"{table}_id_seq"
        op.execute(sa.text(f"CREATE SEQUENCE {sequence} OWNED BY {table}.id"))
        op.execute(sa.text(
            f"SELECT setval('{sequence}', GREATEST(1, (SELECT COALESCE(MAX(id), 0) FROM {table}),"
            f" (SELECT COALESCE(MAX(last), 0) FROM id_counters WHERE entity = :entity)))"
        ).bindparams(entity=entity))
        op.execute(sa.text(
            f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{sequence}')"))
