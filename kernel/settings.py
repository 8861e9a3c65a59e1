"""Covenant's one settings object, and the section each package reads.

Built once at an entry point (the CLI, a test) and passed down; never created at import
time. Values come from ``COVENANT_*`` environment variables, then an optional
``covenant.yaml`` file, then the defaults below, which are the embedded default: SQLite,
the in-process event bus, no Redis, no Prometheus.

The names stay flat (``COVENANT_NATS_URL``, ``settings: {nats_url: ...}``) because they are
an interface users already write; each package takes only its typed section
(``settings.bus``, ``settings.state``, ...), so what a package depends on is visible in its
signatures and a new package adds a section here rather than reading the whole object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(ValueError):
    """A settings file or variable is wrong; the message names it and the fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COVENANT_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".covenant"),
        description="Where the embedded default keeps SQLite files, journals and models.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the core database. Unset: one SQLite file per region under "
            "data_dir. A PostgreSQL URL holds every region, one schema-free database each "
            "when it contains '{region}'."
        ),
    )
    nats_url: str | None = Field(default=None, description="NATS server; unset: in-process bus.")
    nats_stream: str = Field(default="COVENANT", description="JetStream stream for events.")
    nats_subject_prefix: str = Field(
        default="",
        description="Prepended to every NATS subject (isolates tests on a shared server).",
    )
    redis_url: str | None = Field(default=None, description="Redis for the read-through cache.")
    cache_namespace: str = Field(
        default="covenant", description="Redis key prefix of the cache (then the region)."
    )
    prometheus_url: str | None = Field(default=None, description="Prometheus HTTP API.")
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318): every process "
        "of the stack exports its spans there (POST <url>/v1/traces). Unset: the standard "
        "OTEL_EXPORTER_OTLP_ENDPOINT if set, else spans are not exported.")
    pagerduty_routing_key: str | None = Field(
        default=None, description="PagerDuty Events v2 routing key: failed runbook runs and "
        "incident.escalate page through it. Unset: they escalate on the bus only.")
    pagerduty_url: str = Field(default="https://events.pagerduty.com/v2/enqueue",
                               description="Where the PagerDuty events go (a stand-in in tests).")
    state_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the control-plane state store (incidents, budgets). "
        "Unset: SQLite file state.db under data_dir.",
    )
    environment: str = Field(default="development")
    contribution_fund_usd: int = Field(
        default=10_000_000_000, ge=0,
        description="Annual fund the countries pay into, split by GDP share (core API).",
    )
    contribution_floor_usd: int = Field(
        default=1_000_000, ge=0,
        description="Contribution of a country without GDP data (core API).",
    )
    api_max_body_bytes: int = Field(
        default=65_536, ge=1024,
        description="Largest request body the core API accepts (413 above).",
    )
    fault_injection: bool = Field(
        default=False,
        description="Mount the core API's /_chaos/fault endpoint, which makes a region answer "
        "a fraction of requests with a 5xx. For chaos testing only (covenant up turns it on "
        "for its region APIs); refused when environment is production.",
    )

    @property
    def api(self) -> ApiSettings:
        return ApiSettings(
            data_dir=Path(self.data_dir), database_url=self.database_url,
            environment=self.environment,
            contribution_fund_usd=self.contribution_fund_usd,
            contribution_floor_usd=self.contribution_floor_usd,
            max_body_bytes=self.api_max_body_bytes, fault_injection=self.fault_injection)

    @property
    def bus(self) -> BusSettings:
        return BusSettings(self.nats_url, self.nats_stream, self.nats_subject_prefix)

    @property
    def cache(self) -> CacheSettings:
        return CacheSettings(self.redis_url, self.cache_namespace)

    @property
    def state(self) -> StateSettings:
        return StateSettings(self.state_url, Path(self.data_dir))

    @property
    def prometheus(self) -> PrometheusSettings:
        return PrometheusSettings(self.prometheus_url)

    @property
    def runbooks(self) -> RunbookSettings:
        return RunbookSettings(self.pagerduty_routing_key, self.pagerduty_url)

    @property
    def tracing(self) -> TracingSettings:
        return TracingSettings(self.otlp_endpoint)


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """What the core API reads: its database, its arithmetic, its limits."""

    data_dir: Path
    database_url: str | None
    environment: str
    contribution_fund_usd: int
    contribution_floor_usd: int
    max_body_bytes: int
    fault_injection: bool


@dataclass(frozen=True, slots=True)
class BusSettings:
    """The event bus: NATS JetStream when ``nats_url`` is set, else in-process."""

    nats_url: str | None = None
    stream: str = "COVENANT"
    subject_prefix: str = ""


@dataclass(frozen=True, slots=True)
class CacheSettings:
    redis_url: str | None = None
    namespace: str = "covenant"


@dataclass(frozen=True, slots=True)
class StateSettings:
    """The control plane's state store (incidents, budgets, runs, evidence)."""

    url: str | None
    data_dir: Path

    def resolved_url(self) -> str:
        return state_store_url(self.url, self.data_dir)


@dataclass(frozen=True, slots=True)
class PrometheusSettings:
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RunbookSettings:
    """Where failed runs and escalations page (PagerDuty Events v2), when anywhere."""

    pagerduty_routing_key: str | None = None
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True, slots=True)
class TracingSettings:
    """Where spans are exported (``kernel.tracing.traces_endpoint`` adds the standard
    ``OTEL_EXPORTER_OTLP_*`` fallback); None: nowhere."""

    otlp_endpoint: str | None = None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, then ``config`` (YAML), then ``overrides``."""
    data: dict[str, Any] = {}
    if config is not None:
        data = _read_yaml(config).get("settings", {}) or {}
        if not isinstance(data, dict):
            raise SettingsError(f"{config}: 'settings' must be a mapping of setting names")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**data)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise SettingsError(f"{path}: no such file; pass an existing --config") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path}: the top level must be a mapping")
    return loaded


def state_store_url(state_url: str | None, data_dir: Path) -> str:
    """The control-plane state store: ``state_url``, or the embedded default SQLite file."""
    if state_url:
        return state_url
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'state.db'}"
