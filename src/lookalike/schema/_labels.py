"""The exact strings values are known by: a category's label, a link's or a rule's value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def value_labels(series: pd.Series) -> pd.Series:
    """Each value's :func:`value_label`, with missing values as NaN (None where every value is
    missing), as ``series.map(value_label)`` gives them.

    Each distinct value is labelled once, as the Python object a row would be (a float32 0.1
    is 0.10000000149011612, as everywhere else a value is labelled). Rows are labelled one by
    one in a column of mixed Python objects, where values equal as numbers (``True == 1 ==
    1.0``) can still need different labels, and in one of values pandas cannot hash.
    """
    factorized = None if _mixed_objects(series) else _factorized(series)
    if factorized is None:
        return series.astype(object).where(series.notna(), None).map(value_label)
    codes, uniques = factorized
    # Code -1 (missing) picks the last entry.
    labels = np.array(
        [*(value_label(v) for v in pd.Series(uniques).astype(object)), None], dtype=object
    )
    # Built from objects, the Series infers its dtype as map does (text, or object if all None).
    return pd.Series(labels[codes], index=series.index, name=series.name)


def _mixed_objects(series: pd.Series) -> bool:
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) != "string"


def _factorized(series: pd.Series) -> tuple[np.ndarray, Any] | None:
    try:
        return pd.factorize(series, use_na_sentinel=True)
    except (TypeError, NotImplementedError):
        return None


def value_label(value: Any) -> str | None:
    """The exact string a category value is known by; None for a missing value.

    A whole float is labelled like the integer (1.0 -> "1"): integer columns turn float when a
    gap appears (in a seed table, say), and must still match their training labels. Booleans,
    Python's or NumPy's, are "True" and "False" (never "1" and "0", though ``True == 1``).

    >>> value_label(3.0), value_label(np.bool_(True)), value_label(False), value_label(float("nan"))
    ('3', 'True', 'False', None)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    return str(value)
