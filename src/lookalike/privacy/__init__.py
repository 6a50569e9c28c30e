"""Differential privacy: the zCDP budget ledger and the mechanisms; the only place noise is drawn.

* :class:`PrivacyBudget` turns ``(epsilon, delta)`` into one zCDP budget ``rho``;
  :class:`PrivacyLedger` records each step that touches data and refuses to overspend
  (:class:`~lookalike.errors.BudgetExceededError`).
* Mechanisms (:func:`gaussian_mechanism`, :func:`exponential_mechanism`,
  :func:`private_quantiles`, :func:`discover_categories`) take the ledger and return the new one.
* Noise comes from OS entropy; :func:`fixed_noise` is a test-only switch that fixes it.

>>> budget = PrivacyBudget.from_epsilon_delta(4.0, 1e-9)
>>> round(rho_to_epsilon(budget.rho, 1e-9), 9)
4.0
"""

from lookalike.privacy._accountant import (
    LedgerEntry,
    PrivacyBudget,
    PrivacyLedger,
    epsilon_to_rho,
    rho_to_epsilon,
    split_budget,
)
from lookalike.privacy._mechanisms import (
    discover_categories,
    exponential_epsilon,
    exponential_mechanism,
    gaussian_mechanism,
    gaussian_sigma,
    private_quantiles,
    threshold_for_delta,
)
from lookalike.privacy._noise import fixed_noise, noise_generator, noise_is_fixed

__all__ = [
    "LedgerEntry",
    "PrivacyBudget",
    "PrivacyLedger",
    "discover_categories",
    "epsilon_to_rho",
    "exponential_epsilon",
    "exponential_mechanism",
    "fixed_noise",
    "gaussian_mechanism",
    "gaussian_sigma",
    "noise_generator",
    "noise_is_fixed",
    "private_quantiles",
    "rho_to_epsilon",
    "split_budget",
    "threshold_for_delta",
]
