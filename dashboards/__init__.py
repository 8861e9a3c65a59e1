"""Grafana dashboards generated with grafanalib from the SLO and region model."""
