"""``/_chaos/fault``: set, read and clear this region's injected fault (``core_api.faults``).

Mounted only with ``COVENANT_FAULT_INJECTION`` on; an API without it answers 404 here.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from core_api.faults import FaultSpec
from core_api.services import JsonBytes, json_response, services

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/_chaos", tags=["chaos"])


class FaultState(BaseModel):
    region: str
    fault: FaultSpec | None


@router.get("/fault", response_model=FaultState)
def get_fault(request: Request) -> JsonBytes:
    s = services(request)
    return json_response(FaultState(region=s.region, fault=s.faults.spec))


@router.put("/fault", response_model=FaultState)
def put_fault(request: Request, body: FaultSpec) -> JsonBytes:
    """Answer ``error_rate`` of requests with ``status`` until cleared (replaces any fault)."""
    s = services(request)
    s.faults.set(body)
    logger.warning("fault injected in %s: %.0f%% of requests answer %d%s", s.region,
                   body.error_rate * 100, body.status, "" if body.probes else
                   " (/ready and /health spared)")
    return json_response(FaultState(region=s.region, fault=body))


@router.delete("/fault", status_code=204, response_class=Response)
def clear_fault(request: Request) -> Response:
    s = services(request)
    if s.faults.spec is not None:
        logger.warning("fault cleared in %s", s.region)
    s.faults.clear()
    return Response(status_code=204)
