"""The token trees' restricted draw: the hook every sampling control builds on."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.models._trees import (
    Patterns,
    TokenTree,
    _draw_restricted,
    alias_sampler,
    draw_allowed,
)


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


def test_a_fine_token_column_has_one_tree_in_both_roles() -> None:
    from lookalike.models._trees import fit_column_models, sample_tokens

    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 4, size=400)
    fine = (coarse * 3 + rng.integers(0, 2, size=400)) % 5
    tokens = np.column_stack([coarse, fine, rng.integers(0, 3, size=400)])
    models = fit_column_models(
        tokens,
        np.array([4, 5, 3]),
        min_samples_leaf=5,
        min_samples_leaf_any_order=5,
        n_random_orders=1,
        n_trees=3,
        row_share=0.8,
        rng=rng,
        fine=np.array([False, True, False]),
    )
    assert [len(m.ordered) for m in models] == [3, 1, 3]
    assert models[1].any_order is models[1].ordered[0]
    # A later fixed column sends the fine column to its any-order role: draws still work.
    fixed = np.zeros((50, 3), dtype=np.int32)
    fixed_mask = np.zeros((50, 3), dtype=bool)
    fixed_mask[:, 2] = True
    drawn = sample_tokens(models, 50, rng, fixed=fixed, fixed_mask=fixed_mask)
    assert (drawn[:, 2] == 0).all() and (drawn[:, 1] < 5).all()


def _restricted_mixture(trees: tuple, features: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The per-tree restricted draw's distribution, averaged over rows and trees (exact)."""
    total = np.zeros(allowed.shape[1])
    for tree in trees:
        weights = tree.leaf_counts[tree.leaves(features)].astype(np.float64) * allowed
        empty = weights.sum(axis=1) == 0
        weights[empty] = tree.leaf_counts.sum(axis=0) * allowed[empty]
        total += (weights / weights.sum(axis=1, keepdims=True)).sum(axis=0)
    return total / total.sum()


@pytest.mark.parametrize("n_tokens", [6, 90])  # one 64-bit word per pattern, and two
def test_draws_under_rules_follow_the_restricted_leaves(n_tokens: int) -> None:
    from lookalike.models._trees import MASKED, alias_sampler, draw_allowed, fit_column_models

    rng = np.random.default_rng(3)
    n = 20_000
    parent = rng.integers(0, 4, size=n)
    child = (parent * (n_tokens // 4) + rng.integers(0, n_tokens // 4 + 1, size=n)) % n_tokens
    models = fit_column_models(
        np.column_stack([parent, child]),
        np.array([4, n_tokens]),
        min_samples_leaf=20,
        min_samples_leaf_any_order=20,
        n_random_orders=1,
        n_trees=3,
        row_share=0.8,
        rng=rng,
    )
    trees = models[1].ordered
    m = 60_000
    features = np.full((m, 2), MASKED, dtype=np.float32)
    features[:, 0] = rng.integers(0, 4, size=m)
    # Three kinds of rows: open, one frequent pattern (an alias table), one allowed token (taken
    # as is), and a few rare patterns (the per-row draw).
    allowed = np.ones((m, n_tokens), dtype=bool)
    frequent = np.arange(m) % 3 == 1
    allowed[frequent, n_tokens // 2 :] = False
    single = np.arange(m) % 3 == 2
    allowed[single] = False
    allowed[single, 1] = True
    rare = np.arange(0, m, 300)
    allowed[rare] = rng.random((len(rare), n_tokens)) < 0.5
    allowed[rare, 0] = True
    samplers = [alias_sampler(t) for t in trees]
    draw_allowed(features, 1, trees, samplers, None, np.random.default_rng(4), allowed)
    drawn = features[:, 1].astype(np.int64)
    assert allowed[np.arange(m), drawn].all()
    assert (drawn[single] == 1).all()
    for rows in (np.flatnonzero(frequent), np.flatnonzero(np.arange(m) % 3 == 0)):
        rows = np.setdiff1d(rows, rare)
        expected = _restricted_mixture(trees, features[rows], allowed[rows])
        observed = np.bincount(drawn[rows], minlength=n_tokens) / len(rows)
        # 20,000 draws: the total variation distance of pure sampling noise is about 0.02-0.05.
        assert 0.5 * np.abs(observed - expected).sum() < (0.03 if n_tokens < 10 else 0.08)


@pytest.mark.parametrize("n_tokens", [6, 64, 130])
def test_patterns_group_equal_rows_exactly(n_tokens: int) -> None:
    from lookalike.models._trees import Patterns

    rng = np.random.default_rng(5)
    base = rng.random((40, n_tokens)) < 0.5
    # Rows that differ in one token only (the last word's last bit, too) must not share a group.
    base[1] = base[0]
    base[1, -1] = not base[0, -1]
    allowed = base[rng.integers(0, len(base), size=5_000)]
    patterns = Patterns.of(allowed)
    assert np.array_equal(patterns.dense(), allowed)
    assert len(patterns.allowed) == len(np.unique(allowed, axis=0))


def test_patterns_combine_row_by_row() -> None:
    from lookalike.models._trees import Patterns

    rng = np.random.default_rng(6)
    a = Patterns(rng.random((5, 12)) < 0.6, rng.integers(0, 5, 2_000))
    b = Patterns(rng.random((7, 12)) < 0.6, rng.integers(0, 7, 2_000))
    both = a & b
    assert np.array_equal(both.dense(), a.dense() & b.dense())
    assert len(both.allowed) <= 35


def test_shares_scale_the_allowed_tokens_in_every_draw_path() -> None:
    """A cut token weighs its share of its mass: through a pattern's alias table (many rows),
    per row (few rows), and combined with another filter."""
    from lookalike.models._trees import Patterns, _draw_by_pattern, fit_column_models

    rng = np.random.default_rng(4)
    # One column, no features: the tree's single leaf is the column's distribution.
    tokens = rng.choice(4, size=(4_000, 1), p=[0.4, 0.3, 0.2, 0.1])
    models = fit_column_models(
        tokens,
        np.array([4]),
        min_samples_leaf=10,
        min_samples_leaf_any_order=10,
        n_random_orders=1,
        n_trees=1,
        row_share=1.0,
        rng=rng,
    )
    tree = models[0].ordered[0]
    counts = tree.leaf_counts.sum(axis=0)
    cut = Patterns(np.array([[True, True, True, False]]), np.zeros(1, np.intp))
    cut = cut & Patterns(
        np.array([[True, True, True, True]]), np.zeros(1, np.intp), np.array([[1, 0.5, 1, 1.0]])
    )
    expected = counts * cut.weights()[0]
    expected /= expected.sum()
    for n in (100_000, 100):  # an alias table for the pattern; the per-row draw
        leaf = np.zeros(n, dtype=np.intp)
        drawn = _draw_by_pattern(tree, leaf, cut.weights(), np.zeros(n, np.intp), rng)
        shares = np.bincount(drawn, minlength=4) / n
        assert shares[3] == 0
        if n >= 100_000:
            assert shares == pytest.approx(expected, abs=0.006)
    assert not cut.whole().any()
    assert Patterns(np.ones((1, 4), bool), np.zeros(3, np.intp), np.ones((1, 4))).whole().all()


def test_restricted_draws_fall_back_to_the_overall_then_uniform() -> None:
    from lookalike.models._trees import _draw_restricted, _restricted_counts

    # Leaf 0 has mass on token 0 only; token 3 never occurs anywhere.
    counts = np.array([[5.0, 0.0, 0.0, 0.0], [1.0, 3.0, 0.0, 0.0]], dtype=np.float32)
    allowed = np.array([False, True, True, False])
    table = _restricted_counts(counts, allowed)
    # Leaf 0 falls back to the overall counts over the allowed tokens (3 on token 1).
    assert table.tolist() == [[0.0, 3.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]
    never = np.array([False, False, False, True])
    assert _restricted_counts(counts, never).tolist() == [[0.0, 0.0, 0.0, 1.0]] * 2
    rows = np.zeros(500, dtype=np.intp)
    rng = np.random.default_rng(0)
    assert set(_draw_restricted(counts, rows, np.tile(allowed, (500, 1)), rng)) == {1}
    assert set(_draw_restricted(counts, rows, np.tile(never, (500, 1)), rng)) == {3}


def _chain_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """Four columns of 6 tokens, each a noisy copy of the one before it."""
    columns = [rng.integers(0, 6, size=n)]
    for _ in range(3):
        noise = rng.choice([-1, 0, 0, 0, 1], size=n)
        columns.append(np.clip(columns[-1] + noise, 0, 5))
    return np.column_stack(columns)


def _marginal_tvd(drawn: np.ndarray, tokens: np.ndarray, j: int) -> float:
    real = np.bincount(tokens[:, j], minlength=6) / len(tokens)
    synthetic = np.bincount(drawn[:, j], minlength=6) / len(drawn)
    return float(0.5 * np.abs(real - synthetic).sum())


def test_calibration_undoes_drift_that_runs_down_the_chain() -> None:
    from lookalike.models._trees import calibrate_marginals, fit_column_models, sample_tokens

    rng = np.random.default_rng(3)
    tokens = _chain_tokens(rng, 3_000)
    models = fit_column_models(
        tokens,
        np.full(4, 6),
        min_samples_leaf=10,
        min_samples_leaf_any_order=10,
        n_random_orders=1,
        n_trees=3,
        row_share=0.8,
        rng=rng,
    )
    # Drift in the second column, as errors of earlier columns give: too much of token 0, too
    # little of token 5 (within the factors calibration allows).
    for tree in models[1].ordered:
        tree.leaf_counts[:, 0] *= 1.8
        tree.leaf_counts[:, 5] *= 0.6
    zeros = [tree.leaf_counts == 0 for m in models for tree in m.ordered]
    drifted = sample_tokens(models, 40_000, np.random.default_rng(1))
    # The drift carries to the last column, which never saw a changed leaf of its own.
    assert _marginal_tvd(drifted, tokens, 3) > 0.02

    calibrate_marginals(models, tokens, np.random.default_rng(2), n_rows=20_000)
    drawn = sample_tokens(models, 40_000, np.random.default_rng(1))
    # The target is the training shares themselves: what is left is the noise of 40,000 draws
    # and of the pilot (about 0.005 each).
    assert max(_marginal_tvd(drawn, tokens, j) for j in range(4)) < 0.012, [
        _marginal_tvd(drawn, tokens, j) for j in range(4)
    ]
    # A token a leaf never held stays out of it.
    assert all(
        np.array_equal(before, tree.leaf_counts == 0)
        for before, tree in zip(zeros, [t for m in models for t in m.ordered], strict=True)
    )
    # The chain's links are kept: the last column still follows the first.
    assert np.mean(np.abs(drawn[:, 3] - drawn[:, 0]) <= 1) > 0.8


def test_column_dependence_ranks_a_copy_above_noise_and_discounts_chance() -> None:
    from lookalike.models._trees import column_dependence

    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=5000)
    noisy = np.where(rng.random(5000) < 0.3, rng.integers(0, 4, size=5000), x)
    many = rng.integers(0, 50, size=5000)  # independent, but many tokens
    tokens = np.column_stack([x, noisy, many])
    m = column_dependence(tokens, np.array([4, 4, 50]), rng)
    assert m[0, 0] == pytest.approx(np.log(4), abs=0.01)
    assert m[0, 1] == pytest.approx(m[1, 0])
    assert m[0, 1] > 0.5
    # The plug-in estimate between x and 50 independent tokens is about 147 / 10,000; less
    # its chance level it is near zero.
    assert abs(m[0, 2]) < 0.005


def test_a_tree_offered_too_many_columns_keeps_the_most_dependent_ones() -> None:
    from lookalike.models._trees import fit_column_models, sample_tokens

    rng = np.random.default_rng(4)
    n, d = 3000, 12
    tokens = rng.integers(0, 3, size=(n, d))
    tokens[:, 10] = tokens[:, 2]  # column 10 copies column 2; the others are noise
    tokens[:, 11] = rng.integers(0, 5, size=n)  # a fine part: its bin is column 10
    models = fit_column_models(
        tokens,
        np.array([3] * 11 + [5]),
        min_samples_leaf=20,
        min_samples_leaf_any_order=20,
        n_random_orders=1,
        rng=rng,
        fine=np.array([False] * 11 + [True]),
        max_features=3,
    )
    tree = models[10].ordered[0]
    inner = tree.left >= 0
    # The split is on the table's column 2, not on the third of the three columns it saw.
    assert set(tree.feature[inner].tolist()) == {2}
    assert models[10].any_order.feature[models[10].any_order.left >= 0].max() < d
    drawn = sample_tokens(models, 2000, rng)
    assert (drawn[:, 10] == drawn[:, 2]).all()


def test_a_fine_token_always_sees_its_own_bin() -> None:
    from lookalike.models._trees import _earlier_columns_seen

    dependence = np.array([0.2, 0.9, 0.5, 0.7, 0.01, 0.0])
    assert _earlier_columns_seen(dependence, 5, False, 3).tolist() == [1, 2, 3]
    # The bin (column 4) replaces the weakest of the three, column 2.
    assert _earlier_columns_seen(dependence, 5, True, 3).tolist() == [1, 3, 4]


def _one_leaf_tree(counts: list[float]) -> TokenTree:
    def one(value: float, dtype: type) -> np.ndarray:
        return np.array([value], dtype)

    return TokenTree(
        one(-1, np.int32),
        one(-1, np.int32),
        one(0, np.int32),
        one(0, np.float32),
        one(0, np.int32),
        np.array([counts], np.float32),
    )


def test_a_lazily_cut_token_draws_as_an_eager_share_with_several_trees() -> None:
    """A row that draws a cut token keeps it by its share and draws again otherwise; picking
    the tree again in every round favoured the tree that turns rows away less (0.212 for the
    eager draw's 0.281, the review's case)."""
    trees = (_one_leaf_tree([50, 50, 1e-4]), _one_leaf_tree([9, 1, 90]))
    samplers = [alias_sampler(tree) for tree in trees]
    n, share = 400_000, 0.1
    allowed, index = np.array([[True, True, False]]), np.zeros(n, dtype=np.intp)
    cut = np.array([[True, False, False]])

    def shares(rows: np.ndarray, tokens: np.ndarray, trees: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(rows), share)

    drawn = []
    for patterns in (
        Patterns(allowed, index, np.array([[share, 1.0, 1.0]])),
        Patterns(allowed, index, None, cut, shares),
    ):
        features = np.full((n, 1), -1, dtype=np.float32)
        draw_allowed(features, 0, trees, samplers, None, np.random.default_rng(0), patterns)
        drawn.append((features[:, 0] == 0).mean())
    # Each tree's leaf restricted to the shares, a tree per row: (0.1*50/55 + 0.1*9/1.9) / 2.
    expected = (0.1 * 50 / (5 + 50) + 0.9 / (0.9 + 1)) / 2
    assert drawn[0] == pytest.approx(expected, abs=0.004)
    assert drawn[1] == pytest.approx(expected, abs=0.004)
