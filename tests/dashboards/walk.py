"""Walking generated things: the alerts of the shipped SLO rules, the links of a dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from covenant.observability import slo_rule_files

Json = dict[str, Any]


def alerts() -> Iterator[Json]:
    for text in slo_rule_files().values():
        for group in yaml.safe_load(text)["groups"]:
            yield from (r for r in group["rules"] if "alert" in r)


def links(d: Json) -> Iterator[str]:
    yield from (x["url"] for x in d.get("links", []))
    for p in d["panels"]:
        yield from (x["url"] for x in p.get("links", []))
        yield from (x["url"] for x in p.get("fieldConfig", {}).get("defaults", {})
                    .get("links", []))
