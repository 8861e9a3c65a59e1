"""Alembic scripts of the state database (``kernel.state.migrate`` runs them)."""
