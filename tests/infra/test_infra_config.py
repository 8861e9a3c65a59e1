"""prometheus.yml and alertmanager.yml: golden files, and what they must say - every region
API, the control plane and the front door scraped where they serve metrics, every SLO alert
routed by its severity to the control plane's webhook with a bearer token."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import alertmanager, prometheus
from infra.errors import InfraError
from infra.generate import generate
from infra.model import WEBHOOK_PATH, Endpoints, InfraSpec
from kernel.regions import REGION_CODES
from tests.dashboards.golden_files import check, read_tree, updating
from tests.dashboards.walk import alerts

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = ".venv/bin/pytest tests/infra/test_infra_config.py"


def spec(rule_files: dict[str, str]) -> InfraSpec:
    return InfraSpec(Endpoints(), rule_files)


def test_generate_matches_golden_files(rule_files: dict[str, str], tmp_path: Path) -> None:
    done = generate(spec(rule_files), tmp_path)
    files = read_tree(tmp_path)
    assert {f"prometheus/rules/{n}" for n in rule_files} == \
        {p.relative_to(tmp_path).as_posix() for p in done.rule_files}
    assert all(files[f"prometheus/rules/{n}"] == t.encode() for n, t in rule_files.items())
    configs = {n: data for n, data in files.items() if not n.startswith("prometheus/rules/")}
    check(GOLDEN, configs, REGENERATE, updating())


def _scrapes(rule_files: dict[str, str]) -> dict[str, Any]:
    config = yaml.safe_load(prometheus.render(spec(rule_files)))
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_scrapes_every_region_api_itself_and_the_control_plane(
        rule_files: dict[str, str]) -> None:
    jobs = _scrapes(rule_files)
    regions = {c["labels"]["region"]: c["targets"] for c in jobs["core-api"]["static_configs"]}
    assert regions == {r: [f"127.0.0.1:{8101 + i}"] for i, r in enumerate(REGION_CODES)}
    assert jobs["core-api"]["honor_labels"] is True  # the API's own region label wins
    covenant = {c["labels"]["component"]: c for c in jobs["covenant"]["static_configs"]}
    assert covenant["control-plane"]["targets"] == ["127.0.0.1:8000"]
    assert covenant["front-door"]["targets"] == ["127.0.0.1:8080"]


def test_the_front_door_is_scraped_where_it_serves_metrics(rule_files: dict[str, str]) -> None:
    from controlplane.frontdoor_client import OWN_PREFIX

    door = next(c for c in _scrapes(rule_files)["covenant"]["static_configs"]
                if c["labels"]["component"] == "front-door")
    assert door["labels"]["__metrics_path__"] == prometheus.FRONTDOOR_METRICS_PATH \
        == f"{OWN_PREFIX}metrics"


def test_rule_files_and_alertmanager_are_wired(rule_files: dict[str, str]) -> None:
    config = yaml.safe_load(prometheus.render(InfraSpec(Endpoints(), rule_files, "1s",
                                                        alertmanager="127.0.0.1:9999")))
    assert config["rule_files"] == [f"rules/{n}" for n in sorted(rule_files)]
    assert config["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == \
        ["127.0.0.1:9999"]


def _am(rule_files: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(alertmanager.render(spec(rule_files)))
    return data


def test_every_slo_alert_is_routed_by_its_severity(rule_files: dict[str, str]) -> None:
    routes = {r["receiver"]: r for r in _am(rule_files)["route"]["routes"]}
    severities = {a["labels"][alertmanager.SEVERITY] for a in alerts()}
    assert severities == {"page", "ticket"}
    for severity in severities:
        assert routes[severity]["matchers"] == [f'sloth_severity="{severity}"']
    assert routes["page"]["group_wait"] < routes["ticket"]["group_wait"]  # "10s" < "5m"


def test_a_page_inhibits_the_ticket_of_the_same_slo(rule_files: dict[str, str]) -> None:
    assert _am(rule_files)["inhibit_rules"] == [{
        "source_matchers": ['sloth_severity="page"'],
        "target_matchers": ['sloth_severity="ticket"'], "equal": ["sloth_id"]}]


def test_every_receiver_posts_to_the_webhook_with_a_bearer_token(
        rule_files: dict[str, str]) -> None:
    from controlplane.alert_webhook import PATH

    assert WEBHOOK_PATH == PATH
    for receiver in _am(rule_files)["receivers"]:
        (hook,) = receiver["webhook_configs"]
        assert hook["url"] == "http://127.0.0.1:8000/v1/alerts/alertmanager"
        assert hook["http_config"]["authorization"] == {"type": "Bearer",
                                                        "credentials_file": "webhook-token"}


def test_the_token_file_is_private(rule_files: dict[str, str], tmp_path: Path) -> None:
    done = generate(spec(rule_files), tmp_path, token=" s3cret \n")
    assert done.token is not None and done.token.read_text() == "s3cret\n"
    assert stat.S_IMODE(done.token.stat().st_mode) == 0o600
    assert generate(spec(rule_files), tmp_path / "none").token is None


@pytest.mark.parametrize(("rules", "token", "says"), [
    ({}, None, "no rule files to load"),
    ({"a.rules.yml": "groups: []\n"}, "  ", "the webhook token is empty"),
])
def test_bad_inputs_are_named(tmp_path: Path, rules: dict[str, str], token: str | None,
                              says: str) -> None:
    with pytest.raises(InfraError, match=says):
        generate(InfraSpec(Endpoints(), rules), tmp_path, token=token)
