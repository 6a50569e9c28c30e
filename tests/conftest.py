"""Shared fixtures: small slices of the bundled adult data keep the suite fast."""

from __future__ import annotations

import pandas as pd
import pytest

import lookalike as la


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return la.datasets.load_adult()


@pytest.fixture(scope="session")
def adult_small(adult: pd.DataFrame) -> pd.DataFrame:
    return adult.head(3000).reset_index(drop=True)


@pytest.fixture(scope="session")
def fitted(adult_small: pd.DataFrame) -> la.Synthesizer:
    return la.Synthesizer(random_state=3).fit(adult_small)
