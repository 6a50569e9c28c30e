"""What a controlled draw asked for and what it achieved, as a JSON-ready value."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TargetResult:
    """One asked-for quantity: ``asked`` and ``achieved`` on the sampled rows.

    ``model`` is the value the model gives without this control (under the other conditions), when
    it is known. ``difference`` is achieved - asked (shares and probabilities in [0, 1]).
    ``least_possible`` is, for a parity target, a floor under the difference that rows with the
    sampled groups' sizes and category totals cannot go below (a group of 4 rows has rates in
    steps of 0.25). ``note``
    says in words what kept a target from its asked value, when something did.
    """

    control: str  # condition | rebalance | shift | parity
    column: str
    quantity: str  # e.g. "share of '>50K'", "mean", "quantile 0.5", "rows in [60, 90]"
    asked: float
    achieved: float
    model: float | None = None
    least_possible: float | None = None
    note: str | None = None

    @property
    def difference(self) -> float:
        return self.achieved - self.asked

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "column": self.column,
            "quantity": self.quantity,
            "asked": _number(self.asked),
            "achieved": _number(self.achieved),
            "difference": _number(self.difference),
            "model": _number(self.model),
            "least_possible": _number(self.least_possible),
            "note": self.note,
        }


@dataclass(frozen=True)
class ControlReport:
    """Asked against achieved for every control of one draw.

    ``targets`` lists each asked quantity; ``conditional_tvd`` says, for each other column, how
    far its distribution given the controlled columns moved from the model's (mean total
    variation distance over the controlled columns' cells, between the controlled rows and an
    uncontrolled draw of the same model; sampling noise alone gives about 0.01-0.03);
    ``diagnostics`` describes the sampler (the model's probability of the conditions, the share
    of distinct particles kept).

    >>> report = ControlReport(n_rows=10, targets=(
    ...     TargetResult("rebalance", "income", "share of '>50K'", 0.5, 0.497),))
    >>> round(report.max_abs_difference, 3)
    0.003
    >>> report.to_dict()["targets"][0]["achieved"]
    0.497
    """

    n_rows: int
    targets: tuple[TargetResult, ...] = ()
    conditional_tvd: dict[str, float] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def max_abs_difference(self) -> float:
        """The largest |achieved - asked| over share-like targets (shares, parity, conditions)."""
        share_like = [
            abs(t.difference)
            for t in self.targets
            if not t.quantity.startswith(("mean", "quantile"))
        ]
        return max(share_like, default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "targets": [t.to_dict() for t in self.targets],
            "conditional_tvd": {k: _number(v) for k, v in self.conditional_tvd.items()},
            "diagnostics": self.diagnostics,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_text(self) -> str:
        """A plain table: one line per target, then the conditionals that moved most."""
        # As wide as the longest entry: "demographic parity difference by sex+race" was cut to
        # 28 characters, and three parity targets read the same.
        column_width = max([20, *(len(t.column) for t in self.targets)])
        quantity_width = max([28, *(len(t.quantity) for t in self.targets)])
        lines = [
            f"{'control':<10} {'column':<{column_width}} {'quantity':<{quantity_width}} "
            f"{'asked':>10} {'achieved':>10}"
        ]
        for t in self.targets:
            lines.append(
                f"{t.control:<10} {t.column:<{column_width}} {t.quantity:<{quantity_width}} "
                f"{_fmt(t.asked):>10} {_fmt(t.achieved):>10}"
            )
            if t.least_possible is not None and t.least_possible >= _SHOWN_FLOOR:
                lines.append(
                    f"{'':<10} {'':<{column_width}} with groups this small the difference is "
                    f"at least {_fmt(t.least_possible)}: sample more rows to get closer"
                )
            if t.note:
                lines.append(f"{'':<10} {'':<{column_width}} {t.note}")
        if self.conditional_tvd:
            worst = sorted(self.conditional_tvd.items(), key=lambda kv: -kv[1])[:5]
            shown = ", ".join(f"{k} {v:.3f}" for k, v in worst)
            noise = self.diagnostics.get("conditional_tvd_noise")
            floor = f" (sampling noise alone: {noise:.3f})" if isinstance(noise, float) else ""
            lines.append(
                f"Other columns given the controlled ones, TVD moved (largest): {shown}{floor}"
            )
        mass = self.diagnostics.get("model_probability")
        fallbacks = self.diagnostics.get("fallbacks")
        if fallbacks:
            lines.append(
                "The model gives the conditions no probability: given the other columns, no "
                "row could reach these, so they were drawn from the column's overall "
                f"distribution: {', '.join(fallbacks)}"
            )
        elif isinstance(mass, float) and mass < 1:
            cells = self.diagnostics.get("cell_conditions")
            of_cells = (
                f" (for {', '.join(cells)}: of the value's cell, its bin and tenth, as a single "
                "value of a continuous number has no probability of its own)"
                if cells
                else ""
            )
            lines.append(f"The model gives the conditions a probability of {mass:.3g}{of_cells}.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


#: A parity target's least possible difference is printed when it is at least this large.
_SHOWN_FLOOR = 0.005


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(round(value, 6))


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.4g}" if abs(value) >= 1 else f"{value:.4f}"
