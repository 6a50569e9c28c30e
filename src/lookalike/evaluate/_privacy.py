"""Privacy: does the synthetic table sit closer to the training rows than fresh real rows do?

The real table is the training data; the holdout is real data the generator never saw, so it
shows how close *any* new person's record is to the training rows by chance.

* Exact copies: the share of synthetic rows identical (in every column) to some training row,
  next to the same share for holdout rows, and the share of training rows that have an identical
  twin in the training data (the chance level when there is no holdout). All rows are used; rows
  are compared by a 64-bit hash.
* Distance to closest record (DCR): a Gower-like distance between rows: numbers and datetimes
  are scaled by the robust range of the training data (1st to 99th percentile) and clipped to
  half a range beyond it, categories count 0 when equal and 1 when different, a missing value
  against a present one counts 1 and two missing values 0. The distance is the root mean square
  of the per-column differences; it is computed as a Euclidean distance on an encoding built for
  that, so scikit-learn's NearestNeighbors can do the work. No straight line has a point at the
  same distance from all its points, so a number cannot keep its plain difference ``d`` to other
  numbers and a difference of exactly 1 to "missing": each number is placed on a circle of
  radius 1 at angle ``d``, with "missing" at its centre, and two numbers differ by the chord
  ``2 sin(d / 2)`` (d less 1 % at d = 0.5, 4 % at 1, 16 % at 2, the largest after clipping). The
  distance therefore lies in [0, 1.7).
* DCR share: for each synthetic row, is its closest training row closer than its closest holdout
  row? (Ties count half.) With training and holdout of **equal size** (every table is
  subsampled to the smallest of them) a generator that does not memorise scores about 0.5; more
  means synthetic rows sit near training records.
* NNDR: distance to the closest training row divided by the distance to the second closest; low
  values mean a row points at one particular record. 1.0 when both are 0 (duplicated records).

Nearest neighbours are searched among at most :data:`MAX_PRIVACY_ROWS` rows per table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lookalike.evaluate._models import limited_threads
from lookalike.evaluate._prepare import ColumnKind, FloatArray, category_codes

#: Rows per table for the nearest-neighbour searches.
MAX_PRIVACY_ROWS = 10_000
#: Categorical columns keep this many most frequent categories in the distance encoding.
MAX_DISTANCE_CATEGORIES = 50
#: Bins of the DCR histogram in the report.
N_DISTANCE_BINS = 30


@dataclass(frozen=True)
class PrivacyNumbers:
    exact_copy_share: float
    holdout_exact_copy_share: float | None
    training_duplicate_share: float
    n_rows_compared: int
    synthetic_dcr: FloatArray
    holdout_dcr: FloatArray | None
    synthetic_nndr: FloatArray
    holdout_nndr: FloatArray | None
    dcr_share: float | None


def row_hashes(table: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of a canonical table (equal rows, equal hashes)."""
    return np.asarray(pd.util.hash_pandas_object(table, index=False).to_numpy(), dtype=np.uint64)


def repeated_share(hashes: np.ndarray) -> float:
    """Share of rows (by :func:`row_hashes`) that have an identical twin in the same table."""
    return float(pd.Series(hashes).duplicated(keep=False).mean())


def measure_privacy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: tuple[ColumnKind, ...],
    rng: np.random.Generator,
) -> PrivacyNumbers:
    from sklearn.neighbors import NearestNeighbors

    real_hashes = row_hashes(real)
    training_duplicates = repeated_share(real_hashes)
    exact = float(np.isin(row_hashes(synthetic), real_hashes).mean())
    holdout_exact = (
        None if holdout is None else float(np.isin(row_hashes(holdout), real_hashes).mean())
    )

    sizes = [real.shape[0], synthetic.shape[0], MAX_PRIVACY_ROWS]
    if holdout is not None:
        sizes.append(holdout.shape[0])
    n = min(sizes)
    train = _sample(real, n, rng)
    synth = _sample(synthetic, n, rng)
    encoder = _DistanceEncoding.fit(train, kinds)
    train_x, synth_x = encoder.transform(train), encoder.transform(synth)
    with limited_threads():
        k = min(2, n)
        index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(train_x)
        synth_dist = index.kneighbors(synth_x, return_distance=True)[0] / encoder.scale
        holdout_dcr = holdout_nndr = None
        dcr_share = None
        if holdout is not None:
            hold_x = encoder.transform(_sample(holdout, n, rng))
            hold_dist = index.kneighbors(hold_x, return_distance=True)[0] / encoder.scale
            holdout_dcr, holdout_nndr = hold_dist[:, 0], _nndr(hold_dist)
            hold_index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(hold_x)
            synth_to_hold = (
                hold_index.kneighbors(synth_x, return_distance=True)[0][:, 0] / encoder.scale
            )
            closer = synth_dist[:, 0] < synth_to_hold
            ties = synth_dist[:, 0] == synth_to_hold
            dcr_share = float(closer.mean() + 0.5 * ties.mean())
    return PrivacyNumbers(
        exact_copy_share=exact,
        holdout_exact_copy_share=holdout_exact,
        training_duplicate_share=training_duplicates,
        n_rows_compared=n,
        synthetic_dcr=synth_dist[:, 0],
        holdout_dcr=holdout_dcr,
        synthetic_nndr=_nndr(synth_dist),
        holdout_nndr=holdout_nndr,
        dcr_share=dcr_share,
    )


def _sample(table: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if table.shape[0] == n:
        return table
    return table.iloc[np.sort(rng.choice(table.shape[0], size=n, replace=False))]


def _nndr(distances: FloatArray) -> FloatArray:
    if distances.shape[1] < 2:
        return np.ones(distances.shape[0], dtype=np.float64)
    first, second = distances[:, 0], distances[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(second > 0, first / np.where(second > 0, second, 1.0), 1.0)
    return np.asarray(ratio, dtype=np.float64)


@dataclass(frozen=True)
class _DistanceEncoding:
    """Encoding whose Euclidean distance, divided by ``scale``, is the Gower-like RMS distance."""

    names: tuple[str, ...]
    kinds: tuple[ColumnKind, ...]
    lows: tuple[float, ...]
    ranges: tuple[float, ...]
    categories: tuple[tuple[str, ...], ...]

    @property
    def scale(self) -> float:
        return float(np.sqrt(len(self.names)))

    @classmethod
    def fit(cls, train: pd.DataFrame, kinds: tuple[ColumnKind, ...]) -> _DistanceEncoding:
        lows: list[float] = []
        ranges: list[float] = []
        categories: list[tuple[str, ...]] = []
        for name, kind in zip(train.columns, kinds, strict=True):
            values = train[name].to_numpy()
            if kind == "categorical":
                counts = pd.Series(values, dtype=object).dropna().value_counts(sort=False)
                ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
                categories.append(tuple(str(v) for v, _ in ordered[:MAX_DISTANCE_CATEGORIES]))
                lows.append(0.0)
                ranges.append(1.0)
                continue
            categories.append(())
            finite = values[np.isfinite(values.astype(np.float64))].astype(np.float64)
            if finite.size == 0:
                lows.append(0.0)
                ranges.append(1.0)
                continue
            low, high = np.quantile(finite, [0.01, 0.99])
            span = float(high - low)
            if span <= 0:
                # Mostly one value: fall back to the full range, then to 1.
                low, span = float(finite.min()), float(finite.max() - finite.min())
            lows.append(float(low))
            ranges.append(span if span > 0 else 1.0)
        return cls(
            tuple(map(str, train.columns)), kinds, tuple(lows), tuple(ranges), tuple(categories)
        )

    def transform(self, table: pd.DataFrame) -> FloatArray:
        blocks: list[FloatArray] = []
        for j, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            values = table[name].to_numpy()
            if kind == "categorical":
                kept = list(self.categories[j])
                codes = category_codes(values, kept)
                missing = pd.isna(values)
                codes[(codes < 0) & ~missing] = len(kept)
                codes[missing] = len(kept) + 1
                one_hot = np.zeros((table.shape[0], len(kept) + 2), dtype=np.float64)
                one_hot[np.arange(table.shape[0]), codes] = 1.0
                # Two one-hot rows that differ are sqrt(2) apart; scale so a mismatch counts 1.
                blocks.append(one_hot / np.sqrt(2.0))
                continue
            floats = values.astype(np.float64)
            angle = np.clip((floats - self.lows[j]) / self.ranges[j], -0.5, 1.5)
            # On the unit circle, with missing at the centre: a missing value is exactly 1 from
            # every number. (A flag beside the number made it sqrt(1 + x²), up to 1.8, pulling
            # neighbours towards training rows of low values.)
            point = np.column_stack([np.cos(angle), np.sin(angle)])
            point[np.isnan(floats)] = 0.0
            blocks.append(point)
        return np.hstack(blocks)
