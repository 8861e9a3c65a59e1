"""The infra package's one error base class."""

from __future__ import annotations


class InfraError(Exception):
    """A configuration, tool or process problem; the message names the thing and the fix."""
