"""Chaos engineering: the embedded Toxiproxy-compatible fault proxy and a client for any
Toxiproxy endpoint."""
