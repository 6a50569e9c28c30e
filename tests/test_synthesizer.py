"""The contract every synthesizer passes, run on the default Synthesizer."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import lookalike as la
from lookalike.encode import RARE_VALUE


def test_sample_keeps_columns_and_dtypes(fitted: la.Synthesizer, adult_small: pd.DataFrame) -> None:
    out = fitted.sample(2000)
    assert list(out.columns) == list(adult_small.columns)
    assert (out.dtypes == adult_small.dtypes).all()
    assert len(out) == 2000
    # Missing values are reproduced at about the real rate.
    real_share = adult_small["occupation"].isna().mean()
    assert abs(out["occupation"].isna().mean() - real_share) < 0.03


def test_same_seed_same_model_same_rows(adult_small: pd.DataFrame) -> None:
    a = la.Synthesizer(random_state=11).fit(adult_small)
    b = la.Synthesizer(random_state=11).fit(adult_small)
    pd.testing.assert_frame_equal(a.sample(500), b.sample(500))
    pd.testing.assert_frame_equal(a.sample(500, random_state=4), b.sample(500, random_state=4))
    assert not a.sample(500).equals(a.sample(500, random_state=5))
    c = la.Synthesizer(random_state=12).fit(adult_small)
    assert not a.sample(500).equals(c.sample(500))


def test_threads_grow_the_same_model(
    adult_small: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lookalike.models import _trees

    # Every random draw is made before a tree goes to a thread, so the model file is the same;
    # also when the memory bound lets one column in flight at a time.
    files = []
    for n_jobs, bound in ((1, None), (3, None), (-1, None), (2, 1)):
        if bound is not None:
            monkeypatch.setattr(_trees, "_IN_FLIGHT_BYTES", bound)
        path = tmp_path / f"jobs{n_jobs}.lookalike"
        la.Synthesizer(random_state=5).fit(adult_small, n_jobs=n_jobs).save(path)
        files.append(path.read_bytes())
    assert all(file == files[0] for file in files)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="n_jobs must be None, -1 or a whole number"):
            la.Synthesizer(random_state=5).fit(adult_small, n_jobs=bad)


def test_a_failing_tree_in_a_thread_is_raised(
    adult_small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lookalike.models import _trees

    grown = _trees._from_sklearn

    def fail_on_the_fifth(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 5:
            raise MemoryError("no room for this tree")
        return grown(*args, **kwargs)

    calls: list[int] = []
    monkeypatch.setattr(_trees, "_from_sklearn", fail_on_the_fifth)
    with pytest.raises(MemoryError, match="no room"):
        la.Synthesizer(random_state=5).fit(adult_small, n_jobs=2)


def test_marginals_and_pairs_are_close(fitted: la.Synthesizer, adult_small: pd.DataFrame) -> None:
    out = fitted.sample(len(adult_small))
    for column in ["sex", "income", "race", "relationship"]:
        real = adult_small[column].value_counts(normalize=True)
        synth = out[column].value_counts(normalize=True)
        assert 0.5 * real.sub(synth, fill_value=0).abs().sum() < 0.05, column
    # A strong dependency survives: husbands are male.
    husbands = out[out["relationship"] == "Husband"]
    assert (husbands["sex"] == "Male").mean() > 0.97
    assert abs(out["age"].mean() - adult_small["age"].mean()) < 1.5


def test_rare_categories_are_never_emitted(adult_small: pd.DataFrame) -> None:
    counts = adult_small["native_country"].value_counts()
    rare = set(counts[counts < 5].index)
    assert rare, "the fixture should contain rare countries"
    out = la.Synthesizer(random_state=1).fit(adult_small).sample(20_000)
    assert not rare & set(out["native_country"].dropna())
    assert (out["native_country"] == RARE_VALUE).any()
    # What comes out can be asked for; a withheld value is named as such.
    model = la.Synthesizer(random_state=1).fit(adult_small)
    fixed = model.sample(50, conditions={"native_country": RARE_VALUE})
    assert (fixed["native_country"] == RARE_VALUE).all()
    with pytest.raises(la.ConditionError, match="too rare to release"):
        model.sample(5, conditions={"native_country": sorted(rare)[0]})


def test_numeric_extremes_are_protected(adult_small: pd.DataFrame) -> None:
    model = la.Synthesizer(random_state=1).fit(adult_small)
    out = model.sample(20_000)
    top = np.sort(adult_small["fnlwgt"].to_numpy())
    # The column's tail is extrapolated past the 5th largest value without using the 4 above it:
    # moving them changes nothing in the model, and none of them comes out.
    assert not set(top[-4:]) & set(out["fnlwgt"])
    moved = adult_small.copy()
    moved.loc[moved["fnlwgt"].nlargest(4).index, "fnlwgt"] *= 10
    moved_model = la.Synthesizer(random_state=1).fit(moved)
    assert moved_model.encoder_.statistics["fnlwgt"] == model.encoder_.statistics["fnlwgt"]
    assert (
        adult_small["age"].max() not in set(out["age"])
        or (adult_small["age"] == adult_small["age"].max()).sum() >= 5
    )


def test_no_more_copies_than_a_real_holdout(adult: pd.DataFrame) -> None:
    train, holdout = adult.iloc[:8000], adult.iloc[8000:16000]
    out = la.Synthesizer(random_state=2).fit(train).sample(len(holdout))
    seen = set(map(tuple, train.astype(str).to_numpy()))

    def copy_share(frame: pd.DataFrame) -> float:
        return float(np.mean([tuple(r) in seen for r in frame.astype(str).to_numpy()]))

    assert copy_share(out) <= copy_share(holdout) + 0.002


def test_dict_conditions_are_exact(fitted: la.Synthesizer, adult_small: pd.DataFrame) -> None:
    out = fitted.sample(3000, conditions={"sex": "Female", "age": 41, "fnlwgt": 123456})
    assert (out["sex"] == "Female").all()
    assert (out["age"] == 41).all()
    assert (out["fnlwgt"] == 123456).all()
    assert (out["relationship"] != "Husband").mean() > 0.97
    # Conditioning on one column reproduces the real conditional distribution of another.
    women = fitted.sample(5000, conditions={"sex": "Female"})
    real = adult_small[adult_small["sex"] == "Female"]["income"].eq(">50K").mean()
    assert abs(women["income"].eq(">50K").mean() - real) < 0.04


def test_seed_rows_give_one_row_each(fitted: la.Synthesizer) -> None:
    seeds = pd.DataFrame({"sex": ["Male", "Female", None], "income": [">50K", "<=50K", ">50K"]})
    out = fitted.sample(conditions=seeds)
    assert len(out) == 3
    assert out["sex"].iloc[:2].tolist() == ["Male", "Female"]
    assert out["income"].tolist() == [">50K", "<=50K", ">50K"]
    assert out["sex"].iloc[2] in {"Male", "Female"}


def test_seed_rows_are_drawn_as_a_dict_of_their_values_is(fitted: la.Synthesizer) -> None:
    """Seed rows drew the columns before a fixed one from the any-order trees: 5,000 seed rows
    of Masters gave 45 % high incomes where the real Masters and a dict condition give 56 %.
    Each group of seed rows fixing the same values is now one exact conditional draw."""
    seeds = pd.DataFrame({"education": ["Masters"] * 4000})
    by_seeds = fitted.sample(conditions=seeds, random_state=1)
    by_dict = fitted.sample(4000, conditions={"education": "Masters"}, random_state=2)
    for column, value in (("income", ">50K"), ("workclass", "Private"), ("sex", "Male")):
        share = by_seeds[column].eq(value).mean()
        assert share == pytest.approx(by_dict[column].eq(value).mean(), abs=0.03), column
    ages = np.quantile(by_seeds["age"], [0.25, 0.5, 0.75])
    np.testing.assert_allclose(ages, np.quantile(by_dict["age"], [0.25, 0.5, 0.75]), atol=2)
    # Groups keep their seed rows' places, exact values and a stream of their own.
    seeds = pd.DataFrame({"age": [37.0, None, 61.0] * 40, "sex": ["Female", "Male", None] * 40})
    out = fitted.sample(conditions=seeds, random_state=1)
    assert out["age"].iloc[::3].eq(37).all() and out["age"].iloc[2::3].eq(61).all()
    assert out["sex"].iloc[::3].eq("Female").all() and out["sex"].iloc[1::3].eq("Male").all()
    assert out.iloc[::3].drop(columns=["age", "sex"]).duplicated().mean() < 0.1
    pd.testing.assert_frame_equal(out, fitted.sample(conditions=seeds, random_state=1))


def test_seed_tables_past_the_group_limit_say_they_are_drawn_in_one_pass() -> None:
    """Past the limit the draw changes (the one pass is approximate): that was silent."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=3000), "y": rng.normal(size=3000)})
    table["c"] = np.where(table["x"] + rng.normal(size=3000) > 0, "a", "b")
    model = la.Synthesizer(random_state=0).fit(table)
    many = table[["x", "y"]].sample(2000, random_state=1).reset_index(drop=True)
    with pytest.warns(la.DataWarning, match=r"combinations of values \(more than 1,024\)"):
        out = model.sample(conditions=many)
    assert np.allclose(out["x"], many["x"]) and np.allclose(out["y"], many["y"])
    # Under a rule on another column, the seeds' numbers group by their tokens (the rule reads
    # no fixed value), so 300 distinct values are far fewer draws and no warning.
    few = table[["x"]].sample(300, random_state=2).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ruled = model.sample(conditions=few, rules=["y > -3"])
    assert np.allclose(ruled["x"], few["x"]) and (ruled["y"] > -3).all()


def test_a_warning_of_every_group_of_seed_rows_is_said_once() -> None:
    table = pd.DataFrame({"c": ["a", "b", "c", "d"] * 100, "x": np.arange(400.0) % 50})
    model = la.Synthesizer(random_state=0).fit(table)
    seeds = pd.DataFrame({"c": ["a", "b", "c", "d"] * 5})
    with pytest.warns(la.DataWarning) as caught:
        model.sample(conditions=seeds, rules=["c != 'zz'"])
    assert ["'zz'" in str(w.message) for w in caught] == [True]


def test_declared_categories_keep_their_order_across_groups_of_seed_rows() -> None:
    """Seed rows under rules are drawn group by group and put together; an ordered category
    column came back with its categories sorted by name and no longer ordered."""
    rng = np.random.default_rng(0)
    sizes = ["S", "M", "L", "XL", "XXL"]
    table = pd.DataFrame(
        {
            "size": pd.Categorical(rng.choice(sizes[:4], 600), categories=sizes, ordered=True),
            "c": rng.choice(["a", "b"], 600),
            "x": rng.normal(size=600),
        }
    )
    model = la.Synthesizer(random_state=0).fit(table, rules=["x > -10"])
    out = model.sample(conditions=pd.DataFrame({"c": ["a", "b", None] * 20}))
    assert out["size"].dtype == table["size"].dtype


def test_keys_stay_unique_across_groups_of_seed_rows() -> None:
    table = pd.DataFrame(
        {"user_id": np.arange(400), "c": ["a", "b"] * 200, "x": np.arange(400.0) % 37}
    )
    model = la.Synthesizer(random_state=0).fit(table)
    seeds = pd.DataFrame({"c": ["a", "b", None] * 100, "user_id": [None] * 299 + [7]})
    out = model.sample(conditions=seeds)
    assert out["user_id"].is_unique and out["user_id"].iloc[-1] == 7
    assert out["user_id"].dtype == table["user_id"].dtype
    assert out["c"].iloc[:-1:3].eq("a").all() and out["c"].iloc[1::3].eq("b").all()


def test_whole_number_column_labels_come_back(tmp_path: Path) -> None:
    """pd.DataFrame(array) has labels 0, 1, 2: samples came back labelled '0', '1', '2', and
    conditions={2: "a"} was refused as "unknown column(s) ['2']; the model has [..., '2']"."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame(rng.normal(size=(400, 2)))
    real[2] = rng.choice(["a", "b"], 400)
    model = la.Synthesizer(random_state=0).fit(real)
    assert list(model.sample(5).columns) == [0, 1, 2]
    assert model.sample(20, conditions={2: "a"})[2].eq("a").all()
    assert model.sample(conditions=real[[2]].head(30))[2].tolist() == real[2].head(30).tolist()
    rows, report = model.sample_with_report(2000, rebalance={2: {"a": 0.8}}, random_state=1)
    assert report.targets[0].achieved == pytest.approx(0.8, abs=0.02)
    assert list(rows.columns) == [0, 1, 2] and rows[2].eq("a").mean() == pytest.approx(
        0.8, abs=0.02
    )
    again = la.load(model.save(tmp_path / "m.lookalike"))
    pd.testing.assert_frame_equal(again.sample(50), model.sample(50))
    # Rules and parity name such columns too, and check_rules reads the model's own rows.
    ruled = model.sample(100, rules=["`2` == 'a'"])
    assert la.check_rules(ruled, ["`2` == 'a'"]).all_hold
    fair = model.sample(500, parity={"target": 2, "sensitive": [0]}, random_state=1)
    assert list(fair.columns) == [0, 1, 2]
    # Text labels stay text, and their files say nothing of labels.
    named = la.Synthesizer(random_state=0).fit(real.rename(columns=str))
    assert list(named.sample(5).columns) == ["0", "1", "2"]
    # A refit that fails (on a table labelled 0, 1) leaves the fitted model as it was.
    with pytest.raises(la.DataError):
        named.fit(pd.DataFrame({0: [1.0, 2.0], 1: ["a", "b"]}))
    assert list(named.sample(3).columns) == ["0", "1", "2"]
    assert "integer_labels" not in named._to_artifact().manifest


def test_seed_rows_may_be_arrow_or_polars(fitted: la.Synthesizer) -> None:
    """fit took them, but sample said "The number of rows to sample must be an int >= 1"."""
    pl = pytest.importorskip("polars")
    seeds = pd.DataFrame({"sex": ["Male", "Female", None], "income": [">50K", "<=50K", ">50K"]})
    expected = fitted.sample(conditions=seeds)
    for table in (pa.Table.from_pandas(seeds), pl.from_pandas(seeds)):
        pd.testing.assert_frame_equal(fitted.sample(conditions=table), expected)
        rows, _ = fitted.sample_with_report(conditions=table)
        pd.testing.assert_frame_equal(rows, expected)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "int >= 1"),
        ({"n": -3}, ValueError, "int >= 1"),
        ({"n": "ten"}, ValueError, "int >= 1"),
        ({"n": 5, "conditions": {"nope": 1}}, la.ConditionError, "unknown column"),
        (
            {"n": 5, "conditions": {"sex": "Robot"}},
            la.ConditionError,
            "cannot take the value 'Robot'",
        ),
        ({"n": 5, "conditions": {"age": "old"}}, la.ConditionError, "takes a number"),
        ({"n": 5, "conditions": {"income": None}}, la.ConditionError, "no missing values"),
        (
            {"conditions": pd.DataFrame([[30, 40]], columns=["age", "age"])},
            la.ConditionError,
            r"name column\(s\) \['age'\] more than once",
        ),
    ],
)
def test_bad_sampling_requests(
    fitted: la.Synthesizer, kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        fitted.sample(**kwargs)


def test_not_fitted_and_bad_params() -> None:
    with pytest.raises(la.NotFittedError):
        la.Synthesizer().sample(3)
    with pytest.raises(ValueError, match="'rare_threshold' parameter"):
        la.Synthesizer(rare_threshold=0).fit(pd.DataFrame({"a": [1, 2, 3] * 5}))
    with pytest.raises(ValueError, match="random_state"):
        la.Synthesizer(random_state=-1).fit(pd.DataFrame({"a": [1, 2, 3] * 5}))
    with pytest.raises(ValueError, match="'calibrate' parameter"):
        la.Synthesizer(calibrate="yes").fit(pd.DataFrame({"a": [1, 2, 3] * 5}))  # type: ignore[arg-type]


def test_awkward_tables_are_handled() -> None:
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "constant": ["same"] * n,
            "empty": pd.Series([None] * n, dtype="str"),
            "mixed": pd.Series(["1", "two", "3.5", "x"] * (n // 4), dtype="str"),
            "with_inf": np.where(rng.random(n) < 0.05, np.inf, rng.normal(size=n)),
            "with_nan": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "dates": ["2020-01-05", "05/01/2020", "2020-02-07", "2020-03-09"] * (n // 4),
            "ok": rng.integers(0, 3, n),
        }
    )
    model = la.Synthesizer(random_state=0).fit(df)
    out = model.sample(1000)
    assert (out["constant"] == "same").all()
    assert out["empty"].isna().all()
    assert set(out["mixed"]) <= {"1", "two", "3.5", "x"}
    assert np.isinf(out["with_inf"]).mean() == pytest.approx(0.05, abs=0.03)
    assert out["with_nan"].isna().mean() == pytest.approx(0.2, abs=0.05)
    assert model.schema_["dates"].kind is la.ColumnKind.DATETIME
    assert out["dates"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"a": [1]}), "needs at least"),
        (
            pd.DataFrame({"a": pd.Series([None] * 10, dtype="str")}),
            "only empty columns|Every column",
        ),
        (pd.DataFrame(index=range(10)), "no columns"),
    ],
)
def test_untrainable_tables(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(la.DataError, match=match):
        la.Synthesizer().fit(frame)


def test_identifiers_are_regenerated_not_learned() -> None:
    df = pd.DataFrame({"user_id": np.arange(500, 1000), "x": np.tile([1, 2], 250)})
    out = la.Synthesizer(random_state=0).fit(df).sample(300)
    assert out["user_id"].is_unique
    assert str(out["user_id"].dtype) == "int64"


@pytest.mark.parametrize("dtype", ["bool", "boolean", "category"])
def test_a_rare_boolean_value_comes_out_as_the_other_value(dtype: str) -> None:
    """Three True in 1,000 rows are withheld; they came out missing, so a complete bool column
    came back nullable with gaps it never had."""
    df = pd.DataFrame({"flag": (np.arange(1000) < 3), "x": np.arange(1000) % 3})
    df["flag"] = df["flag"].astype(dtype)
    out = la.Synthesizer(random_state=0).fit(df).sample(2000)
    assert out["flag"].notna().all()
    assert not out["flag"].astype(bool).any()
    assert str(out["flag"].dtype) == ("category" if dtype == "category" else dtype)


def test_keys_with_gaps_are_fresh_keys_with_the_gaps() -> None:
    """A key missing on some rows (an order without a customer) was not read as a key: text
    keys all came out as the rare bucket, and whole-number keys were learned as a number, so
    most synthetic values were real keys."""
    n = 1000
    gap = np.arange(n) % 20 == 0
    df = pd.DataFrame(
        {
            "order_ref": [None if g else f"ORD-{i:06d}" for i, g in enumerate(gap)],
            "customer_id": pd.array(
                [None if g else 10_000 + i for i, g in enumerate(gap)], dtype="Int64"
            ),
            "x": np.arange(n) % 3,
        }
    )
    model = la.Synthesizer(random_state=0).fit(df)
    assert model.schema_["order_ref"].kind is la.ColumnKind.IDENTIFIER
    assert model.schema_["customer_id"].kind is la.ColumnKind.IDENTIFIER
    out = model.sample(4000, random_state=1)
    for column in ("order_ref", "customer_id"):
        present = out[column].dropna()
        assert present.is_unique
        assert not present.isin(df[column].dropna()).any()
        assert abs(out[column].isna().mean() - 0.05) < 0.015
    assert str(out["customer_id"].dtype) == "Int64"


@pytest.mark.parametrize(
    "keys",
    [
        np.arange(1, 501),
        [f"C{k:04d}" for k in range(500)],
        [f"ID-{k}" for k in range(1, 501)],
        [f"{k:x}" for k in range(10**6, 10**6 + 500)],
    ],
)
def test_fresh_keys_are_never_real_keys(keys: Any) -> None:
    """Keys were numbered 1..n: customer 17's key on a synthetic row read as customer 17's
    record. They are now longer than any real key, and still unique past the real count."""
    df = pd.DataFrame({"user_id": keys, "x": np.tile([1, 2], 250)})
    model = la.Synthesizer(random_state=0).fit(df)
    assert model.schema_["user_id"].kind is la.ColumnKind.IDENTIFIER
    out = model.sample(2000)
    assert out["user_id"].is_unique and not out["user_id"].isin(df["user_id"]).any()
    assert out["user_id"].dtype == df["user_id"].dtype


def test_compiled_and_numpy_traversals_agree(fitted: la.Synthesizer) -> None:
    rng = np.random.default_rng(0)
    n_tokens = fitted.encoder_.n_tokens
    features = np.column_stack([rng.integers(-1, k, 2000) for k in n_tokens]).astype(np.float32)
    for model in fitted.trees_:
        for tree in model.trees:
            assert tree._compiled is not None
            np.testing.assert_array_equal(tree.leaves(features), tree.leaves_numpy(features))


def test_a_lone_outlier_is_never_released() -> None:
    values = [0.0] * 300 + [1.0] * 300 + [987654.32, 123.45]
    df = pd.DataFrame({"x": values, "c": ["a", "b"] * 301})
    out = la.Synthesizer(random_state=0).fit(df, schema={"x": "continuous"}).sample(5000)
    assert not out["x"].isin([987654.32, 123.45]).any()


def test_columns_whose_every_value_is_withheld_are_named_at_fit() -> None:
    """Eight rows: every age, date and flag is seen fewer than 5 times, so the model releases
    none of them and they come out missing. That was silent and read as a bug."""
    table = pd.DataFrame(
        {
            "age": [23, 35, 47, 52, 61, 29, 44, 38],
            "paid": [True, False] * 4,
            "when": pd.date_range("2024-01-01", periods=8, tz="UTC"),
            "city": ["Paris"] * 8,
        }
    )
    with pytest.warns(la.DataWarning, match=r"\['age', 'paid', 'when'\] have no value seen"):
        model = la.Synthesizer(random_state=0).fit(table)
    out = model.sample(50)
    assert out[["age", "paid", "when"]].isna().all().all() and out["city"].eq("Paris").all()


def test_small_tables_keep_their_spread() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"price": np.round(rng.normal(50, 10, 80), 2), "k": ["a", "b"] * 40})
    out = la.Synthesizer(random_state=0).fit(df).sample(200)
    # Every price is rare, yet the column keeps a spread instead of collapsing to one value.
    assert out["price"].nunique() > 20
    assert not out["price"].isin(df["price"]).all()


def test_edge_shapes_do_not_crash() -> None:
    ids = pd.DataFrame({"user_id": np.arange(20)})
    assert la.Synthesizer(random_state=0).fit(ids).sample(5)["user_id"].is_unique
    spikes = pd.DataFrame({"x": [1.0, 2.0, 3.0] * 20, "c": list("ab") * 30})
    model = la.Synthesizer(random_state=0).fit(spikes, schema={"x": "continuous"})
    assert set(model.sample(100)["x"]) <= {1.0, 2.0, 3.0}
    seeds = pd.DataFrame({"x": [1.0, 2.0], "c": [None, None]})
    assert model.sample(conditions=seeds)["x"].tolist() == [1.0, 2.0]
    flags = pd.DataFrame({"b": [True, False, None] * 10, "k": list("xyz") * 10})
    out = la.Synthesizer(random_state=0).fit(flags).sample(50)
    assert str(out["b"].dtype) == "boolean"


def test_sibling_seed_sequences_give_different_models(adult_small: pd.DataFrame) -> None:
    first, second = np.random.SeedSequence(42).spawn(2)
    a = la.Synthesizer(random_state=first).fit(adult_small).sample(200)
    b = la.Synthesizer(random_state=second).fit(adult_small).sample(200)
    assert not a.equals(b)


def test_conditions_match_labels_and_formats() -> None:
    df = pd.DataFrame(
        {
            "code": [1, 2, 3] * 20,
            "day": ["05/03/2020", "06/03/2020", "07/03/2020"] * 20,
            "v": np.arange(60.0),
        }
    )
    overrides = {"code": "categorical", "day": {"kind": "datetime", "datetime_format": "%d/%m/%Y"}}
    model = la.Synthesizer(random_state=0).fit(df, schema=overrides)
    # Code 2 goes with 6 March in every row (code 1 never does: the model would say so).
    seeds = pd.DataFrame({"code": [2.0, None], "day": [pd.Timestamp("2020-03-06"), None]})
    out = model.sample(conditions=seeds)
    assert out["code"].iloc[0] == 2
    assert out["day"].iloc[0] == "06/03/2020"


def test_clock_times_written_as_numbers_stay_valid_times() -> None:
    # HHMM departure times (230 distinct values, continuous): sampled times keep minutes < 60
    # because frequent values are drawn as themselves, not spread between quantiles.
    rng = np.random.default_rng(4)
    minutes = rng.choice(np.arange(5 * 60, 24 * 60, 5), 3000)
    table = pd.DataFrame(
        {"dep_time": minutes // 60 * 100 + minutes % 60, "late": rng.random(3000) < minutes / 2000}
    )
    synthetic = la.Synthesizer(random_state=0).fit(table).sample(3000)
    assert synthetic["dep_time"].dtype == table["dep_time"].dtype
    assert (synthetic["dep_time"] % 100 < 60).mean() > 0.999


def test_missing_values_that_follow_another_column_stay_together() -> None:
    # A cancelled flight has neither a departure nor an air time. The air time also depends
    # strongly on the destination, which the splitter would otherwise take first, leaving
    # leaves too small to set the few cancelled rows apart.
    rng = np.random.default_rng(5)
    n = 20_000
    dest = rng.integers(0, 40, n)
    cancelled = rng.random(n) < 0.03
    dep = np.where(cancelled, np.nan, rng.integers(500, 2300, n))
    air = np.where(cancelled, np.nan, 30 + 8 * dest + rng.integers(0, 15, n))
    table = pd.DataFrame({"dest": dest.astype(str), "dep_time": dep, "air_time": air})
    synthetic = la.Synthesizer(random_state=0).fit(table).sample(n)
    gone = synthetic["dep_time"].isna()
    assert 0.02 < gone.mean() < 0.04
    assert synthetic.loc[gone, "air_time"].isna().mean() > 0.97
    assert synthetic.loc[~gone, "air_time"].notna().mean() > 0.99


def test_a_range_condition_keeps_frequent_values_at_its_ends() -> None:
    # The cells that straddle the ends (written 603 and 890, between real times) are redrawn
    # inside the range; their draws are still the column's frequent values, not times like 8:72.
    rng = np.random.default_rng(6)
    minutes = rng.choice(np.arange(5 * 60, 24 * 60, 5), 4000)
    table = pd.DataFrame({"dep_time": minutes // 60 * 100 + minutes % 60, "x": rng.random(4000)})
    model = la.Synthesizer(random_state=0).fit(table)
    times = model.sample(5000, conditions={"dep_time": (603, 890)})["dep_time"]
    assert times.between(603, 890).all()
    assert (times % 100 < 60).all()


@pytest.fixture(scope="module")
def any_minute_model() -> tuple[pd.DataFrame, la.Synthesizer]:
    # Departures at any minute from 5:00 to 23:59, each time held by about two rows: too rare
    # to come back as themselves, so every row is spread inside its bin, on the clock.
    rng = np.random.default_rng(9)
    minutes = rng.integers(5 * 60, 24 * 60, 2500)
    table = pd.DataFrame(
        {"dep_time": minutes // 60 * 100 + minutes % 60, "late": rng.random(2500) < minutes / 2000}
    )
    return table, la.Synthesizer(random_state=0).fit(table)


def test_rare_clock_times_come_back_as_times(any_minute_model) -> None:
    table, model = any_minute_model
    times = model.sample(20_000, random_state=1)["dep_time"]
    assert (times % 100 < 60).all()
    assert times.max() <= 2359
    # The hour of day and its link to lateness are kept.
    real_hours = (table["dep_time"] // 100).value_counts(normalize=True)
    hours = (times // 100).value_counts(normalize=True)
    assert real_hours.sub(hours, fill_value=0.0).abs().sum() / 2 < 0.04


def test_conditions_and_rules_on_rare_clock_times_give_times(any_minute_model) -> None:
    _, model = any_minute_model
    # A range whose ends are no times (11:65, 12:75): the times inside it are 12:00-12:59.
    ranged = model.sample(3000, conditions={"dep_time": (1165, 1275)}, random_state=2)["dep_time"]
    assert ranged.between(1200, 1259).all()
    assert ranged.nunique() > 40
    with pytest.warns(la.DataWarning, match="1165 is no clock time"):
        model.sample(5, conditions={"dep_time": 1165}, random_state=3)
    with pytest.warns(la.DataWarning, match=r"1165(\.0)? is no clock time"):  # a seed cell too
        model.sample(conditions=pd.DataFrame({"dep_time": [np.nan, 1165]}), random_state=3)
    ruled = model.sample(3000, rules=["dep_time >= 1165", "dep_time != 1200"], random_state=3)
    times = ruled["dep_time"]
    assert (times % 100 < 60).all()
    assert (times >= 1201).all()


def test_numbers_written_as_text_round_trip_as_numbers() -> None:
    rng = np.random.default_rng(7)
    amounts = rng.lognormal(7, 1, 3000)
    table = pd.DataFrame(
        {
            "amount": [f"${a:,.2f}" for a in amounts],
            "rate": [f"{r:.1f}%" for r in rng.uniform(0, 20, 3000)],
        }
    )
    with pytest.warns(la.DataWarning, match="breaks rule"):
        model = la.Synthesizer(random_state=0).fit(table, rules=["amount <= 5000"])
    synthetic = model.sample(3000)
    pattern = r"^\$\d{1,3}(,\d{3})*\.\d{2}$"
    assert synthetic["amount"].str.match(pattern).all()
    assert synthetic["rate"].str.match(r"^\d{1,2}\.\d%$").all()
    numbers = synthetic["amount"].str.replace(r"[$,]", "", regex=True).astype(float)
    assert numbers.max() <= 5000
    # Learned as numbers: the median is near the real one, not a rare-category placeholder.
    assert abs(np.log(numbers.median()) - np.log(np.median(amounts[amounts <= 5000]))) < 0.15
    fixed = model.sample(5, conditions={"amount": "$1,000.00"})
    assert (fixed["amount"] == "$1,000.00").all()
    assert la.check_rules(synthetic, ["amount <= 5000"], schema=model.schema_).n_violations == 0


def test_a_range_condition_draws_its_end_cells_as_the_model_does() -> None:
    # Conditioned rows against rows of an unconditioned sample that fall in the range: 8:55, a
    # frequent value in the cell cut by the upper end, keeps its share (0.0283 by rejection; it
    # was 0.0236 when the cell was weighted by the share of its positions in the range).
    rng = np.random.default_rng(6)
    minutes = rng.choice(np.arange(5 * 60, 24 * 60, 5), 4000)
    table = pd.DataFrame({"dep_time": minutes // 60 * 100 + minutes % 60, "x": rng.random(4000)})
    model = la.Synthesizer(random_state=0).fit(table)
    plain = model.sample(1_000_000, random_state=1)["dep_time"]
    kept = plain[plain.between(603, 890)]
    conditioned = model.sample(len(kept), conditions={"dep_time": (603, 890)}, random_state=2)
    share = (conditioned["dep_time"] == 855).mean()
    assert abs(share - (kept == 855).mean()) < 0.002  # about 5 standard errors


def test_linked_amounts_stay_linked_on_default_credit(
    shared_dataset: Callable[[str], Path],
) -> None:
    # Six monthly bills and six payments, each tied to the months around it. With the common
    # leaf (36 rows here) for their bins, the 66 amount pairs' decile tables were 0.055 from the
    # training table's on average (total variation distance); with their own small, smoothed
    # leaves, 0.045. A 6,000-row real holdout is 0.044 from its training table.
    path = shared_dataset("default_credit/default_credit.csv")
    table = pd.read_csv(path).drop(columns=["id"]).head(24_000)
    model = la.Synthesizer(random_state=0).fit(table)
    assert model.min_samples_leaf_continuous_ < model.min_samples_leaf_
    synthetic = model.sample(len(table), random_state=0)
    amounts = [f"bill_amt{k}" for k in range(1, 7)] + [f"pay_amt{k}" for k in range(1, 7)]

    def deciles(frame: pd.DataFrame, column: str) -> np.ndarray:
        edges = np.unique(np.quantile(table[column], np.linspace(0, 1, 11)[1:-1]))
        return np.searchsorted(edges, frame[column], side="right")

    distances = []
    for i, a in enumerate(amounts):
        for b in amounts[i + 1 :]:
            shares = [
                np.bincount(deciles(f, a) * 11 + deciles(f, b), minlength=121) / len(f)
                for f in (table, synthetic)
            ]
            distances.append(0.5 * np.abs(shares[0] - shares[1]).sum())
    assert np.mean(distances) < 0.050


def test_csv_booleans_are_written_back_as_the_input_spelled_them(tmp_path: Path) -> None:
    n = 300
    rng = np.random.default_rng(0)
    paid = np.where(rng.random(n) < 0.3, "true", "false")
    shouted = np.where(rng.random(n) < 0.6, "TRUE", "FALSE").astype(object)
    shouted[::9] = ""
    pd.DataFrame({"paid": paid, "shouted": shouted, "x": np.arange(n) % 4}).to_csv(
        tmp_path / "real.csv", index=False
    )
    model = la.Synthesizer(random_state=0).fit(tmp_path / "real.csv")
    loaded = la.load(model.save(tmp_path / "m.lookalike"))
    for rows in (loaded.sample(200), loaded.sample(200, conditions={"paid": True})):
        assert str(rows["paid"].dtype) == "bool"  # booleans in memory, spelled in CSV
        la.write_table(rows, tmp_path / "synth.csv", force=True)
        written = pd.read_csv(tmp_path / "synth.csv", dtype=str, keep_default_na=False)
        assert set(written["paid"]) <= {"true", "false"}
        assert set(written["shouted"]) == {"TRUE", "FALSE", ""}


def test_a_leaf_over_many_values_holds_rows_per_value() -> None:
    # 60 ages, linked to a group: with leaves of one in 520 rows (at least 5) a leaf over the
    # ages would be a few people's exact ages; with 3 rows per token it holds at least 183.
    rng = np.random.default_rng(0)
    group = rng.integers(0, 4, 3_000)
    table = pd.DataFrame(
        {
            "group": group,
            "score": rng.integers(0, 50, 3_000),  # noise the trees can split on down to 5 rows
            "age": 20 + group * 10 + rng.integers(0, 30, 3_000),
        }
    )
    per_token = la.Synthesizer(random_state=0).fit(table)
    plain = la.Synthesizer(random_state=0, min_samples_leaf_per_token=0).fit(table)
    assert per_token.describe()["privacy"]["min_samples_leaf_per_token"] == 3.0
    n_tokens = per_token.encoder_.n_tokens[per_token.encoder_.modelled.index("age")]
    assert n_tokens >= 60

    def smallest_leaf(model: la.Synthesizer) -> float:
        j = list(model.order_).index(model.encoder_.modelled.index("age"))
        return min(float(t.leaf_counts.sum(axis=1).min()) for t in model.trees_[j].trees)

    assert smallest_leaf(per_token) >= 3 * n_tokens
    assert smallest_leaf(plain) < n_tokens
    # The link to the group survives the larger leaves.
    out = per_token.sample(3_000, random_state=1)
    assert out.groupby("group")["age"].mean().is_monotonic_increasing


@pytest.mark.parametrize(
    "call",
    [
        lambda model: model.sample(5, conditions={"age": 500}),
        lambda model: model.sample_with_report(5, conditions={"age": 500}),
        lambda model: model.sample_with_report(
            50, conditions={"sex": "Male"}, parity={"target": "income", "sensitive": ["sex"]}
        ),
    ],
)
def test_warnings_point_at_the_callers_line(fitted: la.Synthesizer, call) -> None:
    # However deep in the library a warning arises, it is shown at the line that called it.
    with pytest.warns(la.DataWarning) as record:
        call(fitted)
    assert [Path(w.filename).name for w in record] == [Path(__file__).name] * len(record)


def test_a_warning_while_reading_a_file_points_at_the_callers_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,\n1,2\n3,4\n")
    with pytest.warns(la.DataWarning, match="no name") as record:
        la.read_table(path)
    assert Path(record[0].filename).name == Path(__file__).name
