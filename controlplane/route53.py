"""The production Router: Route 53 weighted records through boto3.

For each home region ``<home>.<domain>`` there is one weighted CNAME per region
(SetIdentifier = that region, value = its endpoint host), and a route table becomes their
weights: 100 on the region that takes the home's traffic, 0 on the rest. The boto3 client
is injected (tests point it at a moto server); calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from controlplane.desired import Route53Policy
from controlplane.errors import ControlPlaneError
from controlplane.routing import RouteTable

log = logging.getLogger(__name__)


class Route53Client(Protocol):
    def change_resource_record_sets(self, **kwargs: Any) -> Any: ...

    def list_resource_record_sets(self, **kwargs: Any) -> Any: ...


class Route53Router:
    def __init__(self, client: Route53Client, zone_id: str, domain: str,
                 targets: Mapping[str, str], ttl: int = 10) -> None:
        self._client = client
        self._zone_id = zone_id
        self._domain = domain.rstrip(".")
        self._targets = dict(targets)  # region -> the DNS name its endpoint answers on
        self._ttl = ttl

    def record_name(self, home: str) -> str:
        return f"{home}.{self._domain}."

    def changes(self, routes: RouteTable) -> list[dict[str, Any]]:
        """One UPSERT per (home, region) pair: the whole desired record set, level-triggered."""
        changes = []
        for home, weights in routes.as_dict().items():
            for region, host in sorted(self._targets.items()):
                changes.append({"Action": "UPSERT", "ResourceRecordSet": {
                    "Name": self.record_name(home), "Type": "CNAME",
                    "SetIdentifier": region, "Weight": weights.get(region, 0),
                    "TTL": self._ttl, "ResourceRecords": [{"Value": host}],
                }})
        return changes

    async def apply(self, routes: RouteTable) -> None:
        batch = {"Comment": "covenant reconciler", "Changes": self.changes(routes)}
        try:
            await asyncio.to_thread(self._client.change_resource_record_sets,
                                    HostedZoneId=self._zone_id, ChangeBatch=batch)
        except Exception as exc:
            raise ControlPlaneError(
                f"Route 53 zone {self._zone_id}: change batch failed ({exc}); check the "
                "zone id and credentials") from exc

    def weights(self) -> dict[str, dict[str, int]]:
        """Read back ``{home: {region: weight}}`` from the zone (for tests and status)."""
        out: dict[str, dict[str, int]] = {}
        pages = self._client.list_resource_record_sets(HostedZoneId=self._zone_id)
        for record in pages["ResourceRecordSets"]:
            name = record["Name"]
            if record.get("Type") != "CNAME" or "SetIdentifier" not in record:
                continue
            home = name[: -len(self._domain) - 2]
            out.setdefault(home, {})[record["SetIdentifier"]] = int(record["Weight"])
        return out


def route53_router(policy: Route53Policy) -> Route53Router:
    """A boto3 Route 53 client (credentials from the usual AWS chain) behind the Router."""
    import boto3

    client = boto3.client("route53", region_name=policy.aws_region,
                          endpoint_url=policy.endpoint_url)
    return Route53Router(client, policy.zone_id, policy.domain, policy.targets, policy.ttl)
