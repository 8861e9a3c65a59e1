"""Anomaly detection: Prophet forecast bands per (region, metric), O(1)
scoring against cached bands, and the NAB benchmark harness and scorer."""
