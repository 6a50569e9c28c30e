"""Measure synthetic data against real data: fidelity, detection, utility and privacy.

Evaluation needs only tables (real, synthetic and ideally a holdout), so it works on the output of
any generator.
"""

from __future__ import annotations

from lookalike.evaluate._evaluate import evaluate
from lookalike.evaluate._result import EvaluationResult

__all__ = ["EvaluationResult", "evaluate"]
