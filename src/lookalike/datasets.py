"""Small real datasets shipped with lookalike, for examples, the demo and tests."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from lookalike.errors import DataError
from lookalike.io import read_table

__all__ = ["load_adult"]

_ADULT_FILES = {"train": "adult.csv.gz", "test": "adult_test.csv.gz"}


def load_adult(split: str = "train") -> pd.DataFrame:
    """The UCI Adult (Census Income) data: ``"train"`` (32,561 rows) or ``"test"`` (16,281 rows).

    15 columns; the target is ``income`` (``"<=50K"`` / ``">50K"``). Missing values (``workclass``,
    ``occupation``, ``native_country``) are missing, not ``"?"``. Licence CC BY 4.0: Becker, B. &
    Kohavi, R. (1996). Adult. UCI Machine Learning Repository. https://doi.org/10.24432/C5XW20 (see
    ``lookalike/data/ADULT_LICENSE.md`` for what was changed).

    >>> df = load_adult("test")
    >>> df.shape, sorted(df["income"].unique())
    ((16281, 15), ['<=50K', '>50K'])
    """
    if split not in _ADULT_FILES:
        raise DataError(
            f"The 'split' parameter of load_adult must be 'train' or 'test'. Got {split!r} instead."
        )
    resource = resources.files("lookalike").joinpath("data", _ADULT_FILES[split])
    with resources.as_file(resource) as path:
        return read_table(path)
