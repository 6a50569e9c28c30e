"""Tests of the HTML report rendered from evaluation results."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lookalike.datasets import load_adult
from lookalike.errors import DataError
from lookalike.evaluate import EvaluationResult, evaluate
from lookalike.report import _html, render_html

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
