"""The anomaly package's one error base class."""

from __future__ import annotations


class AnomalyError(Exception):
    """Base class for every error raised by the anomaly package."""
