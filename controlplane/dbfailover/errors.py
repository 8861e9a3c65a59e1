"""The failover package's one error base class."""

from __future__ import annotations

from controlplane.errors import ControlPlaneError


class DbFailoverError(ControlPlaneError):
    """A pair cannot be made, observed or failed over; the message names the thing and the fix."""


class RegionHeld(DbFailoverError):
    """Another automation (a runbook run, a game day, another pair operation) holds the
    region's lock; the message names the holder."""
