"""Chaos engineering: the embedded Toxiproxy-compatible fault proxy, a client for any Toxiproxy endpoint, experiments and game days."""
