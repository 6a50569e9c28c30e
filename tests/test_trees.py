"""The token trees' restricted draw: the hook every sampling control builds on."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.models._trees import _draw_restricted


def test_restricted_draw_keeps_the_leaf_proportions_among_allowed_tokens() -> None:
    counts = np.array([[10.0, 30.0, 60.0]], dtype=np.float32)
    allowed = np.tile([False, True, True], (200_000, 1))
    tokens = _draw_restricted(counts, np.zeros(200_000, np.intp), allowed, np.random.default_rng(0))
    shares = np.bincount(tokens, minlength=3) / len(tokens)
    assert shares[0] == 0
    # 30:60 renormalised is 1/3 : 2/3; the standard error at 200k draws is about 0.001.
    assert shares[1] == pytest.approx(1 / 3, abs=0.005)


def test_a_leaf_without_allowed_mass_falls_back_to_the_column_distribution() -> None:
    counts = np.array([[5.0, 0.0, 0.0], [0.0, 1.0, 3.0]], dtype=np.float32)
    allowed = np.tile([False, True, True], (100_000, 1))
    tokens = _draw_restricted(counts, np.zeros(100_000, np.intp), allowed, np.random.default_rng(1))
    shares = np.bincount(tokens, minlength=3) / len(tokens)
    assert shares[0] == 0
    assert shares[2] == pytest.approx(0.75, abs=0.01)


def test_a_row_that_allows_nothing_is_an_error() -> None:
    counts = np.array([[1.0, 1.0]], dtype=np.float32)
    with pytest.raises(ValueError, match="allows no token"):
        _draw_restricted(
            counts, np.zeros(2, np.intp), np.zeros((2, 2), bool), np.random.default_rng(2)
        )
