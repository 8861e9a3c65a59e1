"""Route 53 weighted records through boto3 against a real moto server subprocess."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from controlplane.desired import default_desired
from controlplane.errors import ControlPlaneError
from controlplane.route53 import Route53Router
from controlplane.routing import RouteTable

NAMES = default_desired().region_names()


def _client(url: str) -> object:
    return boto3.client("route53", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


async def test_weights_follow_the_route_table(moto_url: str) -> None:
    client = _client(moto_url)
    zone = client.create_hosted_zone(  # type: ignore[attr-defined]
        Name="covenant.test.", CallerReference="t1")["HostedZone"]["Id"]
    router = Route53Router(client, zone, "api.covenant.test",  # type: ignore[arg-type]
                           {n: f"{n}.origin.covenant.test" for n in NAMES})
    await router.apply(RouteTable.from_targets({n: n for n in NAMES}))
    weights = router.weights()
    assert set(weights) == set(NAMES)
    assert weights["syd"] == {n: (100 if n == "syd" else 0) for n in NAMES}
    moved = {n: n for n in NAMES} | {"syd": "sin"}
    await router.apply(RouteTable.from_targets(moved))
    assert router.weights()["syd"]["sin"] == 100 and router.weights()["syd"]["syd"] == 0
    assert router.weights()["ams"]["ams"] == 100


async def test_unknown_zone_is_a_named_error(moto_url: str) -> None:
    router = Route53Router(_client(moto_url), "ZNOPE", "api.covenant.test",  # type: ignore[arg-type]
                           {"ams": "ams.origin"})
    with pytest.raises(ControlPlaneError, match="ZNOPE"):
        await router.apply(RouteTable.from_targets({"ams": "ams"}))


async def test_reconciler_drives_route53_from_covenant_yaml(
        moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from controlplane.assembly import build_control_plane
    from controlplane.desired import parse_desired
    from controlplane.fakes import fake_regions
    from controlplane.route53 import route53_router
    from kernel.settings import Settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    zone = _client(moto_url).create_hosted_zone(  # type: ignore[attr-defined]
        Name="covenant.test.", CallerReference="t2")["HostedZone"]["Id"]
    targets = "".join(f"    {n}: {n}.origin.covenant.test\n" for n in NAMES)
    desired = parse_desired(f"route53:\n  zone_id: '{zone}'\n  domain: api.covenant.test\n"
                            f"  endpoint_url: '{moto_url}'\n  targets:\n{targets}")
    assert desired.route53 is not None
    router = route53_router(desired.route53)
    async with fake_regions() as (fakes_desired, _fakes, servers):
        plane = build_control_plane(fakes_desired, Settings(data_dir=tmp_path),
                                    extra_routers=[router])
        try:
            await plane.reconciler.run_once()
            assert router.weights()["jnb"]["jnb"] == 100
            await servers["jnb"].stop()
            for _ in range(2):
                await plane.reconciler.run_once()
            assert router.weights()["jnb"] == {n: (100 if n == "sin" else 0) for n in NAMES}
        finally:
            await plane.close()


def test_route53_targets_must_cover_the_regions() -> None:
    from controlplane.desired import parse_desired
    from controlplane.errors import DesiredStateError

    with pytest.raises(DesiredStateError, match="route53.targets must name exactly"):
        parse_desired("route53: {zone_id: Z1, domain: d, targets: {ams: a}}\n")


async def test_health_checks_back_every_record_and_follow_their_settings(
        moto_url: str) -> None:
    """Each region's records carry its Route 53 health check; a restart reuses the checks;
    changed settings replace them and the superseded ones are deleted."""
    from controlplane.desired import Route53HealthCheck

    client = _client(moto_url)
    zone = client.create_hosted_zone(  # type: ignore[attr-defined]
        Name="covenant.test.", CallerReference="t3")["HostedZone"]["Id"]
    targets = {n: f"{n}.origin.covenant.test" for n in NAMES}
    home = RouteTable.from_targets({n: n for n in NAMES})

    def router(check: Route53HealthCheck) -> Route53Router:
        return Route53Router(client, zone, "api.covenant.test", targets,  # type: ignore[arg-type]
                             health_check=check)

    first = router(Route53HealthCheck())
    await first.apply(home)
    configs = first.health_checks()
    assert set(configs) == set(NAMES)
    assert configs["syd"]["FullyQualifiedDomainName"] == "syd.origin.covenant.test"
    assert (configs["syd"]["Type"], configs["syd"]["Port"], configs["syd"]["ResourcePath"],
            configs["syd"]["RequestInterval"], configs["syd"]["FailureThreshold"]) == (
        "HTTPS", 443, "/ready", 10, 3)
    ids = first.record_check_ids()
    assert all(len(ids[n]) == 1 and "" not in ids[n] for n in NAMES)  # on all 6 of its records
    assert len({next(iter(ids[n])) for n in NAMES}) == 6

    restarted = router(Route53HealthCheck())
    await restarted.apply(home)
    assert restarted.record_check_ids() == ids
    assert len(client.list_health_checks()["HealthChecks"]) == 6  # type: ignore[attr-defined]

    changed = router(Route53HealthCheck(protocol="HTTP", port=8080, path="/live"))
    await changed.apply(home)
    remaining = client.list_health_checks()["HealthChecks"]  # type: ignore[attr-defined]
    assert len(remaining) == 6
    assert {c["HealthCheckConfig"]["ResourcePath"] for c in remaining} == {"/live"}
    assert changed.record_check_ids() != ids
    assert changed.health_checks()["ams"]["Port"] == 8080


def test_health_check_settings_are_validated() -> None:
    from controlplane.desired import parse_desired
    from controlplane.errors import DesiredStateError

    targets = "{" + ", ".join(f"{n}: {n}.o" for n in NAMES) + "}"
    for bad, field in (("{interval_s: 15}", "interval_s"), ("{path: ready}", "path"),
                       ("{protocol: TCP}", "protocol")):
        with pytest.raises(DesiredStateError, match=field):
            parse_desired(f"route53: {{zone_id: Z1, domain: d, targets: {targets}, "
                          f"health_check: {bad}}}\n")
