"""Revisions of the state database, oldest first by number."""
