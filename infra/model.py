"""What the Prometheus and Alertmanager configuration is generated from: the stack's
endpoints, the rule files (text the composition root passes in), and the webhook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kernel.regions import (
    CONTROL_PLANE_PORT,
    FRONT_DOOR_PORT,
    REGION_CODES,
    default_api_port,
)

PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
# Served by the control plane (the runbooks' Alertmanager trigger).
WEBHOOK_PATH = "/v1/alerts/alertmanager"
TOKEN_FILE = "webhook-token"  # beside alertmanager.yml; Alertmanager resolves it from there


def _frozen(m: Mapping[str, int] | None = None) -> Mapping[str, int]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class Endpoints:
    """Where ``covenant up`` serves: each region's API, the control plane, the front door."""

    host: str = "127.0.0.1"
    regions: Mapping[str, int] = field(default_factory=lambda: _frozen(
        {r: default_api_port(r) for r in REGION_CODES}))
    control_plane: int = CONTROL_PLANE_PORT
    front_door: int = FRONT_DOOR_PORT

    def address(self, port: int) -> str:
        return f"{self.host}:{port}"


@dataclass(frozen=True)
class InfraSpec:
    endpoints: Endpoints
    rule_files: Mapping[str, str]  # file name -> rules text (e.g. slo.generate's)
    scrape_interval: str = "15s"
    alertmanager: str = f"127.0.0.1:{ALERTMANAGER_PORT}"
    # Absolute, or relative to alertmanager.yml's directory.
    credentials_file: str = TOKEN_FILE

    @property
    def webhook_url(self) -> str:
        return f"http://{self.endpoints.address(self.endpoints.control_plane)}{WEBHOOK_PATH}"
