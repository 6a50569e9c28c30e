"""Tests of stress tests and experiments on small hand-made tables."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression

import lookalike as la
from lookalike.errors import ConditionError, DataError, DataWarning
from lookalike.evaluate._result import Verdict
from lookalike.scenarios import ExperimentResult, ScenarioScore, StressTestResult, VariantScore


class TableSynthesizer:
    """A stand-in synthesizer: returns the rows of a fixed table that match the conditions."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        self.calls: list[dict[str, Any]] = []

    def sample(self, n: int, *, conditions: Any = None, **settings: Any) -> pd.DataFrame:
        self.calls.append({"n": n, "conditions": conditions, **settings})
        rows = self.table
        for column, value in (conditions or {}).items():
            rows = rows[rows[column] == value]
        return rows.reset_index(drop=True)


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sex": ["F", "F", "F", "F", "M", "M", "M", "M"],
            "age": [25, 35, 45, 55, 25, 35, 45, 55],
            "label": ["yes", "no", "no", "no", "yes", "yes", "no", "yes"],
        }
    )


def always_yes(rows: pd.DataFrame) -> list[str]:
    return ["yes"] * len(rows)


# -- stress_test ------------------------------------------------------------------------------


def test_a_trivial_model_scores_as_computed_by_hand(people: pd.DataFrame) -> None:
    synthesizer = TableSynthesizer(people)
    result = la.stress_test(
        always_yes,
        synthesizer,
        {"women": {"conditions": {"sex": "F"}}, "men": {"conditions": {"sex": "M"}}},
        "label",
        groups=["sex"],
    )
    assert result.metric == "accuracy" and result.positive_label == "yes"
    scores = {s.name: s.score for s in result.scenarios}
    # "yes" is right for 4 of 8 rows, 1 of 4 women, 3 of 4 men.
    assert scores == {"baseline": 0.5, "women": 0.25, "men": 0.75}
    baseline = result.scenarios[0]
    assert baseline.base_rate == 0.5 and baseline.prediction_rate == 1.0
    assert {(g.group, g.score, g.n_rows) for g in baseline.groups} == {
        ("F", 0.25, 4),
        ("M", 0.75, 4),
    }
    assert [g.group for g in result.scenarios[1].groups] == ["F"]


def test_probabilities_are_scored_by_roc_auc(people: pd.DataFrame) -> None:
    # P(yes) falls with age: right for everyone but the 35-year-old woman and 55-year-old man.
    def by_age(rows: pd.DataFrame) -> np.ndarray:
        return 1.0 - rows["age"].to_numpy() / 100

    result = la.stress_test(
        by_age, TableSynthesizer(people), {"women": {"conditions": {"sex": "F"}}}, "label"
    )
    assert result.metric == "roc_auc"
    women = result.scenarios[1]
    assert women.score == 1.0  # the youngest woman is the only "yes"
    # Two classes of probability columns, in sorted order ("no", "yes"), work the same way.
    two_columns = la.stress_test(
        lambda rows: np.column_stack([1 - by_age(rows), by_age(rows)]),
        TableSynthesizer(people),
        {"women": {"conditions": {"sex": "F"}}},
        "label",
    )
    assert [s.score for s in two_columns.scenarios] == [s.score for s in result.scenarios]


def test_a_scenario_where_the_metric_is_undefined_scores_none(people: pd.DataFrame) -> None:
    result = la.stress_test(
        lambda rows: np.full(len(rows), 0.7),
        TableSynthesizer(people),
        {"only yes": {"conditions": {"label": "yes"}}},
        "label",
        metric="roc_auc",
    )
    assert result.scenarios[1].score is None
    assert json.loads(result.to_json())["scenarios"][1]["score"] is None


def test_other_settings_pass_through_to_sample(people: pd.DataFrame) -> None:
    synthesizer = TableSynthesizer(people)
    la.stress_test(
        always_yes,
        synthesizer,
        [{"shift": {"age": {"mean": "+10"}}, "n": 50}],
        "label",
        n=20,
        random_state=3,
        baseline=False,
    )
    (call,) = synthesizer.calls
    assert call["shift"] == {"age": {"mean": "+10"}}
    assert call["n"] == 50
    assert isinstance(call["random_state"], int)


def test_every_scenario_is_drawn_with_the_same_seed(people: pd.DataFrame) -> None:
    synthesizer = TableSynthesizer(people)
    la.stress_test(always_yes, synthesizer, {"a": {}, "b": {}}, "label", random_state=1)
    seeds = {call["random_state"] for call in synthesizer.calls}
    assert len(seeds) == 1


@pytest.fixture(scope="module")
def toy_model() -> tuple[pd.DataFrame, la.Synthesizer]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 100, 600)
    data = pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=600),
            "group": rng.choice(["a", "b"], 600),
            "y": np.where(x < 50, "low", "high"),
        }
    )
    return data, la.Synthesizer(random_state=0).fit(data)


def test_stress_test_on_a_real_synthesizer_with_conditions(
    toy_model: tuple[pd.DataFrame, la.Synthesizer],
) -> None:
    _, model = toy_model
    scenarios = {
        "low only": {"conditions": {"y": "low"}},
        "high only": {"conditions": {"y": "high"}},
    }

    def always_low(rows: pd.DataFrame) -> list[str]:
        return ["low"] * len(rows)

    result = la.stress_test(
        always_low, model, scenarios, "y", n=300, groups=["group"], random_state=0
    )
    scores = {s.name: s.score for s in result.scenarios}
    assert scores["low only"] == 1.0 and scores["high only"] == 0.0
    assert 0.3 < scores["baseline"] < 0.7
    assert all(s.n_rows == 300 for s in result.scenarios)
    again = la.stress_test(
        always_low, model, scenarios, "y", n=300, groups=["group"], random_state=0
    )
    pd.testing.assert_frame_equal(again.to_frame(), result.to_frame())
    pd.testing.assert_frame_equal(again.to_frame(by_group=True), result.to_frame(by_group=True))


def test_stress_test_result_is_a_table_json_a_figure_and_a_page(
    toy_model: tuple[pd.DataFrame, la.Synthesizer],
) -> None:
    _, model = toy_model
    result = la.stress_test(
        lambda rows: (rows["x"].to_numpy() < 50).astype(float) * 0.8 + 0.1,
        model,
        {"older": {"conditions": {"x": (60, 99)}}},
        "y",
        n=200,
        groups=["group", "x"],
        positive="low",
    )
    frame = result.to_frame()
    assert list(frame["scenario"]) == ["baseline", "older"]
    assert set(result.to_frame(by_group=True)["column"]) == {"group", "x"}
    assert json.loads(result.to_json())["metric"] == "roc_auc"
    assert isinstance(result.plot(), Figure)
    html = result.to_html()
    assert "Stress test" in html and "data:image/png;base64," in html and "older" in html


def test_stress_test_errors_name_the_problem(
    people: pd.DataFrame, toy_model: tuple[pd.DataFrame, la.Synthesizer]
) -> None:
    _, model = toy_model
    with pytest.raises(DataError, match="colour"):
        la.stress_test(always_yes, model, {"bad": {"colour": "red"}}, "y")
    with pytest.raises(ConditionError, match="Scenario 'bad'"):
        la.stress_test(always_yes, model, {"bad": {"conditions": {"nope": 1}}}, "y")
    with pytest.raises(DataError, match="'target'"):
        la.stress_test(always_yes, TableSynthesizer(people), {}, "income")
    with pytest.raises(DataError, match="predict"):
        la.stress_test("model", TableSynthesizer(people), {}, "label")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="shape"):
        la.stress_test(lambda rows: [1, 2], TableSynthesizer(people), {}, "label")
    with pytest.raises(DataError, match="metric"):
        la.stress_test(always_yes, TableSynthesizer(people), {}, "label", metric="r2")


# -- experiment -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_holdout() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 100, 400)
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=400),
            "group": rng.choice(["a", "b"], 400),
            "y": np.where(x < 50, "low", "high"),
        }
    )


def test_the_clearly_better_variant_tops_the_leaderboard(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame
) -> None:
    data, model = toy_model
    variants = [
        {"name": "one class", "n": 300, "conditions": {"y": "low"}},
        {"name": "plenty", "n": 600},
    ]
    result = la.experiment(data, model, variants, "y", toy_holdout, progress=False, random_state=0)
    names = [v.name for v in result.variants]
    assert result.metric == "roc_auc"
    assert names[-1] == "one class" and result.variants[-1].score == 0.5
    assert result.variants[0].score is not None and result.variants[0].score > 0.95
    assert set(names) == {"real data only", "plenty", "one class"}
    assert [v.rank for v in result.variants] == [1, 2, 3]
    assert result.best is result.variants[0]


def test_experiment_is_deterministic_and_independent_of_parallelism(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame
) -> None:
    data, model = toy_model
    variants = la.variant_grid(n=[100, 400], real=[0.0, 0.5])
    runs = [
        la.experiment(
            data, model, variants, "y", toy_holdout, n_jobs=jobs, progress=False, random_state=7
        )
        for jobs in (1, 2, 1)
    ]

    def board(result: la.ExperimentResult) -> list[tuple[Any, ...]]:
        return [(v.name, v.score, v.sample_seed, v.n_train_rows) for v in result.variants]

    assert board(runs[0]) == board(runs[1]) == board(runs[2])
    mixed = next(v for v in runs[0].variants if v.name == "n=400, real=0.5")
    assert (mixed.n_synthetic_rows, mixed.n_real_rows) == (400, 300)


def test_a_variant_rebuilds_from_its_sample_seed(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame
) -> None:
    data, model = toy_model
    calls: list[int] = []

    class Recording(la.Synthesizer):
        def sample(self, n: int | None = None, **settings: Any) -> pd.DataFrame:
            calls.append(settings["random_state"])
            return model.sample(n, **settings)

    recording = Recording(random_state=0)
    recording.__dict__.update({k: v for k, v in vars(model).items() if k.endswith("_")})
    result = la.experiment(
        data, recording, [{"n": 100}], "y", toy_holdout, include_real=False, progress=False
    )
    assert calls == [result.variants[0].sample_seed]


def test_a_custom_model_and_json_and_figure(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame
) -> None:
    data, _ = toy_model
    numeric = data[["x", "z", "y"]]
    holdout = toy_holdout[["x", "z", "y"]]
    fitted = la.Synthesizer(random_state=1).fit(numeric)
    result = la.experiment(
        numeric,
        fitted,
        [{"n": 300}],
        "y",
        holdout,
        model=LogisticRegression(),
        metric="accuracy",
        progress=False,
    )
    assert result.metric == "accuracy"
    assert all(v.score is not None and v.score > 0.85 for v in result.variants)
    data_dict = json.loads(result.to_json())
    assert [v["name"] for v in data_dict["variants"]] == list(result.to_frame()["variant"])
    assert isinstance(result.plot(), Figure)
    assert "Experiment leaderboard" in result.to_html()


def test_params_refit_and_an_unfitted_synthesizer_is_fitted_on_a_copy(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame
) -> None:
    data, _ = toy_model
    unfitted = la.Synthesizer(random_state=2)
    result = la.experiment(
        data,
        unfitted,
        [{"n": 200}, {"n": 200, "params": {"n_trees": 1}}],
        "y",
        toy_holdout,
        include_real=False,
        progress=False,
    )
    assert not hasattr(unfitted, "trees_")
    assert len({v.name for v in result.variants}) == 2
    assert all(v.score is not None for v in result.variants)


@pytest.mark.parametrize(("n_jobs", "refit_jobs"), [(1, None), (2, 1)])
def test_variants_refitted_side_by_side_grow_their_trees_on_one_thread(
    toy_model: tuple[pd.DataFrame, la.Synthesizer],
    toy_holdout: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    n_jobs: int,
    refit_jobs: int | None,
) -> None:
    # k variants on k threads, each refit on every CPU, would run k x CPUs threads.
    data, model = toy_model
    fit = la.Synthesizer.fit
    asked: list[int | None] = []

    def recording_fit(
        self: la.Synthesizer, data: Any, *args: Any, n_jobs: int | None = None, **kwargs: Any
    ) -> la.Synthesizer:
        asked.append(n_jobs)
        return fit(self, data, *args, n_jobs=n_jobs, **kwargs)

    monkeypatch.setattr(la.Synthesizer, "fit", recording_fit)
    variants = la.variant_grid(n=[200], params=[{"n_trees": 1}, {"n_trees": 2}])
    la.experiment(data, model, variants, "y", toy_holdout, n_jobs=n_jobs, progress=False)
    assert asked == [refit_jobs, refit_jobs]


def test_variants_can_refit_with_differential_privacy(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame
) -> None:
    data, model = toy_model
    result = la.experiment(
        data,
        model,
        la.variant_grid(n=[300], params=[{"epsilon": 1.0}, {"epsilon": 8.0}]),
        "y",
        toy_holdout,
        include_real=False,
        progress=False,
    )
    assert [v.status for v in result.variants] == ["ok", "ok"]
    assert {v.name for v in result.variants} == {
        "n=300, params={epsilon: 1.0}",
        "n=300, params={epsilon: 8.0}",
    }
    assert all(v.score is not None for v in result.variants)
    # The fitted model passed in is not refitted in place.
    assert getattr(model, "epsilon", None) is None


def test_variant_grid_and_bad_variants() -> None:
    grid = la.variant_grid(n=[10, 20], rebalance=[None, {"y": {"low": 0.5}}])
    assert grid == [
        {"n": 10},
        {"n": 10, "rebalance": {"y": {"low": 0.5}}},
        {"n": 20},
        {"n": 20, "rebalance": {"y": {"low": 0.5}}},
    ]
    with pytest.raises(DataError, match="non-empty list"):
        la.variant_grid(n=10)  # type: ignore[arg-type]


def test_experiment_errors_name_the_problem(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame
) -> None:
    data, model = toy_model
    with pytest.raises(DataError, match="'real'"):
        la.experiment(data, model, [{"real": 1.5}], "y", toy_holdout, progress=False)
    with pytest.raises(DataError, match="no training rows"):
        la.experiment(data, model, [{"n": 0}], "y", toy_holdout, progress=False)
    with pytest.raises(DataError, match="'target'"):
        la.experiment(data, model, [{"n": 10}], "income", toy_holdout, progress=False)
    with pytest.raises(DataError, match="unique"):
        la.experiment(data, model, [{"n": 10}, {"n": 10}], "y", toy_holdout, progress=False)
    # Every variant failed (no real-data variant to fall back on): the first error is raised.
    with pytest.raises(ConditionError, match="Variant 'n=10, conditions") as raised:
        la.experiment(
            data,
            model,
            [{"n": 10, "conditions": {"nope": 1}}, {"n": 20, "conditions": {"nope": 2}}],
            "y",
            toy_holdout,
            include_real=False,
            progress=False,
        )
    assert "Every one of the 2 variants failed" in " ".join(raised.value.__notes__)


def test_scenarios_from_the_control_package_are_accepted(
    toy_model: tuple[pd.DataFrame, la.Synthesizer],
) -> None:
    _, model = toy_model
    scenario = la.Scenario.from_dict({"name": "low only", "conditions": {"y": "low"}})
    result = la.stress_test(
        lambda rows: ["low"] * len(rows), model, [scenario], "y", n=100, random_state=0
    )
    assert [s.name for s in result.scenarios] == ["baseline", "low only"]
    assert result.scenarios[1].score == 1.0
    assert result.scenarios[1].settings["conditions"] == {"y": "low"}


# -- failures, verdicts, JSON both ways ------------------------------------------------------------


class FailsOnFewRows(LogisticRegression):
    """A scikit-learn model that refuses small training sets (a failure lookalike did not raise)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FailsOnFewRows:
        if len(X) < 100:
            raise RuntimeError("too few rows to fit")
        return super().fit(X, y, sample_weight)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_failing_variant_is_recorded_ranks_last_and_the_others_still_run(
    toy_model: tuple[pd.DataFrame, la.Synthesizer], toy_holdout: pd.DataFrame, n_jobs: int
) -> None:
    data, _ = toy_model
    numeric = data[["x", "z", "y"]]
    fitted = la.Synthesizer(random_state=1).fit(numeric)
    variants = [
        {"name": "unknown column", "n": 200, "conditions": {"nope": 1}},
        {"name": "tiny", "n": 50},
        {"name": "plenty", "n": 300},
    ]
    with pytest.warns(DataWarning, match="2 of 4 variants failed") as caught:
        result = la.experiment(
            numeric,
            fitted,
            variants,
            "y",
            toy_holdout[["x", "z", "y"]],
            model=FailsOnFewRows(),
            n_jobs=n_jobs,
            progress=False,
        )
    assert len(caught) == 1
    assert {v.name for v in result.variants[:2]} == {"real data only", "plenty"}
    assert [v.status for v in result.variants] == ["ok", "ok", "failed", "failed"]
    assert {v.name for v in result.failed} == {"unknown column", "tiny"}
    errors = {v.name: v.error for v in result.failed}
    assert errors["tiny"] == "RuntimeError: too few rows to fit"
    assert str(errors["unknown column"]).startswith("ConditionError:")
    assert "nope" in str(errors["unknown column"])
    assert all(v.score is None for v in result.failed)
    assert [v.rank for v in result.variants] == [1, 2, 3, 4]
    frame = result.to_frame()
    assert list(frame["status"]) == ["ok", "ok", "failed", "failed"]
    assert frame["error"].iloc[3] is not None
    assert "2 of 4 variants failed" in result.verdict.explanation
    assert "too few rows to fit" in result.to_html()
    assert ExperimentResult.from_dict(result.to_dict()).to_dict() == result.to_dict()


def _stress(scores: dict[str, float | None], metric: str = "roc_auc") -> StressTestResult:
    return StressTestResult(
        target="y",
        task="binary",
        metric=metric,
        higher_is_better=metric not in {"mae", "rmse"},
        positive_label="yes",
        scenarios=tuple(
            ScenarioScore(name, {}, 100, value, None, None, (), 0.0)
            for name, value in scores.items()
        ),
        random_state=0,
    )


@pytest.mark.parametrize(
    ("older", "rating"), [(0.89, "good"), (0.86, "fair"), (0.80, "poor"), (0.95, "good")]
)
def test_the_stress_verdict_rates_the_worst_loss_against_the_baseline(
    older: float, rating: str
) -> None:
    verdict = _stress({"baseline": 0.90, "older": older, "younger": 0.91}).verdict
    assert verdict.rating == rating
    weakest = "'older'" if older < 0.91 else "'younger'"
    assert f"weakest scenario, {weakest}" in verdict.explanation
    assert "0.900 on 'baseline'" in verdict.explanation


def test_the_stress_verdict_of_an_error_metric_is_relative_and_needs_a_reference() -> None:
    assert _stress({"baseline": 10.0, "older": 10.5}, "mae").verdict.rating == "good"
    assert _stress({"baseline": 10.0, "older": 12.0}, "mae").verdict.rating == "fair"
    assert _stress({"baseline": 10.0, "older": 14.0}, "mae").verdict.rating == "poor"
    assert _stress({"baseline": None, "older": 0.8}).verdict.rating == "not measured"
    assert _stress({"baseline": 0.9}).verdict.rating == "not measured"


def _board(real: float | None, synthetic: float) -> ExperimentResult:
    def variant(rank: int, name: str, score: float | None, n_synthetic: int) -> VariantScore:
        return VariantScore(rank, name, {}, score, 100, n_synthetic, 100 - n_synthetic, 0, 0.0)

    variants = [variant(1, "n=100", synthetic, 100)]
    if real is not None:
        variants.append(variant(2, "real data only", real, 0))
    return ExperimentResult("y", "binary", "roc_auc", True, 50, tuple(variants), "0")


def test_the_experiment_verdict_compares_the_best_synthetic_variant_with_real_data() -> None:
    assert _board(0.90, 0.91).verdict.rating == "good"
    assert _board(0.90, 0.87).verdict.rating == "fair"
    assert _board(0.90, 0.80).verdict.rating == "poor"
    assert _board(None, 0.80).verdict == Verdict(
        "not measured",
        "The best variant, 'n=100', scores 0.800; without a model trained on the real data "
        "alone (include_real=True) there is nothing to compare it with.",
    )


def test_stress_results_read_back_from_their_json(
    toy_model: tuple[pd.DataFrame, la.Synthesizer],
) -> None:
    _, model = toy_model
    result = la.stress_test(
        lambda rows: ["low" if x < 50 else "high" for x in rows["x"]],
        model,
        {"older": {"conditions": {"x": (60, 99)}}},
        "y",
        n=200,
        groups=["group"],
        random_state=0,
    )
    data = json.loads(result.to_json())
    assert data["verdict"]["rating"] == result.verdict.rating
    again = StressTestResult.from_dict(data)
    assert again.to_dict() == data
    assert again.scenarios[1].groups == result.scenarios[1].groups
    with pytest.raises(DataError, match="incomplete"):
        StressTestResult.from_dict({"target": "y"})
