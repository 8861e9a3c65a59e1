"""The control plane's one error base class and its few specialisations."""

from __future__ import annotations


class ControlPlaneError(Exception):
    """Something the control plane cannot do; the message names the thing and the fix."""


class DesiredStateError(ControlPlaneError):
    """``covenant.yaml`` is invalid: the message names the file, the line and the field."""


class StoreError(ControlPlaneError):
    """The state store could not be opened or written."""


class LeaseError(ControlPlaneError):
    """Leader election could not acquire or hold its lease."""
