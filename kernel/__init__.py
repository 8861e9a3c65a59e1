"""Covenant's neutral base: what every package shares, importing no other Covenant package.

Settings (one loader, a typed section per package), the region catalogue, clocks, the event
bus with its in-process and NATS JetStream backends, Prometheus exposition parsing and the
``MetricsSource`` protocol, the state store's schema and migrations, and an atomic file
writer. See ``docs/architecture.md`` for the layers and where a new package finds each.
"""
