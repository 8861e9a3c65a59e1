"""Route 53 weighted records through boto3 against a real moto server subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from controlplane.desired import default_desired
from controlplane.errors import ControlPlaneError
from controlplane.route53 import Route53Router
from controlplane.routing import RouteTable

NAMES = default_desired().region_names()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def moto_url() -> Iterator[str]:
    port = _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("moto_server did not start within 30 s")
                time.sleep(0.1)  # polling a condition with a deadline, not synchronising
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
