"""Fairness: is the synthetic table as good for every group of people as for the majority?

``sensitive`` columns (e.g. sex, race) split the rows into groups: the categories of a column, or
for numbers and dates the fidelity bins of :mod:`lookalike.evaluate._prepare`. For each group:

* **Representation**: its share of the real, synthetic (and holdout) rows. A share that moved by
  more than sampling noise (3 standard errors) *and* by more than a fifth of itself is a concern.
* **Fidelity within the group**: ``1 - TVD`` of every other column (single columns) and of pairs
  of columns between the group's real rows and its synthetic rows. A small group scores lower even
  for a perfect generator, because a small sample is a noisy one; so with a holdout the group's
  holdout rows are scored the same way, at the same number of rows, and only the *shortfall*
  below that ceiling is the generator's doing. A group whose shortfall exceeds that of the largest
  group of its column by :data:`FIDELITY_GAP` is a concern: minority groups with few training
  rows are where generators most often lose detail.
* **Privacy within the group**: the share of its synthetic rows that copy a training row exactly
  (next to the holdout's share), and its DCR share (see :mod:`lookalike.evaluate._privacy`): how
  often its synthetic rows are closer to a training row than to a holdout row. Without
  memorisation this is a fair coin (0.5) in every group; a group whose share is above
  :data:`DCR_SHARE_CONCERN` and significantly above 0.5 has synthetic rows that sit near its few
  real records.

With a binary ``target``, a gradient-boosted tree model is trained on the synthetic rows and
tested on the holdout (or on a random 20 % of the real rows without one), and, for comparison,
the same model trained on the real rows. By each sensitive column, with the definitions of
fairlearn (``method="between_groups"``, ``agg="worst_case"``):

* demographic parity difference: the largest minus the smallest group selection rate
  ``P(prediction = positive | group)``;
* equalized-odds difference: the larger of the spread of true-positive rates
  ``P(prediction = positive | group, actual positive)`` and of false-positive rates
  ``P(prediction = positive | group, actual negative)``. A group without actual positives (or
  negatives) has no such rate and is left out of that spread (fairlearn would count it as 0).

The positive label is the target's less frequent class in the real data (e.g. ``">50K"``,
fraud, a diagnosis), which is what a selection rate is usually about. The real-trained model's
differences are the data's own; the synthetic-trained model's differences above them are what
the synthetic data adds.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from lookalike.errors import DataError
from lookalike.evaluate._fidelity import BinnedTables, subset_accuracy
from lookalike.evaluate._models import (
    fit_tree_encoding,
    informative_columns,
    limited_threads,
    make_classifier,
)
from lookalike.evaluate._prepare import (
    ColumnBins,
    FloatArray,
    IntArray,
    PreparedTables,
    bin_table,
)
from lookalike.evaluate._privacy import MAX_PRIVACY_ROWS, _DistanceEncoding, row_hashes
from lookalike.evaluate._result import (
    FairnessResult,
    GroupFairness,
    GroupRates,
    ParityResult,
    Verdict,
)
from lookalike.evaluate._utility import MAX_CLASSES, TEST_SHARE

GOOD, FAIR, POOR, NOT_MEASURED = "good", "fair", "poor", "not measured"

#: Groups with fewer real or compared rows than this get no fidelity score (it would be noise).
MIN_GROUP_ROWS = 20
#: Pair fidelity within a group uses at most this many random column pairs.
MAX_GROUP_PAIRS = 300
#: A group is "small" when it holds less than this share of the real rows.
SMALL_GROUP_SHARE = 0.05
#: Shortfall below the holdout ceiling, in excess of the largest group's shortfall, that is a
#: concern (single columns, pairs), or :data:`FIDELITY_NOISE` / sqrt(rows compared) if larger;
#: twice that rates "poor". The noise of that excess shrinks like 1 / sqrt(rows): on adult, a
#: disjoint real sample scored as if it were synthetic (12 runs, sex and race groups of 19 to
#: 3,300 rows) never exceeded 0.36 / sqrt(rows), so these leave room for it.
FIDELITY_GAP = {"single columns": 0.02, "pairs of columns": 0.03}
FIDELITY_NOISE = 0.6
#: A group's DCR share above this, and above the largest group's by more than :data:`DCR_Z`
#: standard errors (each row is a fair coin without memorisation), is a concern; above
#: :data:`DCR_SHARE_POOR` it rates "poor".
DCR_SHARE_CONCERN = 0.55
DCR_SHARE_POOR = 0.60
DCR_Z = 2.5
#: Representation: a share that moved by more than this many standard errors and by more than
#: :data:`REPRESENTATION_RELATIVE` of itself is a concern.
REPRESENTATION_Z = 3.0
REPRESENTATION_RELATIVE = 0.2
#: Groups with fewer test rows than this are named as noisy in the parity sentence.
FEW_TEST_ROWS = 100
#: How much the synthetic-trained model's parity differences may exceed the real-trained model's
#: for "good" / "fair".
PARITY_EXCESS = (0.03, 0.08)

BoolArray = npt.NDArray[np.bool_]


# -- fairlearn's group metrics ---------------------------------------------------------------


def selection_rates(y_pred: npt.ArrayLike, sensitive_features: npt.ArrayLike) -> dict[str, float]:
    """Share of positive predictions in each group (``y_pred`` is 0/1 or boolean).

    >>> selection_rates([1, 0, 1, 1], ["a", "a", "b", "b"])
    {'a': 0.5, 'b': 1.0}
    """
    predicted = _as_bool(y_pred, "y_pred")
    groups = _as_groups(sensitive_features, predicted.shape[0])
    return {g: float(predicted[groups == g].mean()) for g in _ordered(groups)}


def demographic_parity_difference(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, sensitive_features: npt.ArrayLike
) -> float:
    """Largest minus smallest group selection rate (fairlearn's definition; ``y_true`` unused).

    >>> demographic_parity_difference(
    ...     [0, 0, 0, 0], [1, 0, 1, 1], sensitive_features=["a", "a", "b", "b"]
    ... )
    0.5
    """
    _as_bool(y_true, "y_true")
    rates = selection_rates(y_pred, sensitive_features).values()
    return float(max(rates) - min(rates))


def equalized_odds_difference(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, sensitive_features: npt.ArrayLike
) -> float:
    """The larger of the spreads of true-positive and of false-positive rates across groups.

    Groups without actual positives (negatives) are left out of the true- (false-) positive
    spread; ``nan`` if no rate is defined in two groups.

    >>> equalized_odds_difference(
    ...     [1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"]
    ... )
    1.0
    """
    actual = _as_bool(y_true, "y_true")
    predicted = _as_bool(y_pred, "y_pred")
    groups = _as_groups(sensitive_features, actual.shape[0])
    spreads = []
    for positives in (True, False):
        rates = [
            float(predicted[chosen].mean())
            for g in _ordered(groups)
            if (chosen := (groups == g) & (actual == positives)).any()
        ]
        if len(rates) >= 2:
            spreads.append(max(rates) - min(rates))
    return float(max(spreads)) if spreads else float("nan")


def _as_bool(values: npt.ArrayLike, name: str) -> BoolArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional. Got shape {array.shape} instead.")
    if array.dtype == np.bool_:
        return array
    if not np.isin(array, [0, 1]).all():
        raise DataError(f"{name} must hold 0/1 or booleans. Got values {np.unique(array)[:5]}.")
    return np.asarray(array == 1, dtype=bool)


def _as_groups(values: npt.ArrayLike, n: int) -> npt.NDArray[np.object_]:
    groups = np.asarray([str(v) for v in np.asarray(values, dtype=object)], dtype=object)
    if groups.shape != (n,):
        raise DataError(
            f"sensitive_features must have one value per row ({n}). Got shape {groups.shape}."
        )
    return groups


def _ordered(groups: npt.NDArray[np.object_]) -> list[str]:
    return sorted({str(g) for g in groups})


# -- the measurement --------------------------------------------------------------------------


def check_sensitive(
    sensitive: Sequence[str] | str | None, names: Sequence[str], target: str | None = None
) -> tuple[str, ...]:
    """Validate the ``sensitive`` parameter of :func:`lookalike.evaluate`."""
    if sensitive is None:
        return ()
    chosen = [sensitive] if isinstance(sensitive, str) else sensitive
    if not isinstance(chosen, Sequence) or not all(isinstance(c, str) for c in chosen):
        raise DataError(
            "The 'sensitive' parameter must be a column name or a list of column names. "
            f"Got {sensitive!r} instead."
        )
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise DataError(
            f"The 'sensitive' parameter names column(s) {unknown} that the tables lack; "
            f"they have {list(names)}."
        )
    if len(set(chosen)) != len(chosen):
        raise DataError(f"The 'sensitive' parameter repeats a column: {list(chosen)}.")
    if target is not None and target in chosen:
        raise DataError(
            f"The target {target!r} cannot also be a sensitive column: parity of a prediction "
            "across groups of the very value predicted says nothing."
        )
    return tuple(chosen)


def measure_fairness(
    tables: PreparedTables,
    sensitive: tuple[str, ...],
    target: str | None,
    rng: np.random.Generator,
    max_rows: int,
) -> FairnessResult:
    """Representation, per-group fidelity and privacy, and downstream parity by group."""
    fidelity_rng, privacy_rng, parity_rng = rng.spawn(3)
    real = _cap(tables.real, max_rows, fidelity_rng)
    synthetic = _cap(tables.synthetic, max_rows, fidelity_rng)
    holdout = None if tables.holdout is None else _cap(tables.holdout, max_rows, fidelity_rng)
    binned = BinnedTables(
        real=bin_table(real, tables.bins),
        synthetic=bin_table(synthetic, tables.bins),
        holdout=None if holdout is None else bin_table(holdout, tables.bins),
        bins=tables.bins,
    )
    copies = _copies(tables)
    closer = _closer_to_training(tables, privacy_rng)
    groups: list[GroupFairness] = []
    for column in sensitive:
        groups.extend(_column_groups(tables, binned, column, copies, closer, fidelity_rng))
    parity: tuple[ParityResult, ...] = ()
    positive_label = test_set = None
    parity_note = None
    if target is not None:
        parity, positive_label, test_set, parity_note = _parity(
            tables, sensitive, target, parity_rng, max_rows
        )
    return FairnessResult(
        sensitive=sensitive,
        groups=tuple(groups),
        target=target,
        positive_label=positive_label,
        test_set=test_set,
        parity=parity,
        verdict=fairness_verdict(groups, parity, tables.holdout is not None, target, parity_note),
    )


def _cap(table: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if table.shape[0] <= n:
        return table
    rows = np.sort(rng.choice(table.shape[0], size=n, replace=False))
    return table.iloc[rows].reset_index(drop=True)


@dataclass(frozen=True)
class _Copies:
    """Per row: is it an exact copy of a training row?"""

    synthetic: BoolArray
    holdout: BoolArray | None


def _copies(tables: PreparedTables) -> _Copies:
    training = row_hashes(tables.real)
    return _Copies(
        synthetic=np.isin(row_hashes(tables.synthetic), training),
        holdout=None if tables.holdout is None else np.isin(row_hashes(tables.holdout), training),
    )


@dataclass(frozen=True)
class _Closeness:
    """For a sample of synthetic rows: 1 if closer to a training row than to a holdout row."""

    rows: IntArray
    closer: FloatArray


def _closer_to_training(tables: PreparedTables, rng: np.random.Generator) -> _Closeness | None:
    """The DCR-share test of :mod:`~lookalike.evaluate._privacy`, kept per synthetic row."""
    if tables.holdout is None:
        return None
    n = min(tables.real.shape[0], tables.synthetic.shape[0], tables.holdout.shape[0])
    n = min(n, MAX_PRIVACY_ROWS)

    def sample(table: pd.DataFrame) -> IntArray:
        return np.sort(rng.choice(table.shape[0], size=n, replace=False)).astype(np.int64)

    train_rows, synth_rows = sample(tables.real), sample(tables.synthetic)
    hold_rows = sample(tables.holdout)
    train = tables.real.iloc[train_rows]
    encoding = _DistanceEncoding.fit(train, tables.kinds)
    synth_x = encoding.transform(tables.synthetic.iloc[synth_rows])
    with limited_threads():
        to_train = _nearest(encoding.transform(train), synth_x)
        to_holdout = _nearest(encoding.transform(tables.holdout.iloc[hold_rows]), synth_x)
    closer = (to_train < to_holdout) + 0.5 * (to_train == to_holdout)
    return _Closeness(synth_rows, closer.astype(np.float64))


def _nearest(reference: FloatArray, queries: FloatArray) -> FloatArray:
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    return np.asarray(index.kneighbors(queries, return_distance=True)[0][:, 0], dtype=np.float64)


def _column_groups(
    tables: PreparedTables,
    binned: BinnedTables,
    column: str,
    copies: _Copies,
    closer: _Closeness | None,
    rng: np.random.Generator,
) -> list[GroupFairness]:
    j = tables.names.index(column)
    bins = tables.bins[j]
    # Representation and privacy use every row; fidelity the capped tables in `binned`.
    full = {
        "real": bins.transform(tables.real[column].to_numpy()),
        "synthetic": bins.transform(tables.synthetic[column].to_numpy()),
    }
    if tables.holdout is not None:
        full["holdout"] = bins.transform(tables.holdout[column].to_numpy())
    counts = {role: np.bincount(codes, minlength=bins.n_bins) for role, codes in full.items()}
    others = [k for k in range(len(tables.bins)) if k != j]
    pairs = list(itertools.combinations(others, 2))
    if len(pairs) > MAX_GROUP_PAIRS:
        chosen = rng.choice(len(pairs), size=MAX_GROUP_PAIRS, replace=False)
        pairs = [pairs[i] for i in sorted(chosen)]
    present = [k for k in range(bins.n_bins) if counts["real"][k] + counts["synthetic"][k] > 0]
    largest = max(present, key=lambda k: int(counts["real"][k]))
    measured: dict[int, _GroupFidelity] = {
        k: _group_fidelity(binned, j, k, others, pairs, rng) for k in present
    }
    plain: dict[int, GroupFairness] = {}
    for k in present:
        n_real, n_synth = int(counts["real"][k]), int(counts["synthetic"][k])
        n_hold = int(counts["holdout"][k]) if "holdout" in counts else None
        real_share = n_real / full["real"].shape[0]
        synth_share = n_synth / full["synthetic"].shape[0]
        hold_share = None if n_hold is None else n_hold / full["holdout"].shape[0]
        in_synth = full["synthetic"] == k
        copy_share = float(copies.synthetic[in_synth].mean()) if n_synth else None
        hold_copy_share = None
        if copies.holdout is not None and n_hold:
            hold_copy_share = float(copies.holdout[full["holdout"] == k].mean())
        dcr_share, n_dcr = None, 0
        if closer is not None:
            mine = closer.closer[in_synth[closer.rows]]
            n_dcr = int(mine.shape[0])
            dcr_share = float(mine.mean()) if n_dcr else None
        fidelity = measured[k]
        plain[k] = GroupFairness(
            column=column,
            group=bins.labels[k],
            n_real_rows=n_real,
            n_synthetic_rows=n_synth,
            n_holdout_rows=n_hold,
            real_share=round(real_share, 6),
            synthetic_share=round(synth_share, 6),
            holdout_share=None if hold_share is None else round(hold_share, 6),
            n_rows_compared=fidelity.n_compared,
            univariate=fidelity.univariate,
            bivariate=fidelity.bivariate,
            holdout_univariate=fidelity.holdout_univariate,
            holdout_bivariate=fidelity.holdout_bivariate,
            least_faithful_column=fidelity.worst_column,
            exact_copy_share=copy_share,
            holdout_exact_copy_share=hold_copy_share,
            dcr_share=dcr_share,
            n_dcr_rows=n_dcr,
            concerns=(),
        )
    out = []
    for k, group in plain.items():
        concerns = _representation_concerns(group, full["real"].shape[0])
        if k != largest:
            concerns += _fidelity_concerns(measured[k], measured[largest], bins.labels[largest])
            concerns += _privacy_concerns(group, plain[largest])
        out.append(
            replace(
                group,
                concerns=tuple(c.text for c in concerns),
                severe=any(c.severe for c in concerns),
            )
        )
    return out


@dataclass(frozen=True)
class _Concern:
    text: str
    severe: bool


@dataclass(frozen=True)
class _GroupFidelity:
    n_compared: int
    univariate: float | None
    bivariate: float | None
    holdout_univariate: float | None
    holdout_bivariate: float | None
    worst_column: str | None

    def shortfalls(self) -> dict[str, float | None]:
        def gap(ceiling: float | None, score: float | None) -> float | None:
            return None if ceiling is None or score is None else ceiling - score

        return {
            "single columns": gap(self.holdout_univariate, self.univariate),
            "pairs of columns": gap(self.holdout_bivariate, self.bivariate),
        }


def _group_fidelity(
    binned: BinnedTables,
    j: int,
    k: int,
    others: list[int],
    pairs: list[tuple[int, int]],
    rng: np.random.Generator,
) -> _GroupFidelity:
    real = binned.real[binned.real[:, j] == k]
    synthetic = binned.synthetic[binned.synthetic[:, j] == k]
    holdout = None if binned.holdout is None else binned.holdout[binned.holdout[:, j] == k]
    n_compared = (
        synthetic.shape[0] if holdout is None else min(synthetic.shape[0], holdout.shape[0])
    )
    if real.shape[0] < MIN_GROUP_ROWS or n_compared < MIN_GROUP_ROWS or not others:
        return _GroupFidelity(n_compared, None, None, None, None, None)

    def take(codes: IntArray) -> IntArray:
        if codes.shape[0] == n_compared:
            return codes
        rows = np.sort(rng.choice(codes.shape[0], size=n_compared, replace=False))
        return np.asarray(codes[rows], dtype=np.int64)

    group = BinnedTables(
        real=real,
        synthetic=take(synthetic),
        holdout=None if holdout is None else take(holdout),
        bins=binned.bins,
    )
    singles = [subset_accuracy(group, [c])[:2] for c in others]
    doubles = [subset_accuracy(group, list(p))[:2] for p in pairs]

    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return round(float(np.mean(present)), 6) if present else None

    worst = min(range(len(others)), key=lambda i: singles[i][0])
    return _GroupFidelity(
        n_compared=n_compared,
        univariate=mean([s[0] for s in singles]),
        bivariate=mean([d[0] for d in doubles]),
        holdout_univariate=mean([s[1] for s in singles]),
        holdout_bivariate=mean([d[1] for d in doubles]),
        worst_column=binned.bins[others[worst]].name,
    )


def _representation_concerns(group: GroupFairness, n_real: int) -> list[_Concern]:
    p, q = group.real_share, group.synthetic_share
    if q == 0:
        if group.n_real_rows < MIN_GROUP_ROWS:
            return []
        return [_Concern("absent from the synthetic rows", severe=True)]
    n_synth = group.n_synthetic_rows / q
    error = np.sqrt(max(p * (1 - p), 1e-12) * (1 / n_real + 1 / n_synth))
    moved = abs(q - p) > REPRESENTATION_Z * error and abs(q - p) > REPRESENTATION_RELATIVE * p
    if not moved or p == 0:
        return []
    how = "under" if q < p else "over"
    return [
        _Concern(
            f"{how}-represented: {_pct(q)} of synthetic rows vs {_pct(p)} of real rows",
            # Half or twice its real share is no longer a rounding matter.
            severe=not 0.5 <= q / p <= 2.0,
        )
    ]


def _fidelity_concerns(
    group: _GroupFidelity, reference: _GroupFidelity, reference_label: str
) -> list[_Concern]:
    out = []
    ours, theirs = group.shortfalls(), reference.shortfalls()
    for aspect, floor in FIDELITY_GAP.items():
        mine, base = ours[aspect], theirs[aspect]
        allowed = max(floor, FIDELITY_NOISE / np.sqrt(max(group.n_compared, 1)))
        if mine is None or base is None or mine - base <= allowed:
            continue
        out.append(
            _Concern(
                f"{aspect} {100 * mine:.1f} points below the holdout ceiling "
                f"(largest group, {reference_label}: {100 * base:.1f})",
                severe=mine - base > 2 * allowed,
            )
        )
    return out


def _privacy_concerns(group: GroupFairness, reference: GroupFairness) -> list[_Concern]:
    share, base = group.dcr_share, reference.dcr_share
    if share is None or base is None or group.n_dcr_rows == 0:
        return []
    # Without memorisation each row is a fair coin; the two shares differ by noise of this size.
    error = 0.5 * np.sqrt(1 / group.n_dcr_rows + 1 / max(reference.n_dcr_rows, 1))
    if share > DCR_SHARE_CONCERN and share - base > DCR_Z * error:
        return [
            _Concern(
                f"{_pct(share)} of its synthetic rows sit closer to a training row than to a "
                f"holdout row (largest group, {reference.group}: {_pct(base)})",
                severe=share > DCR_SHARE_POOR,
            )
        ]
    return []


# -- downstream parity ------------------------------------------------------------------------


def _parity(
    tables: PreparedTables,
    sensitive: tuple[str, ...],
    target: str,
    rng: np.random.Generator,
    max_rows: int,
) -> tuple[tuple[ParityResult, ...], str | None, str | None, str | None]:
    kind = tables.kinds[tables.names.index(target)]
    real = tables.real[tables.real[target].notna()]
    synthetic = tables.synthetic[tables.synthetic[target].notna()]
    labels = real[target].astype(str)
    if kind != "categorical" and real[target].nunique() > MAX_CLASSES:
        return (), None, None, f"{target!r} is a number to predict, not a yes/no outcome"
    counts = labels.value_counts()
    if counts.shape[0] != 2:
        return (), None, None, f"{target!r} has {counts.shape[0]} classes, not two"
    # The less frequent class (ties: the later name), as in "fraud" or ">50K".
    positive = str(sorted(counts.items(), key=lambda item: (int(item[1]), str(item[0])))[0][0])
    if tables.holdout is None:
        order = rng.permutation(real.shape[0])
        n_test = max(1, round(TEST_SHARE * real.shape[0]))
        test, train = real.iloc[order[:n_test]], real.iloc[order[n_test:]]
        test_set = f"random {TEST_SHARE:.0%} of the real rows (no holdout given)"
    else:
        test, train = tables.holdout[tables.holdout[target].notna()], real
        test_set = "holdout"
    train, synthetic, test = (_cap(t, max_rows, rng) for t in (train, synthetic, test))
    features = [n for n in tables.names if n != target]
    kinds = [k for n, k in zip(tables.names, tables.kinds, strict=True) if n != target]
    encoding = fit_tree_encoding([train], features, kinds)
    usable = informative_columns(encoding.transform(train))
    if not usable.any() or test.shape[0] < 2:
        return (), positive, test_set, "there are no usable feature columns or test rows"
    mask = encoding.categorical_mask[usable]

    def predict(table: pd.DataFrame) -> BoolArray:
        y = table[target].astype(str).to_numpy() == positive
        if y.all() or not y.any():
            return np.full(test.shape[0], bool(y.all()))
        model = make_classifier(mask, int(rng.integers(2**31)))
        model.fit(encoding.transform(table)[:, usable], y)
        return np.asarray(model.predict(encoding.transform(test)[:, usable]), dtype=bool)

    with limited_threads():
        predicted_real = predict(train)
        predicted_synthetic = predict(synthetic)
    actual = test[target].astype(str).to_numpy() == positive
    results = []
    for column in sensitive:
        bins = tables.bins[tables.names.index(column)]
        groups = np.asarray(bins.labels, dtype=object)[bins.transform(test[column].to_numpy())]
        results.append(
            _parity_by(column, bins, actual, predicted_synthetic, predicted_real, groups)
        )
    return tuple(results), positive, test_set, None


def _parity_by(
    column: str,
    bins: ColumnBins,
    actual: BoolArray,
    synthetic: BoolArray,
    real: BoolArray,
    groups: npt.NDArray[np.object_],
) -> ParityResult:
    rates = []
    for label in bins.labels:
        rows = groups == label
        if not rows.any():
            continue
        positives, negatives = rows & actual, rows & ~actual

        def rate(predicted: BoolArray, chosen: BoolArray) -> float | None:
            return round(float(predicted[chosen].mean()), 6) if chosen.any() else None

        rates.append(
            GroupRates(
                group=label,
                n_rows=int(rows.sum()),
                base_rate=round(float(actual[rows].mean()), 6),
                selection_rate=round(float(synthetic[rows].mean()), 6),
                true_positive_rate=rate(synthetic, positives),
                false_positive_rate=rate(synthetic, negatives),
                real_selection_rate=round(float(real[rows].mean()), 6),
                real_true_positive_rate=rate(real, positives),
                real_false_positive_rate=rate(real, negatives),
            )
        )

    def finite(value: float) -> float | None:
        return round(value, 6) if np.isfinite(value) else None

    return ParityResult(
        column=column,
        demographic_parity_difference=round(
            demographic_parity_difference(actual, synthetic, sensitive_features=groups), 6
        ),
        equalized_odds_difference=finite(
            equalized_odds_difference(actual, synthetic, sensitive_features=groups)
        ),
        real_demographic_parity_difference=round(
            demographic_parity_difference(actual, real, sensitive_features=groups), 6
        ),
        real_equalized_odds_difference=finite(
            equalized_odds_difference(actual, real, sensitive_features=groups)
        ),
        groups=tuple(rates),
    )


# -- verdict ----------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def fairness_verdict(
    groups: Sequence[GroupFairness],
    parity: Sequence[ParityResult],
    has_holdout: bool,
    target: str | None,
    parity_note: str | None = None,
) -> Verdict:
    """One rating and a few plain sentences: who is served worse, and does a model get less fair?"""
    ratings = [GOOD]
    sentences = []
    flagged = [g for g in groups if g.concerns]
    if flagged:
        small = [g for g in flagged if g.real_share < SMALL_GROUP_SHARE]
        named = small or flagged
        listed = "; ".join(
            f"{g.column} = {g.group} ({_pct(g.real_share)} of real rows): {g.concerns[0]}"
            for g in named[:3]
        )
        more = f" and {len(named) - 3} more" if len(named) > 3 else ""
        which = "Small groups are served worse" if small else "Some groups are served worse"
        sentences.append(f"{which}: {listed}{more}.")
        ratings.append(POOR if any(g.severe for g in flagged) else FAIR)
    else:
        worst = max(groups, key=lambda g: abs(g.synthetic_share - g.real_share), default=None)
        text = "Every group is represented as in the real data"
        if worst is not None:
            text += (
                f" (largest change: {worst.column} = {worst.group}, "
                f"{_pct(worst.real_share)} real vs {_pct(worst.synthetic_share)} synthetic)"
            )
        sentences.append(
            text
            + (
                " and served about as well as the largest group."
                if has_holdout
                else "; give a holdout table to compare each group's fidelity with its ceiling."
            )
        )
    for result in parity:
        ratings.append(_parity_rating(result))
        sentences.append(
            f"By {result.column}, a model trained on synthetic data has a demographic parity "
            f"difference of {result.demographic_parity_difference:.2f} and an equalized-odds "
            f"difference of {_number(result.equalized_odds_difference)} (trained on real data: "
            f"{_number(result.real_demographic_parity_difference)} and "
            f"{_number(result.real_equalized_odds_difference)})."
        )
        noisy = [g.group for g in result.groups if g.n_rows < FEW_TEST_ROWS]
        if noisy:
            sentences[-1] = sentences[-1][:-1] + (
                f"; the rates of {', '.join(noisy)} rest on fewer than {FEW_TEST_ROWS} test rows "
                "each and are noisy."
            )
    if target is not None and not parity and parity_note:
        sentences.append(f"Parity of a downstream model was not measured: {parity_note}.")
    if not groups:
        return Verdict(NOT_MEASURED, "No sensitive groups to compare.")
    order = {GOOD: 0, FAIR: 1, POOR: 2}
    return Verdict(max(ratings, key=order.__getitem__), " ".join(sentences))


def _parity_rating(result: ParityResult) -> str:
    """Rate how much more the synthetic-trained model's differences are than the real-trained's.

    Small groups make rates noisy, so each excess is first reduced by twice the standard error of
    the two group rates that set the difference.
    """
    groups = result.groups

    def error(pairs: list[tuple[float, int]]) -> float:
        present = [(p, n) for p, n in pairs if n > 0]
        if len(present) < 2:
            return 0.0
        low, high = min(present), max(present)
        return float(np.sqrt(sum(max(p * (1 - p), 1 / n) / n for p, n in (low, high))))

    def count(g: GroupRates, positives: bool) -> int:
        n = round(g.n_rows * g.base_rate)
        return n if positives else g.n_rows - n

    dpd_error = error([(g.selection_rate, g.n_rows) for g in groups])
    tpr = [
        (g.true_positive_rate, count(g, True)) for g in groups if g.true_positive_rate is not None
    ]
    fpr = [
        (g.false_positive_rate, count(g, False))
        for g in groups
        if g.false_positive_rate is not None
    ]
    eod_error = max(error(tpr), error(fpr))
    excess = max(
        _excess(result.demographic_parity_difference, result.real_demographic_parity_difference)
        - 2 * dpd_error,
        _excess(result.equalized_odds_difference, result.real_equalized_odds_difference)
        - 2 * eod_error,
    )
    return GOOD if excess <= PARITY_EXCESS[0] else FAIR if excess <= PARITY_EXCESS[1] else POOR


def _excess(synthetic: float | None, real: float | None) -> float:
    if synthetic is None or real is None:
        return 0.0
    return synthetic - real


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
