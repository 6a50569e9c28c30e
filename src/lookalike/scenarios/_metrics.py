"""Labels, tasks and scores shared by stress tests and experiments."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from lookalike.errors import DataError

#: Numeric targets with at most this many distinct values are classes (as in evaluate's utility).
MAX_CLASSES = 10

Task = Literal["binary", "multiclass", "regression"]
MetricFunction = Callable[[Any, Any], float]
Metric = str | MetricFunction

#: Metric name -> (tasks it applies to, whether higher is better, whether it needs scores).
METRICS: dict[str, tuple[tuple[Task, ...], bool, bool]] = {
    "roc_auc": (("binary", "multiclass"), True, True),
    "accuracy": (("binary", "multiclass"), True, False),
    "balanced_accuracy": (("binary", "multiclass"), True, False),
    "f1": (("binary",), True, False),
    "r2": (("regression",), True, False),
    "mae": (("regression",), False, False),
    "rmse": (("regression",), False, False),
}

ObjectArray = npt.NDArray[np.object_]
FloatArray = npt.NDArray[np.float64]


def as_labels(values: Any) -> ObjectArray:
    """Class labels as strings, so that 1, 1.0, "1" and True/"True" name the same class."""
    array = np.asarray(values, dtype=object).ravel()
    out = np.empty(array.shape[0], dtype=object)
    for i, value in enumerate(array):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out[i] = None
        elif isinstance(value, bool | np.bool_):
            out[i] = str(bool(value))
        elif isinstance(value, int | np.integer) or (
            isinstance(value, float | np.floating) and float(value).is_integer()
        ):
            out[i] = str(int(value))
        else:
            out[i] = str(value)
    return out


def detect_task(target: pd.Series) -> Task:
    """Regression for numbers with many distinct values, else binary or multiclass."""
    present = target.dropna()
    numeric = pd.api.types.is_numeric_dtype(target.dtype) and not pd.api.types.is_bool_dtype(
        target.dtype
    )
    if numeric and present.nunique() > MAX_CLASSES:
        return "regression"
    return "binary" if present.nunique() <= 2 else "multiclass"


def resolve_metric(metric: Metric, task: Task, has_scores: bool) -> tuple[str, bool]:
    """The metric's name and whether higher is better; checks that it fits the task."""
    if callable(metric):
        return str(getattr(metric, "__name__", "custom metric")), True
    if metric == "auto":
        if task == "regression":
            return "r2", True
        return ("roc_auc" if has_scores else "accuracy"), True
    if not isinstance(metric, str) or metric not in METRICS:
        raise DataError(
            f"The 'metric' parameter must be 'auto', one of {sorted(METRICS)} or a callable "
            f"metric(y_true, y_pred). Got {metric!r} instead."
        )
    tasks, higher, _ = METRICS[metric]
    if task not in tasks:
        raise DataError(
            f"The metric {metric!r} does not apply to a {task} target; use one of "
            f"{sorted(m for m, (t, *_) in METRICS.items() if task in t)}."
        )
    return metric, higher


class Predictions:
    """What a model returned, read as labels and (for classification, if given) class scores."""

    def __init__(
        self, raw: Any, n_rows: int, task: Task, classes: Sequence[str], positive: str | None
    ) -> None:
        array = np.asarray(raw)
        if array.shape[:1] != (n_rows,) or array.ndim > 2:
            raise DataError(
                f"The model must return one prediction (or one row of class probabilities) per "
                f"row: shape ({n_rows},) or ({n_rows}, n_classes). Got shape {array.shape}."
            )
        self.task = task
        self.classes = list(classes)
        self.scores: FloatArray | None = None
        if task == "regression":
            self.values: Any = np.asarray(array, dtype=np.float64).ravel()
            return
        if array.ndim == 2:
            if array.shape[1] != len(self.classes):
                raise DataError(
                    f"The model returned {array.shape[1]} class probabilities per row, but the "
                    f"target has {len(self.classes)} classes {self.classes} (columns are read in "
                    "that sorted order, as scikit-learn's predict_proba orders them)."
                )
            self.scores = np.asarray(array, dtype=np.float64)
            self.values = np.asarray(self.classes, dtype=object)[self.scores.argmax(axis=1)]
            return
        if task == "binary" and _is_probability(array):
            if positive is None:
                raise DataError("A probability per row needs a positive class.")
            score = np.asarray(array, dtype=np.float64)
            negative = next(c for c in self.classes if c != positive)
            self.scores = np.column_stack(
                [score if c == positive else 1 - score for c in self.classes]
            )
            self.values = np.where(score >= 0.5, positive, negative).astype(object)
            return
        self.values = as_labels(array)

    def subset(self, rows: npt.NDArray[np.bool_]) -> Predictions:
        out = object.__new__(Predictions)
        out.task, out.classes = self.task, self.classes
        out.values = self.values[rows]
        out.scores = None if self.scores is None else self.scores[rows]
        return out


def _is_probability(array: np.ndarray) -> bool:
    """Floats in [0, 1] that are not all 0 or 1: a probability of the positive class."""
    if not np.issubdtype(array.dtype, np.floating):
        return False
    finite = array[np.isfinite(array)]
    return (
        bool(finite.size)
        and bool(((finite >= 0) & (finite <= 1)).all())
        and bool((~np.isin(finite, [0.0, 1.0])).any())
    )


def score(
    metric: Metric, y_true: Any, predictions: Predictions, positive: str | None
) -> float | None:
    """The metric on these rows; None when it is undefined there (e.g. AUC of one class)."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        mean_absolute_error,
        r2_score,
        roc_auc_score,
    )

    if predictions.task == "regression":
        truth = np.asarray(y_true, dtype=np.float64)
        keep = np.isfinite(truth)
        truth, predicted = truth[keep], predictions.values[keep]
        if callable(metric):
            return float(metric(truth, predicted)) if truth.size else None
        if truth.size < 2:
            return None
        if metric == "mae":
            return float(mean_absolute_error(truth, predicted))
        if metric == "rmse":
            return float(np.sqrt(np.mean((truth - predicted) ** 2)))
        if np.ptp(truth) == 0:
            return None
        return float(r2_score(truth, predicted))
    labels = as_labels(y_true)
    keep = labels != None  # noqa: E711 - elementwise comparison with None
    labels = labels[keep]
    predicted = predictions.values[keep]
    if labels.size == 0:
        return None
    if callable(metric):
        return float(metric(labels, predicted))
    if metric == "accuracy":
        return float(accuracy_score(labels.astype(str), predicted.astype(str)))
    if metric == "balanced_accuracy":
        return float(balanced_accuracy_score(labels.astype(str), predicted.astype(str)))
    if metric == "f1":
        return float(
            f1_score(
                labels.astype(str), predicted.astype(str), pos_label=positive, zero_division=0.0
            )
        )
    present = sorted(set(labels))
    if len(present) < 2:
        return None
    if predictions.scores is None:
        # Hard labels still rank: a predicted class scores 1, the others 0.
        scores = np.column_stack([(predicted == c).astype(np.float64) for c in predictions.classes])
    else:
        scores = predictions.scores[keep]
    if predictions.task == "binary":
        column = predictions.classes.index(positive) if positive in predictions.classes else -1
        return float(roc_auc_score(labels == positive, scores[:, column]))
    columns = [predictions.classes.index(c) for c in present if c in predictions.classes]
    if len(columns) != len(present):
        return None
    chosen = scores[:, columns]
    totals = chosen.sum(axis=1, keepdims=True)
    chosen = np.where(totals > 0, chosen / np.where(totals > 0, totals, 1), 1 / len(present))
    return float(
        roc_auc_score(
            labels.astype(str), chosen, multi_class="ovr", average="macro", labels=present
        )
    )


def positive_class(classes: Sequence[str], positive: str | None) -> str | None:
    """The positive class of a binary target: as given, else the last in sorted order.

    The last in sorted order is the class whose probability is column 1 of scikit-learn's
    ``predict_proba``, which is what ``model.predict_proba(X)[:, 1]`` returns.
    """
    if positive is not None:
        label = str(as_labels([positive])[0])
        if label not in classes:
            raise DataError(
                f"The 'positive' parameter must be one of the target's classes {list(classes)}. "
                f"Got {positive!r} instead."
            )
        return label
    return classes[-1] if len(classes) == 2 else None


def jsonable(value: Any) -> Any:
    """A JSON-compatible copy of scenario settings (tables and objects become short text)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    if isinstance(value, pd.DataFrame):
        return f"<table of {value.shape[0]} rows: {', '.join(map(str, value.columns))}>"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return repr(value)


def describe(settings: dict[str, Any]) -> str:
    """A short name for settings: ``conditions={'sex': 'Female'}, n=1000``."""
    if not settings:
        return "(no settings)"
    return ", ".join(f"{key}={jsonable(value)!r}" for key, value in settings.items()).replace(
        "'", ""
    )
