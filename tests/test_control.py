"""Controlled sampling: sets and ranges, rebalancing, shift, parity, their report and the CLI."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from typer.testing import CliRunner

import lookalike as la
from lookalike.cli import app
from lookalike.control import combine_filters
from lookalike.control._targets import Constraint, TargetColumn, least_rate_gap, rake


def _tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * pa.sub(pb, fill_value=0).abs().sum())


def _tvd_noise(a: pd.Series, b: pd.Series) -> float:
    """Expected TVD between two independent samples of one distribution (normal approximation)."""
    p = pd.concat([a, b]).value_counts(normalize=True).to_numpy()
    sd = np.sqrt(p * (1 - p) * (1 / len(a) + 1 / len(b)))
    return float(0.5 * np.sum(sd * np.sqrt(2 / np.pi)))


@pytest.fixture(scope="module")
def unconditional(fitted: la.Synthesizer) -> pd.DataFrame:
    return fitted.sample(150_000, random_state=99)


def test_sets_and_ranges_hold_exactly(fitted: la.Synthesizer) -> None:
    conditions = {
        "age": (60, 90),
        "workclass": {"Private", "State-gov"},
        "sex": "Female",
        "fnlwgt": (100_000, 200_000),
        "hours_per_week": (None, 30),
    }
    out, report = fitted.sample_with_report(5000, conditions=conditions)
    assert out["age"].between(60, 90).all()
    assert set(out["workclass"]) <= {"Private", "State-gov"}
    assert (out["sex"] == "Female").all()
    assert out["fnlwgt"].between(100_000, 200_000).all()
    assert (out["hours_per_week"] <= 30).all()
    # Values are drawn inside the range, not clipped onto its ends.
    assert (out["fnlwgt"] == 100_000).mean() < 0.01
    assert (out["fnlwgt"] == 200_000).mean() < 0.01
    assert [t.achieved for t in report.targets] == [1.0] * 5
    assert 0 < report.diagnostics["model_probability"] < 0.05


@pytest.mark.parametrize("dtype", ["category", "str", object])
def test_the_report_counts_missing_values_a_condition_asks_for(dtype: object) -> None:
    # A set holding None is met by the missing rows too, whatever the column's dtype.
    rng = np.random.default_rng(0)
    values = pd.Series(rng.choice(np.array(["a", "b", None], dtype=object), 1500), dtype=dtype)
    model = la.Synthesizer(random_state=1).fit(
        pd.DataFrame({"x": rng.normal(size=1500), "k": values})
    )
    for condition in (None, {"a", None}):
        out, report = model.sample_with_report(300, conditions={"k": condition}, random_state=2)
        assert (out["k"].isna() | (out["k"] == "a")).all()
        assert out["k"].isna().any()
        assert [t.achieved for t in report.targets] == [1.0]


def test_a_set_gives_the_models_conditional_distribution(
    fitted: la.Synthesizer, unconditional: pd.DataFrame
) -> None:
    # relationship sits in the middle of adult's column order: columns before it must be reweighed
    # (marital_status), columns after it drawn given it (sex, income).
    wanted = {"Wife", "Unmarried"}
    out = fitted.sample(20_000, conditions={"relationship": wanted}, random_state=1)
    reference = unconditional[unconditional["relationship"].isin(wanted)]
    assert len(reference) > 5_000
    for column in ("marital_status", "sex", "income", "relationship", "education"):
        # Four times the expected noise of two independent samples of these sizes.
        tolerance = 4 * _tvd_noise(out[column], reference[column])
        assert _tvd(out[column], reference[column]) < tolerance, column


def test_rebalance_reaches_its_shares_and_keeps_each_group(
    fitted: la.Synthesizer, unconditional: pd.DataFrame
) -> None:
    out, report = fitted.sample_with_report(
        20_000, rebalance={"income": {">50K": 0.5}, "sex": {"Female": 0.5}}, random_state=2
    )
    assert abs((out["income"] == ">50K").mean() - 0.5) < 0.01
    assert abs((out["sex"] == "Female").mean() - 0.5) < 0.01
    assert report.max_abs_difference < 0.01
    rich = out[out["income"] == ">50K"]
    reference = unconditional[unconditional["income"] == ">50K"]
    tolerance = 4 * _tvd_noise(rich["education"], reference["education"]) + 0.02
    # The groups' own distributions stay (up to the change in sex, which rebalancing asked for).
    assert _tvd(rich["education"], reference["education"]) < tolerance


def test_shift_reaches_a_mean_and_a_share_together(fitted: la.Synthesizer) -> None:
    out, report = fitted.sample_with_report(
        20_000, shift={"age": {"mean": "+10"}, "income": {">50K": 0.4}}, random_state=3
    )
    base = fitted.sample(20_000, random_state=3)
    assert abs(out["age"].mean() - (base["age"].mean() + 10)) < 0.5
    assert abs((out["income"] == ">50K").mean() - 0.4) < 0.01
    by_quantity = {t.quantity: t for t in report.targets}
    assert abs(by_quantity["mean"].difference) < 0.3
    assert report.conditional_tvd and all(0 <= v < 0.2 for v in report.conditional_tvd.values())
    json.loads(report.to_json())


def test_shift_quantiles_and_distribution(fitted: la.Synthesizer) -> None:
    out = fitted.sample(
        20_000,
        shift={
            "hours_per_week": {"quantiles": {0.5: 45}},
            "race": {"distribution": {"White": 0.5, "Black": 0.5}},
        },
    )
    assert abs((out["hours_per_week"] <= 45).mean() - 0.5) < 0.05
    assert set(out["race"]) <= {"White", "Black"}
    assert abs((out["race"] == "Black").mean() - 0.5) < 0.01


def test_parity_makes_the_target_independent_of_the_sensitive_columns(
    fitted: la.Synthesizer,
) -> None:
    out, report = fitted.sample_with_report(
        30_000, parity={"target": "income", "sensitive": ["sex", "race"]}
    )
    rates = out.groupby("sex")["income"].apply(lambda s: (s == ">50K").mean())
    assert rates.max() - rates.min() < 0.02
    parity = [t for t in report.targets if t.control == "parity"]
    assert len(parity) == 3 and all(t.achieved < 0.02 for t in parity)
    assert all(t.model is not None and t.model > t.achieved for t in parity)


def test_same_seed_same_rows_and_the_report_does_not_change_them(
    fitted: la.Synthesizer,
) -> None:
    kwargs = {"conditions": {"age": (30, 50)}, "rebalance": {"income": {">50K": 0.3}}}
    first = fitted.sample(500, random_state=4, **kwargs)
    second, _ = fitted.sample_with_report(500, random_state=4, **kwargs)
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(fitted.sample(500, random_state=5, **kwargs))
    # Fixed values alone keep the earlier draw: same rows as before this feature.
    plain = fitted.sample(200, conditions={"sex": "Female"}, random_state=4)
    pd.testing.assert_frame_equal(
        plain, fitted.sample_with_report(200, conditions={"sex": "Female"}, random_state=4)[0]
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"conditions": {"nope": (1, 2)}}, "unknown column"),
        ({"conditions": {"workclass": set()}}, "empty set"),
        ({"conditions": {"workclass": {"Private", "Astronaut"}}}, "cannot take the value"),
        ({"conditions": {"age": (50, 40)}}, "low > high"),
        ({"conditions": {"age": (None, None)}}, "open at both ends"),
        ({"conditions": {"age": (1, 2, 3)}}, "pair"),
        ({"conditions": {"sex": ("A", "B")}}, "range needs a numeric"),
        ({"conditions": {"age": (200, 300)}}, "No value the model produces"),
        ({"rebalance": {"income": {">50K": 1.5}}}, "in [0, 1]"),
        ({"rebalance": {"income": {">60K": 0.5}}}, "cannot take the value"),
        ({"rebalance": {"sex": {"Female": 0.7, "Male": 0.6}}}, "sum to 1.3"),
        ({"rebalance": {"fnlwgt": {"1": 0.5}}}, "binned"),
        ({"rebalance": {"nope": {"a": 0.5}}}, "unknown column"),
        ({"shift": {"age": {"mean": 500}}}, "impossible"),
        ({"shift": {"age": {"mean": "+ten years"}}}, "'mean' must be a number"),
        ({"shift": {"age": {"mean": 40, "quantiles": {0.5: 40}}}}, "not several"),
        ({"shift": {"race": {"distribution": {"White": 0.5}}}}, "must sum to 1"),
        ({"shift": {"age": {"quantiles": {0.2: 50, 0.8: 40}}}}, "must increase"),
        ({"shift": {"age": {"meen": "+10"}}}, "unknown key 'meen'; a shift takes 'mean'"),
        ({"parity": {"target": "income"}}, "sensitive"),
        ({"parity": {"target": "income", "sensitive": ["income"]}}, "cannot also be"),
        (
            {"conditions": {"sex": "Female"}, "rebalance": {"sex": {"Male": 0.5}}},
            "never produces it",
        ),
        (
            {"conditions": {"relationship": "Husband"}, "shift": {"sex": {"Female": 0.5}}},
            "never produces it",
        ),
    ],
)
def test_bad_controls_name_the_problem(
    fitted: la.Synthesizer, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(la.ConditionError, match=match.replace("[", r"\[").replace("(", r"\(")):
        fitted.sample(100, **kwargs)  # type: ignore[arg-type]


def test_a_bad_shift_of_a_column_with_missing_values_is_one_error() -> None:
    """The missing token's value, a mean over no tenths, warned "Mean of empty slice" first."""
    rng = np.random.default_rng(0)
    delay = rng.gamma(1.0, 20.0, 3_000).round()
    delay[rng.random(3_000) < 0.05] = np.nan
    model = la.Synthesizer(random_state=0).fit(
        pd.DataFrame({"delay": delay, "carrier": rng.choice(["a", "b"], 3_000)})
    )
    with pytest.raises(la.ConditionError, match="unknown key 'median'"):
        model.sample(100, shift={"delay": {"median": 30}})
    shifted = model.sample(2_000, shift={"delay": {"mean": "+10"}}, random_state=1)
    assert shifted["delay"].mean() == pytest.approx(np.nanmean(delay) + 10, abs=3)


def test_contradictory_targets_are_reported() -> None:
    # Two columns that always agree cannot take different shares of "a".
    column_a = TargetColumn("a", (0,), (2,), np.array([0.0, 1.0]))
    column_b = TargetColumn("b", (1,), (2,), np.array([0.0, 1.0]))
    joint = np.array([[0.5, 0.0], [0.0, 0.5]])
    constraints = [
        Constraint("shares", "shift", (column_a,), shares=np.array([0.8, 0.2])),
        Constraint("shares", "shift", (column_b,), shares=np.array([0.3, 0.7])),
    ]
    _, gaps = rake(joint, constraints)
    assert max(gaps) > 0.1


def test_filters_combine_with_and() -> None:
    def first_two(j: int, features: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.tile([True, True, False], (len(rows), 1))

    def last_two(j: int, features: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        return None if j else np.tile([False, True, True], (len(rows), 1))

    from lookalike.models._trees import dense_restriction

    both = combine_filters(first_two, last_two)
    assert both is not None
    allowed = dense_restriction(both(0, np.zeros((3, 1)), np.arange(3)))
    assert allowed is not None and allowed.tolist() == [[False, True, False]] * 3
    allowed = dense_restriction(both(1, np.zeros((1, 1)), np.arange(1)))
    assert allowed is not None and allowed.tolist() == [[True, True, False]]
    assert combine_filters(None, None) is None


def test_scenario_file_drives_the_cli(tmp_path: Path, fitted: la.Synthesizer) -> None:
    model = tmp_path / "m.lookalike"
    fitted.save(model)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "name: older and richer\n"
        "conditions:\n"
        "  age: {min: 40, max: 70}\n"
        "  workclass: [Private, Self-emp-not-inc]\n"
        "rebalance:\n"
        "  income: {'>50K': 0.5}\n"
    )
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        ["sample", str(model), "-n", "2000", "-o", str(out), "--scenario", str(scenario)],
    )
    assert result.exit_code == 0, result.output
    assert "share of '>50K'" in result.output
    rows = pd.read_csv(out)
    assert rows["age"].between(40, 70).all()
    assert abs((rows["income"] == ">50K").mean() - 0.5) < 0.01
    assert la.Scenario.from_file(scenario).sample_kwargs()["conditions"]["age"] == (40, 70)
    # With rules in the scenario the asked-against-achieved table is printed too.
    ruled = tmp_path / "ruled.yaml"
    ruled.write_text(scenario.read_text() + "rules:\n  - hours_per_week <= 60\n")
    result = CliRunner().invoke(
        app,
        [
            "sample",
            str(model),
            "-n",
            "500",
            "-o",
            str(tmp_path / "ruled.csv"),
            "--scenario",
            str(ruled),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "share of '>50K'" in result.output
    assert (pd.read_csv(tmp_path / "ruled.csv")["hours_per_week"] <= 60).all()

    result = CliRunner().invoke(
        app, ["sample", str(model), "-n", "100", "-o", str(tmp_path / "r.csv"), "-c", "age=30..35"]
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "r.csv")["age"].between(30, 35).all()

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"shift": {"age": {"mean": 500}}, "typo": 1}))
    result = CliRunner().invoke(
        app,
        ["sample", str(model), "-n", "10", "-o", str(tmp_path / "x.csv"), "--scenario", str(bad)],
    )
    assert result.exit_code == 1
    assert "Unknown scenario key(s) ['typo']" in result.stderr


@pytest.fixture(scope="module")
def late_condition() -> la.Synthesizer:
    """A table whose last column, ``y``, depends strongly on two earlier ones (P(yes) ~ 0.15)."""
    rng = np.random.default_rng(11)
    n = 6_000
    frame = pd.DataFrame({name: rng.integers(0, 8, n).astype(str) for name in "abcde"})
    likely = frame["a"].isin(["0", "1"]) & frame["b"].isin(["0", "1"])
    frame["y"] = np.where(rng.random(n) < np.where(likely, 0.9, 0.1), "yes", "no")
    frame = "v" + frame  # categories, not numbers: equal tokens then mean equal rows
    return la.Synthesizer(random_state=2, column_order="table").fit(frame)


def test_a_condition_on_the_last_column_does_not_copy_rows(
    late_condition: la.Synthesizer,
) -> None:
    # Selecting rows from as many particles as rows copied every particle whose prefix makes
    # "yes" likely: 52 % of the rows were distinct, against 72 % among exact draws (this small
    # table repeats rows by itself); a pool of particles per row gives 71 %.
    # Distinct shares of 3,000 rows vary by about 0.01 between seeds: three draws each side.
    n = 3_000
    plain = late_condition.sample(120 * n, random_state=4)
    references = plain[plain["y"] == "vyes"]
    assert len(references) >= 3 * n
    distinct, expected = [], []
    for k, seed in enumerate((3, 5, 7)):
        out, report = late_condition.sample_with_report(
            n, conditions={"y": "vyes"}, random_state=seed
        )
        assert (out["y"] == "vyes").all()
        distinct.append(1 - out.duplicated().mean())
        expected.append(1 - references.iloc[k * n : (k + 1) * n].duplicated().mean())
    assert np.mean(distinct) > np.mean(expected) - 0.02, (distinct, expected)
    assert report.diagnostics["distinct_particle_share"] > 0.97
    assert report.diagnostics["pool_factor"] > 2
    # Still the model's conditional distribution: the early columns lean toward a, b in 0-1.
    reference = references.iloc[2 * n : 3 * n]  # the last draw's counterpart
    for column in "abc":
        tolerance = 4 * _tvd_noise(out[column], reference[column])
        assert _tvd(out[column], reference[column]) < tolerance, column


def test_a_fixed_mask_draws_like_the_dense_product(fitted: la.Synthesizer) -> None:
    from lookalike.control._smc import _MaskedColumn
    from lookalike.models._trees import MASKED, leaf_probabilities

    rng = np.random.default_rng(0)
    tokens = fitted.sample(2_000, random_state=1)
    features = fitted.encoder_.encode(tokens)[:, fitted.order_].astype(np.float32)
    j = 8  # relationship: its trees split on the columns before it
    features[:, j:] = MASKED
    trees = fitted.trees_[j].ordered
    mask = np.zeros(trees[0].leaf_counts.shape[1])
    mask[[0, 2, 3]] = 1.0
    column = _MaskedColumn(trees, mask)
    tilted = column.tilt(features)
    dense = leaf_probabilities(trees, features) * mask[None, :]
    np.testing.assert_allclose(tilted.kept, dense.sum(axis=1), rtol=1e-6)
    # Every row that keeps some mass, drawn many times: the frequencies match the dense
    # distribution's.
    alive = np.flatnonzero(dense.sum(axis=1) > 0)
    assert len(alive) > 1_000
    repeated = tilted.take(np.repeat(alive, 50))
    drawn = repeated.draw(rng).reshape(len(alive), 50)
    assert np.isin(drawn, [0, 2, 3]).all()
    counts = np.stack([(drawn == k).mean(axis=1) for k in range(mask.size)], axis=1)
    expected = dense[alive] / dense[alive].sum(axis=1, keepdims=True)
    assert np.abs(counts.mean(axis=0) - expected.mean(axis=0)).max() < 0.01


def test_a_range_on_local_dates_keeps_every_value_a_local_date() -> None:
    # Dates at midnight in Oslo (23:00 UTC). A value drawn just above the range's low end rounds
    # to the day before it, outside the range; it used to be moved to the next UTC midnight,
    # 01:00 in Oslo, which is not a date of the column.
    days = pd.Series(pd.date_range("2024-01-01", periods=300, freq="D", tz="Europe/Oslo"))
    model = la.Synthesizer(random_state=0).fit(pd.DataFrame({"day": days, "x": np.arange(300) % 4}))
    low, high = "2024-03-10 10:00", "2024-03-31 10:00"  # summer time starts on the 31st
    out = model.sample(3_000, conditions={"day": (low, high)}, random_state=1)
    inside = out["day"].between(
        pd.Timestamp(low, tz="Europe/Oslo"), pd.Timestamp(high, tz="Europe/Oslo")
    )
    assert inside.all()
    assert (out["day"].dt.hour == 0).all() and (out["day"].dt.minute == 0).all()
    assert out["day"].min() == pd.Timestamp("2024-03-11", tz="Europe/Oslo")
    assert out["day"].max() == pd.Timestamp("2024-03-31", tz="Europe/Oslo")


def test_alias_tables_give_each_leaf_its_distribution() -> None:
    from lookalike.models._trees import AliasSampler, _alias_tables

    rng = np.random.default_rng(5)
    counts = rng.random((40, 23)) ** 4
    counts[:, ::3] = 0.0  # tokens a leaf never produces
    counts[0] = 0.0
    counts[0, 7] = 2.5  # a leaf with a single token
    prob, alias = _alias_tables(counts)
    # Token k's probability: its own bucket's share plus every bucket that aliases to it.
    implied = prob / counts.shape[1]
    for leaf in range(counts.shape[0]):
        np.add.at(implied[leaf], alias[leaf], (1 - prob[leaf]) / counts.shape[1])
    np.testing.assert_allclose(implied, counts / counts.sum(axis=1, keepdims=True), atol=1e-12)
    leaves = np.repeat(np.arange(counts.shape[0]), 20_000)
    drawn = AliasSampler(counts).draw(leaves, rng).reshape(counts.shape[0], -1)
    assert not np.isin(drawn, np.arange(0, 23, 3)).any()
    assert (drawn[0] == 7).all()
    frequencies = np.stack([(drawn == k).mean(axis=1) for k in range(counts.shape[1])], axis=1)
    expected = counts / counts.sum(axis=1, keepdims=True)
    assert np.abs(frequencies - expected).max() < 0.015


def test_prefix_tables_are_the_trees_mixture(fitted: la.Synthesizer) -> None:
    from lookalike.control._smc import _MaskedColumn
    from lookalike.models._trees import MASKED, PrefixTable, leaf_probabilities

    tokens = fitted.encoder_.encode(fitted.sample(3_000, random_state=2))
    features = tokens[:, fitted.order_].astype(np.float32)
    n_tokens = [m.ordered[0].leaf_counts.shape[1] for m in fitted.trees_]
    built = 0
    for j, model in enumerate(fitted.trees_):
        table = PrefixTable.build(model.ordered, j, n_tokens)
        if table is None:
            continue
        built += 1
        prefix = features.copy()
        prefix[:, j:] = MASKED
        dense = leaf_probabilities(model.ordered, prefix)
        np.testing.assert_allclose(table.mixture[table.key(prefix)], dense, rtol=1e-12)
        mask = np.zeros(n_tokens[j])
        mask[::2] = 1.0
        keyed = _MaskedColumn(model.ordered, mask, table).tilt(prefix)
        np.testing.assert_allclose(keyed.kept, (dense * mask).sum(axis=1), rtol=1e-12)
        drawn = keyed.draw(np.random.default_rng(j))
        assert (mask[drawn] == 1).all()
    # adult's first columns: age (no split), workclass (on age), fnlwgt's bin and position.
    assert built >= 3
    # A table is not built where the trees split on a later column or on too many tokens.
    assert PrefixTable.build(fitted.trees_[-1].ordered, len(fitted.trees_) - 1, n_tokens) is None


def test_the_report_checks_categories_once_per_value() -> None:
    from lookalike.control._conditions import Condition
    from lookalike.sample._controlled import _holds
    from lookalike.schema import ColumnKind, ColumnSpec

    spec = ColumnSpec(name="c", kind=ColumnKind.CATEGORICAL, dtype="object")
    condition = Condition("c", "set", values=("a", True, None))
    for series in (
        pd.Series(["a", "b", None, "a"] * 3, dtype="string"),
        pd.Series(["a", "b", None, "a"] * 3, dtype="category"),
        pd.Series([True, 1, "a", None, 1.0, "True"], dtype=object),
        pd.Series([True, False, True]),
    ):
        assert _holds(condition, spec, series).tolist() == condition.holds(spec, series).tolist()


def test_no_prefix_table_when_the_combinations_overflow_int64() -> None:
    from lookalike.models._trees import PrefixTable, TokenTree

    # A chain of splits on 3 columns of 2**21 tokens: 2**63 combinations, which wraps to a
    # negative number in int64 arithmetic (default_credit's fit crashed on such a wrap).
    n_split, n_tok = 3, 2**21
    inner = np.arange(n_split)
    left = np.concatenate([inner + n_split + 1, [-1] * (n_split + 1)]).astype(np.int32)
    right = np.concatenate([inner + 1, [-1] * (n_split + 1)]).astype(np.int32)
    right[n_split - 1] = 2 * n_split
    left[n_split - 1] = n_split
    feature = np.concatenate([inner, [-1] * (n_split + 1)]).astype(np.int32)
    n_nodes = 2 * n_split + 1
    leaf_of_node = np.where(left < 0, np.cumsum(left < 0) - 1, -1).astype(np.int32)
    tree = TokenTree(
        left=left[:n_nodes],
        right=right[:n_nodes],
        feature=feature[:n_nodes],
        threshold=np.full(n_nodes, 0.5, dtype=np.float32),
        leaf_of_node=leaf_of_node[:n_nodes],
        leaf_counts=np.ones((int((left[:n_nodes] < 0).sum()), 3), dtype=np.float32),
    )
    n_tokens = [n_tok] * n_split + [3]
    assert PrefixTable.build((tree,), n_split, n_tokens) is None


def test_rows_equal_in_every_key_share_a_group() -> None:
    from lookalike.models._trees import group_rows

    rng = np.random.default_rng(2)
    keys = [rng.integers(-1, 4, 3_000), rng.integers(0, 2, 3_000), rng.integers(0, 300, 3_000)]
    some, index = group_rows(keys, 3_000)
    stacked = np.column_stack(keys)
    # Same group exactly when equal in every key; ``some`` names a member of each group.
    assert len(some) == len(np.unique(stacked, axis=0))
    assert np.array_equal(stacked[some][index], stacked)


def test_conditions_the_model_cannot_reach_are_reported_as_such() -> None:
    # "kind" decides "side" outright: no leaf of "side" given kind "a" holds "right".
    rng = np.random.default_rng(0)
    kind = rng.choice(["a", "b"], size=2000)
    table = pd.DataFrame(
        {"kind": kind, "side": np.where(kind == "a", "left", "right"), "x": rng.normal(size=2000)}
    )
    model = la.Synthesizer(random_state=0).fit(table)
    impossible = {"kind": "a", "side": "right"}

    out, report = model.sample_with_report(200, conditions=impossible, random_state=1)

    assert (out["kind"] == "a").all() and (out["side"] == "right").all()
    assert report.diagnostics["fallbacks"]
    assert report.diagnostics["model_probability"] == 0.0
    assert "no probability" in report.to_text()
    assert "a probability of" not in report.to_text()
    # A reachable condition keeps its probability: about the share of its rows.
    _, reachable = model.sample_with_report(200, conditions={"kind": "a"})
    assert not reachable.diagnostics["fallbacks"]
    assert 0.4 < reachable.diagnostics["model_probability"] < 0.6


def test_a_value_the_columns_dtype_cannot_hold_is_refused(fitted: la.Synthesizer) -> None:
    with pytest.raises(la.ConditionError, match=r"holds whole numbers\. Got 30\.5"):
        fitted.sample(10, conditions={"age": 30.5})
    with pytest.raises(la.ConditionError, match="from -9223372036854775808 to"):
        fitted.sample(10, conditions={"age": 10**20})
    with pytest.raises(la.ConditionError, match="holds whole numbers"):
        fitted.sample(conditions=pd.DataFrame({"age": [40.0, 30.5]}))


def test_a_value_beyond_the_models_range_is_kept_with_a_warning(fitted: la.Synthesizer) -> None:
    with pytest.warns(la.DataWarning, match="500 lies outside the values the model produces"):
        out = fitted.sample(20, conditions={"age": [40, 500]})
    assert set(out["age"]) <= {40, 500} and (out["age"] == 500).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error", la.DataWarning)
        fitted.sample(20, conditions={"age": 40})


def test_an_infinity_the_model_never_produces_is_warned_about() -> None:
    """``--condition x=inf`` on a column without infinities wrote inf in every row, with
    no warning; one the column holds often enough is a value it produces."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=500), "g": rng.choice(["a", "b"], 500)})
    with pytest.warns(la.DataWarning, match="inf lies outside the values the model produces"):
        la.Synthesizer(random_state=0).fit(table).sample(3, conditions={"x": float("inf")})
    table.loc[:20, "x"] = np.inf
    model = la.Synthesizer(random_state=0).fit(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error", la.DataWarning)
        assert np.isposinf(model.sample(3, conditions={"x": float("inf")})["x"]).all()


def test_a_code_past_a_column_of_frequent_values_only_is_warned_about() -> None:
    """Months have no protected extremes, yet 13 was within the tenth of the range allowed
    past the ends, and was written with no warning."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"month": rng.integers(1, 13, 3_000), "g": rng.choice(["a", "b"], 3_000)})
    model = la.Synthesizer(random_state=0).fit(table)
    with pytest.warns(
        la.DataWarning, match=r"13 lies outside the values the model produces \(1 to 12\)"
    ):
        model.sample(10, conditions={"month": 13})
    with warnings.catch_warnings():
        warnings.simplefilter("error", la.DataWarning)
        model.sample(10, conditions={"month": 12})


def test_the_report_text_shows_each_parity_target_whole(fitted: la.Synthesizer) -> None:
    _, report = fitted.sample_with_report(
        500, parity={"target": "income", "sensitive": ["sex", "race"]}, random_state=0
    )
    text = report.to_text()
    for grouping in ("by sex ", "by race ", "by sex+race "):
        assert f"demographic parity difference {grouping}" in text


def test_parity_reports_the_least_difference_its_group_sizes_allow(
    fitted: la.Synthesizer,
) -> None:
    out, report = fitted.sample_with_report(
        500, parity={"target": "income", "sensitive": ["sex", "race"]}, random_state=0
    )
    combined = next(t for t in report.targets if t.quantity.endswith("by sex+race"))
    assert combined.least_possible is not None
    assert 0.005 < combined.least_possible <= combined.achieved
    assert "with groups this small the difference is at least" in report.to_text()
    assert report.to_dict()["targets"][2]["least_possible"] == pytest.approx(
        combined.least_possible, abs=1e-6
    )
    assert "least possible" in la.evaluate(out, out, controls=report).to_html()


@pytest.mark.parametrize("sizes", [(3, 5), (3, 3), (1, 4, 6), (2, 2, 7)])
def test_the_least_rate_gap_is_a_floor_under_every_split(sizes: tuple[int, ...]) -> None:
    # Every way of placing k positives in groups of these sizes differs by at least the floor.
    for k in range(sum(sizes) + 1):
        splits = [
            split for split in itertools.product(*(range(n + 1) for n in sizes)) if sum(split) == k
        ]
        gaps = []
        for split in splits:
            rates = [a / n for a, n in zip(split, sizes, strict=True)]
            gaps.append(max(rates) - min(rates))
        counts = np.array([splits[0], [n - a for a, n in zip(splits[0], sizes, strict=True)]])
        assert least_rate_gap(counts) <= min(gaps) + 1e-12, (sizes, k)


def test_parity_on_a_many_valued_target_leaves_out_values_some_group_lacks(
    fitted: la.Synthesizer,
) -> None:
    out, report = fitted.sample_with_report(
        5_000, parity={"target": "occupation", "sensitive": ["sex"]}, random_state=1
    )
    (target,) = report.targets
    assert target.achieved < 0.02  # the groups keep their sizes and share one distribution
    assert (
        abs((out["sex"] == "Male").mean() - (fitted.sample(5_000)["sex"] == "Male").mean()) < 0.03
    )
    # Values one sex never has in the model's pilot draw are named, and not drawn.
    assert target.note is not None and " are not drawn in the equalised groups" in target.note
    named = target.note.split(" are not drawn")[0].removeprefix("occupation ").split(", ")
    assert named and not set(named) & set(out["occupation"].dropna())


def test_parity_keeps_a_group_the_model_never_gives_the_positive_class() -> None:
    # Group "c" never has y == "yes": no draw can give it the common rate. Raking toward parity
    # used to shrink it until it vanished; it now keeps its rows and rates, and the report says so.
    rng = np.random.default_rng(3)
    group = rng.choice(["a", "b", "c"], size=6_000, p=[0.45, 0.4, 0.15])
    rate = np.select([group == "a", group == "b"], [0.5, 0.2], 0.0)
    real = pd.DataFrame({"group": group, "y": np.where(rng.random(6_000) < rate, "yes", "no")})
    model = la.Synthesizer(random_state=0).fit(real)
    out, report = model.sample_with_report(
        6_000, parity={"target": "y", "sensitive": ["group"]}, random_state=1
    )
    assert abs((out["group"] == "c").mean() - 0.15) < 0.03
    assert not ((out["group"] == "c") & (out["y"] == "yes")).any()
    rates = out.groupby("group")["y"].apply(lambda s: (s == "yes").mean())
    assert abs(rates["a"] - rates["b"]) < 0.03
    (target,) = report.targets
    assert target.note is not None and "in c, so this group keeps" in target.note
    assert target.note in report.to_text() and report.to_dict()["targets"][0]["note"] == target.note
    assert str(escape(target.note)) in la.evaluate(out, out, controls=report).to_html()


def test_parity_over_a_column_fixed_to_one_value_is_named_vacuous(
    fitted: la.Synthesizer,
) -> None:
    parity = {"target": "income", "sensitive": ["sex", "race"]}
    for conditions, fixed in [
        ({"sex": "Female"}, "sex"),
        ({"sex": ["Female"]}, "sex"),  # a set of one value
        ({"income": ">50K"}, "income"),  # the target itself
    ]:
        with pytest.warns(la.DataWarning, match=f"the conditions fix {fixed} to one value") as seen:
            fitted.sample(200, conditions=conditions, parity=parity)
        assert seen[0].filename == __file__  # points at the caller, not into the library


def test_a_fixed_continuous_value_reports_its_cells_probability(fitted: la.Synthesizer) -> None:
    _, report = fitted.sample_with_report(100, conditions={"fnlwgt": 200_000}, random_state=1)
    assert report.diagnostics["cell_conditions"] == ["fnlwgt"]
    assert "(for fnlwgt: of the value's cell, its bin and tenth" in report.to_text()
    _, plain = fitted.sample_with_report(100, conditions={"sex": "Female"}, random_state=1)
    assert plain.diagnostics["cell_conditions"] == [] and "cell" not in plain.to_text()


def test_a_datetime_condition_far_outside_the_data_warns_in_dates() -> None:
    rng = np.random.default_rng(0)
    hours = pd.to_timedelta(rng.integers(0, 365 * 24, 3_000), unit="h")
    table = pd.DataFrame({"when": pd.Timestamp("2013-01-01") + hours, "x": rng.normal(size=3_000)})
    table["stamp"] = table["when"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    model = la.Synthesizer(random_state=0).fit(table)
    for column, value in (("when", pd.Timestamp("2020-01-01")), ("stamp", "2020-01-01T00:00:00Z")):
        with pytest.warns(
            la.DataWarning, match=rf"'{column}'.*produces \(2013-01-01 .* to 2013-12-"
        ):
            out = model.sample(5, conditions={column: value})
        assert (out[column] == value).all()  # written as asked
    with warnings.catch_warnings():
        warnings.simplefilter("error", la.DataWarning)
        model.sample(5, conditions={"when": pd.Timestamp("2013-06-01")})


def test_the_produced_range_ends_at_the_outermost_value_the_model_draws() -> None:
    # Distances: a few frequent long routes at the top. The tail fitted past the clip reaches
    # far beyond them, but the top cell holds only frequent values, so nothing above is drawn.
    rng = np.random.default_rng(2)
    short = np.round(rng.uniform(80, 2_500, 20_000), 2)  # too many values to be frequent
    # Held by 90 and 80 rows: frequent (>= 5), not spikes of their own (< 1 % of rows), and more
    # than the top tenth of the top bin, which therefore holds nothing else.
    table = pd.DataFrame({"distance": np.concatenate([short, [4963.0] * 90, [4983.0] * 80])})
    model = la.Synthesizer(random_state=0).fit(table)
    top = model.sample(100_000, random_state=1)["distance"].max()
    produced = model.encoder_.encoders["distance"].finite_range()
    assert produced is not None and produced[1] == top == 4983
    with pytest.raises(la.ConditionError, match=r"produces values from \S+ to 4983\."):
        model.sample(10, conditions={"distance": (4984, 8000)})


def test_a_fixed_date_between_the_columns_steps_warns() -> None:
    rng = np.random.default_rng(0)
    hours = pd.to_timedelta(rng.integers(0, 365 * 24, 3_000), unit="h")
    when = pd.Timestamp("2013-01-01") + hours
    table = pd.DataFrame(
        {
            "when": when,
            "stamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "local": when.tz_localize("UTC").tz_convert("Europe/Berlin"),  # whole local hours
            "x": rng.normal(size=3_000),
        }
    )
    model = la.Synthesizer(random_state=0).fit(table)
    for column, value in (
        ("when", pd.Timestamp("2013-06-01 12:30")),
        ("stamp", "2013-06-01T12:30:00Z"),
        ("local", pd.Timestamp("2013-06-01 12:30", tz="Europe/Berlin")),
    ):
        with pytest.warns(la.DataWarning, match=rf"'{column}'.*between the column's steps") as seen:
            out = model.sample(5, conditions={column: value})
        assert seen[0].filename == __file__ and (out[column] == value).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", la.DataWarning)
        model.sample(5, conditions={"stamp": "2013-06-01T12:00:00Z"})
        model.sample(5, conditions={"local": pd.Timestamp("2013-06-01 12:00", tz="Europe/Berlin")})


def test_a_range_of_whole_numbers_gives_its_ends_their_full_share() -> None:
    """A value rounds to a whole number from half a step either side; a range's positions
    ended at its end values, so 3000 and 3009 in ``k in (3000, 3009)`` got half their share
    (0.052 and 0.060 of rows; about 0.1 each in the model)."""
    rng = np.random.default_rng(0)
    n = 8_000
    table = pd.DataFrame({"k": rng.integers(0, 5_000, n), "g": rng.choice(["a", "b"], n)})
    model = la.Synthesizer(random_state=1).fit(table)
    drawn = model.sample(20_000, conditions={"k": (3_000, 3_009)}, random_state=2)["k"]
    assert drawn.between(3_000, 3_009).all()
    shares = drawn.value_counts(normalize=True)
    assert shares[3_000] > 0.075 and shares[3_009] > 0.075
