"""Utility: is a model trained on synthetic rows as good as one trained on real rows?

Two gradient-boosted tree models predict ``target`` from the other columns: one trained on the
real table, one on the synthetic table. Both are scored on the same test rows: the holdout table,
or, without one, a random 20 % of the real rows set aside (then the real model trains on the other
80 %; the synthetic table was usually generated from all real rows, so in that case the test rows
are not truly unseen by the generator and the synthetic score is optimistic).

Rows whose target is missing, or (for numbers and datetimes) infinite, are left out of every
table: such a value can neither be learned nor scored.

Numeric targets with more than :data:`MAX_CLASSES` distinct values are regression (R²); other
targets are classification, scored by ROC AUC (macro one-vs-rest when the test rows hold more than
two classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lookalike.evaluate._models import (
    TreeEncoding,
    fit_tree_encoding,
    informative_columns,
    limited_threads,
    make_classifier,
    make_regressor,
)
from lookalike.evaluate._prepare import ColumnKind, FloatArray

#: Numeric targets with at most this many distinct values are treated as classes.
MAX_CLASSES = 10
#: A model needs at least this many rows with a target value to train on.
MIN_TRAINING_ROWS = 2
#: Share of the real rows set aside as test rows when no holdout is given.
TEST_SHARE = 0.2

Task = Literal["binary", "multiclass", "regression"]


@dataclass(frozen=True)
class UtilityScores:
    task: Task
    metric: str
    real_score: float | None
    synthetic_score: float | None
    test_set: str
    n_train_rows: int
    n_synthetic_rows: int
    n_test_rows: int


def utility_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    target: str,
    names: tuple[str, ...],
    kinds: tuple[ColumnKind, ...],
    rng: np.random.Generator,
    max_rows: int,
) -> UtilityScores:
    """Train on real and on synthetic, test both on the holdout (or a split of real)."""
    kind = kinds[names.index(target)]
    real = real[_has_target(real, target, kind)]
    synthetic = synthetic[_has_target(synthetic, target, kind)]
    if holdout is None:
        order = rng.permutation(real.shape[0])
        n_test = max(1, round(TEST_SHARE * real.shape[0]))
        test, train = real.iloc[order[:n_test]], real.iloc[order[n_test:]]
        test_set = f"random {TEST_SHARE:.0%} of the real rows (no holdout given)"
    else:
        test, train = holdout[_has_target(holdout, target, kind)], real
        test_set = "holdout"
    train, synthetic, test = (_cap(t, max_rows, rng) for t in (train, synthetic, test))
    task: Task
    if kind != "categorical" and real[target].nunique() > MAX_CLASSES:
        task = "regression"
    else:
        # The classes scored are those of the test rows (see _classification_score), so they
        # name the task: a holdout with a class the training rows lack makes it multiclass.
        task = "binary" if len(set(_labels(test, target))) <= 2 else "multiclass"
    metric = {"binary": "roc_auc", "multiclass": "roc_auc_ovr_macro", "regression": "r2"}[task]
    feature_names = tuple(n for n in names if n != target)
    feature_kinds = tuple(k for n, k in zip(names, kinds, strict=True) if n != target)
    scores: list[float | None] = []
    usable = np.zeros(len(feature_names), dtype=bool)
    if feature_names and train.shape[0] >= 2 and test.shape[0] >= 2:
        encoding = fit_tree_encoding([train], feature_names, feature_kinds)
        usable = informative_columns(encoding.transform(train))
    if usable.any():
        with limited_threads():
            for table in (train, synthetic):
                seed = int(rng.integers(2**31))
                # Each model learns from the columns its own rows hold: a column the synthetic
                # table leaves all missing teaches its model nothing (and the trees cannot bin it).
                features = _Features(
                    encoding, usable & informative_columns(encoding.transform(table))
                )
                if table.shape[0] < MIN_TRAINING_ROWS:
                    scores.append(None)
                elif task == "regression":
                    scores.append(_regression_score(table, test, target, features, seed))
                else:
                    scores.append(_classification_score(table, test, target, features, seed))
    else:
        scores = [None, None]
    return UtilityScores(
        task=task,
        metric=metric,
        real_score=scores[0],
        synthetic_score=scores[1],
        test_set=test_set,
        n_train_rows=int(train.shape[0]),
        n_synthetic_rows=int(synthetic.shape[0]),
        n_test_rows=int(test.shape[0]),
    )


@dataclass(frozen=True)
class _Features:
    """The tree encoding restricted to the columns that are not missing everywhere.

    With no column left, the model knows only the target's distribution in its training rows.
    """

    encoding: TreeEncoding
    usable: np.ndarray

    def transform(self, table: pd.DataFrame) -> FloatArray:
        return self.encoding.transform(table)[:, self.usable]

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.asarray(self.encoding.categorical_mask[self.usable], dtype=bool)


def _has_target(table: pd.DataFrame, target: str, kind: ColumnKind) -> np.ndarray:
    """Rows whose target is present and, for numbers and datetimes, finite."""
    if kind == "categorical":
        return np.asarray(table[target].notna().to_numpy(), dtype=bool)
    # An infinite target is no value a model can learn or be scored on (R² of inf is NaN, and
    # the trees refuse it): it is left out like a missing one.
    return np.asarray(np.isfinite(table[target].to_numpy(dtype=np.float64)), dtype=bool)


def _cap(table: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if table.shape[0] <= max_rows:
        return table
    return table.iloc[np.sort(rng.choice(table.shape[0], size=max_rows, replace=False))]


def _regression_score(
    train: pd.DataFrame, test: pd.DataFrame, target: str, features: _Features, seed: int
) -> float:
    from sklearn.metrics import r2_score

    y_train = train[target].to_numpy(dtype=np.float64)
    if features.usable.any():
        model = make_regressor(features.categorical_mask, seed)
        model.fit(features.transform(train), y_train)
        predicted = model.predict(features.transform(test))
    else:
        predicted = np.full(test.shape[0], y_train.mean())
    return float(r2_score(test[target].to_numpy(dtype=np.float64), predicted))


def _labels(table: pd.DataFrame, target: str) -> np.ndarray:
    return np.asarray([str(v) for v in table[target].to_numpy()], dtype=object)


def _classification_score(
    train: pd.DataFrame, test: pd.DataFrame, target: str, features: _Features, seed: int
) -> float | None:
    from sklearn.metrics import roc_auc_score

    y_train, y_test = _labels(train, target), _labels(test, target)
    labels = sorted(set(y_test))
    if len(labels) < 2:
        return None
    probabilities = np.zeros((test.shape[0], len(labels)), dtype=np.float64)
    classes = sorted(set(y_train))
    if len(classes) == 1 or not features.usable.any():
        # A model that has seen one class, or no feature, can only predict the shares of the
        # classes it has seen; it ranks nothing.
        for label, count in zip(*np.unique(y_train, return_counts=True), strict=True):
            if label in labels:
                probabilities[:, labels.index(str(label))] = count / y_train.shape[0]
    else:
        model = make_classifier(features.categorical_mask, seed)
        model.fit(features.transform(train), y_train)
        predicted: FloatArray = model.predict_proba(features.transform(test))
        for k, label in enumerate(model.classes_):
            if label in labels:
                probabilities[:, labels.index(str(label))] = predicted[:, k]
    if len(labels) == 2:
        return float(roc_auc_score(y_test == labels[1], probabilities[:, 1]))
    totals = probabilities.sum(axis=1, keepdims=True)
    probabilities = np.where(
        totals > 0, probabilities / np.where(totals > 0, totals, 1), 1 / len(labels)
    )
    return float(
        roc_auc_score(y_test, probabilities, multi_class="ovr", average="macro", labels=labels)
    )
