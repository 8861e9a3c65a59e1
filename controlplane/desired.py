"""Desired state: the models of ``covenant.yaml`` and its loader.

An invalid file is rejected with its path, the line of the offending node and the field,
found by walking the YAML node tree (which keeps source marks) along pydantic's error loc.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from controlplane.dbspec import DbPolicy
from controlplane.errors import DesiredStateError
from kernel.regions import (
    CONTROL_PLANE_PORT,
    FIRST_API_PORT,
    FIRST_PROXY_PORT,
    FRONT_DOOR_PORT,
    REGION_CODES,
    REGIONS,
    TOXIPROXY_PORT,
)
from slo.policy import MIN_ELAPSED_SHARE, MIN_EVENTS

REGION_ORDER: tuple[str, ...] = REGION_CODES
# The same points that assigned each country's home region (kernel.regions).
REGION_COORDINATES: dict[str, tuple[float, float]] = {
    r.code: (r.latitude, r.longitude) for r in REGIONS}
EARTH_RADIUS_KM = 6371.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,15}$")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    endpoint: str = Field(description="Base URL clients and probes use (through its proxy).")
    origin: str | None = Field(default=None, description="The API's own URL behind the proxy.")


class ProbePolicy(_Model):
    interval_s: float = Field(default=1.0, gt=0, le=60)
    timeout_s: float = Field(default=0.8, gt=0, le=60)
    scrape_timeout_s: float = Field(default=0.8, gt=0, le=60)
    confirm_interval_s: float = Field(
        default=0.25, gt=0, le=60,
        description="After a healthy region's first bad cycle, probe again this soon: the "
        "hysteresis still needs consecutive bad cycles, but they need not be a full interval "
        "apart.")


class HealthPolicy(_Model):
    """Thresholds and hysteresis of the region state machine."""

    slow_latency_s: float = Field(default=0.4, gt=0)
    error_ratio: float = Field(default=0.05, gt=0, le=1)
    min_requests: int = Field(default=5, ge=1, description="Fewer requests: ratio ignored.")
    degrade_after: int = Field(default=2, ge=1, description="Bad cycles before degraded.")
    down_after: int = Field(default=3, ge=1, description="Unreachable cycles before down.")
    recover_after: int = Field(default=3, ge=1, description="Good cycles before healthy.")
    min_dwell_s: float = Field(default=3.0, ge=0, description="Least time in a sick state.")


class RoutingPolicy(_Model):
    mode: Literal["nearest"] = "nearest"
    default_region: str | None = None
    fail_open: bool = Field(default=True, description="All regions sick: keep home routes.")


class HookPolicy(_Model):
    runbook_on_down: str | None = None
    db_failover_on_down: bool = False
    chaos_pause_min_sick: int = Field(default=2, ge=1)


class SloPolicy(_Model):
    # On out of the box (the mission: the reconciler enforces SLOs); `slo: {enforce: false}`
    # opts out. The policy itself waits for a minimum of data (slo.policy.data_shortfall).
    enforce: bool = Field(default=True, description="Act on slo.policy verdicts: record "
                          "budgets, freeze chaos, mark a region whose budget is exhausted.")
    min_events: float = Field(default=MIN_EVENTS, ge=0, description="Events a budget needs "
                              "before the policy acts on it (SRE Workbook, low traffic).")
    min_elapsed_share: float = Field(default=MIN_ELAPSED_SHARE, ge=0, le=1, description=(
        "Share of the SLO period observed before the policy acts on a budget."))


class AnomalyPolicy(_Model):
    treat_sustained_as_bad: bool = Field(default=False)


class RecordPolicy(_Model):
    retention_s: float = Field(default=86400.0, gt=0,
                               description="Observations and verdicts older than this are "
                               "pruned; incidents and actions are kept.")
    prune_every: int = Field(default=300, ge=1, description="Passes between prunes.")


class Route53HealthCheck(_Model):
    """Route 53's own health check on each region's endpoint, attached to its records: the
    backstop that still moves DNS off a failing region while the control plane is down."""

    protocol: Literal["HTTP", "HTTPS"] = "HTTPS"
    port: int = Field(default=443, ge=1, le=65535)
    path: str = "/ready"
    interval_s: Literal[10, 30] = Field(default=10, description="Route 53 allows 10 or 30.")
    failure_threshold: int = Field(default=3, ge=1, le=10)

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"{path!r} must start with '/', e.g. '/{path}'")
        return path


class Route53Policy(_Model):
    """Also drive Route 53 weighted records (production DNS) with the same route table."""

    zone_id: str = Field(min_length=1)
    domain: str = Field(min_length=1, description="Records are <home>.<domain>.")
    targets: dict[str, str] = Field(description="Region -> the DNS name its endpoint has.")
    ttl: int = Field(default=10, ge=0)
    endpoint_url: str | None = Field(default=None, description="Only for a moto/local AWS.")
    aws_region: str = "us-east-1"
    health_check: Route53HealthCheck | None = None


class StackPorts(_Model):
    host: str = "127.0.0.1"
    control_plane: int = Field(default=CONTROL_PLANE_PORT, ge=0, le=65535)
    front_door: int = Field(default=FRONT_DOOR_PORT, ge=0, le=65535)
    region_api_base: int = Field(default=FIRST_API_PORT, ge=0, le=65535)
    proxy_base: int = Field(default=FIRST_PROXY_PORT, ge=0, le=65535)
    toxiproxy: int = Field(default=TOXIPROXY_PORT, ge=0, le=65535)


class DesiredState(_Model):
    version: Literal[1] = 1
    regions: tuple[Region, ...]
    probe: ProbePolicy = ProbePolicy()
    health: HealthPolicy = HealthPolicy()
    routing: RoutingPolicy = RoutingPolicy()
    hooks: HookPolicy = HookPolicy()
    slo: SloPolicy = SloPolicy()
    anomaly: AnomalyPolicy = AnomalyPolicy()
    route53: Route53Policy | None = None
    db: DbPolicy = Field(default_factory=DbPolicy, description="Regions whose core "
                         "database is a PostgreSQL pair, and the failover policy.")
    record: RecordPolicy = RecordPolicy()
    stack: StackPorts = StackPorts()
    settings: dict[str, Any] = Field(default_factory=dict, description="Read by Settings.")

    @model_validator(mode="after")
    def _names_unique(self) -> DesiredState:
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names):
            raise ValueError(f"region names must be unique, got {names}")
        if not names:
            raise ValueError("at least one region is required")
        strangers = sorted(set(self.db.pairs) - set(names))
        if strangers:
            raise ValueError(f"db.pairs names {strangers}, not among the regions {names}")
        if self.db.pairs and self.hooks.db_failover_on_down:
            raise ValueError("hooks.db_failover_on_down fails a database over when a region's "
                             "API is down; with db.pairs the pairs' own probes decide: set it "
                             "to false")
        if self.route53 is not None and set(self.route53.targets) != set(names):
            raise ValueError(f"route53.targets must name exactly the regions {names}")
        default = self.routing.default_region
        if default is not None and default not in names:
            raise ValueError(f"routing.default_region {default!r} is not one of {names}")
        return self

    def region_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    def region(self, name: str) -> Region:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)

    def nearest_order(self) -> dict[str, tuple[str, ...]]:
        """For each region, the other regions from nearest to farthest (great circle)."""
        return dict(_nearest_order(self.regions))


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def default_desired(ports: StackPorts | None = None, **policies: Any) -> DesiredState:
    """The embedded default: six regions on loopback, each endpoint being its proxy."""
    ports = ports or StackPorts()
    regions = tuple(
        Region(
            name=name, latitude=REGION_COORDINATES[name][0],
            longitude=REGION_COORDINATES[name][1],
            endpoint=f"http://{ports.host}:{ports.proxy_base + i}",
            origin=f"http://{ports.host}:{ports.region_api_base + i}",
        )
        for i, name in enumerate(REGION_ORDER)
    )
    return DesiredState(regions=regions, stack=ports, **policies)


def load_desired(path: Path) -> DesiredState:
    """Parse and validate ``path``; errors name the file, the line and the field."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DesiredStateError(f"{path}: cannot read ({exc}); pass an existing --config") from exc
    return parse_desired(text, str(path))


def parse_desired(text: str, filename: str = "<covenant.yaml>") -> DesiredState:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DesiredStateError(f"{filename}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DesiredStateError(f"{filename}:1: the top level must be a mapping with 'regions'")
    try:
        if "regions" not in data:
            # A file that only tunes policies or ports keeps the default six regions.
            ports = StackPorts.model_validate(data.get("stack") or {})
            data = {**data, "regions": [r.model_dump() for r in default_desired(ports).regions]}
        return DesiredState.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = _line_of(root, loc)
        field = ".".join(str(p) for p in loc) or "(top level)"
        raise DesiredStateError(
            f"{filename}:{line}: field '{field}': {first['msg']} "
            f"({len(exc.errors())} error(s) in all)"
        ) from exc


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """1-based line of the deepest YAML node along ``loc`` (the parent if a key is missing)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    break
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


@functools.lru_cache(maxsize=8)  # decide() asks every pass; the regions rarely change
def _nearest_order(regions: tuple[Region, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (r.name, tuple(o.name for o in sorted(
            (o for o in regions if o.name != r.name),
            key=lambda o, r=r: great_circle_km(  # type: ignore[misc]
                r.latitude, r.longitude, o.latitude, o.longitude))))
        for r in regions)
