"""What `covenant up --config` says when a service its settings name is missing."""

from __future__ import annotations

import pytest

from covenant.monitoring import MonitoringOptions, started_prometheus_url, with_known_port
from covenant.preflight import Target, explain, same_server, targets
from kernel.settings import Settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/cov"


@pytest.mark.parametrize(("target", "error", "line"), [
    (Target("database_url", "database", PG),
     'connection failed: FATAL:  database "cov" does not exist',
     "database cov does not exist at 127.0.0.1:5432: create it with createdb -h 127.0.0.1 "
     "-p 5432 -U postgres cov, or change settings.database_url"),
    (Target("state_url", "database", PG),
     "connection failed: Connection refused\n\tIs the server running?",
     "PostgreSQL is not answering at 127.0.0.1:5432 (connection failed: Connection refused):"
     " start it, or change settings.state_url"),
    (Target("state_url", "database", "postgresql://bob@db:6543/x"),
     'FATAL:  password authentication failed for user "bob"',
     'PostgreSQL at db:6543 refused user bob: FATAL:  password authentication failed for '
     'user "bob"; grant access, or change settings.state_url'),
    (Target("database_url", "database", "not a url"), "",
     "settings.database_url 'not a url' is not a database URL: use "
     "postgresql+psycopg://user@host:port/name"),
    (Target("nats_url", "nats", "nats://127.0.0.1:4999"), "[Errno 111] Connection refused",
     "NATS is not answering at 127.0.0.1:4999 ([Errno 111] Connection refused): start "
     "nats-server -js, or change settings.nats_url"),
    (Target("redis_url", "redis", "redis://10.1.1.1/0"), "timed out",
     "Redis is not answering at 10.1.1.1:6379 (timed out): start redis-server, or change "
     "settings.redis_url"),
    (Target("prometheus_url", "prometheus", "http://127.0.0.1:9090"), "",
     "Prometheus is not answering at 127.0.0.1:9090 (no answer): start prometheus, or "
     "change settings.prometheus_url"),
])
def test_one_line_naming_it_and_the_fix(target: Target, error: str, line: str) -> None:
    assert explain(target, error) == line


def test_targets_follow_the_settings() -> None:
    assert targets(Settings()) == []  # the embedded default needs nothing
    got = targets(Settings(database_url="postgresql://h/c_{region}", state_url="sqlite:///s",
                           nats_url="nats://h:4222", redis_url="redis://h"), ["ams", "iad"])
    assert [(t.setting, t.url) for t in got] == [
        ("database_url", "postgresql://h/c_ams"), ("database_url", "postgresql://h/c_iad"),
        ("nats_url", "nats://h:4222"), ("redis_url", "redis://h")]


@pytest.mark.parametrize(("url", "started", "same"), [
    ("http://127.0.0.1:9090", "http://127.0.0.1:9090", True),
    ("http://localhost:9090/", "http://127.0.0.1:9090", True),
    ("http://[::1]:9090", "http://127.0.0.1:9090", True),
    ("http://127.0.0.1:9091", "http://127.0.0.1:9090", False),
    ("http://prom.internal:9090", "http://127.0.0.1:9090", False),
    ("http://127.0.0.1:9090", None, False),
])
def test_same_server(url: str, started: str | None, same: bool) -> None:
    assert same_server(url, started) is same


def test_the_prometheus_about_to_start_is_not_probed() -> None:
    """``covenant up --with-prometheus`` with prometheus_url naming its own Prometheus: it
    cannot answer before it starts, so the preflight leaves it out; any other is probed."""
    settings = Settings(prometheus_url="http://localhost:9090")
    started = started_prometheus_url(MonitoringOptions(), "127.0.0.1")
    assert started == "http://127.0.0.1:9090"
    assert targets(settings, started_prometheus=started) == []
    assert [t.setting for t in targets(settings)] == ["prometheus_url"]
    elsewhere = Settings(prometheus_url="http://prom.internal:9090")
    assert [t.url for t in targets(elsewhere, started_prometheus=started)] == [
        "http://prom.internal:9090"]


def test_promql_checks_go_to_the_prometheus_with_prometheus_starts() -> None:
    """The wiring decision: no monitoring, no URL; a fixed port, that port; port 0 (tests)
    is fixed to a free one first, so the checks can name it before Prometheus starts."""
    assert started_prometheus_url(None, "127.0.0.1") is None
    assert started_prometheus_url(MonitoringOptions(prometheus_port=0), "127.0.0.1") is None
    assert started_prometheus_url(MonitoringOptions(prometheus_port=9190), "10.0.0.5") == \
        "http://10.0.0.5:9190"
    fixed = with_known_port(MonitoringOptions(prometheus_port=0, scrape_interval="1s"),
                            "127.0.0.1")
    assert fixed.prometheus_port > 0 and fixed.scrape_interval == "1s"
    assert started_prometheus_url(fixed, "127.0.0.1") == \
        f"http://127.0.0.1:{fixed.prometheus_port}"
    assert with_known_port(MonitoringOptions(), "127.0.0.1") == MonitoringOptions()
