"""The zCDP accountant and the mechanisms: hand-computed costs, budgets that hold, honest noise."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookalike.errors import BudgetExceededError
from lookalike.privacy import (
    PrivacyBudget,
    PrivacyLedger,
    discover_categories,
    epsilon_to_rho,
    exponential_epsilon,
    exponential_mechanism,
    fixed_noise,
    gaussian_mechanism,
    gaussian_sigma,
    noise_generator,
    noise_is_fixed,
    private_quantiles,
    rho_to_epsilon,
    split_budget,
    threshold_for_delta,
)


def _ledger(rho: float = 10.0, delta_reserved: float = 0.0) -> PrivacyLedger:
    """A ledger whose budget is exactly ``rho`` (delta = e^-8, so ln(1/delta) = 8)."""
    delta = math.exp(-8)
    budget = PrivacyBudget.from_epsilon_delta(
        rho_to_epsilon(rho, delta - delta_reserved), delta, delta_reserved=delta_reserved
    )
    return PrivacyLedger(budget)


# --- conversions, by hand -----------------------------------------------------------------------


def test_rho_to_epsilon_matches_hand_computed_values() -> None:
    # eps = rho + 2 sqrt(rho ln(1/delta)); with ln(1/delta) = 8: 0.5 + 2 sqrt(4) = 4.5.
    assert rho_to_epsilon(0.5, math.exp(-8)) == pytest.approx(4.5)
    # ln(1/delta) = 4, rho = 1: 1 + 2 * 2 = 5.
    assert rho_to_epsilon(1.0, math.exp(-4)) == pytest.approx(5.0)
    # delta = 1e-9: 0.01 + 2 sqrt(0.01 * 20.7233) = 0.920457
    assert rho_to_epsilon(0.01, 1e-9) == pytest.approx(0.920457, abs=1e-6)


def test_epsilon_to_rho_inverts_the_conversion() -> None:
    assert epsilon_to_rho(4.5, math.exp(-8)) == pytest.approx(0.5)
    assert epsilon_to_rho(5.0, math.exp(-4)) == pytest.approx(1.0)
    # (sqrt(L + eps) - sqrt(L))^2 with L = ln(1e9) = 20.72327, eps = 1: (4.660823 - 4.552282)^2
    assert epsilon_to_rho(1.0, 1e-9) == pytest.approx(0.0117811, rel=1e-4)
    for eps in (0.3, 1.0, 4.0):
        assert rho_to_epsilon(epsilon_to_rho(eps, 1e-9), 1e-9) == pytest.approx(eps, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: epsilon_to_rho(0.0, 1e-9), "epsilon"),
        (lambda: epsilon_to_rho(1.0, 0.0), "delta"),
        (lambda: epsilon_to_rho(1.0, 1.0), "delta"),
        (lambda: rho_to_epsilon(-1.0, 1e-9), "rho"),
        (lambda: PrivacyBudget.from_epsilon_delta(1.0, 1e-9, delta_reserved=1e-9), "reserved"),
        (lambda: split_budget(1.0, {"a": 0.0}), "positive weight"),
        (lambda: split_budget(1.0, {"a": -1.0}), "'a'"),
    ],
)
def test_bad_arguments_are_named(call: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        call()  # type: ignore[operator]


def test_gaussian_and_exponential_costs_match_hand_computed_values() -> None:
    # rho = D^2 / (2 sigma^2): rho 0.5 -> sigma 1; rho 0.02 -> sigma 5; D = 2, rho 0.5 -> sigma 2.
    assert gaussian_sigma(0.5) == pytest.approx(1.0)
    assert gaussian_sigma(0.02) == pytest.approx(5.0)
    assert gaussian_sigma(0.5, sensitivity=2.0) == pytest.approx(2.0)
    # eps0-DP exponential mechanism is eps0^2/8-zCDP: eps0 = 1 <-> rho = 0.125.
    assert exponential_epsilon(0.125) == pytest.approx(1.0)
    # A count of 1 passes threshold 1 + sigma z_{1-delta} with probability delta.
    assert threshold_for_delta(1.0, 0.5) == pytest.approx(1.0)
    assert threshold_for_delta(2.0, 0.022750131948179) == pytest.approx(1.0 + 2.0 * 2.0)


def test_ledger_records_each_mechanism_with_its_cost() -> None:
    ledger = _ledger()
    with fixed_noise(0):
        _, ledger = gaussian_mechanism(ledger, "counts", np.zeros(3), rho=0.02)
        _, ledger = exponential_mechanism(ledger, "pick", np.zeros(4), rho=0.125)
    first, second = ledger.entries
    assert (first.step, first.mechanism, first.rho) == ("counts", "gaussian", 0.02)
    assert first.parameters["sigma"] == pytest.approx(5.0)
    assert first.parameters["test_only_fixed_noise"] is True
    assert (second.mechanism, second.parameters["epsilon"]) == ("exponential", pytest.approx(1.0))
    assert ledger.rho_spent == pytest.approx(0.145)
    assert ledger.claimed_epsilon == pytest.approx(rho_to_epsilon(0.145, math.exp(-8)))
    # JSON-serialisable, and it reads back to the same ledger.
    data = json.loads(json.dumps(ledger.to_dict()))
    assert data["steps"][0]["parameters"]["sigma"] == pytest.approx(5.0)
    assert PrivacyLedger.from_dict(data) == ledger


def test_spending_beyond_the_budget_raises_before_any_noise() -> None:
    ledger = _ledger(rho=0.1).spend("a", "gaussian", 0.06)
    with pytest.raises(BudgetExceededError, match=r"only 0\.04"):
        ledger.spend("b", "gaussian", 0.05)
    with pytest.raises(BudgetExceededError):
        gaussian_mechanism(ledger, "c", np.zeros(2), rho=0.05)
    assert ledger.spend("d", "gaussian", 0.04).rho_remaining == pytest.approx(0.0)
    # Delta can only be spent from the reserved share.
    with pytest.raises(BudgetExceededError, match="delta"):
        ledger.spend("e", "gaussian-threshold", 0.001, delta=1e-12)


def test_a_tampered_ledger_does_not_load() -> None:
    data = _ledger(rho=0.1).spend("a", "gaussian", 0.06).to_dict()
    data["steps"].append({"step": "b", "mechanism": "gaussian", "rho": 0.05})
    with pytest.raises(BudgetExceededError):
        PrivacyLedger.from_dict(data)
    data = _ledger(rho=0.1).to_dict()
    data["budget"]["rho"] = 1.0
    with pytest.raises(ValueError, match="rho"):
        PrivacyLedger.from_dict(data)


@settings(max_examples=200, deadline=None)
@given(
    epsilon=st.floats(0.01, 20.0),
    delta_exponent=st.floats(-14.0, -3.0),
    weights=st.lists(st.floats(0.0, 1e6), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
    reserve=st.booleans(),
)
def test_spending_any_split_never_exceeds_the_budget(
    epsilon: float, delta_exponent: float, weights: list[float], reserve: bool
) -> None:
    delta = 10.0**delta_exponent
    budget = PrivacyBudget.from_epsilon_delta(
        epsilon, delta, delta_reserved=delta / 2 if reserve else 0.0
    )
    shares = split_budget(budget.rho, {f"step{i}": w for i, w in enumerate(weights)})
    ledger = PrivacyLedger(budget)
    per_step_delta = budget.delta_reserved / len(shares)
    for name, rho in shares.items():
        ledger = ledger.spend(name, "gaussian", rho, delta=per_step_delta)
    assert ledger.rho_spent <= budget.rho * (1 + 1e-9)
    assert ledger.claimed_epsilon <= epsilon * (1 + 1e-9)
    assert ledger.claimed_delta <= delta * (1 + 1e-9)
    # Nothing measurable is left to spend.
    with pytest.raises(BudgetExceededError):
        ledger.spend("more", "gaussian", budget.rho * 1e-6)


# --- noise --------------------------------------------------------------------------------------


def test_gaussian_noise_has_the_variance_the_ledger_claims() -> None:
    with fixed_noise(12345):
        noisy, ledger = gaussian_mechanism(_ledger(), "counts", np.full(40_000, 7.0), rho=0.02)
    sigma = ledger.entries[0].parameters["sigma"]
    noise = noisy - 7.0
    # The sample variance of 40,000 draws has a relative standard error of sqrt(2/n) = 0.7 %.
    assert np.var(noise) == pytest.approx(sigma**2, rel=0.04)
    assert abs(np.mean(noise)) < 4 * sigma / math.sqrt(len(noise))


def test_exponential_mechanism_draws_with_the_claimed_probabilities() -> None:
    # Two candidates whose scores differ by 1, eps0 = 1: P(best) = 1 / (1 + e^-0.5) = 0.6225.
    ledger = _ledger()
    wins = 0
    with fixed_noise(7):
        for _ in range(4000):
            pick, _ = exponential_mechanism(ledger, "pick", np.array([1.0, 0.0]), rho=0.125)
            wins += pick == 0
    expected = 1 / (1 + math.exp(-0.5))
    assert wins / 4000 == pytest.approx(
        expected, abs=4 * math.sqrt(expected * (1 - expected) / 4000)
    )


def test_noise_comes_from_os_entropy_unless_fixed_for_a_test() -> None:
    assert not noise_is_fixed()
    assert noise_generator().random() != noise_generator().random()
    with fixed_noise(3):
        assert noise_is_fixed()
        first = noise_generator().normal(size=3)
    with fixed_noise(3):
        second = noise_generator().normal(size=3)
    np.testing.assert_array_equal(first, second)
    assert not noise_is_fixed()
    with pytest.raises(ValueError, match="seed"), fixed_noise(-1):
        pass


# --- quantiles and categories ------------------------------------------------------------------


def test_private_quantiles_land_near_the_true_ones() -> None:
    values = np.arange(10_000, dtype=float)
    candidates = np.linspace(-5_000, 15_000, 201)
    with fixed_noise(1):
        chosen, ledger = private_quantiles(
            _ledger(), "q", values, [0.1, 0.5, 0.9], candidates, rho=0.3
        )
    np.testing.assert_allclose(chosen, [1_000, 5_000, 9_000], atol=200)
    assert [e.mechanism for e in ledger.entries] == ["exponential"] * 3
    assert ledger.rho_spent == pytest.approx(0.3)


def test_category_discovery_releases_frequent_labels_and_records_its_delta() -> None:
    counts = {"big": 5_000, "medium": 800, "single": 1}
    ledger = _ledger(delta_reserved=1e-6)
    with fixed_noise(2):
        released, ledger = discover_categories(
            ledger, "cats", counts, rho=0.01, delta=1e-6, public=["<missing>"]
        )
    entry = ledger.entries[0]
    assert entry.delta == 1e-6 and entry.mechanism == "gaussian-threshold"
    # sigma = 1/sqrt(0.02) = 7.07; threshold = 1 + 7.07 * z(1 - 1e-6) = 1 + 7.07 * 4.753 = 34.6
    assert entry.parameters["threshold"] == pytest.approx(34.61, abs=0.02)
    assert set(released) == {"big", "medium", "<missing>"}
    assert ledger.delta_spent == pytest.approx(1e-6)
