#!/usr/bin/env bash
# Installs the Debian tools the tests run for real: promtool (prometheus), amtool
# (prometheus-alertmanager), PostgreSQL 15's server binaries (postgresql-15: initdb, pg_ctl,
# pg_basebackup, pg_rewind for the database pairs) and etcd (etcd-server: Patroni's DCS in the
# db-failover baseline), the alertmanager binary itself, redis-server and nats-server (the
# runbook tests run private ones). Skips what is already there.
set -euo pipefail
missing=()
# promtool and the server itself (`covenant up --with-prometheus`, the live dashboard test).
{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || missing+=(prometheus)
# amtool and the alertmanager binary (the runbook webhook's test runs a real one) share a package.
{ command -v amtool >/dev/null && [ -x /usr/bin/prometheus-alertmanager ]; } \
  || missing+=(prometheus-alertmanager)
# The runbook tests stop a private Redis and NATS of their own (never the shared ones).
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || missing+=(nats-server)
[ -x /usr/lib/postgresql/15/bin/pg_rewind ] || missing+=(postgresql-15)
command -v etcd >/dev/null || missing+=(etcd-server)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packages start daemons on the default ports; the tests start their own instances.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter etcd; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
