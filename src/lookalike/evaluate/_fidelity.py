"""Fidelity: how closely the synthetic table's binned distributions match the real table's.

Accuracy of a set of columns is ``1 - TVD`` between the real and the synthetic joint distribution
of their bins, where TVD (total variation distance) is half the sum of absolute differences of the
bin shares. 1.0 means identical shares; 0.0 means no overlap at all.

The TVD between two finite samples is above zero even when both come from the same distribution,
and the smaller the samples, the larger this noise. So that the synthetic table and the holdout
(the "ceiling": what a fresh real sample scores) are judged on the same footing, both are compared
with the real table using the **same number of rows**: the smaller of the two sizes (capped by
``max_rows``), drawn at random without replacement. The real table is the reference (also capped at
``max_rows`` rows).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lookalike.evaluate._prepare import ColumnBins, IntArray

#: Column pairs beyond this many are sampled at random for the bivariate score.
MAX_PAIRS = 2000
#: Number of random column triples for the three-way score.
MAX_TRIPLES = 100


@dataclass(frozen=True)
class BinnedTables:
    """Bin codes of the real, synthetic and (optional) holdout rows used for fidelity."""

    real: IntArray
    synthetic: IntArray
    holdout: IntArray | None
    bins: tuple[ColumnBins, ...]


def shares(codes: IntArray, n_bins: int) -> npt.NDArray[np.float64]:
    """Share of rows in each bin."""
    counts = np.bincount(codes, minlength=n_bins).astype(np.float64)
    return np.asarray(counts / max(codes.shape[0], 1), dtype=np.float64)


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance between two share vectors."""
    return float(0.5 * np.abs(p - q).sum())


def joint_codes(codes: IntArray, columns: Sequence[int], bins: Sequence[ColumnBins]) -> IntArray:
    """One code per row for the combination of the bins of ``columns``."""
    out = np.zeros(codes.shape[0], dtype=np.int64)
    for j in columns:
        out = out * bins[j].n_bins + codes[:, j]
    return out


def joint_size(columns: Sequence[int], bins: Sequence[ColumnBins]) -> int:
    return math.prod(bins[j].n_bins for j in columns)


def subset_accuracy(
    tables: BinnedTables, columns: Sequence[int]
) -> tuple[float, float | None, np.ndarray, np.ndarray, np.ndarray | None]:
    """Accuracy of the synthetic (and holdout) joint distribution of ``columns`` vs the real one.

    Returns ``(synthetic accuracy, holdout accuracy, real shares, synthetic shares, holdout shares)``.
    """
    size = joint_size(columns, tables.bins)
    p_real = shares(joint_codes(tables.real, columns, tables.bins), size)
    p_synth = shares(joint_codes(tables.synthetic, columns, tables.bins), size)
    if tables.holdout is None:
        return 1.0 - tvd(p_real, p_synth), None, p_real, p_synth, None
    p_hold = shares(joint_codes(tables.holdout, columns, tables.bins), size)
    return 1.0 - tvd(p_real, p_synth), 1.0 - tvd(p_real, p_hold), p_real, p_synth, p_hold


def choose_pairs(n_columns: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """All column pairs, or a random sample of :data:`MAX_PAIRS` of them for wide tables."""
    pairs = list(itertools.combinations(range(n_columns), 2))
    if len(pairs) <= MAX_PAIRS:
        return pairs
    chosen = rng.choice(len(pairs), size=MAX_PAIRS, replace=False)
    return [pairs[i] for i in sorted(chosen)]


def choose_triples(n_columns: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Up to :data:`MAX_TRIPLES` distinct column triples drawn at random."""
    n_total = math.comb(n_columns, 3)
    if n_total == 0:
        return []
    if n_total <= MAX_TRIPLES:
        return list(itertools.combinations(range(n_columns), 3))
    seen: set[tuple[int, int, int]] = set()
    while len(seen) < MAX_TRIPLES:
        a, b, c = sorted(int(v) for v in rng.choice(n_columns, size=3, replace=False))
        seen.add((a, b, c))
    return sorted(seen)


def cramers_v(codes_a: IntArray, codes_b: IntArray, n_a: int, n_b: int) -> float | None:
    """Bias-corrected Cramér's V (Bergsma 2013) of two binned columns; None if either is constant.

    It measures association in [0, 1] for any pair of kinds once both are binned, which is why
    one measure serves numeric, datetime and categorical columns alike.
    """
    n = codes_a.shape[0]
    table = np.bincount(codes_a * n_b + codes_b, minlength=n_a * n_b).reshape(n_a, n_b)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0].astype(np.float64)
    r, k = table.shape
    if r < 2 or k < 2 or n < 2:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_corr = r - (r - 1) ** 2 / (n - 1)
    k_corr = k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_corr - 1, r_corr - 1)
    if denominator <= 0:
        return None
    return float(min(1.0, math.sqrt(phi2 / denominator)))
