"""Put models to work on synthetic populations: stress tests and dataset experiments.

:func:`stress_test` scores a model on populations drawn under scenarios (conditions,
rebalancing, shifts); :func:`experiment` trains a model on many training-set variants and ranks
them on real holdout rows. Both take a fitted synthesizer, so this package comes after models and
evaluate in the data flow.
"""

from __future__ import annotations

from lookalike.scenarios._experiment import (
    ExperimentResult,
    VariantScore,
    experiment,
    variant_grid,
)
from lookalike.scenarios._stress import GroupScore, ScenarioScore, StressTestResult, stress_test

__all__ = [
    "ExperimentResult",
    "GroupScore",
    "ScenarioScore",
    "StressTestResult",
    "VariantScore",
    "experiment",
    "stress_test",
    "variant_grid",
]
