"""The front door as ``covenant up`` runs it: a process of its own
(``python -m controlplane.frontdoor``), told everything in ``<data_dir>/frontdoor.json`` —
the regions' endpoints (their proxies), the nearest-region order, the country→home map
from the core API's data (the control plane may not import it), the control-plane API to
pull routes from at start — and fed route tables by the reconciler through
``FrontDoorRouter`` on its loopback admin port."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from controlplane.desired import DesiredState
from controlplane.errors import ControlPlaneError
from controlplane.frontdoor_config import FrontDoorConfig
from covenant.children import ChildSpec
from covenant.wiring import country_homes
from kernel.files import atomic_write

KEY = "frontdoor"
READY_TIMEOUT_S = 30.0


def front_door_config(desired: DesiredState, endpoints: Mapping[str, str], port: int,
                      admin_port: int, control_plane: str,
                      otlp_endpoint: str = "") -> FrontDoorConfig:
    """``otlp_endpoint``: where the front door posts its spans (``kernel.tracing.
    traces_endpoint`` of the settings); "" for no tracing."""
    names = list(desired.region_names())
    return FrontDoorConfig(
        endpoints={r: endpoints[r] for r in names}, homes=country_homes(),
        nearest={r: list(o) for r, o in desired.nearest_order().items()},
        default_region=desired.routing.default_region or names[0],
        host=desired.stack.host, port=port, admin_port=admin_port,
        control_plane=control_plane, regions_order=names, otlp_endpoint=otlp_endpoint)


def front_door_spec(config: FrontDoorConfig, data_dir: Path, env: Mapping[str, str]
                    ) -> ChildSpec:
    """Write the config file and describe the process that reads it."""
    path = data_dir / "frontdoor.json"
    atomic_write(path, config.to_json())
    argv = (sys.executable, "-m", "controlplane.frontdoor", "--config", str(path),
            "--log-level", "WARNING")
    return ChildSpec(KEY, "front door", argv, env, data_dir / "logs" / "frontdoor.log")


async def wait_ready(admin_url: str, process: asyncio.subprocess.Process, log_path: Path,
                     timeout_s: float = READY_TIMEOUT_S) -> None:
    """Until the front door's admin listener answers ``/health``."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=admin_url, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise ControlPlaneError(f"the front door exited with {process.returncode}; "
                                        f"see {log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/health")).is_success:
                    return
            await asyncio.sleep(0.05)
    raise ControlPlaneError(f"the front door not ready after {timeout_s:g} s; see {log_path}")
