"""The Alertmanager fragment for SLO alerts: route by ``sloth_severity``; a page inhibits the
ticket of the same SLO. ``full_config`` wraps it into a minimal complete config (amtool check)."""

from __future__ import annotations

from slo.rules import dump_yaml

PAGE_RECEIVER, TICKET_RECEIVER = "slo-page", "slo-ticket"


def fragment(page_webhook: str = "", ticket_webhook: str = "") -> dict[str, object]:
    def receiver(name: str, url: str) -> dict[str, object]:
        return {"name": name, "webhook_configs": [{"url": url}]} if url else {"name": name}

    group_by = ["alertname", "sloth_service", "sloth_slo"]
    return {
        "routes": [
            {"receiver": PAGE_RECEIVER, "matchers": ['sloth_severity="page"'],
             "group_by": group_by, "group_wait": "30s", "repeat_interval": "1h"},
            {"receiver": TICKET_RECEIVER, "matchers": ['sloth_severity="ticket"'],
             "group_by": group_by, "group_wait": "5m", "repeat_interval": "12h"},
        ],
        "receivers": [receiver(PAGE_RECEIVER, page_webhook),
                      receiver(TICKET_RECEIVER, ticket_webhook)],
        "inhibit_rules": [{
            "source_matchers": ['sloth_severity="page"'],
            "target_matchers": ['sloth_severity="ticket"'],
            "equal": ["sloth_id"],
        }],
    }


def full_config(frag: dict[str, object], default_receiver: str = "default") -> dict[str, object]:
    """The fragment inside a minimal complete Alertmanager config."""
    receivers = [{"name": default_receiver}, *list(frag["receivers"])]  # type: ignore[call-overload]
    return {"route": {"receiver": default_receiver, "routes": frag["routes"]},
            "receivers": receivers, "inhibit_rules": frag["inhibit_rules"]}


def render_fragment(page_webhook: str = "", ticket_webhook: str = "") -> str:
    return ("# Alertmanager fragment for SLO alerts (merge into route.routes, receivers, "
            "inhibit_rules).\n" + dump_yaml(fragment(page_webhook, ticket_webhook)))
