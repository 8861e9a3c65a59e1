"""Runbook-as-code: typed runbooks, a journaled executor with dry-run and approvals, the
Alertmanager webhook trigger, failover actuators."""
