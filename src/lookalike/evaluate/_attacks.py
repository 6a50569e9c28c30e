"""Attacks on synthetic data: membership inference, singling out, linkability, attribute inference.

Every attack here sees only the synthetic table (plus, where the threat model allows it, a sample
of the population) and is scored against real records: training rows ("members", the "main"
targets) and holdout rows the generator never saw ("non-members", the "control" targets). A
generator that does not memorise treats both alike, so every number is read against the holdout.

**Membership inference.** Equal numbers of training and holdout rows (at most
:data:`MAX_MIA_CANDIDATES` each; the holdout keeps at least as many rows again as a reference
sample) are scored by two attacks, and the stronger (higher ROC AUC) is reported:

* *distance*: the Gower-like distance (see :mod:`._privacy`) from the candidate to its closest
  synthetic row; closer means "member".
* *calibrated distance*: that distance divided by the candidate's distance to its closest row of a
  reference sample of the population (holdout rows that are not candidates), in logs. It asks
  "is the synthetic data denser around this record than the population is?", which removes the
  advantage that typical records (close to everything) have over outliers, and is the stronger
  attack on generators that overfit a little.

Reported: ROC AUC (0.5 = coin flip) and the true-positive rate at 1 % and 0.1 % false positives;
with ``n`` non-members a false-positive rate below ``1/n`` cannot be resolved, so the counts are
reported too.

**Singling out, linkability, attribute inference** follow Anonymeter (Giomi et al., "A Unified
Framework for Quantifying Privacy Risk in Synthetic Data", PoPETs 2023). Each attack is run three
times: on training records (main), on holdout records (control) and as random guessing
(baseline); the risk is ``(main - control) / (1 - control)`` with Wilson-score rates and a
propagated confidence interval, as in Anonymeter.

* *Singling out* (multivariate): predicates on :data:`N_PREDICATE_COLUMNS` random columns built
  from a random synthetic row (``column == value`` for categories and missing values, ``column >=
  value`` above the synthetic median and ``<=`` below it for numbers), kept when they match exactly
  one (distinct) synthetic row; up to :data:`N_SINGLING_OUT_QUERIES` such predicates. A predicate
  succeeds when it matches exactly one distinct training row (main) or control row. Because the
  chance of matching exactly one row depends on the table size, the control count is rescaled to
  the training size with Anonymeter's model (the share of predicates that single out in ``n`` rows,
  fitted on subsamples of the control rows). The baseline draws predicates at random.
* *Linkability*: the columns are split at random into two halves; for each target, the closest
  synthetic row on each half is found; a success is when both are the same synthetic row.
  Baseline: two random synthetic rows.
* *Attribute inference*: each column in turn is the secret; the attacker knows all other columns
  of the target, takes the closest synthetic row on them and guesses its secret value. A guess is
  right when equal (categories) or within 5 % of the true value (numbers). Baseline: the secret of
  a random synthetic row. The headline is the column with the highest risk; all are reported.

Distances for linkability and inference are Gower distances (numbers scaled by the synthetic
data's 1st-99th percentile range and capped at 1, categories 0 or 1, missing equals missing),
with ties broken at random. Sizes: at most :data:`MAX_ATTACK_SYNTHETIC_ROWS` synthetic rows and
:data:`N_ATTACK_TARGETS` targets per side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lookalike.errors import DataError
from lookalike.evaluate import _verdicts
from lookalike.evaluate._models import limited_threads
from lookalike.evaluate._prepare import ColumnKind, FloatArray
from lookalike.evaluate._privacy import _DistanceEncoding, row_hashes
from lookalike.evaluate._result import (
    AttackRisk,
    ColumnRisk,
    MembershipAttack,
    MembershipInferenceResult,
)

#: Training members and holdout non-members scored by membership inference (each, at most).
MAX_MIA_CANDIDATES = 2_000
#: Rows of the reference (population) sample for the calibrated membership attack, at most.
MAX_REFERENCE_ROWS = 10_000
#: Synthetic rows the attacks search, at most.
MAX_ATTACK_SYNTHETIC_ROWS = 40_000
#: Targets per side (training / control) of the linkability and attribute-inference attacks.
N_ATTACK_TARGETS = 500
#: Singling-out predicates the attacker builds (Anonymeter's default number of attacks).
N_SINGLING_OUT_QUERIES = 500
#: Columns per singling-out predicate (Anonymeter's default).
N_PREDICATE_COLUMNS = 3
#: Candidate predicates tried before giving up on reaching N_SINGLING_OUT_QUERIES.
MAX_SINGLING_OUT_ATTEMPTS = 200_000
#: Attribute inference: a numeric guess within this relative distance of the truth is right.
INFERENCE_TOLERANCE = 0.05
#: Confidence level of the risk intervals.
CONFIDENCE = 0.95
#: Offset added to distances before taking logs in the calibrated attack (distances are in [0, 1.5]).
DISTANCE_OFFSET = 1e-3
#: Points of the ROC curve kept for the report.
N_ROC_POINTS = 80

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: Cells (queries x rows, targets x synthetic rows) per block of work, to bound memory.
_BLOCK_CELLS = 1_000_000


# --------------------------------------------------------------------------------------------
# Statistics


def wilson_rate(
    n_success: float, n_total: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson-score estimate of a success rate and the half-width of its interval.

    >>> rate, error = wilson_rate(50, 100)
    >>> round(rate, 4), round(error, 4)
    (0.5, 0.0962)
    """
    from scipy.stats import norm

    if n_total <= 0:
        raise DataError(f"A success rate needs at least one trial. Got n_total={n_total}.")
    z = float(norm.ppf(0.5 * (1.0 + confidence)))
    z2 = z * z
    denominator = n_total + z2
    rate = (n_success + 0.5 * z2) / denominator
    variance = n_success * (n_total - n_success) / n_total
    return rate, (z / denominator) * math.sqrt(max(variance, 0.0) + 0.25 * z2)


def wilson_interval(
    n_success: float, n_total: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson-score confidence interval of a success rate.

    >>> tuple(round(v, 4) for v in wilson_interval(8, 10))
    (0.4902, 0.9433)
    """
    rate, error = wilson_rate(n_success, n_total, confidence)
    return max(rate - error, 0.0), min(rate + error, 1.0)


def residual_risk(
    main: tuple[float, float], control: tuple[float, float]
) -> tuple[float, tuple[float, float]]:
    """Risk ``(main - control) / (1 - control)`` and its interval, from (rate, error) pairs.

    The error is propagated to first order, as in Anonymeter; value and interval are clipped to
    [0, 1].

    >>> risk, ci = residual_risk((0.6, 0.05), (0.2, 0.04))
    >>> round(risk, 4), tuple(round(v, 4) for v in ci)
    (0.5, (0.4327, 0.5673))
    """
    main_rate, main_error = main
    control_rate, control_error = control
    if control_rate >= 1.0:
        return 0.0, (0.0, 1.0)
    risk = (main_rate - control_rate) / (1.0 - control_rate)
    d_main = 1.0 / (1.0 - control_rate)
    d_control = (main_rate - 1.0) / (1.0 - control_rate) ** 2
    error = math.hypot(main_error * d_main, control_error * d_control)

    def clip(value: float) -> float:
        return min(max(value, 0.0), 1.0)

    return clip(risk), (clip(risk - error), clip(risk + error))


def _attack_risk(
    attack: str,
    n_main_success: float,
    n_main: int,
    n_control_success: float,
    n_control: int,
    n_baseline_success: float,
    n_baseline: int,
    details: str,
    columns: tuple[ColumnRisk, ...] = (),
) -> AttackRisk:
    main = wilson_rate(n_main_success, n_main)
    control = wilson_rate(n_control_success, n_control)
    baseline = wilson_rate(n_baseline_success, n_baseline)
    risk, ci = residual_risk(main, control)
    return AttackRisk(
        attack=attack,
        risk=risk,
        risk_ci=ci,
        main_rate=main[0],
        control_rate=control[0],
        baseline_rate=baseline[0],
        n_main=n_main,
        n_control=n_control,
        n_baseline=n_baseline,
        confidence=CONFIDENCE,
        details=details,
        verdict=_verdicts.attack_risk_verdict(attack, risk, ci, main[0], baseline[0], details),
        columns=columns,
    )


def _sample_rows(n_rows: int, n: int, rng: np.random.Generator) -> IntArray:
    if n >= n_rows:
        return np.arange(n_rows, dtype=np.int64)
    return np.sort(rng.choice(n_rows, size=n, replace=False)).astype(np.int64)


def _distinct(table: pd.DataFrame) -> pd.DataFrame:
    """Distinct rows (Anonymeter counts distinct records), with a fresh RangeIndex."""
    keep = ~pd.Series(row_hashes(table)).duplicated().to_numpy()
    return table.iloc[np.flatnonzero(keep)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Membership inference


def membership_inference(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: tuple[ColumnKind, ...],
    rng: np.random.Generator,
) -> MembershipInferenceResult | None:
    """Distance and calibrated-distance attacks; None when the holdout has fewer than 20 rows."""
    from sklearn.metrics import roc_auc_score, roc_curve

    n_candidates = min(MAX_MIA_CANDIDATES, train.shape[0], holdout.shape[0] // 2)
    if n_candidates < 10:
        return None
    members = train.iloc[_sample_rows(train.shape[0], n_candidates, rng)]
    order = rng.permutation(holdout.shape[0])
    non_members = holdout.iloc[np.sort(order[:n_candidates])]
    reference = holdout.iloc[np.sort(order[n_candidates:][:MAX_REFERENCE_ROWS])]
    synth = synthetic.iloc[_sample_rows(synthetic.shape[0], MAX_ATTACK_SYNTHETIC_ROWS, rng)]
    # The attacker knows only the synthetic data, so the distance is scaled on it.
    encoder = _DistanceEncoding.fit(synth.reset_index(drop=True), kinds)
    candidates_x = np.vstack([encoder.transform(members), encoder.transform(non_members)])
    with limited_threads():
        to_synthetic = _closest_distance(encoder.transform(synth), candidates_x) / encoder.scale
        to_reference = _closest_distance(encoder.transform(reference), candidates_x) / encoder.scale
    labels = np.concatenate([np.ones(n_candidates), np.zeros(n_candidates)])
    scores = {
        "distance to the closest synthetic row": -to_synthetic,
        "distance to the closest synthetic row relative to the closest reference row": np.log(
            to_reference + DISTANCE_OFFSET
        )
        - np.log(to_synthetic + DISTANCE_OFFSET),
    }
    attacks = []
    curves: dict[str, tuple[FloatArray, FloatArray]] = {}
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(labels, score)
        curves[name] = (fpr, tpr)
        attacks.append(
            MembershipAttack(
                name=name,
                auc=float(roc_auc_score(labels, score)),
                tpr_at_1_percent_fpr=_tpr_at(fpr, tpr, 0.01),
                tpr_at_0_1_percent_fpr=_tpr_at(fpr, tpr, 0.001),
            )
        )
    best = max(attacks, key=lambda a: a.auc)
    grid_fpr, grid_tpr = _reduced_curve(*curves[best.name], n_candidates)
    return MembershipInferenceResult(
        attack=best.name,
        auc=best.auc,
        tpr_at_1_percent_fpr=best.tpr_at_1_percent_fpr,
        tpr_at_0_1_percent_fpr=best.tpr_at_0_1_percent_fpr,
        attacks=tuple(attacks),
        n_members=n_candidates,
        n_non_members=n_candidates,
        n_reference_rows=int(reference.shape[0]),
        n_synthetic_rows=int(synth.shape[0]),
        roc_fpr=grid_fpr,
        roc_tpr=grid_tpr,
        verdict=_verdicts.membership_verdict(
            best.auc, best.tpr_at_1_percent_fpr, n_candidates, n_candidates
        ),
    )


def _closest_distance(index_rows: FloatArray, query_rows: FloatArray) -> FloatArray:
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(index_rows)
    distances = index.kneighbors(query_rows, return_distance=True)[0][:, 0]
    return np.asarray(distances, dtype=np.float64)


def _tpr_at(fpr: FloatArray, tpr: FloatArray, level: float) -> float:
    """Highest true-positive rate among thresholds whose false-positive rate is at most ``level``."""
    allowed = fpr <= level + 1e-12
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def _reduced_curve(
    fpr: FloatArray, tpr: FloatArray, n_negatives: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The ROC curve on a grid that is log-spaced at low false-positive rates, for plotting."""
    low = 1.0 / max(n_negatives, 1)
    grid = np.unique(
        np.concatenate([[0.0], np.geomspace(low, 1.0, N_ROC_POINTS // 2), np.linspace(0, 1, 41)])
    )
    # ROC curves are step functions: at each grid point take the best TPR reachable.
    positions = np.searchsorted(fpr, grid + 1e-12, side="right") - 1
    values = np.maximum.accumulate(tpr)[np.clip(positions, 0, None)]
    return tuple(round(float(v), 6) for v in grid), tuple(round(float(v), 6) for v in values)


# --------------------------------------------------------------------------------------------
# Anonymeter-style attacks


def _shared_codes(
    tables: dict[str, pd.DataFrame], kinds: tuple[ColumnKind, ...]
) -> dict[str, npt.NDArray[np.int32]]:
    """Code the columns of several tables consistently; returns role -> (rows x columns) codes."""
    roles = list(tables)
    names = list(next(iter(tables.values())).columns)
    out = {role: np.empty((tables[role].shape[0], len(names)), dtype=np.int32) for role in roles}
    for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        columns = [tables[role][name].to_numpy() for role in roles]
        if kind == "categorical":
            joined = pd.Index(np.concatenate(columns).astype(object))
            codes, _ = pd.factorize(joined, use_na_sentinel=True)
        else:
            floats = np.concatenate(columns).astype(np.float64)
            finite = np.isfinite(floats)
            distinct = np.unique(floats[finite])
            codes = np.full(floats.size, -1, dtype=np.int64)
            codes[finite] = np.searchsorted(distinct, floats[finite])
        start = 0
        for role, column in zip(roles, columns, strict=True):
            out[role][:, j] = codes[start : start + column.size]
            start += column.size
    return out


def _count_matches(codes: npt.NDArray[np.int32], queries: _Queries) -> IntArray:
    """Rows of ``codes`` each query matches."""
    counts: IntArray = _match_matrix(codes, queries).sum(axis=1).astype(np.int64)
    return counts


@dataclass(frozen=True)
class _Queries:
    """Conjunctions of conditions ``low <= code <= high`` (or, negated, a present code outside)."""

    columns: IntArray  # queries x conditions
    low: IntArray
    high: IntArray
    negate: BoolArray

    def take(self, keep: IntArray | BoolArray) -> _Queries:
        return _Queries(self.columns[keep], self.low[keep], self.high[keep], self.negate[keep])

    @property
    def n(self) -> int:
        return int(self.columns.shape[0])

    def keys(self) -> list[bytes]:
        stacked = np.stack([self.columns, self.low, self.high, self.negate], axis=2)
        order = np.argsort(self.columns, axis=1, kind="stable")
        ordered = np.take_along_axis(stacked, order[:, :, None], axis=1).astype(np.int64)
        return [row.tobytes() for row in ordered]


def _match_matrix(codes: npt.NDArray[np.int32], queries: _Queries) -> BoolArray:
    """queries x rows: does each query match each row?"""
    n_rows = codes.shape[0]
    out = np.empty((queries.n, n_rows), dtype=bool)
    block = max(1, _BLOCK_CELLS // max(n_rows, 1))
    transposed = np.ascontiguousarray(codes.T)
    for start in range(0, queries.n, block):
        part = slice(start, start + block)
        match = out[part]
        match[:] = True
        for c in range(queries.columns.shape[1]):
            values = transposed[queries.columns[part, c]]
            low = queries.low[part, c, None].astype(np.int32)
            width = (queries.high[part, c, None] - queries.low[part, c, None]).astype(np.int32)
            # low <= v <= high in one comparison: v - low as unsigned wraps below low.
            np.subtract(values, low, out=values)
            inside = values.view(np.uint32) <= width.view(np.uint32)
            negated = queries.negate[part, c]
            if negated.any():
                # "!= value": a present value outside the interval (missing never matches).
                present = transposed[queries.columns[part, c]] >= 0
                inside = np.where(negated[:, None], ~inside & present, inside)
            match &= inside
    return out


def singling_out(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: tuple[ColumnKind, ...],
    rng: np.random.Generator,
) -> AttackRisk | None:
    """Multivariate singling out (see the module docstring); None if no predicate could be built."""
    # Training and control rows are compared at the same size (the larger is subsampled): the
    # chance that a predicate matches exactly one row depends on the table size. Anonymeter instead
    # rescales the control count with a fitted model; on adult that model made real rows used as
    # synthetic data look risky (0.07 to 0.10, intervals excluding 0), equal sizes do not.
    training, control = _distinct(train), _distinct(holdout)
    n_rows = min(training.shape[0], control.shape[0])
    training = training.iloc[_sample_rows(training.shape[0], n_rows, rng)]
    control = control.iloc[_sample_rows(control.shape[0], n_rows, rng)]
    tables = {"train": training, "synthetic": _distinct(synthetic), "control": control}
    codes = _shared_codes(tables, kinds)
    synth_codes = codes["synthetic"]
    n_synth, n_columns = synth_codes.shape
    n_conditions = min(N_PREDICATE_COLUMNS, n_columns)
    numeric = np.array([k != "categorical" for k in kinds])
    # Medians of the synthetic numbers, in code space (codes are ranks, so order is kept).
    medians = np.array(
        [
            float(np.median(col[col >= 0])) if numeric[j] and (col >= 0).any() else 0.0
            for j, col in enumerate(synth_codes.T)
        ]
    )
    # Codes of a column run from 0 to its number of distinct values - 1, across all tables.
    n_codes = np.max([t.max(axis=0, initial=-1) for t in codes.values()], axis=0) + 1
    n_codes = np.maximum(n_codes, 1).astype(np.int64)
    # A first screen on a subsample of the synthetic rows discards most candidates cheaply: a
    # predicate that matches two of its rows cannot single out in the full table.
    screens = [synth_codes[_sample_rows(n_synth, size, rng)] for size in (500, 4_000)]
    found: list[_Queries] = []
    seen: set[bytes] = set()
    n_found = n_attempts = 0
    batch = 2_000
    while n_found < N_SINGLING_OUT_QUERIES and n_attempts < MAX_SINGLING_OUT_ATTEMPTS:
        rows = rng.integers(0, n_synth, size=batch)
        columns = np.argsort(rng.random((batch, n_columns)), axis=1)[:, :n_conditions]
        values = np.take_along_axis(synth_codes[rows], columns, axis=1).astype(np.int64)
        is_numeric = numeric[columns] & (values >= 0)
        above = values > medians[columns]
        low = np.where(is_numeric & ~above, 0, values)
        high = np.where(is_numeric & above, n_codes[columns] - 1, values)
        candidates = _Queries(
            columns.astype(np.int64), low, high.astype(np.int64), np.zeros_like(columns, bool)
        )
        n_attempts += batch
        for screen in screens:
            if candidates.n:
                candidates = candidates.take(
                    np.flatnonzero(_count_matches(screen, candidates) <= 1)
                )
        if candidates.n == 0:
            continue
        candidates = candidates.take(np.flatnonzero(_count_matches(synth_codes, candidates) == 1))
        keep: list[int] = []
        for i, key in enumerate(candidates.keys()):
            if key not in seen and n_found + len(keep) < N_SINGLING_OUT_QUERIES:
                seen.add(key)
                keep.append(i)
        if keep:
            found.append(candidates.take(np.asarray(keep, dtype=np.int64)))
            n_found += len(keep)
    if n_found == 0:
        return None
    queries = _Queries(
        *(
            np.concatenate([getattr(q, f) for q in found])
            for f in ("columns", "low", "high", "negate")
        )
    )
    n_train = codes["train"].shape[0]
    main_success = int((_count_matches(codes["train"], queries) == 1).sum())
    control_success = int((_count_matches(codes["control"], queries) == 1).sum())
    baseline = _random_queries(synth_codes, numeric, n_codes, queries.n, n_conditions, rng)
    baseline_success = int((_count_matches(codes["train"], baseline) == 1).sum())
    details = (
        f"{queries.n} predicates on {n_conditions} columns, each matching exactly one of "
        f"{n_synth} distinct synthetic rows ({n_attempts} tried); checked on {n_train:,} distinct "
        f"training rows and as many distinct control rows"
    )
    return _attack_risk(
        "singling out",
        main_success,
        queries.n,
        control_success,
        queries.n,
        baseline_success,
        baseline.n,
        details,
    )


def _random_queries(
    synth_codes: npt.NDArray[np.int32],
    numeric: BoolArray,
    n_codes: IntArray,
    n: int,
    n_conditions: int,
    rng: np.random.Generator,
) -> _Queries:
    """Anonymeter's baseline: random columns, values seen in the synthetic data, random operators
    (==, != for categories; ==, !=, <, >, <=, >= for numbers)."""
    n_columns = synth_codes.shape[1]
    columns = np.argsort(rng.random((n, n_columns)), axis=1)[:, :n_conditions]
    values = np.take_along_axis(
        synth_codes[rng.integers(0, synth_codes.shape[0], (n, 1))][:, 0], columns, axis=1
    ).astype(np.int64)
    operator = np.where(
        numeric[columns],
        rng.integers(0, 6, size=columns.shape),
        rng.integers(0, 2, size=columns.shape),
    )
    top = n_codes[columns] - 1
    missing = values < 0
    # 0: ==, 1: !=, 2: <, 3: >, 4: <=, 5: >=
    low = np.select([operator == 3, operator == 5, operator >= 2], [values + 1, values, 0], values)
    high = np.select(
        [operator == 2, operator == 4, operator >= 2], [values - 1, values, top], values
    )
    negate = operator == 1
    # A missing value: "== missing" or "!= missing" (any present value).
    low = np.where(missing, np.where(negate, 0, -1), low)
    high = np.where(missing, np.where(negate, top, -1), high)
    negate = negate & ~missing
    return _Queries(columns.astype(np.int64), low, high, negate)


@dataclass(frozen=True)
class _GowerColumns:
    """Columns prepared for Gower distances: scaled numbers (NaN missing) or category codes."""

    numeric: tuple[bool, ...]
    values: dict[str, list[npt.NDArray[Any]]]


def _gower_columns(
    tables: dict[str, pd.DataFrame], kinds: tuple[ColumnKind, ...], scale_on: str
) -> _GowerColumns:
    names = list(tables[scale_on].columns)
    values: dict[str, list[npt.NDArray[Any]]] = {role: [] for role in tables}
    for name, kind in zip(names, kinds, strict=True):
        if kind == "categorical":
            joined = np.concatenate([tables[r][name].to_numpy() for r in tables]).astype(object)
            codes, _ = pd.factorize(pd.Index(joined), use_na_sentinel=True)
            start = 0
            for role in tables:
                size = tables[role].shape[0]
                values[role].append(codes[start : start + size].astype(np.int32))
                start += size
            continue
        reference = tables[scale_on][name].to_numpy(np.float64)
        finite = reference[np.isfinite(reference)]
        span = 1.0
        if finite.size:
            low, high = np.quantile(finite, [0.01, 0.99])
            span = float(high - low) or float(finite.max() - finite.min()) or 1.0
        for role in tables:
            values[role].append((tables[role][name].to_numpy(np.float64) / span).astype(np.float32))
    return _GowerColumns(tuple(k != "categorical" for k in kinds), values)


def _add_column_distance(
    total: npt.NDArray[np.float32], target: npt.NDArray[Any], synth: npt.NDArray[Any], numeric: bool
) -> npt.NDArray[Any]:
    """Add one column's targets x synthetic Gower contributions to ``total``; return them."""
    if not numeric:
        mismatch = np.not_equal(target[:, None], synth[None, :])
        np.add(total, mismatch, out=total)
        return np.asarray(mismatch)
    difference = np.subtract(target[:, None], synth[None, :])
    np.abs(difference, out=difference)
    np.minimum(difference, 1.0, out=difference)
    target_missing, synth_missing = np.isnan(target), np.isnan(synth)
    if target_missing.any() or synth_missing.any():
        # A missing value against a number is a full mismatch; missing against missing, a match.
        np.nan_to_num(difference, copy=False, nan=1.0)
        difference[target_missing[:, None] & synth_missing[None, :]] = 0.0
    np.add(total, difference, out=total)
    return np.asarray(difference)


def linkability_and_inference(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: tuple[ColumnKind, ...],
    rng: np.random.Generator,
) -> tuple[AttackRisk | None, AttackRisk | None]:
    """Linkability (None with fewer than two columns) and attribute inference (the riskiest
    column as headline); one pass of distance computations serves both."""
    names = list(train.columns)
    n_columns = len(names)
    n_targets = min(N_ATTACK_TARGETS, train.shape[0], holdout.shape[0])
    synth = synthetic.iloc[_sample_rows(synthetic.shape[0], MAX_ATTACK_SYNTHETIC_ROWS, rng)]
    tables = {
        "main": train.iloc[_sample_rows(train.shape[0], n_targets, rng)],
        "control": holdout.iloc[_sample_rows(holdout.shape[0], n_targets, rng)],
        "synthetic": synth,
    }
    prepared = _gower_columns(tables, kinds, scale_on="synthetic")
    n_synth = synth.shape[0]
    split = rng.permutation(n_columns)
    first_half = np.sort(split[: n_columns // 2])
    first_set = set(first_half.tolist())
    synthetic_values = prepared.values["synthetic"]
    numeric = prepared.numeric
    links: dict[str, int] = {}
    correct: dict[str, IntArray] = {}
    for role in ("main", "control"):
        n_links = 0
        right = np.zeros(n_columns, dtype=np.int64)
        block = max(1, _BLOCK_CELLS // max(n_synth, 1))
        for start in range(0, n_targets, block):
            part = slice(start, start + block)
            targets = [prepared.values[role][j][part] for j in range(n_columns)]
            # Random tie-breaking: Gower distances on categories tie often.
            total = rng.random((targets[0].shape[0], n_synth), dtype=np.float32) * 1e-4
            first = rng.random(total.shape, dtype=np.float32) * 1e-4
            contributions = []
            for j in range(n_columns):
                if j in first_set:
                    contributions.append(
                        _add_column_distance(first, targets[j], synthetic_values[j], numeric[j])
                    )
                else:
                    contributions.append(
                        _add_column_distance(total, targets[j], synthetic_values[j], numeric[j])
                    )
            if n_columns >= 2:
                # total holds the second half (plus jitter) so far.
                n_links += int((first.argmin(axis=1) == total.argmin(axis=1)).sum())
            np.add(total, first, out=total)
            scratch = np.empty_like(total)
            for j in range(n_columns):
                np.subtract(total, contributions[j], out=scratch)
                guess_rows = scratch.argmin(axis=1)
                right[j] += int(
                    _right_guesses(synthetic_values[j][guess_rows], targets[j], numeric[j]).sum()
                )
        links[role] = n_links
        correct[role] = right
    linkability = None
    if n_columns >= 2:
        # Baseline: two synthetic rows drawn at random are the same row.
        baseline_links = int(
            (rng.integers(0, n_synth, n_targets) == rng.integers(0, n_synth, n_targets)).sum()
        )
        linkability = _attack_risk(
            "linkability",
            links["main"],
            n_targets,
            links["control"],
            n_targets,
            baseline_links,
            n_targets,
            f"{n_targets} training and {n_targets} control targets; the attacker knows "
            f"{', '.join(names[j] for j in first_half)} and, separately, the other columns, and "
            f"links them through the closest of {n_synth} synthetic rows",
        )
    column_risks = []
    for j, name in enumerate(names):
        random_rows = rng.integers(0, n_synth, n_targets)
        baseline_right = int(
            _right_guesses(
                prepared.values["synthetic"][j][random_rows],
                prepared.values["main"][j],
                prepared.numeric[j],
            ).sum()
        )
        single = _attack_risk(
            "attribute inference",
            int(correct["main"][j]),
            n_targets,
            int(correct["control"][j]),
            n_targets,
            baseline_right,
            n_targets,
            name,
        )
        column_risks.append((single, baseline_right))
    if not column_risks:
        return linkability, None
    # The headline column is the one with the strongest evidence of risk (highest lower bound):
    # the point risk of a column that is easy to guess for anyone (control rate near 1) is noisy.
    riskiest, baseline_right = max(
        column_risks, key=lambda item: (item[0].risk_ci[0], item[0].risk)
    )
    j = names.index(riskiest.details)
    inference = _attack_risk(
        "attribute inference",
        int(correct["main"][j]),
        n_targets,
        int(correct["control"][j]),
        n_targets,
        baseline_right,
        n_targets,
        f"secret column {riskiest.details!r} (the riskiest of {n_columns}); {n_targets} training "
        f"and {n_targets} control targets; the attacker knows every other column and copies the "
        f"secret of the closest of {n_synth} synthetic rows",
        columns=tuple(
            ColumnRisk(
                column=r.details,
                risk=r.risk,
                risk_ci=r.risk_ci,
                main_rate=r.main_rate,
                control_rate=r.control_rate,
                baseline_rate=r.baseline_rate,
            )
            for r, _ in column_risks
        ),
    )
    return linkability, inference


def _right_guesses(guesses: npt.NDArray[Any], truth: npt.NDArray[Any], numeric: bool) -> BoolArray:
    if not numeric:
        return np.asarray(guesses == truth)
    # Scaling both by the same span leaves the relative tolerance unchanged.
    both_missing = np.isnan(guesses) & np.isnan(truth)
    close = np.abs(guesses - truth) <= INFERENCE_TOLERANCE * np.abs(truth)
    return np.asarray(both_missing | close)
