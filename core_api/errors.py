"""The core API's one error base class and its kinds; the HTTP layer maps each to a status."""

from __future__ import annotations


class CoreApiError(Exception):
    """Base of every core_api error. Messages name the bad thing and how to fix it."""


class NotFoundError(CoreApiError):
    """An id that does not exist (HTTP 404)."""


class ConflictError(CoreApiError):
    """A write that collides with existing data, e.g. a duplicate email (HTTP 409)."""


class InvalidFieldError(CoreApiError):
    """A well-formed value this region cannot accept (HTTP 422), naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ConfigurationError(CoreApiError):
    """Settings the core API cannot run with (a bad URL, a fund smaller than its floors)."""
