"""Privacy accounting in zero-concentrated differential privacy (zCDP).

The user's ``(epsilon, delta)`` is converted once into a zCDP budget ``rho`` (Bun & Steinke 2016,
Proposition 1.3: rho-zCDP implies ``(rho + 2 sqrt(rho ln(1/delta)), delta)``-DP). Every step that
touches data spends a share of ``rho``, recorded in a :class:`PrivacyLedger`; zCDP composes by
adding ``rho``.

Some steps (releasing only the categories whose noisy count clears a threshold) are *approximately*
zCDP: with probability at least ``1 - delta_i`` they are ``rho_i``-zCDP. Such steps also record their
``delta_i``. Approximate zCDP composes by adding both ``rho`` and ``delta`` (Bun & Steinke 2016,
approximate zCDP), and ``delta'``-approximate ``rho``-zCDP implies
``(rho + 2 sqrt(rho ln(1/delta)), delta + delta')``-DP. So the user's ``delta`` is split up front into
``delta_conversion`` (for the conversion) and ``delta_reserved`` (for thresholds), and the claimed
guarantee is ``(rho_to_epsilon(rho_spent, delta_conversion), delta_conversion + delta_spent)``.

>>> budget = PrivacyBudget.from_epsilon_delta(1.0, 1e-9)
>>> round(budget.rho, 6)
0.011781
>>> ledger = PrivacyLedger(budget).spend("bounds", "exponential", 0.001, epsilon=0.0894)
>>> round(ledger.rho_spent, 6), ledger.claimed_epsilon < 1.0
(0.001, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lookalike.errors import BudgetExceededError

__all__ = [
    "LedgerEntry",
    "PrivacyBudget",
    "PrivacyLedger",
    "epsilon_to_rho",
    "rho_to_epsilon",
    "split_budget",
]

#: Relative slack when comparing spent with budgeted rho: float sums of exact shares may exceed
#: the total by a few ulps, which is not a privacy loss worth refusing.
_RELATIVE_TOLERANCE = 1e-9


def rho_to_epsilon(rho: float, delta: float) -> float:
    """The epsilon of ``(epsilon, delta)``-DP implied by ``rho``-zCDP (Bun & Steinke 2016).

    ``epsilon = rho + 2 * sqrt(rho * ln(1 / delta))``

    >>> round(rho_to_epsilon(0.5, 1e-6), 4)
    5.7565
    """
    _check_rho(rho)
    _check_delta(delta, "delta")
    return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))


def epsilon_to_rho(epsilon: float, delta: float) -> float:
    """The largest ``rho`` whose zCDP guarantee converts to ``(epsilon, delta)``-DP.

    Solves ``epsilon = rho + 2 sqrt(rho L)`` with ``L = ln(1/delta)``: ``sqrt(rho)`` is the positive
    root of ``x^2 + 2 sqrt(L) x - epsilon``, so ``rho = (sqrt(L + epsilon) - sqrt(L))^2``.

    >>> round(epsilon_to_rho(rho_to_epsilon(0.3, 1e-5), 1e-5), 12)
    0.3
    """
    if not _is_number(epsilon) or not 0 < epsilon < math.inf:
        raise ValueError(f"epsilon must be a finite float > 0. Got {epsilon!r} instead.")
    _check_delta(delta, "delta")
    log_term = math.log(1.0 / delta)
    # Written as eps / (sqrt(L + eps) + sqrt(L)) to avoid cancelling two close square roots.
    root = epsilon / (math.sqrt(log_term + epsilon) + math.sqrt(log_term))
    return root * root


def split_budget(rho: float, weights: Mapping[str, float]) -> dict[str, float]:
    """Split ``rho`` between named steps in proportion to ``weights`` (non-negative, not all 0).

    The shares sum to ``rho`` (up to rounding), so a plan made with it never overspends.

    >>> split_budget(1.0, {"a": 1, "b": 3})
    {'a': 0.25, 'b': 0.75}
    """
    _check_rho(rho)
    total = 0.0
    for name, weight in weights.items():
        if not _is_number(weight) or not 0 <= weight < math.inf:
            raise ValueError(
                f"The weight of step {name!r} must be a finite float >= 0. Got {weight!r} instead."
            )
        total += float(weight)
    if total <= 0:
        raise ValueError("split_budget needs at least one positive weight.")
    return {name: rho * (float(weight) / total) for name, weight in weights.items()}


@dataclass(frozen=True)
class PrivacyBudget:
    """An ``(epsilon, delta)`` target, converted once into the zCDP budget ``rho``.

    ``delta_reserved`` of the user's ``delta`` is kept for approximately-zCDP steps (thresholded
    category discovery); the rest, ``delta_conversion``, converts zCDP into ``(epsilon, delta)``.
    """

    epsilon: float
    delta: float
    delta_reserved: float
    rho: float

    @classmethod
    def from_epsilon_delta(
        cls, epsilon: float, delta: float, *, delta_reserved: float = 0.0
    ) -> PrivacyBudget:
        if not _is_number(epsilon) or not 0 < epsilon < math.inf:
            raise ValueError(f"epsilon must be a finite float > 0. Got {epsilon!r} instead.")
        _check_delta(delta, "delta")
        if not _is_number(delta_reserved) or not 0 <= delta_reserved < delta:
            raise ValueError(
                f"delta_reserved must be a float in [0, delta={delta!r}). "
                f"Got {delta_reserved!r} instead."
            )
        rho = epsilon_to_rho(float(epsilon), float(delta) - float(delta_reserved))
        return cls(float(epsilon), float(delta), float(delta_reserved), rho)

    @property
    def delta_conversion(self) -> float:
        return self.delta - self.delta_reserved

    def to_dict(self) -> dict[str, float]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "delta_reserved": self.delta_reserved,
            "delta_conversion": self.delta_conversion,
            "rho": self.rho,
        }


@dataclass(frozen=True)
class LedgerEntry:
    """One step that touched the data: its mechanism, its zCDP cost and its noise parameters."""

    step: str
    mechanism: str
    rho: float
    delta: float = 0.0
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "mechanism": self.mechanism,
            "rho": self.rho,
            "delta": self.delta,
            "parameters": dict(self.parameters),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        parameters = data.get("parameters", {})
        if not isinstance(parameters, Mapping):
            raise ValueError(f"ledger entry parameters must be a mapping, got {parameters!r}")
        rho, delta = data["rho"], data.get("delta", 0.0)
        _check_rho(rho)
        if not _is_number(delta) or not 0 <= delta < 1:
            raise ValueError(f"ledger entry delta must be in [0, 1), got {delta!r}")
        return cls(str(data["step"]), str(data["mechanism"]), float(rho), float(delta), parameters)


@dataclass(frozen=True)
class PrivacyLedger:
    """Every step's spending against a :class:`PrivacyBudget`; immutable, ``spend`` returns anew."""

    budget: PrivacyBudget
    entries: tuple[LedgerEntry, ...] = ()

    @property
    def rho_spent(self) -> float:
        return math.fsum(e.rho for e in self.entries)

    @property
    def delta_spent(self) -> float:
        """Delta used by approximately-zCDP steps (at most ``budget.delta_reserved``)."""
        return math.fsum(e.delta for e in self.entries)

    @property
    def rho_remaining(self) -> float:
        return max(self.budget.rho - self.rho_spent, 0.0)

    @property
    def claimed_epsilon(self) -> float:
        """The epsilon that the spending so far guarantees (at most the budget's epsilon)."""
        if self.rho_spent == 0:
            return 0.0
        return rho_to_epsilon(self.rho_spent, self.budget.delta_conversion)

    @property
    def claimed_delta(self) -> float:
        return self.budget.delta_conversion + self.delta_spent

    def entry(self, step: str) -> LedgerEntry:
        """The (last) entry recorded for ``step``; KeyError if there is none."""
        for entry in reversed(self.entries):
            if entry.step == step:
                return entry
        raise KeyError(step)

    def spend(
        self, step: str, mechanism: str, rho: float, *, delta: float = 0.0, **parameters: Any
    ) -> PrivacyLedger:
        """A ledger with one more step; BudgetExceededError if the total would exceed the budget."""
        _check_rho(rho)
        if not _is_number(delta) or delta < 0:
            raise ValueError(f"delta of step {step!r} must be a float >= 0. Got {delta!r}.")
        total = self.rho_spent + rho
        if total > self.budget.rho * (1 + _RELATIVE_TOLERANCE):
            raise BudgetExceededError(
                f"Step {step!r} asks for rho={rho:.6g}, but only {self.rho_remaining:.6g} of the "
                f"budget rho={self.budget.rho:.6g} (epsilon={self.budget.epsilon:g}, "
                f"delta={self.budget.delta:g}) is left."
            )
        if self.delta_spent + delta > self.budget.delta_reserved * (1 + _RELATIVE_TOLERANCE):
            raise BudgetExceededError(
                f"Step {step!r} asks for delta={delta:.3g}, but only "
                f"{self.budget.delta_reserved - self.delta_spent:.3g} of the reserved delta is left."
            )
        entry = LedgerEntry(step, mechanism, float(rho), float(delta), dict(parameters))
        return PrivacyLedger(self.budget, (*self.entries, entry))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the budget, each step, the totals and the (epsilon, delta) claimed."""
        return {
            "accounting": "zCDP (Bun & Steinke 2016), add/remove-one-row neighbours",
            "budget": self.budget.to_dict(),
            "steps": [e.to_dict() for e in self.entries],
            "rho_spent": self.rho_spent,
            "delta_spent": self.delta_spent,
            "claimed_epsilon": self.claimed_epsilon,
            "claimed_delta": self.claimed_delta,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivacyLedger:
        """Rebuild a ledger; ValueError if the totals in the file do not add up."""
        budget_data = data["budget"]
        budget = PrivacyBudget.from_epsilon_delta(
            budget_data["epsilon"],
            budget_data["delta"],
            delta_reserved=budget_data.get("delta_reserved", 0.0),
        )
        if not math.isclose(budget.rho, float(budget_data["rho"]), rel_tol=1e-9):
            raise ValueError("the ledger's rho does not match its epsilon and delta")
        steps: Sequence[Any] = data["steps"]
        if not isinstance(steps, list):
            raise ValueError("the ledger's steps must be a list")
        ledger = cls(budget)
        for step in steps:
            entry = LedgerEntry.from_dict(step)
            ledger = ledger.spend(
                entry.step, entry.mechanism, entry.rho, delta=entry.delta, **entry.parameters
            )
        return ledger


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _check_rho(rho: Any) -> None:
    if not _is_number(rho) or not 0 <= rho < math.inf:
        raise ValueError(f"rho must be a finite float >= 0. Got {rho!r} instead.")


def _check_delta(delta: Any, name: str) -> None:
    if not _is_number(delta) or not 0 < delta < 1:
        raise ValueError(f"{name} must be a float in (0, 1). Got {delta!r} instead.")
