"""The core API's one error base class and its kinds; the HTTP layer maps each to a status."""

from __future__ import annotations


class CoreApiError(Exception):
    """Base of every core_api error. Messages name the bad thing and how to fix it."""


class NotFoundError(CoreApiError):
    """An id that does not exist (HTTP 404)."""


class ConflictError(CoreApiError):
    """A write that collides with existing data, e.g. a duplicate email (HTTP 409)."""


class InFlightError(ConflictError):
    """An Idempotency-Key whose first request is still being processed (HTTP 409 with
    Retry-After): the retry should come back after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InvalidFieldError(CoreApiError):
    """A well-formed value this region cannot accept (HTTP 422), naming the field and where
    it was sent (``body``, ``path``, ``query`` or ``header``)."""

    def __init__(self, field: str, message: str, location: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.location = location


class MisdirectedError(CoreApiError):
    """A write for data whose home is another region (HTTP 421 Misdirected Request): the
    request is fine, this region is the wrong server for it; ``home_region`` is the right one."""

    def __init__(self, field: str, home_region: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.home_region = home_region


class ConfigurationError(CoreApiError):
    """Settings the core API cannot run with (a bad URL, a fund smaller than its floors)."""
