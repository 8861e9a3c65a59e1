#!/usr/bin/env bash
# Installs the Debian tools the tests run for real: promtool (prometheus) and amtool
# (prometheus-alertmanager). Skips what is already there.
set -euo pipefail
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packages start daemons on the default ports; the tests start their own instances.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
