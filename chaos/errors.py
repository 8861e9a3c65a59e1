"""The chaos package's errors: one base class, and the API error carrying an HTTP status."""

from __future__ import annotations


class ChaosError(Exception):
    """Base class of every error raised by the chaos package."""


class ApiError(ChaosError):
    """A Toxiproxy API failure: ``status`` and ``message`` become the JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def extra(self) -> dict[str, object]:
        """Fields the error body carries after ``error`` and ``status`` (none by default)."""
        return {}


class ClientError(ChaosError):
    """A Toxiproxy endpoint answered with an error (or could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message


# The fixed messages of the Toxiproxy API (spec 1.1), so handlers never re-spell them.
BAD_REQUEST_BODY = "bad request body"
MISSING_FIELD = "missing required field"
PROXY_NOT_FOUND = "proxy not found"
PROXY_EXISTS = "proxy already exists"
INVALID_STREAM = "stream was invalid, can be either upstream or downstream"
INVALID_TOXIC_TYPE = "invalid toxic type"
TOXIC_EXISTS = "toxic already exists"
TOXIC_NOT_FOUND = "toxic not found"


def bad_body(detail: str) -> ApiError:
    return ApiError(400, f"{BAD_REQUEST_BODY}: {detail}")
