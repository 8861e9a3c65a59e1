"""Map core_api errors to HTTP: 404 unknown ids, 409 duplicates (and keys in flight), 421 a
write for another region's data, 422 naming the field."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from core_api.contract import HOME_HEADER
from core_api.errors import (
    ConflictError,
    CoreApiError,
    InFlightError,
    InvalidFieldError,
    MisdirectedError,
    NotFoundError,
)
from core_api.schemas import ErrorBody

logger = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such id (or it lives in another region)"},
    409: {"model": ErrorBody, "description": "Conflicts with existing data"},
}


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def _in_flight(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InFlightError)
    return JSONResponse({"detail": str(exc)}, status_code=409,
                        headers={"retry-after": str(exc.retry_after_s)})


async def _misdirected(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MisdirectedError)
    # 421, not 422: the request is fine and will succeed at the home region; a client (or
    # the front door) may send it there, where a 4xx blaming the request would make it drop.
    return JSONResponse({"detail": str(exc), "home_region": exc.home_region}, status_code=421,
                        headers={HOME_HEADER: exc.home_region})


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    logger.info("write refused by a database constraint: %s", exc)
    return JSONResponse(
        {"detail": "the change conflicts with existing data (a unique or reference constraint)"},
        status_code=409,
    )


async def _invalid_field(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidFieldError)
    # The same shape as FastAPI's own validation errors, so clients parse one format.
    detail = [{"loc": [exc.location, exc.field], "msg": str(exc), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


async def _internal(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled core_api error: %s", exc, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(InFlightError, _in_flight)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(MisdirectedError, _misdirected)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(InvalidFieldError, _invalid_field)
    app.add_exception_handler(CoreApiError, _internal)
