"""The reconciler: observe every region, decide (pure) what to do, act through actuators,
record. Also hosts the `covenant` CLI root and the shared settings."""
