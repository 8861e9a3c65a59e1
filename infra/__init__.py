"""Generated and validated Prometheus, Alertmanager, NATS and Kubernetes configuration."""
