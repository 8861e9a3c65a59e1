"""``covenant up --with-prometheus``: Prometheus and Alertmanager beside the stack, configured
by ``infra`` for the stack's actual ports (with the SLO rules), each with its data directory
under ``<data_dir>/monitoring``, stopped with the stack."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from covenant.observability import slo_rule_files
from infra import processes
from infra.generate import generate
from infra.model import ALERTMANAGER_PORT, PROMETHEUS_PORT, TOKEN_FILE, Endpoints, InfraSpec
from infra.tools import alertmanager, prometheus


@dataclass(frozen=True, slots=True)
class MonitoringOptions:
    """Ports (0: a free one) and the scrape interval of the stack's Prometheus."""

    prometheus_port: int = PROMETHEUS_PORT
    alertmanager_port: int = ALERTMANAGER_PORT
    scrape_interval: str = "5s"


def with_known_port(options: MonitoringOptions, host: str) -> MonitoringOptions:
    """``options`` with Prometheus's port picked now when it is 0 (any free one), so the
    runbooks' PromQL checks can be pointed at it before it starts."""
    return replace(options, prometheus_port=processes.port_or_free(host,
                                                                   options.prometheus_port))


def started_prometheus_url(options: MonitoringOptions | None, host: str) -> str | None:
    """The URL of the Prometheus ``--with-prometheus`` starts (None: none, or its port is
    not known yet). PromQL checks go there unless ``settings.prometheus_url`` names another,
    and the start-up preflight does not probe it: it starts after the checks are wired. Pure."""
    if options is None or not options.prometheus_port:
        return None
    return f"http://{host}:{options.prometheus_port}"


def require_tools() -> None:
    """Fail before anything starts when either binary is missing (the error names the
    Debian package)."""
    prometheus()
    alertmanager()


@dataclass
class Monitoring:
    prometheus: processes.Child
    alertmanager: processes.Child
    config_dir: Path

    def components(self) -> list[tuple[str, str, str]]:
        """(name, address, detail) rows for ``covenant up``'s table."""
        return [(c.name, c.url, f"pid {c.process.pid}, config {self.config_dir}, log "
                 f"{c.log_path}") for c in (self.prometheus, self.alertmanager)]

    async def stop(self) -> None:
        await processes.stop(self.prometheus)
        await processes.stop(self.alertmanager)


def _token(path: Path) -> str:
    """The webhook token kept under the data dir (made once, reused across restarts)."""
    return path.read_text().strip() if path.exists() else secrets.token_urlsafe(32)


async def start_monitoring(endpoints: Endpoints, data_dir: Path,
                           options: MonitoringOptions, token: str | None = None) -> Monitoring:
    """``token``: the bearer key Alertmanager sends to the control plane's webhook (the
    stack's ``<data_dir>/alertmanager.key``); None keeps the one under the data dir."""
    require_tools()
    host, root = endpoints.host, data_dir / "monitoring"
    am_port = processes.port_or_free(host, options.alertmanager_port)
    spec = InfraSpec(endpoints, slo_rule_files(), options.scrape_interval,
                     alertmanager=f"{host}:{am_port}")
    files = generate(spec, root / "config",
                     token=token or _token(root / "config" / "alertmanager" / TOKEN_FILE))
    am = await processes.start_alertmanager(files.alertmanager, root / "alertmanager", host,
                                            am_port)
    try:
        prom = await processes.start_prometheus(files.prometheus, root / "prometheus", host,
                                                options.prometheus_port)
    except BaseException:
        await processes.stop(am)
        raise
    return Monitoring(prom, am, root / "config")
