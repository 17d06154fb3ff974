"""The machine a run measures: NVML readings, PCIe arithmetic, the environment fingerprint, findings."""
