"""Measure synthetic data against real data: fidelity, detection, utility and privacy (including
attacks on the synthetic data), and audit a generator's privacy empirically.

Evaluation needs only tables (real, synthetic and ideally a holdout), so it works on the output of
any generator.
"""

from __future__ import annotations

from lookalike.evaluate._audit import PrivacyAudit, audit_privacy
from lookalike.evaluate._evaluate import evaluate
from lookalike.evaluate._result import EvaluationResult

__all__ = ["EvaluationResult", "PrivacyAudit", "audit_privacy", "evaluate"]
