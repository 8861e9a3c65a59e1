"""What the front door process is told at start: a JSON file (``covenant up`` writes
``<data_dir>/frontdoor.json``), so the process needs neither ``covenant.yaml``'s loader nor
the core API's data — the country→home map comes in the file, built by the composition
root from the core API's countries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from controlplane.errors import ControlPlaneError
from controlplane.frontdoor_routing import Topology


@dataclass(frozen=True)
class FrontDoorConfig:
    endpoints: dict[str, str]               # region -> base URL ("http://127.0.0.1:8201")
    homes: dict[str, str]                   # ISO3 and ISO2 -> home region
    nearest: dict[str, list[str]]           # region -> the others, nearest first
    default_region: str
    host: str = "127.0.0.1"
    port: int = 8080                        # 0: any free port (reported in ready_file)
    admin_port: int = 0                     # loopback only: route pushes, metrics, health
    control_plane: str = ""                 # where to pull the route table at start
    ready_file: str = ""                    # written once listening: ports and pid
    retry_after_s: int = 5
    connect_timeout_s: float = 2.0
    response_timeout_s: float = 30.0
    idle_upstream_s: float = 4.0            # under the origins' keep-alive timeout (5 s)
    client_idle_s: float = 75.0             # a client connection waiting this long is closed
    max_body_bytes: int = 1_048_576
    regions_order: list[str] = field(default_factory=list)
    otlp_endpoint: str = ""                 # spans posted here (.../v1/traces); "": the
                                            # OTEL_EXPORTER_OTLP_* variables, or no tracing

    def topology(self) -> Topology:
        order = tuple(self.regions_order or self.endpoints)
        known = set(order)
        return Topology(regions=order,
                        homes={c: r for c, r in self.homes.items() if r in known},
                        default=self.default_region,
                        nearest={r: tuple(o for o in self.nearest.get(r, ()) if o in known)
                                 for r in order})

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FrontDoorConfig:
        try:
            config = cls(**data)
        except TypeError as exc:
            raise ControlPlaneError(f"front door config: {exc}; write it with "
                                    "FrontDoorConfig.to_json") from exc
        if config.default_region not in config.endpoints:
            raise ControlPlaneError(f"front door config: default_region "
                                    f"{config.default_region!r} is not one of "
                                    f"{sorted(config.endpoints)}")
        return config

    @classmethod
    def load(cls, path: Path) -> FrontDoorConfig:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ControlPlaneError(f"front door config {path}: {exc}") from exc
        return cls.from_mapping(data)


def host_port(url: str) -> tuple[str, int]:
    """``("127.0.0.1", 8201)`` of ``http://127.0.0.1:8201``: the relay speaks plain HTTP."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme != "http":
        raise ControlPlaneError(f"front door endpoint {url!r}: only http://host:port is relayed")
    netloc = rest.split("/", 1)[0]
    host, _, port = netloc.rpartition(":")
    if not host or not port.isdigit():
        return netloc, 80
    return host.strip("[]"), int(port)
