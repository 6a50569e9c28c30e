"""Tests of lookalike.evaluate on small slices of the adult data and on hand-made tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lookalike.datasets import load_adult
from lookalike.errors import DataError, SchemaError
from lookalike.evaluate import EvaluationResult, evaluate
from lookalike.schema import ColumnKind, infer_schema


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    # The bundled copy of adult, so these tests never depend on files outside the package.
    return load_adult().head(3000)


@pytest.fixture(scope="module")
def thirds(adult: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three disjoint random slices of 1000 rows: training, 'synthetic' and holdout."""
    shuffled = adult.sample(frac=1.0, random_state=3).reset_index(drop=True)
    return shuffled.iloc[:1000], shuffled.iloc[1000:2000], shuffled.iloc[2000:3000]


def shuffle_columns(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each column permuted on its own: marginals kept, relationships destroyed."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(table[c].to_numpy()) for c in table.columns})


@pytest.fixture(scope="module")
def fresh_result(thirds: tuple[pd.DataFrame, ...]) -> EvaluationResult:
    train, other, holdout = thirds
    return evaluate(train, other, holdout=holdout, target="income", random_state=1)


def test_identical_tables_score_perfect_fidelity_and_all_copies(adult: pd.DataFrame) -> None:
    real = adult.iloc[:800]
    result = evaluate(real, real.copy(), random_state=0)
    assert result.fidelity.univariate == pytest.approx(1.0)
    assert result.fidelity.bivariate == pytest.approx(1.0)
    assert result.fidelity.trivariate == pytest.approx(1.0)
    assert result.privacy.exact_copy_share == pytest.approx(1.0)
    assert result.privacy.synthetic_dcr_median == pytest.approx(0.0)
    assert result.privacy.verdict.rating == "poor"
    assert result.summary.rating == "poor"


def test_arrow_and_polars_tables_are_read_as_fit_reads_them(adult: pd.DataFrame) -> None:
    import polars as pl
    import pyarrow as pa

    real, synthetic = adult.iloc[:400], adult.iloc[400:800].reset_index(drop=True)
    expected = evaluate(real, synthetic, random_state=0)
    as_arrow = evaluate(pa.Table.from_pandas(real), pl.from_pandas(synthetic), random_state=0)
    assert as_arrow.fidelity == expected.fidelity
    assert as_arrow.detection == expected.detection
    with pytest.raises(DataError, match="'synthetic' table must be a pandas or polars DataFrame"):
        evaluate(real, synthetic.to_numpy(), random_state=0)


def test_a_named_index_is_a_column_as_fit_reads_it(adult: pd.DataFrame) -> None:
    # A model of real.set_index("age") samples an age column; row numbers are only labels.
    real, synthetic = adult.iloc[:400], adult.iloc[400:800].reset_index(drop=True)
    result = evaluate(real.set_index("age"), synthetic.rename_axis("row"), random_state=0)
    assert "age" in [column.name for column in result.fidelity.columns]
    assert evaluate(real, synthetic, random_state=0).fidelity == result.fidelity


def test_fresh_real_sample_is_rated_good(fresh_result: EvaluationResult) -> None:
    assert fresh_result.fidelity.verdict.rating == "good"
    assert fresh_result.detection.auc is not None
    assert 0.35 < fresh_result.detection.auc < 0.62
    assert fresh_result.privacy.dcr_share is not None
    assert 0.4 < fresh_result.privacy.dcr_share < 0.6
    assert fresh_result.utility is not None
    assert fresh_result.utility.ratio is not None
    assert fresh_result.utility.ratio > 0.9


def test_holdout_ceiling_is_reported_only_with_a_holdout(
    thirds: tuple[pd.DataFrame, ...], fresh_result: EvaluationResult
) -> None:
    assert fresh_result.fidelity.holdout_bivariate is not None
    assert 0.8 < fresh_result.fidelity.holdout_bivariate <= 1.0
    assert all(c.holdout_accuracy is not None for c in fresh_result.fidelity.columns)
    without = evaluate(thirds[0], thirds[1], random_state=1)
    assert without.fidelity.holdout_univariate is None
    assert without.privacy.dcr_share is None
    assert without.privacy.holdout_dcr_median is None


def test_shuffled_columns_keep_marginals_but_lose_pairs(
    thirds: tuple[pd.DataFrame, ...], fresh_result: EvaluationResult
) -> None:
    train, other, holdout = thirds
    bad = evaluate(train, shuffle_columns(other), holdout=holdout, target="income", random_state=1)
    assert bad.fidelity.univariate == pytest.approx(fresh_result.fidelity.univariate, abs=1e-9)
    assert fresh_result.fidelity.bivariate is not None and bad.fidelity.bivariate is not None
    assert bad.fidelity.bivariate < fresh_result.fidelity.bivariate - 0.04
    assert bad.fidelity.verdict.rating != "good"
    assert bad.associations.mean_absolute_difference is not None
    assert fresh_result.associations.mean_absolute_difference is not None
    assert (
        bad.associations.mean_absolute_difference
        > 3 * fresh_result.associations.mean_absolute_difference
    )
    assert bad.detection.auc is not None and bad.detection.auc > 0.8
    assert bad.utility is not None and bad.utility.ratio is not None and bad.utility.ratio < 0.8
    # Education and its numeric code are tied 1:1 in real data; shuffling breaks exactly that.
    pair = next(p for p in bad.fidelity.pairs if set(p.columns) == {"education", "education_num"})
    assert pair.accuracy < 0.6


def test_detection_finds_an_obviously_different_table(thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, _ = thirds
    different = other.assign(age=other["age"] + 30, hours_per_week=other["hours_per_week"] * 3)
    result = evaluate(train, different, random_state=0)
    assert result.detection.auc is not None and result.detection.auc > 0.95
    assert result.detection.verdict.rating == "poor"


def test_copies_of_training_rows_sit_closer_than_the_holdout(
    thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, _, holdout = thirds
    copies = train.sample(n=1000, replace=True, random_state=5)
    result = evaluate(train, copies, holdout=holdout, random_state=0)
    assert result.privacy.exact_copy_share == pytest.approx(1.0)
    assert result.privacy.holdout_exact_copy_share is not None
    assert result.privacy.holdout_exact_copy_share < 0.01
    assert result.privacy.dcr_share is not None and result.privacy.dcr_share > 0.9
    assert result.privacy.synthetic_nndr_median < 0.1
    assert result.privacy.verdict.rating == "poor"


def test_zero_inflated_number_keeps_its_point_mass_in_a_bin_of_its_own(
    fresh_result: EvaluationResult,
) -> None:
    column = next(c for c in fresh_result.fidelity.columns if c.name == "capital_gain")
    assert column.labels[0] == "0"
    assert column.real_shares[0] > 0.8
    assert len(column.labels) > 3


def test_utility_tasks_follow_the_target(thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, holdout = thirds
    regression = evaluate(train, other, holdout=holdout, target="age", max_rows=500)
    assert regression.utility is not None
    assert (regression.utility.task, regression.utility.metric) == ("regression", "r2")
    assert regression.utility.real_score is not None and regression.utility.real_score > 0.2
    multiclass = evaluate(train.iloc[:500], other, target="race", max_rows=500)
    assert multiclass.utility is not None
    assert multiclass.utility.task == "multiclass"
    assert multiclass.utility.metric == "roc_auc_ovr_macro"
    assert "no holdout" in multiclass.utility.test_set
    assert multiclass.utility.n_test_rows == 100


def test_a_synthetic_feature_missing_everywhere_teaches_its_model_nothing() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    real = pd.DataFrame({"x": x, "y": np.where(x > 0, "a", "b")})
    result = evaluate(real, real.assign(x=np.nan), target="y", random_state=0)
    assert result.utility is not None
    assert result.utility.real_score is not None and result.utility.real_score > 0.9
    # Without x the synthetic model can only predict the class shares: chance.
    assert result.utility.synthetic_score == pytest.approx(0.5)
    assert result.utility.verdict.rating == "poor"


def test_an_infinite_target_is_left_out_like_a_missing_one() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    real = pd.DataFrame({"x": x, "y": np.r_[np.inf, 2 * x[1:] + rng.normal(size=299) / 10]})
    synthetic = real.assign(y=np.r_[2 * x[:-1], -np.inf])
    holdout = pd.DataFrame({"x": x[:100], "y": np.r_[np.nan, np.inf, 2 * x[2:100]]})
    result = evaluate(real, synthetic, holdout, target="y", random_state=0)
    assert result.utility is not None
    assert (result.utility.n_train_rows, result.utility.n_synthetic_rows) == (299, 299)
    assert result.utility.n_test_rows == 98
    assert result.utility.real_score is not None and result.utility.real_score > 0.9
    assert result.utility.synthetic_score is not None and result.utility.synthetic_score > 0.9


def test_the_task_names_the_classes_that_are_scored() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=300), "y": rng.choice(["a", "b"], 300)})
    holdout = real.assign(x=rng.normal(size=300), y=rng.choice(["a", "b", "c"], 300))
    synthetic = real.assign(x=rng.normal(size=300))
    result = evaluate(real, synthetic, holdout, target="y", random_state=0)
    assert result.utility is not None
    # The holdout's third class makes the score a macro one-vs-rest AUC over three classes.
    assert (result.utility.task, result.utility.metric) == ("multiclass", "roc_auc_ovr_macro")
    binary = evaluate(real, synthetic, holdout.assign(y=real["y"]), target="y", random_state=0)
    assert binary.utility is not None
    assert (binary.utility.task, binary.utility.metric) == ("binary", "roc_auc")


@pytest.mark.parametrize("values", [None, np.inf], ids=["missing", "infinite"])
def test_synthetic_data_without_a_target_is_of_no_use(values: float | None) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    real = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=300) / 10})
    synthetic = real.assign(x=rng.normal(size=300), y=values)
    result = evaluate(real, synthetic, target="y", random_state=0)
    assert result.utility is not None and result.utility.synthetic_score is None
    assert result.utility.verdict.rating == "poor"
    assert "0 row(s) with a value of the target" in result.utility.verdict.explanation


def test_a_target_nothing_predicts_is_not_rated(thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, holdout = thirds
    rng = np.random.default_rng(0)
    coin = [pd.Series(rng.choice(["heads", "tails"], len(t)), index=t.index) for t in thirds]
    result = evaluate(
        train.assign(coin=coin[0]),
        other.assign(coin=coin[1]),
        holdout=holdout.assign(coin=coin[2]),
        target="coin",
        max_rows=500,
    )
    assert result.utility is not None and result.utility.real_score is not None
    assert result.utility.real_score < 0.55  # a coin cannot be predicted
    # The ratio of two scores near chance is noise: it is shown, not rated.
    assert result.utility.verdict.rating == "not measured"
    assert "barely predicts the target" in result.utility.verdict.explanation


def test_detection_below_chance_is_explained() -> None:
    rng = np.random.default_rng(0)
    training = pd.DataFrame({"x": rng.integers(0, 100, 600)})
    fresh = pd.DataFrame({"x": rng.integers(0, 100, 2000)})
    resampled = training.sample(2000, replace=True, random_state=1)
    # Rows drawn from the training rows themselves: leaving one out tips its value to "synthetic".
    mirrored = evaluate(training, resampled, random_state=0).detection
    assert mirrored.auc is not None and mirrored.auc < 0.45
    assert "below chance" in mirrored.verdict.explanation
    assert mirrored.verdict.rating == "good"
    honest = evaluate(training, fresh, random_state=0).detection
    assert honest.auc is not None and abs(honest.auc - 0.5) < 0.05
    assert "below chance" not in honest.verdict.explanation


def test_detection_sets_the_synthetic_rows_against_the_holdout_when_given() -> None:
    rng = np.random.default_rng(0)
    training = pd.DataFrame({"x": rng.integers(0, 100, 600)})
    holdout = pd.DataFrame({"x": rng.integers(0, 100, 2000)})
    fresh = pd.DataFrame({"x": rng.integers(0, 100, 2000)})
    resampled = training.sample(2000, replace=True, random_state=1)
    # Against its own training rows the resample scores below chance (test above). Against rows
    # it never saw, its copy of 600 rows' chance frequencies is what gives it away.
    result = evaluate(training, resampled, holdout=holdout, random_state=0)
    assert result.detection.real_rows == "holdout"
    assert result.detection.auc is not None and result.detection.auc > 0.55
    assert "holdout" in result.detection.verdict.explanation
    assert "never saw" in result.to_html()
    honest = evaluate(training, fresh, holdout=holdout, random_state=0).detection
    assert honest.auc is not None and abs(honest.auc - 0.5) < 0.05
    assert evaluate(training, resampled, random_state=0).detection.real_rows == "training"


def test_mismatched_columns_are_named(thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, _ = thirds
    broken = other.drop(columns=["age"]).assign(shoe_size=1)
    with pytest.raises(DataError, match=r"synthetic.*'age'.*'shoe_size'"):
        evaluate(train, broken)
    with pytest.raises(DataError, match=r"holdout.*'race'"):
        evaluate(train, other, holdout=other.drop(columns=["race"]))


def test_bad_arguments_are_rejected(thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, _ = thirds
    with pytest.raises(DataError, match=r"'target'.*'salary'"):
        evaluate(train, other, target="salary")
    with pytest.raises(DataError, match="max_rows"):
        evaluate(train, other, max_rows=0)
    with pytest.raises(DataError, match="'synthetic' table must have at least one row"):
        evaluate(train, other.iloc[:0])
    with pytest.raises(DataError, match="'real' table must be a pandas or polars DataFrame"):
        evaluate([1, 2, 3], other)
    with pytest.raises(ValueError, match="random_state"):
        evaluate(train, other, random_state="seven")  # type: ignore[arg-type]


def test_text_in_a_numeric_column_is_reported(thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, _ = thirds
    broken = other.astype({"age": object})
    broken.iloc[3, broken.columns.get_loc("age")] = "old"
    with pytest.raises(DataError, match=r"'age' is numeric.*'old'"):
        evaluate(train, broken)


def test_numbers_written_as_text_are_read_with_the_real_tables_format() -> None:
    # "0,512 kg" makes the real table's format a decimal comma with three decimals; the
    # synthetic table, without values below 1, would on its own read "4,173 kg" as 4173.
    rng = np.random.default_rng(0)

    def kilograms(values: np.ndarray) -> list[str]:
        return [f"{v:.3f} kg".replace(".", ",") for v in values]

    weights = rng.uniform(1, 9, 400)
    weights[:3] = [0.512, 0.3, 0.7]
    real = pd.DataFrame({"w": kilograms(weights), "k": rng.choice(["a", "b"], 400)})
    synthetic = pd.DataFrame({"w": kilograms(rng.uniform(1, 9, 400)), "k": ["a", "b"] * 200})
    column = evaluate(real, synthetic).fidelity.columns[0]
    assert column.name == "w" and column.kind == "numeric"
    assert column.accuracy > 0.8


def test_all_missing_and_constant_columns() -> None:
    rng = np.random.default_rng(0)
    n = 300
    real = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.choice(["a", "b", "c"], size=n),
            "empty": np.full(n, np.nan),
            "empty_text": pd.Series([None] * n, dtype="string"),
            "constant": np.ones(n),
        }
    )
    synthetic = real.assign(x=rng.normal(size=n), y=rng.choice(["a", "b", "c"], size=n))
    holdout = real.assign(x=rng.normal(size=n)).iloc[:100]  # fresh rows, not training rows
    result = evaluate(real, synthetic, holdout=holdout, random_state=0)
    by_name = {c.name: c for c in result.fidelity.columns}
    assert by_name["empty"].accuracy == pytest.approx(1.0)
    assert by_name["empty"].labels == ("(missing)",)
    assert by_name["constant"].accuracy == pytest.approx(1.0)
    index = result.associations.columns.index("constant")
    assert result.associations.real[index][0] is None
    json.loads(result.to_json())  # no NaN slips into the JSON
    half_missing = synthetic.assign(constant=np.where(np.arange(n) % 2 == 0, 1.0, np.nan))
    worse = evaluate(real, half_missing, random_state=0)
    constant = next(c for c in worse.fidelity.columns if c.name == "constant")
    assert constant.accuracy == pytest.approx(0.5)


def test_infinite_features_are_ranked_beyond_every_number() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    x[:20], x[20:40] = np.inf, -np.inf
    real = pd.DataFrame({"x": x, "y": np.where(x > 0, "a", "b")})
    synthetic = real.assign(x=-x)  # the infinities change sides, and the classes with them
    # Warnings are errors here: the tree binning averaged inf with -inf into NaN.
    result = evaluate(real, synthetic, target="y", random_state=0)
    assert result.detection.auc is not None and result.detection.auc > 0.9
    assert result.utility is not None
    assert result.utility.real_score is not None and result.utility.real_score > 0.9
    assert result.utility.synthetic_score is not None and result.utility.synthetic_score < 0.1


def _column_accuracy(real: pd.DataFrame, synthetic: pd.DataFrame, name: str) -> float:
    result = evaluate(real, synthetic, random_state=0)
    return next(c.accuracy for c in result.fidelity.columns if c.name == name)


def _outside_support_cases() -> dict[str, tuple[pd.DataFrame, pd.DataFrame, float]]:
    rng = np.random.default_rng(0)
    n = 400
    noise = {"z": rng.normal(size=n)}  # a second column, so no table is all one value
    x = rng.uniform(size=n)
    k = rng.choice([1, 2, 3], n)
    categories = np.array([f"c{i:02d}" for i in range(20)])
    drawn = categories[np.arange(2000) % 20]  # 20 equally common categories
    rare = np.isin(drawn, categories[10:])
    shifted = pd.DataFrame({"x": x, **noise}), pd.DataFrame({"x": x + 5, **noise})
    return {
        "shifted": (*shifted, 0.0),
        "new value": (pd.DataFrame({"k": k, **noise}), pd.DataFrame({"k": 100, **noise}), 0.0),
        "other constant": (
            pd.DataFrame({"k": 5.0, **noise}),
            pd.DataFrame({"k": 7.0, **noise}),
            0.0,
        ),
        "values where real has none": (
            pd.DataFrame({"e": np.nan, **noise}),
            pd.DataFrame({"e": 1.0, **noise}),
            0.0,
        ),
        "unseen categories": (
            pd.DataFrame({"c": drawn}),
            pd.DataFrame({"c": np.where(rare, "never-seen", drawn)}),
            0.5,
        ),
        "opposite infinities": (
            pd.DataFrame({"i": np.inf, **noise}),
            pd.DataFrame({"i": -np.inf, **noise}),
            0.0,
        ),
    }


@pytest.mark.parametrize("case", list(_outside_support_cases()))
def test_values_the_real_table_lacks_count_as_mismatches(case: str) -> None:
    real, synthetic, expected = _outside_support_cases()[case]
    name = str(real.columns[0])
    assert _column_accuracy(real, synthetic, name) == pytest.approx(expected)


def test_values_beyond_the_real_range_are_shown_and_lower_the_ceiling() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.uniform(size=400)})
    synthetic = pd.DataFrame({"x": rng.uniform(size=400) + 0.5})
    inside = rng.uniform(real["x"].min(), real["x"].max(), size=390)
    holdout = pd.DataFrame({"x": np.r_[inside, np.full(10, 2.0)]})
    column = evaluate(real, synthetic, holdout, random_state=0).fidelity.columns[0]
    high = real["x"].max()
    assert column.labels[-2:] == (f"(above {high:.4g})", "(missing)")
    above = column.labels.index(f"(above {high:.4g})")
    assert column.real_shares[above] == 0.0
    assert column.synthetic_shares[above] == pytest.approx((synthetic["x"] > high).mean())
    assert column.holdout_shares is not None and column.holdout_shares[above] == 0.025
    # The holdout's values beyond the training range count against the ceiling too.
    assert column.holdout_accuracy is not None and column.holdout_accuracy < 0.975 + 0.001
    # Bins no table uses are left out of the result.
    assert not any(label.startswith("(below") for label in column.labels)
    assert "(+inf)" not in column.labels and "(not in real data)" not in column.labels


@pytest.mark.parametrize(
    "numbers",
    [np.linspace(-1.0, 1.0, 400), np.arange(400), pd.array(np.arange(400), dtype="Int64")],
    ids=["floats", "ints", "nullable ints"],
)
def test_numbers_are_not_taken_for_dates_either_way(numbers: Any) -> None:
    times = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=400, freq="h")})
    as_numbers = times.assign(t=numbers)
    with pytest.raises(DataError, match=r"Column 't' is datetime in the real table, but the synth"):
        evaluate(times, as_numbers, random_state=0)
    with pytest.raises(DataError, match=r"Column 't' is numeric in the real table, but the synth"):
        evaluate(as_numbers, times, random_state=0)
    # One number among datetime objects is named too; dates as text or objects are read.
    mixed = pd.Series([*times["t"].iloc[:-1], 5], dtype=object)
    with pytest.raises(DataError, match=r"holds 1 value\(s\) that are not, such as 5\."):
        evaluate(times, times.assign(t=mixed), random_state=0)
    as_text = times.assign(t=times["t"].dt.strftime("%Y-%m-%d %H:%M"))
    as_objects = times.assign(t=pd.Series(list(times["t"].dt.to_pydatetime()), dtype=object))
    assert evaluate(times, as_text, random_state=0).fidelity.univariate == pytest.approx(1.0)
    assert evaluate(times, as_objects, random_state=0).fidelity.univariate == pytest.approx(1.0)


@pytest.mark.parametrize(
    "categories",
    [[1.0, 2.0], [1, 2], ["1", "2"], [True, False]],
    ids=["floats", "ints", "text", "booleans"],
)
def test_a_categorical_is_compared_by_its_categories_own_values(categories: list[Any]) -> None:
    rng = np.random.default_rng(0)
    values = categories * 200
    real = pd.DataFrame({"k": pd.Categorical(values), "x": rng.normal(size=400)})
    plain = pd.Series(values, dtype="boolean" if isinstance(values[0], bool) else None)
    # The plain column has the same values, so the tables are the same rows.
    for real_side, synthetic_side in ((real, real.assign(k=plain)), (real.assign(k=plain), real)):
        result = evaluate(real_side, synthetic_side, random_state=0)
        k = next(c for c in result.fidelity.columns if c.name == "k")
        assert k.accuracy == pytest.approx(1.0)
        assert result.privacy.exact_copy_share == pytest.approx(1.0)
    missing = real.assign(k=pd.Categorical([None, *values[1:]], categories=categories))
    assert evaluate(
        missing, missing.assign(k=plain.where(plain.index > 0)), random_state=0
    ).fidelity.univariate == pytest.approx(1.0)


def test_a_missing_number_is_one_from_every_number_in_the_distance() -> None:
    from lookalike.evaluate._privacy import _DistanceEncoding

    train = pd.DataFrame({"x": np.linspace(0.0, 100.0, 101), "c": ["a", "b"] * 50 + [None]})
    encoding = _DistanceEncoding.fit(train, ("numeric", "categorical"))
    rows = pd.DataFrame({"x": [np.nan, 1.0, 50.0, 99.0, -1e9, np.inf], "c": "a"})
    points = encoding.transform(rows)

    def distance(i: int, j: int) -> float:
        # Before dividing by encoding.scale: the root of the summed squared column differences.
        return float(np.linalg.norm(points[i] - points[j]))

    # Missing against any number counts 1, whether the number is low, high or clipped.
    assert [distance(0, j) ** 2 for j in range(1, 6)] == pytest.approx([1.0] * 5)
    # Numbers 1 and 50, half the robust range (1 to 99) apart, differ by the chord of 0.5.
    assert distance(1, 2) == pytest.approx(2 * np.sin(0.25))
    # A missing category against a present one counts 1 too.
    missing_category = encoding.transform(rows.assign(c=[None] * 6))
    assert float(np.linalg.norm(points[1] - missing_category[1])) ** 2 == pytest.approx(1.0)


def test_datetime_columns_are_binned_as_numbers() -> None:
    rng = np.random.default_rng(1)
    n = 500
    start = np.datetime64("2020-01-01")
    days = rng.integers(0, 365, size=n)
    real = pd.DataFrame(
        {"when": start + days.astype("timedelta64[D]"), "v": days + rng.normal(size=n)}
    )
    # The synthetic copy gives dates as ISO text: converted to the real table's kind.
    as_text = real.assign(when=real["when"].dt.strftime("%Y-%m-%d"))
    same = evaluate(real, as_text, random_state=0)
    assert same.fidelity.columns[0].kind == "datetime"
    assert same.fidelity.univariate == pytest.approx(1.0)
    assert same.fidelity.columns[0].labels[0].startswith("2020-01")
    shifted = evaluate(
        real, real.assign(when=real["when"] + pd.Timedelta(days=180)), random_state=0
    )
    assert shifted.fidelity.columns[0].accuracy < 0.6
    assert shifted.fidelity.columns[1].accuracy == pytest.approx(1.0)


def test_json_round_trip(fresh_result: EvaluationResult, tmp_path: Path) -> None:
    data = fresh_result.to_dict()
    assert json.loads(fresh_result.to_json()) == data
    rebuilt = EvaluationResult.from_dict(json.loads(json.dumps(data)))
    assert rebuilt.to_dict() == data
    assert rebuilt.fidelity.columns[0].labels == fresh_result.fidelity.columns[0].labels
    path = tmp_path / "result.json"
    text = fresh_result.to_json(path)
    assert path.read_text(encoding="utf-8") == text
    with pytest.raises(DataError, match="format_version"):
        EvaluationResult.from_dict({**data, "format_version": 99})


def test_same_seed_same_numbers(thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, holdout = thirds

    def numbers(seed: int) -> dict[str, object]:
        data = evaluate(
            train.iloc[:400], other.iloc[:400], holdout=holdout.iloc[:400], random_state=seed
        ).to_dict()
        data["settings"].pop("seconds")
        return data

    first = numbers(4)
    assert numbers(4) == first
    assert numbers(5) != first


def test_column_order_and_dtypes_of_the_synthetic_table_do_not_matter(
    thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, _ = thirds
    reordered = other[list(reversed(other.columns))].astype(
        {"age": "float64", "education_num": str}
    )
    a = evaluate(train, other, random_state=2).to_dict()
    b = evaluate(train, reordered, random_state=2).to_dict()
    assert a["fidelity"]["columns"] == b["fidelity"]["columns"]
    assert a["privacy"]["exact_copy_share"] == b["privacy"]["exact_copy_share"]


def test_attacks_run_only_with_a_holdout(
    thirds: tuple[pd.DataFrame, ...], fresh_result: EvaluationResult
) -> None:
    privacy = fresh_result.privacy
    assert privacy.membership_inference is not None
    # 1000 holdout rows: 500 non-members, 500 members, the other 500 holdout rows as reference.
    assert privacy.membership_inference.n_members == 500
    assert privacy.membership_inference.n_reference_rows == 500
    assert abs(privacy.membership_inference.auc - 0.5) < 0.08
    for attack in (privacy.singling_out, privacy.linkability, privacy.attribute_inference):
        assert attack is not None
        assert attack.risk_ci[0] <= 0.05
        assert attack.verdict.explanation.endswith(".")
    assert "coin flip" in privacy.membership_inference.verdict.explanation
    assert "privacy_attacks" in dict(fresh_result.settings)["seconds"]
    without = evaluate(thirds[0], thirds[1], random_state=1)
    assert without.privacy.membership_inference is None
    assert without.privacy.singling_out is None


def test_copies_are_caught_by_the_attacks_and_survive_json(
    thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, _, holdout = thirds
    result = evaluate(train, train.copy(), holdout=holdout, random_state=0)
    privacy = result.privacy
    assert privacy.membership_inference is not None
    assert privacy.membership_inference.auc > 0.95
    assert privacy.singling_out is not None and privacy.singling_out.verdict.rating == "poor"
    assert privacy.verdict.rating == "poor"
    loaded = EvaluationResult.from_dict(json.loads(result.to_json()))
    assert loaded.privacy.membership_inference == privacy.membership_inference
    assert loaded.privacy.attribute_inference == privacy.attribute_inference


# --- columns regenerated by design: keys and PII -------------------------------------------------


@pytest.fixture(scope="module")
def keyed_thirds(thirds: tuple[pd.DataFrame, ...]) -> tuple[pd.DataFrame, ...]:
    """The thirds with a key and an e-mail column; each table has its own keys and addresses,
    as lookalike's output would (new keys, fake e-mails)."""
    out = []
    for k, table in enumerate(thirds):
        ids = np.arange(len(table)) + 10_000 * (k + 1)
        keyed = table.assign(email=[f"person{i}@example.org" for i in ids])
        keyed.insert(0, "customer_id", ids)
        out.append(keyed)
    return tuple(out)


@pytest.fixture(scope="module")
def keyed_result(keyed_thirds: tuple[pd.DataFrame, ...]) -> EvaluationResult:
    train, other, holdout = (table.iloc[:600] for table in keyed_thirds)
    return evaluate(train, other, holdout=holdout, target="income", random_state=1)


def test_keys_and_pii_would_give_the_fakes_away(keyed_thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, _ = (table.iloc[:600] for table in keyed_thirds)
    compared = {"customer_id": "discrete", "email": {"kind": "categorical", "pii": None}}
    result = evaluate(train, other, schema=compared, random_state=1)
    assert result.excluded_columns == {}
    assert result.detection.auc is not None and result.detection.auc > 0.98
    assert result.detection.verdict.rating == "poor"


def test_keys_and_pii_are_not_compared(keyed_result: EvaluationResult) -> None:
    assert keyed_result.excluded_columns == {
        "customer_id": "key, regenerated",
        "email": "PII, replaced with fakes",
    }
    assert keyed_result.summary.rating == "good"
    assert keyed_result.detection.auc is not None and keyed_result.detection.auc < 0.62
    assert keyed_result.privacy.verdict.rating == "good"
    names = {c.name for c in keyed_result.fidelity.columns}
    assert names.isdisjoint(keyed_result.excluded_columns)
    assert len(names) == 15
    assert set(keyed_result.associations.columns) == names
    assert {c for p in keyed_result.fidelity.pairs for c in p.columns} <= names
    attributes = keyed_result.privacy.attribute_inference
    assert attributes is not None
    assert {c.column for c in attributes.columns} <= names
    settings = dict(keyed_result.settings)
    assert settings["n_columns"] == 15
    assert set(settings["column_kinds"]) == names


def test_excluded_columns_survive_json(keyed_result: EvaluationResult) -> None:
    data = json.loads(keyed_result.to_json())
    assert data["excluded_columns"] == keyed_result.excluded_columns
    assert EvaluationResult.from_dict(data).excluded_columns == keyed_result.excluded_columns
    # Results saved before the field existed read back with no excluded columns.
    older = {k: v for k, v in data.items() if k != "excluded_columns"}
    assert EvaluationResult.from_dict(older).excluded_columns == {}
    with pytest.raises(DataError, match="excluded_columns"):
        EvaluationResult.from_dict({**data, "excluded_columns": ["email"]})


def test_schema_decides_what_is_compared(keyed_thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, _ = (table.iloc[:300] for table in keyed_thirds)
    schema = infer_schema(train, {"email": {"pii": None}})
    assert schema["email"].kind is ColumnKind.IDENTIFIER  # unique values: still a key
    result = evaluate(train, other, schema=schema, max_rows=300)
    assert result.excluded_columns == {
        "customer_id": "key, regenerated",
        "email": "key, regenerated",
    }
    marked = evaluate(train, other, schema={"race": {"pii": "text"}}, max_rows=300)
    assert marked.excluded_columns["race"] == "PII, replaced with fakes"
    with pytest.raises(SchemaError, match=r"schema lacks \['email'\]"):
        evaluate(train, other, schema=infer_schema(train.drop(columns=["email"])))
    with pytest.raises(SchemaError, match="unknown column"):
        evaluate(train, other, schema={"shoe_size": "categorical"})


def test_target_and_sensitive_columns_must_be_compared(
    keyed_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, _ = (table.iloc[:200] for table in keyed_thirds)
    with pytest.raises(DataError, match=r"'target'.*'customer_id'.*key, regenerated"):
        evaluate(train, other, target="customer_id")
    with pytest.raises(DataError, match=r"'sensitive'.*'email'.*PII, replaced with fakes"):
        evaluate(train, other, sensitive=["sex", "email"])
    with pytest.raises(DataError, match=r"'sensitive'.*'email'"):
        evaluate(train, other, sensitive="email")
    # Still compared columns of the tables: the usual errors.
    with pytest.raises(DataError, match=r"'target'.*'salary'"):
        evaluate(train, other, target="salary")


def test_a_table_of_keys_only_has_nothing_to_compare(
    keyed_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, _ = (table[["customer_id", "email"]].iloc[:100] for table in keyed_thirds)
    with pytest.raises(DataError, match=r"Every column.*customer_id \(key, regenerated\)"):
        evaluate(train, other)
    # The columns are still checked first.
    with pytest.raises(DataError, match=r"synthetic.*'email'"):
        evaluate(train, other.drop(columns=["email"]))


def test_the_summary_counts_every_rated_section() -> None:
    from lookalike.evaluate._verdicts import Verdict, overall_verdict

    good, poor = Verdict("good", "."), Verdict("poor", ".")
    assert (
        overall_verdict(good, good, None, good).explanation == "Every measured aspect looks good."
    )
    # A poor fairness or guarantee is not summed up as "good".
    unfair = overall_verdict(good, good, None, good, fairness=poor)
    assert unfair.rating == "poor" and "fairness is poor" in unfair.explanation
    both = overall_verdict(poor, poor, None, good, guarantee=Verdict("not measured", "."))
    assert both.explanation.endswith("fidelity and detection are poor.")


def test_an_attack_risk_above_zero_is_not_called_no_better() -> None:
    from lookalike.evaluate._verdicts import attack_risk_verdict

    details = "secret column 'grade'"
    clear = attack_risk_verdict("attribute inference", 0.02, (0.0, 0.1), 0.5, 0.1, details)
    assert clear.rating == "good" and "works no better" in clear.explanation
    # The interval excludes 0 but not the 0.05 limit: good, and the risk is said to be there
    # ("works not clearly better" beside an interval that excludes 0 read as the opposite).
    hedged = attack_risk_verdict("attribute inference", 0.19, (0.049, 0.34), 0.5, 0.1, details)
    assert hedged.rating == "good" and "works better for training people" in hedged.explanation
    assert "not clearly by more than 0.05" in hedged.explanation
    assert "not clearly better" not in hedged.explanation


def test_dates_written_as_text_are_binned_as_dates(tmp_path: Path) -> None:
    # A CSV holds dates as text: the report reads them by the real table's schema, as fit does,
    # not as a category per day.
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, 600), "D")
    table = pd.DataFrame({"signup": days.strftime("%d/%m/%Y"), "x": rng.normal(size=600)})
    table.to_csv(tmp_path / "real.csv", index=False)
    result = evaluate(tmp_path / "real.csv", tmp_path / "real.csv", max_rows=600)
    assert dict(result.settings)["column_kinds"]["signup"] == "datetime"
    # Day first, as the schema inferred: 13/01/2020 is not read as a 13th month.
    shifted = table.assign(signup=(days + pd.Timedelta(days=400)).strftime("%d/%m/%Y"))
    moved = evaluate(table, shifted, schema={"signup": {"kind": "datetime"}}, max_rows=600)
    assert moved.fidelity.univariate < result.fidelity.univariate


def test_a_holdout_made_of_training_rows_is_refused(adult: pd.DataFrame) -> None:
    real, synthetic = adult.iloc[:1_500], adult.iloc[1_500:]
    for holdout in (real, pd.concat([real.iloc[:500], synthetic.iloc[:500]])):
        with pytest.raises(DataError, match="holdout's rows are also rows of the real"):
            evaluate(real, synthetic, holdout=holdout)
    # Rows repeated by chance in a table of few values are not mistaken for an overlap, even
    # when the training table was deduplicated (its own repeat rate is then 0).
    coarse = adult[["sex", "race", "workclass", "income", "relationship"]]
    deduplicated = coarse.iloc[:2_000].drop_duplicates()
    fresh = coarse.iloc[2_000:2_600]
    assert row_hashes_shared(fresh, deduplicated) > 0.2  # a real chance overlap, above the limit
    evaluate(deduplicated, coarse.iloc[2_600:3_000], holdout=fresh)


def row_hashes_shared(table: pd.DataFrame, reference: pd.DataFrame) -> float:
    keys = set(map(tuple, reference.astype(str).to_numpy()))
    return float(np.mean([tuple(row) in keys for row in table.astype(str).to_numpy()]))


def test_tables_too_small_to_rate_are_shown_but_not_rated(adult: pd.DataFrame) -> None:
    real, holdout = adult.iloc[:2_000], adult.iloc[2_000:]
    tiny = real.sample(3, random_state=0)
    result = evaluate(real, tiny, holdout=holdout, target="income", sensitive=["sex"])
    assert result.privacy.exact_copy_share == 1.0  # measured,
    sections = (result.fidelity, result.detection, result.privacy, result.utility, result.fairness)
    for section in sections:
        assert section is not None and section.verdict.rating == "not measured"  # not rated
        assert "Not rated: 3 rows are too few" in section.verdict.explanation
    assert result.summary.rating == "not measured"
    # A tiny holdout is as good as none for rating: privacy's distances use that many rows.
    small_holdout = evaluate(real, real.sample(500, random_state=1), holdout=holdout.head(3))
    assert small_holdout.privacy.verdict.rating == "not measured"
    enough = evaluate(real, real.sample(300, random_state=0), holdout=holdout)
    assert enough.fidelity.verdict.rating != "not measured"


def test_bin_labels_write_four_digit_numbers_without_separators() -> None:
    # A year reads wrong as 2,013; amounts of five digits and more keep their separators.
    rng = np.random.default_rng(11)
    table = pd.DataFrame(
        {
            "year": rng.integers(1990, 2021, 400),
            "amount": rng.integers(10_000, 2_000_000, 400),
        }
    )
    result = evaluate(table.iloc[:200], table.iloc[200:], random_state=0)
    labels = {c.name: " ".join(c.labels) for c in result.fidelity.columns}
    assert "1990" in labels["year"] and "2,0" not in labels["year"]
    assert "," in labels["amount"]


def test_evaluation_shows_its_sections_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line showed a spinner for minutes on large tables; a bar names each section."""
    import io

    from rich.console import Console

    import lookalike._progress

    screen = io.StringIO()
    monkeypatch.setattr(
        lookalike._progress,
        "Console",
        lambda stderr: Console(file=screen, force_terminal=True, width=100),
    )
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=300), "y": rng.choice(["a", "b"], 300)})
    result = evaluate(
        real.iloc[:200], real.iloc[100:300], holdout=real.iloc[200:], target="y", progress=True
    )
    assert "Evaluating" in screen.getvalue()
    assert set(dict(result.settings)["seconds"]) == {
        "fidelity",
        "detection",
        "utility",
        "privacy",
        "privacy_attacks",
        "total",
    }
    quiet = io.StringIO()
    monkeypatch.setattr(lookalike._progress, "Console", lambda stderr: Console(file=quiet))
    evaluate(real.iloc[:200], real.iloc[100:300], progress=True)
    assert quiet.getvalue() == ""  # not a terminal: nothing drawn
