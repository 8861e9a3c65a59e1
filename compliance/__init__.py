"""SOC 2 / GDPR evidence: control catalog, collectors, the signed Merkle evidence ledger,
auditor export, GDPR erasure and residency."""
