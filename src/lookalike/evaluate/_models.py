"""Gradient-boosted trees on a simple encoding of a table, shared by detection and utility."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lookalike.evaluate._prepare import ColumnKind, FloatArray, category_codes

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

#: Categorical columns keep this many most frequent categories as classifier features.
MAX_TREE_CATEGORIES = 60
#: Threads the tree models and neighbour searches use. One: on a shared 2-core machine, OpenMP
#: with 2 threads ran a boosting fit 60x slower (0.2 s -> 13.7 s) when another process held a core,
#: because its threads spin at barriers; the metrics here are cheap enough single-threaded.
N_THREADS = 1
#: Numbers beyond this size (infinities among them) are clipped to it in the tree encoding.
_TREE_LIMIT = float(np.finfo(np.float64).max / 2)
#: Boosting rounds; fixed (no early stopping) so runs are reproducible and of predictable cost.
MAX_ITER = 100


@contextmanager
def limited_threads() -> Iterator[None]:
    """Cap OpenMP and BLAS threads while the models train."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=N_THREADS):
        yield


@dataclass(frozen=True)
class TreeEncoding:
    """Numbers and datetimes as floats (NaN kept); categories as integer codes (NaN if missing)."""

    names: tuple[str, ...]
    kinds: tuple[ColumnKind, ...]
    categories: tuple[tuple[str, ...], ...]
    """Kept categories of each categorical column (empty for other kinds)."""

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([kind == "categorical" for kind in self.kinds], dtype=bool)

    def transform(self, table: pd.DataFrame) -> FloatArray:
        out = np.empty((table.shape[0], len(self.names)), dtype=np.float64)
        for j, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            values = table[name].to_numpy()
            if kind != "categorical":
                # The trees split on order only; an infinity becomes the largest float whose sum
                # with any other stays finite, as the binning averages neighbouring values
                # (inf and -inf averaged to NaN, with a warning).
                out[:, j] = np.clip(values.astype(np.float64), -_TREE_LIMIT, _TREE_LIMIT)
                continue
            codes = category_codes(values, self.categories[j])
            column = codes.astype(np.float64)
            # Categories outside the kept ones share one "other" code; missing stays NaN.
            column[codes < 0] = len(self.categories[j])
            column[pd.isna(values)] = np.nan
            out[:, j] = column
        return out


def fit_tree_encoding(
    tables: Sequence[pd.DataFrame], names: Sequence[str], kinds: Sequence[ColumnKind]
) -> TreeEncoding:
    """Keep the most frequent categories over ``tables`` (pooled) for each categorical column."""
    categories: list[tuple[str, ...]] = []
    for name, kind in zip(names, kinds, strict=True):
        if kind != "categorical":
            categories.append(())
            continue
        pooled = pd.concat([pd.Series(t[name].to_numpy(), dtype=object) for t in tables])
        counts = pooled.dropna().value_counts(sort=False)
        ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
        categories.append(tuple(str(v) for v, _ in ordered[:MAX_TREE_CATEGORIES]))
    return TreeEncoding(tuple(names), tuple(kinds), tuple(categories))


def informative_columns(features: FloatArray) -> np.ndarray:
    """Columns that are not missing everywhere (the trees cannot bin an all-missing column)."""
    return np.asarray(~np.all(np.isnan(features), axis=0), dtype=bool)


def make_classifier(categorical_mask: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=MAX_ITER,
        early_stopping=False,
        categorical_features=categorical_mask if categorical_mask.any() else None,
        random_state=seed,
    )


def make_regressor(categorical_mask: np.ndarray, seed: int) -> HistGradientBoostingRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=MAX_ITER,
        early_stopping=False,
        categorical_features=categorical_mask if categorical_mask.any() else None,
        random_state=seed,
    )
