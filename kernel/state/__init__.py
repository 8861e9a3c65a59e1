"""The state database every package shares (``COVENANT_STATE_URL``): one declarative base
(:mod:`kernel.state.base`) and one Alembic history (:mod:`kernel.state.migrate`, revisions
under ``kernel/state/migrations/versions``).
"""
