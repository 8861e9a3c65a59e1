#!/usr/bin/env bash
# Checks that PostgreSQL (5432), Redis (6379) and NATS with JetStream (4222) answer on
# loopback, and starts the one that does not. The tests fail loudly if one is still missing.
set -uo pipefail
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
wait_for() { for _ in $(seq 1 50); do answers "$1" && return 0; sleep 0.2; done; echo "service on port $1 did not start" >&2; return 1; }

if ! answers 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_for 5432
fi
if ! answers 6379; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 6379
fi
if ! answers 4222; then
  echo "starting NATS (JetStream)"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for 4222
fi
psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null
