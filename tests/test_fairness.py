"""Tests of the fairness measurement: fairlearn's group metrics, representation, per-group fidelity
and privacy, downstream parity, and the report section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike.datasets import load_adult
from lookalike.errors import DataError
from lookalike.evaluate import EvaluationResult, evaluate
from lookalike.evaluate._fairness import (
    demographic_parity_difference,
    equalized_odds_difference,
    measure_fairness,
    selection_rates,
)
from lookalike.evaluate._prepare import prepare_tables
from lookalike.evaluate._result import FairnessResult, GroupFairness


def fairness_of(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    sensitive: tuple[str, ...],
    target: str | None = None,
    seed: int = 0,
) -> FairnessResult:
    """The fairness section alone (evaluate's other sections are not needed here)."""
    tables = prepare_tables(real, synthetic, holdout)
    return measure_fairness(tables, sensitive, target, np.random.default_rng(seed), 50_000)


def group(result: FairnessResult, column: str, name: str) -> GroupFairness:
    return next(g for g in result.groups if g.column == column and g.group == name)


@pytest.fixture(scope="module")
def adult_thirds() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three disjoint random slices of 3000 adult rows: training, 'synthetic' and holdout."""
    shuffled = load_adult().sample(n=9000, random_state=5).reset_index(drop=True)
    return shuffled.iloc[:3000], shuffled.iloc[3000:6000], shuffled.iloc[6000:9000]


# -- fairlearn's definitions, by hand ---------------------------------------------------------


def test_parity_differences_match_hand_computed_values() -> None:
    y_true = [1, 1, 0, 0, 1, 0, 0, 0]
    y_pred = [1, 0, 1, 0, 1, 1, 1, 0]
    groups = ["a"] * 4 + ["b"] * 4
    # Selection rates: a 2/4, b 3/4.
    assert selection_rates(y_pred, groups) == {"a": 0.5, "b": 0.75}
    assert demographic_parity_difference(y_true, y_pred, sensitive_features=groups) == 0.25
    # True-positive rates: a 1/2, b 1/1 (spread 1/2); false-positive rates: a 1/2, b 2/3.
    assert equalized_odds_difference(y_true, y_pred, sensitive_features=groups) == 0.5


def test_equalized_odds_uses_the_false_positive_spread_when_it_is_larger() -> None:
    y_true = [1, 0, 0, 1, 0, 0]
    y_pred = [1, 0, 0, 1, 1, 1]
    groups = ["a", "a", "a", "b", "b", "b"]
    # TPR 1 and 1 (spread 0); FPR 0 and 1 (spread 1).
    assert equalized_odds_difference(y_true, y_pred, sensitive_features=groups) == 1.0


def test_a_group_without_positives_is_left_out_of_the_true_positive_spread() -> None:
    y_true = [1, 0, 1, 0, 0, 0]
    y_pred = [1, 0, 0, 0, 1, 0]
    groups = ["a", "a", "b", "b", "c", "c"]
    # TPR: a 1, b 0, c undefined (spread 1); FPR: a 0, b 0, c 1/2.
    assert equalized_odds_difference(y_true, y_pred, sensitive_features=groups) == 1.0
    # Only a has positives and only b negatives: no spread is defined.
    assert np.isnan(equalized_odds_difference([1, 0], [1, 0], sensitive_features=["a", "b"]))


def test_group_metrics_reject_labels_that_are_not_yes_or_no() -> None:
    with pytest.raises(DataError, match="y_pred"):
        demographic_parity_difference([0, 1], [2, 1], sensitive_features=["a", "b"])
    with pytest.raises(DataError, match="sensitive_features"):
        demographic_parity_difference([0, 1], [0, 1], sensitive_features=["a"])


def test_parity_differences_agree_with_fairlearn() -> None:
    metrics = pytest.importorskip("fairlearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(5):
        y_true = rng.integers(0, 2, 400)
        y_pred = rng.integers(0, 2, 400)
        groups = rng.choice(["a", "b", "c", "d"], size=400, p=[0.6, 0.25, 0.1, 0.05])
        assert demographic_parity_difference(
            y_true, y_pred, sensitive_features=groups
        ) == pytest.approx(
            metrics.demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
        )
        assert equalized_odds_difference(
            y_true, y_pred, sensitive_features=groups
        ) == pytest.approx(
            metrics.equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
        )


# -- representation, fidelity and privacy by group --------------------------------------------


def test_representation_shares_are_exact_and_a_halved_minority_is_flagged() -> None:
    rng = np.random.default_rng(1)

    def table(n_minority: int, n: int = 4000) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "group": ["minority"] * n_minority + ["majority"] * (n - n_minority),
                "x": rng.normal(size=n),
            }
        )

    real, synthetic = table(400), table(200)
    result = fairness_of(real, synthetic, None, ("group",))
    minority = group(result, "group", "minority")
    assert (minority.real_share, minority.synthetic_share) == (0.1, 0.05)
    assert (minority.n_real_rows, minority.n_synthetic_rows) == (400, 200)
    assert minority.concerns and "under-represented" in minority.concerns[0]
    assert group(result, "group", "majority").concerns == ()
    assert result.verdict.rating in {"fair", "poor"}
    # Sampling noise is not a concern: 400 vs 390 minority rows.
    assert (
        group(fairness_of(real, table(390), None, ("group",)), "group", "minority").concerns == ()
    )


def test_a_fresh_real_sample_serves_every_group_and_is_rated_good(
    adult_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, holdout = adult_thirds
    result = fairness_of(train, other, holdout, ("sex", "race"))
    assert {g.column for g in result.groups} == {"sex", "race"}
    assert all(g.concerns == () for g in result.groups), [g.concerns for g in result.groups]
    assert result.verdict.rating == "good"
    female = group(result, "sex", "Female")
    assert female.holdout_univariate is not None and female.univariate is not None
    assert abs(female.holdout_univariate - female.univariate) < 0.02
    assert female.dcr_share is not None and 0.4 < female.dcr_share < 0.6
    assert sum(g.real_share for g in result.groups if g.column == "sex") == pytest.approx(1.0)


def test_a_minority_with_broken_relationships_is_flagged(
    adult_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, holdout = adult_thirds
    rng = np.random.default_rng(0)
    broken = other.reset_index(drop=True).copy()
    rows = np.flatnonzero(broken["race"].to_numpy() == "Black")
    # Within the group each column is shuffled on its own: marginals kept, pairs destroyed.
    for column in broken.columns:
        broken.loc[rows, column] = broken.loc[rows, column].to_numpy()[rng.permutation(len(rows))]
    result = fairness_of(train, broken, holdout, ("race",))
    black = group(result, "race", "Black")
    assert any(c.startswith("pairs of columns") for c in black.concerns), black.concerns
    assert not any(c.startswith("single columns") for c in black.concerns)
    assert group(result, "race", "White").concerns == ()
    assert result.verdict.rating in {"fair", "poor"}
    assert "race = Black" in result.verdict.explanation


def test_copied_minority_rows_are_flagged_as_a_privacy_concern(
    adult_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, holdout = adult_thirds
    copied = other.reset_index(drop=True).copy()
    rows = np.flatnonzero(copied["sex"].to_numpy() == "Female")
    training_women = train[train["sex"] == "Female"].reset_index(drop=True)
    copied.iloc[rows] = training_women.iloc[np.arange(len(rows)) % len(training_women)].to_numpy()
    result = fairness_of(train, copied, holdout, ("sex",))
    women, men = group(result, "sex", "Female"), group(result, "sex", "Male")
    assert women.exact_copy_share == pytest.approx(1.0)
    assert men.exact_copy_share == pytest.approx(0.0)
    assert women.dcr_share is not None and women.dcr_share > 0.95
    assert women.severe and any("closer to a training row" in c for c in women.concerns)
    assert result.verdict.rating == "poor"


def test_without_a_holdout_the_ceilings_and_distances_are_left_out(
    adult_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, _ = adult_thirds
    result = fairness_of(train, other, None, ("sex",))
    for g in result.groups:
        assert g.holdout_univariate is None and g.holdout_share is None
        assert g.dcr_share is None and g.n_dcr_rows == 0
        assert g.univariate is not None
    assert "holdout" in result.verdict.explanation


def test_numeric_sensitive_columns_are_grouped_by_their_bins() -> None:
    rng = np.random.default_rng(2)
    real = pd.DataFrame({"age": rng.integers(18, 90, 2000), "y": rng.normal(size=2000)})
    result = fairness_of(real, real.sample(frac=1.0, random_state=0), None, ("age",))
    assert len(result.groups) == 10
    assert all(g.synthetic_share == g.real_share for g in result.groups)


def test_tiny_groups_get_no_fidelity_score() -> None:
    real = pd.DataFrame({"g": ["big"] * 200 + ["tiny"] * 5, "x": np.arange(205) % 7})
    result = fairness_of(real, real.copy(), real.copy(), ("g",))
    tiny = group(result, "g", "tiny")
    assert tiny.univariate is None and tiny.bivariate is None
    assert group(result, "g", "big").univariate == pytest.approx(1.0)


# -- downstream parity ------------------------------------------------------------------------


def test_downstream_parity_by_each_sensitive_column(
    adult_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, holdout = adult_thirds
    result = fairness_of(train, other, holdout, ("sex", "race"), target="income")
    assert result.positive_label == ">50K"
    assert result.test_set == "holdout"
    assert [p.column for p in result.parity] == ["sex", "race"]
    for parity in result.parity:
        rates = [g.selection_rate for g in parity.groups]
        assert parity.demographic_parity_difference == pytest.approx(
            max(rates) - min(rates), abs=1e-5
        )
        real_rates = [g.real_selection_rate for g in parity.groups]
        assert parity.real_demographic_parity_difference == pytest.approx(
            max(real_rates) - min(real_rates), abs=1e-5
        )
        assert sum(g.n_rows for g in parity.groups) == holdout.shape[0]
    sex = result.parity[0]
    # Adult's well-known gap: men are predicted ">50K" far more often than women.
    men = next(g for g in sex.groups if g.group == "Male")
    women = next(g for g in sex.groups if g.group == "Female")
    assert men.selection_rate > women.selection_rate + 0.05
    assert "demographic parity difference" in result.verdict.explanation


def test_multiclass_targets_get_no_parity_but_a_reason() -> None:
    rng = np.random.default_rng(3)
    real = pd.DataFrame(
        {
            "g": rng.choice(["a", "b"], 600),
            "y": rng.choice(["u", "v", "w"], 600),
            "x": rng.normal(size=600),
        }
    )
    result = fairness_of(real, real.copy(), None, ("g",), target="y")
    assert result.parity == ()
    assert "3 classes" in result.verdict.explanation


# -- evaluate, JSON and the report ------------------------------------------------------------


#: A few columns keep the report (one figure per column) quick to render.
REPORT_COLUMNS = ["age", "education", "sex", "race", "hours_per_week", "income"]


@pytest.fixture(scope="module")
def evaluated(adult_thirds: tuple[pd.DataFrame, ...]) -> EvaluationResult:
    train, other, holdout = (t[REPORT_COLUMNS].head(800) for t in adult_thirds)
    return evaluate(train, other, holdout=holdout, target="income", sensitive=["sex", "race"])


def test_evaluate_reports_fairness_and_round_trips_through_json(
    evaluated: EvaluationResult,
) -> None:
    assert evaluated.fairness is not None
    assert evaluated.fairness.sensitive == ("sex", "race")
    assert dict(evaluated.settings)["sensitive"] == ["sex", "race"]
    data = json.loads(evaluated.to_json())
    assert data["fairness"]["parity"][0]["column"] == "sex"
    assert EvaluationResult.from_dict(data).fairness == evaluated.fairness


def test_evaluate_without_sensitive_columns_has_no_fairness_section(
    adult_thirds: tuple[pd.DataFrame, ...],
) -> None:
    train, other, _ = (t[["age", "sex"]].head(300) for t in adult_thirds)
    result = evaluate(train, other)
    assert result.fairness is None
    assert 'id="fairness"' not in result.to_html()
    # Results saved before fairness existed still load.
    data = result.to_dict()
    del data["fairness"]
    assert EvaluationResult.from_dict(data).fairness is None


def test_report_has_a_fairness_section_with_figures(evaluated: EvaluationResult) -> None:
    html = evaluated.to_html()
    section = html[html.index('<section id="fairness">') :]
    section = section[: section.index("</section>")]
    assert "By sex" in section and "By race" in section
    assert section.count("data:image/png;base64,") == 4  # groups and parity, per column
    assert "Amer-Indian-Eskimo" in section
    assert 'href="#fairness"' in html


def test_unknown_sensitive_columns_are_named(adult_thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, _ = (t.head(100) for t in adult_thirds)
    with pytest.raises(DataError, match="gender"):
        evaluate(train, other, sensitive=["gender"])
    with pytest.raises(DataError, match="sensitive"):
        evaluate(train, other, sensitive=[3])  # type: ignore[list-item]
    with pytest.raises(DataError, match="target 'income' cannot also be a sensitive"):
        evaluate(train, other, target="income", sensitive=["sex", "income"])


def test_same_seed_same_fairness_numbers(adult_thirds: tuple[pd.DataFrame, ...]) -> None:
    train, other, holdout = (t.head(600) for t in adult_thirds)
    first = fairness_of(train, other, holdout, ("sex",), target="income", seed=4)
    second = fairness_of(train, other, holdout, ("sex",), target="income", seed=4)
    assert first == second


def test_cli_report_takes_sensitive_columns(
    tmp_path: Path, adult_thirds: tuple[pd.DataFrame, ...]
) -> None:
    train, other, _ = (t[["age", "sex", "race", "income"]].head(400) for t in adult_thirds)
    real_csv, synthetic_csv = tmp_path / "real.csv", tmp_path / "synthetic.csv"
    train.to_csv(real_csv, index=False)
    other.to_csv(synthetic_csv, index=False)
    html, numbers = tmp_path / "report.html", tmp_path / "report.json"
    args = [real_csv, synthetic_csv, "--sensitive", "sex, race", "-o", html, "--json", numbers]
    result = CliRunner().invoke(app, ["report", *map(str, args)])
    assert result.exit_code == 0, result.output
    assert "fairness:" in result.output
    assert json.loads(numbers.read_text(encoding="utf-8"))["fairness"]["sensitive"] == [
        "sex",
        "race",
    ]
