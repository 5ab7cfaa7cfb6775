"""The speed harness: timing protocol, peers, physical-floor calibration, MLflow logging of timings."""
