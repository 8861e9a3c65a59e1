"""The base package's errors: one base class, each message naming the bad thing and the fix."""

from __future__ import annotations


class KernelError(Exception):
    """Something in the shared base failed (bus, state store, settings)."""
