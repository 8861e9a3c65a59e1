"""SLO specs (Sloth prometheus/v1, OpenSLO v1), pure budget and burn-rate math, Prometheus
rule / promtool test / Alertmanager generation, and the error-budget policy."""
