"""Choose the event bus from the settings (its own module, so ``kernel.bus`` and its NATS
backend do not import each other)."""

from __future__ import annotations

from kernel.bus import EventBus, InProcessBus
from kernel.settings import BusSettings


def build_bus(settings: BusSettings) -> EventBus:
    """The in-process bus, or JetStream when ``settings.nats_url`` is set."""
    if not settings.nats_url:
        return InProcessBus()
    from kernel.nats_bus import NatsBus

    return NatsBus(settings.nats_url, stream=settings.stream,
                   subject_prefix=settings.subject_prefix)
