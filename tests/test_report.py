"""Tests of the HTML report rendered from evaluation results."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lookalike.control import ControlReport, TargetResult
from lookalike.datasets import load_adult
from lookalike.errors import DataError, OutputExistsError
from lookalike.evaluate import EvaluationResult, evaluate
from lookalike.report import _html, render_html
from lookalike.scenarios import (
    ExperimentResult,
    GroupScore,
    ScenarioScore,
    StressTestResult,
    VariantScore,
)

SECTIONS = ("summary", "fidelity", "columns", "associations", "detection", "utility", "privacy")


@pytest.fixture(scope="module")
def result() -> EvaluationResult:
    adult = load_adult().head(1500)
    return evaluate(
        adult.iloc[:600], adult.iloc[600:1100], holdout=adult.iloc[1100:], target="income"
    )


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report") / "report.html"


@pytest.fixture(scope="module")
def html(result: EvaluationResult, report_path: Path) -> str:
    return result.to_html(report_path)


def test_report_has_every_section_and_verdict(html: str, result: EvaluationResult) -> None:
    for section in SECTIONS:
        assert f'id="{section}"' in html
    assert result.summary.explanation in html
    assert result.privacy.verdict.explanation.replace("'", "&#39;") in html
    for column in result.fidelity.columns:
        assert f"<b>{column.name}</b>" in html


def test_report_explains_every_attack(html: str, result: EvaluationResult) -> None:
    privacy = result.privacy
    assert 'id="attacks"' in html
    assert privacy.membership_inference is not None
    assert "Membership inference ROC curve" in html
    for attack in (privacy.singling_out, privacy.linkability, privacy.attribute_inference):
        assert attack is not None
        assert attack.verdict.explanation.replace("'", "&#39;") in html
    assert "Attribute inference, column by column" in html


def test_report_is_self_contained(html: str) -> None:
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    assert references
    assert not [r for r in references if re.match(r"(?i)(https?:)?//", r)]
    assert "http://" not in html and "https://" not in html
    images = re.findall(r'<img src="([^"]*)"', html)
    # One figure per column, the association matrices, the distance histogram and the ROC curve
    # of the membership attack.
    assert len(images) == 15 + 3
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "<script" not in html.lower()


def test_report_renders_the_same_from_json(result: EvaluationResult, html: str) -> None:
    loaded = json.loads(result.to_json())
    assert render_html(loaded) == html


def test_to_html_writes_the_file(
    result: EvaluationResult, html: str, report_path: Path, tmp_path: Path
) -> None:
    assert report_path.read_text(encoding="utf-8") == html
    # Written through a temporary file that is renamed: nothing else is left beside it.
    assert [p.name for p in report_path.parent.iterdir()] == ["report.html"]
    with pytest.raises(DataError, match="does not exist"):
        result.to_html(tmp_path / "missing" / "report.html")


def test_report_without_holdout_or_target_leaves_those_parts_out() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=200), "y": rng.choice(["a", "b"], size=200)})
    html = evaluate(real, real.sample(frac=1.0, random_state=1)).to_html()
    assert 'id="utility"' not in html
    assert "holdout (ceiling)" not in html
    assert 'id="privacy"' in html
    assert "Give a holdout table" in html


def test_names_are_escaped() -> None:
    rng = np.random.default_rng(0)
    name = "<script>alert(1)</script>"
    real = pd.DataFrame({name: rng.normal(size=100), "b": rng.choice(["<i>", "x"], size=100)})
    html = evaluate(real, real.copy()).to_html()
    assert name not in html
    assert "&lt;script&gt;" in html


def test_wide_tables_plot_only_the_least_faithful_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({f"c{j}": rng.normal(size=150) for j in range(5)})
    synthetic = real.assign(c3=real["c3"] + 3.0)  # one badly reproduced column
    monkeypatch.setattr(_html, "MAX_COLUMN_PLOTS", 2)
    html = render_html(evaluate(real, synthetic))
    assert "showing the 2 least faithful of 5 columns" in html
    assert "<b>c3</b>" in html
    column_images = re.findall(r'alt="distribution of (\w+), real', html)
    assert len(column_images) == 2 and "c3" in column_images


def test_render_html_rejects_other_values() -> None:
    with pytest.raises(DataError, match="format_version"):
        render_html({"summary": {}})
    with pytest.raises(DataError, match="EvaluationResult"):
        render_html(42)  # type: ignore[arg-type]


def test_report_names_the_columns_it_did_not_compare() -> None:
    rng = np.random.default_rng(0)
    n = 200

    def table(first_id: int) -> pd.DataFrame:
        ids = np.arange(first_id, first_id + n)
        return pd.DataFrame(
            {
                "customer_id": ids,
                "email": [f"client{i}@example.org" for i in ids],
                "x": rng.normal(size=n),
                "y": rng.choice(["a", "b"], size=n),
            }
        )

    html = evaluate(table(0), table(1000)).to_html()
    sentence = "Not compared: customer_id (key, regenerated), email (PII, replaced with fakes)"
    assert sentence in html
    # Near the top: before the summary.
    assert html.index(sentence) < html.index('id="summary"')
    assert "<b>email</b>" not in html
    assert "Not compared" not in evaluate(table(0)[["x", "y"]], table(1000)[["x", "y"]]).to_html()


def _rules_and_controls_result() -> EvaluationResult:
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {
            "x": rng.normal(size=300),
            "city": rng.choice(["Lyon", "Nice"], size=300),
            "sex": rng.choice(["F", "M"], size=300),
        }
    )
    real["country"] = "FR"
    synthetic = real.sample(frac=1.0, random_state=1).reset_index(drop=True)
    synthetic.loc[:9, "country"] = "DE"  # ten invented (city, country) combinations
    controls = ControlReport(
        n_rows=300,
        targets=(
            TargetResult("condition", "sex", "sex == F", 1.0, 1.0),
            TargetResult("rebalance", "city", "share of 'Nice'", 0.6, 0.58, model=0.5),
            TargetResult("shift", "x", "mean", 0.5, 0.49, model=0.0),
        ),
        conditional_tvd={"sex": 0.0, "country": 0.04},
        diagnostics={"conditional_tvd_noise": 0.02},
    )
    return evaluate(
        real,
        synthetic,
        rules=["x >= 0", "city within country", 'sex in ("F", "M")'],
        controls=controls,
    )


def test_report_shows_rules_and_controls() -> None:
    result = _rules_and_controls_result()
    assert result.rules is not None
    real, synthetic = result.rules.real_report(), result.rules.synthetic_report()
    assert real["city within country"].n_violations == 0  # learned from the real table
    assert synthetic["city within country"].n_violations == 10
    assert result.rules.notes[1] is not None and "seen in the real table" in result.rules.notes[1]
    assert result.rules.verdict.rating == "poor"
    html = result.to_html()
    assert 'id="rules"' in html and 'id="controls"' in html
    assert '<a href="#rules">' in html and '<a href="#controls">' in html
    # The real data breaks 'x >= 0': a warning line, not a failure.
    assert len(result.rules.warnings) == 1
    assert "The real data breaks &#39;x &gt;= 0&#39;" in html
    assert "share of &#39;Nice&#39;" in html and "0.5800" in html
    assert "sampling noise alone gives about 0.020" in html
    # The controlled column does not appear among the other columns that moved.
    moved = html[html.index("TVD given the controlled columns") :]
    assert "<td>country</td>" in moved and "<td>sex</td>" not in moved
    # Two more figures than without them: the rules and the controls.
    plain = dataclasses.replace(result, rules=None, controls=None).to_html()
    assert 'id="rules"' not in plain and 'id="controls"' not in plain
    images = re.compile(r'<img src="data:image/png;base64,')
    assert len(images.findall(html)) == len(images.findall(plain)) + 2


def test_rules_and_controls_survive_json() -> None:
    result = _rules_and_controls_result()
    loaded = EvaluationResult.from_dict(json.loads(result.to_json()))
    assert loaded == result
    assert loaded.controls is not None and loaded.controls.to_dict() == result.controls.to_dict()
    assert render_html(loaded) == result.to_html()
    # A result saved before rules and controls existed still loads, without them.
    older = result.to_dict()
    del older["rules"], older["controls"]
    assert EvaluationResult.from_dict(older).rules is None


def test_rules_are_checked_before_the_slow_sections() -> None:
    real = pd.DataFrame({"x": np.arange(20.0)})
    with pytest.raises(DataError, match="'rules' parameter: rule 'y > 0' names column"):
        evaluate(real, real, rules=["y > 0"])
    with pytest.raises(DataError, match="'controls' parameter must be a ControlReport"):
        evaluate(real, real, controls={"n_rows": 1})  # type: ignore[arg-type]


# -- stress tests and experiments as sections of the report ----------------------------------------


def _stress_result(older: float) -> StressTestResult:
    groups = (GroupScore("sex", "F", 40, older - 0.1), GroupScore("sex", "M", 60, older))
    return StressTestResult(
        target="income",
        task="binary",
        metric="roc_auc",
        higher_is_better=True,
        positive_label=">50K",
        scenarios=(
            ScenarioScore("baseline", {}, 100, 0.9, 0.25, 0.2, groups, 0.1),
            ScenarioScore(
                "older", {"shift": {"age": {"mean": "+10"}}}, 100, older, 0.4, 0.3, groups, 0.1
            ),
        ),
        random_state=0,
    )


def _experiment_result() -> ExperimentResult:
    return ExperimentResult(
        target="income",
        task="binary",
        metric="roc_auc",
        higher_is_better=True,
        n_holdout_rows=300,
        variants=(
            VariantScore(1, "real data only", {}, 0.88, 500, 0, 500, 1, 0.5),
            VariantScore(2, "n=1000", {"n": 1000}, 0.86, 1000, 1000, 0, 2, 0.5),
            VariantScore(3, "bad shift", {}, None, 0, 0, 0, 3, 0.1, "failed", "ConditionError: no"),
        ),
        seed_entropy="0",
    )


@pytest.fixture(scope="module")
def small_result() -> EvaluationResult:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=200), "y": rng.choice(["a", "b"], size=200)})
    return evaluate(real, real.sample(frac=1.0, random_state=1))


def test_stress_tests_and_experiments_become_sections_of_the_report(
    small_result: EvaluationResult,
) -> None:
    plain = small_result.to_html()
    stress, poor_stress, board = _stress_result(0.89), _stress_result(0.7), _experiment_result()
    html = small_result.to_html(extra=[stress, board, poor_stress])
    for anchor in ("stress-test", "experiment", "stress-test-2"):
        assert f'<section id="{anchor}">' in html and f'href="#{anchor}"' in html
    for result in (stress, board, poor_stress):
        assert result.verdict.explanation.replace("'", "&#39;") in html
    assert stress.verdict.rating == "good" and poor_stress.verdict.rating == "poor"
    assert '<span class="badge poor">poor</span>' in html
    assert "Stress test 2" in html  # the summary card and link of the second stress test
    assert "ConditionError: no" in html
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == len(re.findall(r'<img src="', plain)) + 3
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in html and "https://" not in html
    # The report's own part is unchanged, and the standalone pages still work.
    assert plain.split('<section id="details">')[1] == html.split('<section id="details">')[1]
    assert "<h1>Stress test: income</h1>" in stress.to_html()
    assert "<h1>Experiment leaderboard: income</h1>" in board.to_html()


def test_extra_sections_must_be_scenario_results(small_result: EvaluationResult) -> None:
    with pytest.raises(DataError, match="StressTestResult"):
        small_result.to_html(extra=[small_result])
    with pytest.raises(DataError, match="list of stress-test"):
        small_result.to_html(extra=_stress_result(0.9))  # type: ignore[arg-type]


# -- writing results to files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        lambda result, path, **kw: result.to_html(path, **kw),
        lambda result, path, **kw: result.to_json(path, **kw),
        lambda _, path, **kw: _stress_result(0.9).to_html(path, **kw),
        lambda _, path, **kw: _stress_result(0.9).to_json(path, **kw),
        lambda _, path, **kw: _experiment_result().to_html(path, **kw),
        lambda _, path, **kw: _experiment_result().to_json(path, **kw),
    ],
    ids=[
        "evaluation.html",
        "evaluation.json",
        "stress.html",
        "stress.json",
        "board.html",
        "board.json",
    ],
)
def test_result_writers_refuse_to_overwrite_without_force(
    write, small_result: EvaluationResult, tmp_path: Path
) -> None:
    path = tmp_path / "out"
    path.write_text("precious", encoding="utf-8")
    with pytest.raises(OutputExistsError, match=r"'.*out' already exists.*force"):
        write(small_result, path)
    assert path.read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    text = write(small_result, path, force=True)
    assert path.read_text(encoding="utf-8") == text


def test_written_results_get_the_permissions_of_any_new_file(
    small_result: EvaluationResult, tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        small_result.to_html(tmp_path / "report.html")
        _stress_result(0.9).to_json(tmp_path / "stress.json")
        private = tmp_path / "private.json"
        private.write_text("{}", encoding="utf-8")
        private.chmod(0o600)
        small_result.to_json(private, force=True)
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "stress.json").stat().st_mode & 0o777 == 0o644
    # Replacing a file keeps the permissions its owner gave it.
    assert private.stat().st_mode & 0o777 == 0o600
