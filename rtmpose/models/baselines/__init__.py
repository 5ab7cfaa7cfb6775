"""Baseline and peer models for the paper's comparisons (Table 1 baselines live in simple_baseline.py)."""
from rtmpose.models.baselines.simple_baseline import (BASELINE_CONFIGS, BASELINE_NAMES, BaselineConfig,
                                                      TopdownBaseline, build_baseline)

__all__ = ['BASELINE_CONFIGS', 'BASELINE_NAMES', 'BaselineConfig', 'TopdownBaseline', 'build_baseline']
