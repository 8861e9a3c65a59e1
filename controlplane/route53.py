"""The production Router: Route 53 weighted records through boto3.

For each home region ``<home>.<domain>`` there is one weighted CNAME per region
(SetIdentifier = that region, value = its endpoint host), and a route table becomes their
weights: 100 on the region that takes the home's traffic, 0 on the rest. The boto3 client
is injected (tests point it at a moto server); calls run in a worker thread.

With ``health_check`` set, every region also gets a Route 53 health check on its endpoint,
attached to all of that region's records. That is a backstop for when the control plane is
down: Route 53 skips a record whose check fails, and when every record of non-zero weight is
unhealthy it answers from the healthy zero-weight ones (Route 53's documented rule for
weighted records), so DNS still leaves a dead region, if not for the nearest one. Checks are
found again by their CallerReference (a digest of zone, region and check settings), so
restarts reuse them; when the settings change, new checks replace the old, which are deleted
once no record points at them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from controlplane.desired import Route53HealthCheck, Route53Policy
from controlplane.errors import ControlPlaneError
from controlplane.routing import RouteTable

log = logging.getLogger(__name__)


class Route53Client(Protocol):
    def change_resource_record_sets(self, **kwargs: Any) -> Any: ...

    def list_resource_record_sets(self, **kwargs: Any) -> Any: ...

    def create_health_check(self, **kwargs: Any) -> Any: ...

    def list_health_checks(self, **kwargs: Any) -> Any: ...

    def delete_health_check(self, **kwargs: Any) -> Any: ...


class Route53Router:
    def __init__(self, client: Route53Client, zone_id: str, domain: str,
                 targets: Mapping[str, str], ttl: int = 10,
                 health_check: Route53HealthCheck | None = None) -> None:
        self._client = client
        self._zone_id = zone_id
        self._domain = domain.rstrip(".")
        self._targets = dict(targets)  # region -> the DNS name its endpoint answers on
        self._ttl = ttl
        self._health_check = health_check
        self._check_ids: dict[str, str] = {}  # region -> health check id, once ensured

    def record_name(self, home: str) -> str:
        return f"{home}.{self._domain}."

    def changes(self, routes: RouteTable) -> list[dict[str, Any]]:
        """One UPSERT per (home, region) pair: the whole desired record set, level-triggered."""
        changes = []
        for home, weights in routes.as_dict().items():
            for region, host in sorted(self._targets.items()):
                record: dict[str, Any] = {
                    "Name": self.record_name(home), "Type": "CNAME",
                    "SetIdentifier": region, "Weight": weights.get(region, 0),
                    "TTL": self._ttl, "ResourceRecords": [{"Value": host}],
                }
                if region in self._check_ids:
                    record["HealthCheckId"] = self._check_ids[region]
                changes.append({"Action": "UPSERT", "ResourceRecordSet": record})
        return changes

    async def apply(self, routes: RouteTable) -> None:
        try:
            stale = await asyncio.to_thread(self._ensure_health_checks)
            batch = {"Comment": "covenant reconciler", "Changes": self.changes(routes)}
            await asyncio.to_thread(self._client.change_resource_record_sets,
                                    HostedZoneId=self._zone_id, ChangeBatch=batch)
        except Exception as exc:
            self._check_ids.clear()  # find the checks again next time (one may be gone)
            raise ControlPlaneError(
                f"Route 53 zone {self._zone_id}: change batch failed ({exc}); check the "
                "zone id and credentials") from exc
        if stale:
            await asyncio.to_thread(self._delete_checks, stale)

    # Health checks -----------------------------------------------------------------------
    def caller_reference(self, region: str) -> str:
        """Stable for the same zone, region, endpoint and settings (AWS caps it at 64)."""
        assert self._health_check is not None
        settings = f"{self._targets[region]}|{self._health_check.model_dump_json()}"
        digest = hashlib.sha256(settings.encode()).hexdigest()[:12]
        return f"{self._prefix()}{region}-{digest}"[:64]

    def _prefix(self) -> str:
        return f"covenant-{self._zone_id.rsplit('/', 1)[-1]}-"

    def _ensure_health_checks(self) -> list[str]:
        """Find or create this zone's checks; returns the ids of superseded ones."""
        if self._health_check is None or self._check_ids:
            return []
        existing = {c["CallerReference"]: c["Id"] for c in self._list_checks()}
        wanted = {region: self.caller_reference(region) for region in self._targets}
        for region, reference in sorted(wanted.items()):
            check_id = existing.get(reference)
            if check_id is None:
                check_id = self._client.create_health_check(
                    CallerReference=reference,
                    HealthCheckConfig=self._check_config(self._targets[region]),
                )["HealthCheck"]["Id"]
            self._check_ids[region] = str(check_id)
        mine = set(wanted.values())
        return [check_id for reference, check_id in existing.items()
                if reference.startswith(self._prefix()) and reference not in mine]

    def _check_config(self, host: str) -> dict[str, Any]:
        check = self._health_check
        assert check is not None
        config: dict[str, Any] = {
            "Type": check.protocol, "FullyQualifiedDomainName": host, "Port": check.port,
            "ResourcePath": check.path, "RequestInterval": check.interval_s,
            "FailureThreshold": check.failure_threshold}
        if check.protocol == "HTTPS":
            config["EnableSNI"] = True
        return config

    def _list_checks(self) -> list[dict[str, Any]]:
        checks: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self._client.list_health_checks(**kwargs)
            checks.extend(page["HealthChecks"])
            if not page.get("IsTruncated"):
                return checks
            kwargs = {"Marker": page["NextMarker"]}

    def _delete_checks(self, check_ids: list[str]) -> None:
        for check_id in check_ids:
            try:
                self._client.delete_health_check(HealthCheckId=check_id)
            except Exception as exc:  # noqa: BLE001 - leftovers cost money, not correctness
                log.warning("could not delete superseded Route 53 health check %s (%s); "
                            "delete it by hand", check_id, exc)

    def health_checks(self) -> dict[str, dict[str, Any]]:
        """``{region: HealthCheckConfig}`` of the checks the records use (for tests, status)."""
        by_id = {c["Id"]: c["HealthCheckConfig"] for c in self._list_checks()}
        return {region: by_id[check_id] for region, check_id in self._check_ids.items()}

    def record_check_ids(self) -> dict[str, set[str]]:
        """``{region: {HealthCheckId on its records}}`` as read back from the zone."""
        out: dict[str, set[str]] = {}
        pages = self._client.list_resource_record_sets(HostedZoneId=self._zone_id)
        for record in pages["ResourceRecordSets"]:
            if record.get("Type") == "CNAME" and "SetIdentifier" in record:
                out.setdefault(record["SetIdentifier"], set()).add(
                    record.get("HealthCheckId", ""))
        return out

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
    return Route53Router(client, policy.zone_id, policy.domain, policy.targets, policy.ttl,
                         policy.health_check)
