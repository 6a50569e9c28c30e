"""Tests of the privacy attacks (membership inference, Anonymeter-style risks) and the DP audit."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom
from typer.testing import CliRunner

import lookalike as la
from lookalike.cli import app
from lookalike.datasets import load_adult
from lookalike.errors import DataError
from lookalike.evaluate import PrivacyAudit, audit_privacy
from lookalike.evaluate._attacks import (
    linkability_and_inference,
    membership_inference,
    residual_risk,
    singling_out,
    wilson_interval,
    wilson_rate,
)
from lookalike.evaluate._audit import clopper_pearson_upper, epsilon_lower_bound, make_canary
from lookalike.evaluate._prepare import PreparedTables, prepare_tables
from lookalike.evaluate._result import AttackRisk, MembershipInferenceResult

Z95 = 1.959963984540054


@pytest.fixture(scope="module")
def slices() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training, holdout and an independent 'synthetic' sample: disjoint 1000-row slices."""
    adult = load_adult().head(3000).sample(frac=1.0, random_state=11).reset_index(drop=True)
    return adult.iloc[:1000], adult.iloc[1000:2000], adult.iloc[2000:3000]


def run_attacks(
    tables: PreparedTables, seed: int = 0
) -> tuple[MembershipInferenceResult, AttackRisk, AttackRisk, AttackRisk]:
    rng = np.random.default_rng(seed)
    assert tables.holdout is not None
    args = (tables.real, tables.synthetic, tables.holdout, tables.kinds)
    membership = membership_inference(*args, rng)
    singled = singling_out(*args, rng)
    linkability, inference = linkability_and_inference(*args, rng)
    assert membership is not None and singled is not None
    assert linkability is not None and inference is not None
    return membership, singled, linkability, inference


@pytest.fixture(scope="module")
def copied(slices: tuple[pd.DataFrame, ...]) -> tuple[Any, ...]:
    train, holdout, _ = slices
    # A "generator" that hands out its training rows.
    return run_attacks(prepare_tables(train, train.sample(frac=1.0, random_state=2), holdout))


@pytest.fixture(scope="module")
def independent(slices: tuple[pd.DataFrame, ...]) -> tuple[Any, ...]:
    train, holdout, fresh = slices
    # A "generator" that draws new rows from the same population: real rows it never saw.
    return run_attacks(prepare_tables(train, fresh, holdout))


def test_attacks_catch_a_generator_that_copies_training_rows(copied: tuple[Any, ...]) -> None:
    membership, singled, linkability, inference = copied
    assert membership.auc > 0.95
    assert membership.tpr_at_1_percent_fpr > 0.9
    assert membership.verdict.rating == "poor"
    # Every predicate that singles out a synthetic row singles out its training twin.
    assert singled.main_rate > 0.9
    assert singled.risk_ci[0] > 0.5
    assert linkability.risk_ci[0] > 0.1
    assert inference.risk_ci[0] > 0.5
    for attack in (singled, linkability, inference):
        assert attack.verdict.rating == "poor", attack.verdict


def test_attacks_do_not_flag_independent_rows(independent: tuple[Any, ...]) -> None:
    membership, singled, linkability, inference = independent
    # 500 members vs 500 non-members: the AUC of a useless score has standard error
    # sqrt((n1 + n2 + 1) / (12 n1 n2)) = 0.018; the best of two attacks is reported, so allow 4 SE.
    assert membership.n_members == membership.n_non_members == 500
    assert abs(membership.auc - 0.5) < 4 * math.sqrt(1001 / (12 * 500 * 500))
    assert membership.verdict.rating == "good"
    for attack in (singled, linkability, inference):
        # The interval reaches (nearly) zero: no evidence of extra risk.
        assert attack.risk_ci[0] <= 0.05, attack
        assert attack.verdict.rating == "good"
    # Attribute inference reports every column; the headline is one of them.
    assert len(inference.columns) == 15
    assert inference.details.split("'")[1] in {c.column for c in inference.columns}


def test_membership_inference_needs_enough_holdout_rows(
    slices: tuple[pd.DataFrame, ...],
) -> None:
    train, holdout, fresh = slices
    tables = prepare_tables(train, fresh, holdout.head(15))
    assert tables.holdout is not None
    args = (tables.real, tables.synthetic, tables.holdout, tables.kinds)
    assert membership_inference(*args, np.random.default_rng(0)) is None


def test_wilson_interval_matches_the_formula() -> None:
    # By hand: p = 0.8, n = 10, z = 1.96: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n).
    p, n, z2 = 0.8, 10, Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(centre - half, abs=1e-12)
    assert high == pytest.approx(centre + half, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    # No successes: the interval still has width, and starts at 0.
    low, high = wilson_interval(0, 100)
    assert low == 0.0
    assert high == pytest.approx(z2 / (100 + z2), abs=1e-12)
    with pytest.raises(DataError, match="at least one trial"):
        wilson_rate(0, 0)


def test_residual_risk_by_hand() -> None:
    risk, (low, high) = residual_risk((0.6, 0.05), (0.2, 0.04))
    # (0.6 - 0.2) / 0.8; error sqrt((0.05 / 0.8)^2 + (0.04 * 0.4 / 0.64)^2).
    error = math.sqrt((0.05 / 0.8) ** 2 + (0.04 * 0.4 / 0.64) ** 2)
    assert risk == pytest.approx(0.5)
    assert (low, high) == pytest.approx((0.5 - error, 0.5 + error))
    # Control better than main: clipped to 0, as in Anonymeter.
    assert residual_risk((0.2, 0.01), (0.3, 0.01))[0] == 0.0


def test_clopper_pearson_and_the_epsilon_bound_by_hand() -> None:
    # Zero failures in n: the one-sided upper bound solves (1 - p)^n = alpha.
    assert clopper_pearson_upper(0, 50, 0.025) == pytest.approx(1 - 0.025 ** (1 / 50))
    assert clopper_pearson_upper(50, 50, 0.025) == 1.0
    # In general it solves P(Binomial(n, p) <= k) = alpha.
    upper = clopper_pearson_upper(5, 50, 0.025)
    assert binom.cdf(5, 50, upper) == pytest.approx(0.025, abs=1e-9)

    # A perfect test on 50 + 50 runs: eps >= ln((1 - u) / u), u = 1 - 0.025^(1/50).
    u = 1 - 0.025 ** (1 / 50)
    bound, fnr_up, fpr_up = epsilon_lower_bound(50, 50, 0, 50)
    assert fnr_up == pytest.approx(u) and fpr_up == pytest.approx(u)
    assert bound == pytest.approx(math.log((1 - u) / u))
    assert round(bound, 3) == 2.570
    # 45 of 50 found, 5 of 50 false alarms, delta 1e-5.
    fnr = clopper_pearson_upper(5, 50, 0.025)
    fpr = clopper_pearson_upper(5, 50, 0.025)
    bound, _, _ = epsilon_lower_bound(45, 50, 5, 50, delta=1e-5)
    assert bound == pytest.approx(math.log((1 - 1e-5 - fnr) / fpr))
    # A test no better than chance proves nothing.
    assert epsilon_lower_bound(25, 50, 25, 50)[0] == 0.0
    with pytest.raises(DataError, match="confidence"):
        epsilon_lower_bound(1, 2, 1, 2, confidence=1.5)


class CopyingSynthesizer:
    """Returns its training rows, shuffled: leaks every row."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, data: pd.DataFrame) -> CopyingSynthesizer:
        self.data_ = data.reset_index(drop=True)
        return self

    def sample(self, n: int) -> pd.DataFrame:
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(self.data_.shape[0])
        return self.data_.iloc[order[:n]].reset_index(drop=True)


class MarginalSynthesizer:
    """Draws every column independently from a fixed pool of rows: ignores its training data."""

    def __init__(self, seed: int, pool: pd.DataFrame) -> None:
        self.seed = seed
        self.pool = pool

    def fit(self, data: pd.DataFrame) -> MarginalSynthesizer:
        self.columns_ = list(data.columns)
        return self

    def sample(self, n: int) -> pd.DataFrame:
        rng = np.random.default_rng(self.seed)
        return pd.DataFrame(
            {
                c: self.pool[c].to_numpy()[rng.integers(0, self.pool.shape[0], n)]
                for c in self.columns_
            }
        )


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return load_adult().head(200)


def test_audit_of_a_copying_generator_gives_a_clearly_positive_bound(tiny: pd.DataFrame) -> None:
    audit = audit_privacy(CopyingSynthesizer, tiny, n_runs=40, random_state=3)
    assert isinstance(audit, PrivacyAudit)
    assert (audit.n_with_canary, audit.n_without_canary) == (20, 20)
    assert (audit.true_positives, audit.false_positives) == (20, 0)
    # Perfect separation on 20 + 20 runs: ln((1 - u) / u) with u = 1 - 0.025^(1/20).
    u = 1 - 0.025 ** (1 / 20)
    assert audit.epsilon_lower_bound == pytest.approx(math.log((1 - u) / u))
    assert audit.epsilon_lower_bound > 1.5
    assert max(audit.scores_with_canary) == 0.0
    assert audit.to_dict()["canary"]["age"] == int(tiny["age"].max())


def test_audit_of_a_generator_that_ignores_its_data_finds_nothing(tiny: pd.DataFrame) -> None:
    pool = load_adult().iloc[1000:1200]
    audit = audit_privacy(
        lambda seed: MarginalSynthesizer(seed, pool), tiny, n_runs=40, random_state=3
    )
    assert audit.epsilon_lower_bound < 0.5
    assert "40 fits" in audit.procedure


class ClaimingCopier(CopyingSynthesizer):
    """Copies its training rows while claiming differential privacy: the audit must say so."""

    epsilon = 1.0


def test_audit_is_rated_against_the_claim_and_reported(tiny: pd.DataFrame, tmp_path: Path) -> None:
    audit = audit_privacy(ClaimingCopier, tiny, n_runs=40, random_state=3)
    assert audit.claimed_epsilon == 1.0
    assert audit.verdict.rating == "poor"  # bound about 2.2 > the claimed 1
    copying = audit_privacy(CopyingSynthesizer, tiny, n_runs=4, random_state=3)
    assert copying.claimed_epsilon is None and copying.verdict.rating in ("fair", "poor", "good")
    path = tmp_path / "audit.json"
    audit.to_json(path)
    assert PrivacyAudit.from_dict(json.loads(path.read_text(encoding="utf-8"))) == audit
    with pytest.raises(la.OutputExistsError, match="already exists"):
        audit.to_json(path)
    audit.to_json(path, force=True)
    result = la.evaluate(tiny, tiny.sample(200, random_state=1), max_rows=200)
    html = result.to_html(extra=[audit])
    assert 'id="privacy-audit"' in html and "above the 1 the model claims" in html
    with pytest.raises(la.DataError, match="Not a privacy audit"):
        PrivacyAudit.from_dict({"epsilon_lower_bound": 1.0})
    # On the command line: lookalike report ... --audit audit.json.
    paths = [tmp_path / "real.csv", tmp_path / "synth.csv"]
    tiny.to_csv(paths[0], index=False)
    tiny.sample(200, random_state=1).to_csv(paths[1], index=False)
    out = CliRunner().invoke(
        app, ["report", *map(str, paths), "--audit", str(path), "-o", str(tmp_path / "r.html")]
    )
    assert out.exit_code == 0, out.output
    assert 'id="privacy-audit"' in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_canary_is_rare_and_extreme(tiny: pd.DataFrame) -> None:
    canary = make_canary(tiny)
    assert list(canary.columns) == list(tiny.columns)
    assert canary["age"].iloc[0] == tiny["age"].max()
    rarest = tiny["native_country"].value_counts()
    assert rarest[canary["native_country"].iloc[0]] == rarest.min()
    assert canary.dtypes.equals(tiny.dtypes)


def test_audit_checks_its_arguments(tiny: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="n_runs"):
        audit_privacy(CopyingSynthesizer, tiny, n_runs=1)
    with pytest.raises(DataError, match="identical to a row"):
        audit_privacy(CopyingSynthesizer, tiny, n_runs=2, canary=tiny.head(1))
    with pytest.raises(DataError, match="exactly one row"):
        audit_privacy(CopyingSynthesizer, tiny, n_runs=2, canary=tiny.head(2))
    with pytest.raises(DataError, match="make_synthesizer"):
        audit_privacy(42, tiny)  # type: ignore[arg-type]
