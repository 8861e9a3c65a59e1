"""The Prometheus tools on this machine; a missing one is an error naming its Debian
package."""

from __future__ import annotations

import shutil

from infra.errors import InfraError

# binary -> Debian package (Debian names the Alertmanager binary prometheus-alertmanager)
PACKAGES = {"prometheus": "prometheus", "promtool": "prometheus",
            "prometheus-alertmanager": "prometheus-alertmanager",
            "alertmanager": "prometheus-alertmanager", "amtool": "prometheus-alertmanager"}


def require(*names: str) -> str:
    """The path of the first of ``names`` on PATH."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    package = PACKAGES.get(names[0], names[0])
    raise InfraError(f"{' or '.join(names)} is not installed: apt-get install {package} "
                     "(scripts/ensure-tools.sh installs it)")


def prometheus() -> str:
    return require("prometheus")


def alertmanager() -> str:
    return require("prometheus-alertmanager", "alertmanager")
