"""Spec -> files through an injected writer: ``prometheus/prometheus.yml`` with its rule
files under ``prometheus/rules/``, ``alertmanager/alertmanager.yml`` and, when a token is
given, the webhook token file beside it (written 0600 by the atomic writer)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra import alertmanager, prometheus
from infra.errors import InfraError
from infra.model import TOKEN_FILE, InfraSpec
from kernel.files import atomic_write

log = logging.getLogger(__name__)
Writer = Callable[[Path, str], None]
PROMETHEUS_YML = Path("prometheus/prometheus.yml")
ALERTMANAGER_YML = Path("alertmanager/alertmanager.yml")


@dataclass(frozen=True)
class Generated:
    prometheus: Path
    rule_files: tuple[Path, ...]
    alertmanager: Path
    token: Path | None


def write_file(path: Path, text: str) -> None:
    atomic_write(path, text)


def generate(spec: InfraSpec, out: Path, *, token: str | None = None,
             writer: Writer = write_file) -> Generated:
    if not spec.rule_files:
        raise InfraError("no rule files to load: pass the SLO rules (covenant infra generate "
                         "passes slo generate's)")
    rules = []
    for name, text in sorted(spec.rule_files.items()):
        rules.append(out / PROMETHEUS_YML.parent / prometheus.RULES_DIR / name)
        writer(rules[-1], text)
    writer(out / PROMETHEUS_YML, prometheus.render(spec))
    writer(out / ALERTMANAGER_YML, alertmanager.render(spec))
    token_path = None
    if token is not None:
        if not token.strip():
            raise InfraError("the webhook token is empty; pass a non-empty --webhook-token")
        token_path = out / ALERTMANAGER_YML.parent / TOKEN_FILE
        writer(token_path, token.strip() + "\n")
    log.info("wrote %s, %d rule files and %s", PROMETHEUS_YML, len(rules), ALERTMANAGER_YML)
    return Generated(out / PROMETHEUS_YML, tuple(rules), out / ALERTMANAGER_YML, token_path)
