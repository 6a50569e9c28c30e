"""Shared fixtures: small slices of the bundled adult data keep the suite fast."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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


@pytest.fixture(scope="session")
def shared_dataset() -> Callable[[str], Path]:
    """A file of the shared benchmark datasets (beside the clone, or where $LOOKALIKE_DATASETS
    points, as for the benchmarks); the test is skipped, and says why, where they are missing."""
    root = Path(
        os.environ.get("LOOKALIKE_DATASETS")
        or Path(__file__).resolve().parents[2] / "shared" / "datasets"
    )

    def path(relative: str) -> Path:
        found = root / relative
        if not found.is_file():
            pytest.skip(f"{found} is not available here (set $LOOKALIKE_DATASETS)")
        return found

    return path
