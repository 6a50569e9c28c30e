"""Differentially private mechanisms, each spending its share of a :class:`PrivacyLedger`.

Every mechanism takes the ledger and returns ``(result, new_ledger)``: noise cannot be drawn without
the step being recorded, and a step that would overspend raises before any noise is drawn.
Neighbouring tables differ by adding or removing one row.

Costs in zCDP:

* Gaussian mechanism with L2 sensitivity ``D`` and noise ``N(0, sigma^2)``: ``rho = D^2 / (2 sigma^2)``
  (Bun & Steinke 2016, Proposition 1.6).
* Exponential mechanism that is ``eps0``-DP: ``rho = eps0^2 / 8`` (Cesar & Rogers 2021, via bounded
  range; Cesar & Rogers, "Bounding, concentrating, and truncating: unifying privacy loss composition
  for data analytics", ALT 2021).
* Thresholded Gaussian counts over keys not known in advance (category discovery): ``rho``-zCDP for
  the counts plus ``delta = P[1 + N(0, sigma^2) > threshold]`` for a key held by one row only, whose
  release is the only event that tells the two tables apart (approximate zCDP).

>>> from lookalike.privacy import PrivacyBudget, PrivacyLedger, fixed_noise
>>> ledger = PrivacyLedger(PrivacyBudget.from_epsilon_delta(1.0, 1e-9))
>>> with fixed_noise(0):
...     noisy, ledger = gaussian_mechanism(ledger, "counts", np.array([10.0, 20.0]), rho=0.005)
>>> ledger.entries[0].parameters["sigma"]
10.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from lookalike.privacy._accountant import PrivacyLedger
from lookalike.privacy._noise import noise_generator, noise_is_fixed

__all__ = [
    "discover_categories",
    "exponential_epsilon",
    "exponential_mechanism",
    "gaussian_mechanism",
    "gaussian_sigma",
    "private_quantiles",
    "threshold_for_delta",
]


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """The noise scale that makes a Gaussian mechanism ``rho``-zCDP: ``D / sqrt(2 rho)``.

    >>> gaussian_sigma(0.5)
    1.0
    """
    if not rho > 0:
        raise ValueError(f"rho must be > 0. Got {rho!r} instead.")
    return float(sensitivity) / math.sqrt(2.0 * rho)


def exponential_epsilon(rho: float) -> float:
    """The ``eps0`` of an exponential mechanism that costs ``rho`` (``rho = eps0^2 / 8``)."""
    if not rho > 0:
        raise ValueError(f"rho must be > 0. Got {rho!r} instead.")
    return math.sqrt(8.0 * rho)


def threshold_for_delta(sigma: float, delta: float) -> float:
    """The release threshold at which a count of 1 plus ``N(0, sigma^2)`` passes with prob. ``delta``.

    >>> round(threshold_for_delta(1.0, 0.5), 9)
    1.0
    """
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1). Got {delta!r} instead.")
    from scipy.special import ndtri

    return 1.0 + sigma * float(ndtri(1.0 - delta))


def gaussian_mechanism(
    ledger: PrivacyLedger,
    step: str,
    values: np.ndarray,
    *,
    rho: float,
    sensitivity: float = 1.0,
) -> tuple[np.ndarray, PrivacyLedger]:
    """``values + N(0, sigma^2)`` with ``sigma = sensitivity / sqrt(2 rho)``.

    ``sensitivity`` is the L2 distance by which one row can move ``values`` (1 for a histogram).
    """
    ledger = ledger.spend(
        step,
        "gaussian",
        rho,
        sigma=gaussian_sigma(rho, sensitivity),
        sensitivity=float(sensitivity),
        size=int(np.size(values)),
        **_fixed_flag(),
    )
    sigma = float(ledger.entries[-1].parameters["sigma"])
    noisy = np.asarray(values, dtype=float) + noise_generator().normal(0.0, sigma, np.shape(values))
    return noisy, ledger


def exponential_mechanism(
    ledger: PrivacyLedger,
    step: str,
    scores: np.ndarray,
    *,
    rho: float,
    sensitivity: float = 1.0,
) -> tuple[int, PrivacyLedger]:
    """The index of one candidate, drawn with probability proportional to ``exp(eps0 s / (2 D))``.

    ``scores`` are utilities (higher is better) whose values one row can change by at most
    ``sensitivity``; ``eps0 = sqrt(8 rho)``. Drawn as the arg-max of scores plus Gumbel noise, which
    has exactly that distribution.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(scores) == 0 or not np.isfinite(scores).all():
        raise ValueError("exponential_mechanism needs a non-empty 1-d array of finite scores.")
    epsilon = exponential_epsilon(rho)
    ledger = ledger.spend(
        step,
        "exponential",
        rho,
        epsilon=epsilon,
        sensitivity=float(sensitivity),
        n_candidates=len(scores),
        **_fixed_flag(),
    )
    logits = epsilon * scores / (2.0 * sensitivity)
    choice = int(np.argmax(logits + noise_generator().gumbel(size=len(scores))))
    return choice, ledger


def private_quantiles(
    ledger: PrivacyLedger,
    step: str,
    values: np.ndarray,
    quantiles: Sequence[float],
    candidates: np.ndarray,
    *,
    rho: float,
) -> tuple[np.ndarray, PrivacyLedger]:
    """One candidate per quantile, each chosen by the exponential mechanism (``rho`` split evenly).

    ``candidates`` must not depend on the data (a fixed grid, or the user's bounds). The utility of
    candidate ``c`` for quantile ``q`` is ``-|#{x <= c} - q n|`` over the ``n`` non-missing values;
    adding or removing one row moves it by at most ``max(q, 1 - q) <= 1``.
    """
    candidates = np.unique(np.asarray(candidates, dtype=float))
    present = np.sort(np.asarray(values, dtype=float)[~np.isnan(values)])
    at_or_below = np.searchsorted(present, candidates, side="right").astype(float)
    chosen = np.empty(len(quantiles))
    for i, q in enumerate(quantiles):
        if not 0 <= q <= 1:
            raise ValueError(f"quantiles must be in [0, 1]. Got {q!r} instead.")
        utility = -np.abs(at_or_below - q * len(present))
        index, ledger = exponential_mechanism(
            ledger, f"{step} (q={q:g})", utility, rho=rho / len(quantiles)
        )
        chosen[i] = candidates[index]
    return chosen, ledger


def discover_categories(
    ledger: PrivacyLedger,
    step: str,
    counts: Mapping[str, int],
    *,
    rho: float,
    delta: float,
    public: Sequence[str] = (),
) -> tuple[dict[str, float], PrivacyLedger]:
    """Noisy counts of the categories that clear a threshold, as ``{label: noisy count}``.

    Labels in ``public`` are known without looking at the data, so they are always measured and
    released (a count of 0 if absent). Every other label is released only when its count plus
    Gaussian noise exceeds ``threshold_for_delta(sigma, delta)``: a label that one row alone holds
    then appears with probability at most ``delta``, which the ledger records.
    """
    sigma = gaussian_sigma(rho)
    threshold = threshold_for_delta(sigma, delta)
    ledger = ledger.spend(
        step,
        "gaussian-threshold",
        rho,
        delta=delta,
        sigma=sigma,
        threshold=threshold,
        **_fixed_flag(),
    )
    labels = list(dict.fromkeys([*public, *sorted(counts)]))
    true = np.array([float(counts.get(label, 0)) for label in labels])
    noisy = true + noise_generator().normal(0.0, sigma, len(labels))
    known = set(public)
    return {
        label: float(value)
        for label, value in zip(labels, noisy, strict=True)
        if label in known or value > threshold
    }, ledger


def _fixed_flag() -> dict[str, bool]:
    # Recorded so a model fitted under the test-only fixed stream can never pass as private.
    return {"test_only_fixed_noise": True} if noise_is_fixed() else {}
