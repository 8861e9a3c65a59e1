"""The one declarative base of the state database, whose metadata every state-store row uses.

The control plane's records, the SLO engine's decisions and budgets (and, next, runbooks and
compliance evidence) live in one database, so they share one ``MetaData`` and one migration
history. A package's rows subclass :class:`StateBase`; a table or column added there needs a
revision under ``kernel/state/migrations/versions`` too (``tests/kernel`` fails until the
history builds exactly this metadata).
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Constraint names as PostgreSQL itself names unnamed ones (and indexes as SQLAlchemy always
# has), so stores made by ``create_all`` before the history existed already carry the names
# a later revision drops or alters them by; on SQLite it gives batch migrations names to use.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class StateBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
