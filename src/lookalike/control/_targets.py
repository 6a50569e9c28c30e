"""Targets on the joint of a few columns: rebalancing, population shift and statistical parity.

Every target is a constraint on the joint distribution of the target columns' tokens (a dense
table with one axis per token part). The model's joint ``P`` is moved to the closest joint ``Q``
(in Kullback-Leibler divergence) that meets all constraints at once, by iterative proportional
fitting (raking): category shares are matched by scaling each category's slice, a mean by an
exponential tilt of the column's values, quantiles by scaling the mass between them, and parity
by scaling the joint of target and sensitive columns to the product of their marginals. Sampling
``P(x) * Q(t) / P(t)`` then keeps every other column's conditional distribution given the target
columns exactly as learned (covariate / label shift, not a new world).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lookalike.encode import (
    N_FINE_TOKENS,
    CategoricalEncoder,
    ColumnEncoder,
    NumericEncoder,
)
from lookalike.errors import ConditionError
from lookalike.schema import ColumnKind

_RELATIVE = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*$")
_TOLERANCE = 1e-7
_MAX_ITERATIONS = 2_000
_MAX_CELLS = 2_000_000


@dataclass(frozen=True)
class TargetColumn:
    """A column some target constrains, and where its token parts sit in the joint table."""

    name: str
    axes: tuple[int, ...]  # axes of the joint table (1, or 2 for a continuous column's parts)
    sizes: tuple[int, ...]
    values: np.ndarray  # numeric value of each cell (flattened over its axes); NaN if none


@dataclass(frozen=True)
class Constraint:
    """One target on the joint table. ``kind``: shares | mean | quantiles | parity."""

    kind: str
    source: str  # "rebalance" | "shift" | "parity"
    columns: tuple[TargetColumn, ...]
    shares: np.ndarray | None = None  # target per cell of the (single) column
    mean: float | None = None
    quantiles: tuple[tuple[float, float], ...] = ()
    asked: Any = None
    model_value: Any = None

    @property
    def label(self) -> str:
        names = ", ".join(c.name for c in self.columns)
        return f"{self.source} of {names!s} ({self.kind})"


# ---------------------------------------------------------------------------------------------
# Raking
# ---------------------------------------------------------------------------------------------


def marginal(joint: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """The joint summed over every axis but ``axes``, flattened over them in the order given."""
    kept = sorted(axes)
    others = tuple(a for a in range(joint.ndim) if a not in axes)
    summed = np.asarray(joint.sum(axis=others))
    return np.asarray(summed.transpose([kept.index(a) for a in axes]).reshape(-1))


def _expand(factor: np.ndarray, joint: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """A factor flattened over ``axes`` (in that order), shaped to broadcast against the joint."""
    kept = sorted(axes)
    table = factor.reshape([joint.shape[a] for a in axes])
    table = table.transpose([list(axes).index(a) for a in kept])
    shape = [joint.shape[a] if a in axes else 1 for a in range(joint.ndim)]
    return np.asarray(table.reshape(shape))


def apply_constraint(joint: np.ndarray, c: Constraint) -> np.ndarray:
    """One raking step: the nearest joint meeting constraint ``c`` alone."""
    if c.kind == "parity":
        axes, table = _parity_table(joint, c)
        reach = ~parity_out_of_reach(table)
        within = table[:, reach]
        product = np.outer(within.sum(axis=1), within.sum(axis=0)) / max(within.sum(), 1e-300)
        factor = np.ones_like(table)
        factor[:, reach] = np.divide(product, within, out=np.zeros_like(within), where=within > 0)
        return np.asarray(joint * _expand(factor.reshape(-1), joint, axes))
    column = c.columns[0]
    current = marginal(joint, column.axes)
    total = current.sum()
    if c.kind == "shares":
        shares = c.shares if c.shares is not None else current / max(total, 1e-300)
        factor = np.divide(shares * total, current, out=np.zeros_like(current), where=current > 0)
    elif c.kind == "mean":
        factor = _mean_tilt(current, column.values, float(c.mean or 0.0))
    else:
        factor = _quantile_factor(current, column.values, c.quantiles)
    return np.asarray(joint * _expand(factor, joint, column.axes))


def gap(joint: np.ndarray, c: Constraint) -> float:
    """How far the joint is from meeting the constraint (shares: absolute; mean: relative)."""
    total = joint.sum()
    if total <= 0:
        return np.inf
    if c.kind == "parity":
        _, table = _parity_table(joint, c)
        within = table[:, ~parity_out_of_reach(table)] / total
        product = np.outer(within.sum(axis=1), within.sum(axis=0)) / max(within.sum(), 1e-300)
        return float(np.abs(within - product).max(initial=0.0))
    column = c.columns[0]
    current = marginal(joint, column.axes) / total
    if c.kind == "shares":
        shares = c.shares if c.shares is not None else current
        return float(np.abs(current - shares).max())
    if c.kind == "mean":
        valid = ~np.isnan(column.values)
        mass = current[valid].sum()
        mean = float((current[valid] * column.values[valid]).sum() / max(mass, 1e-300))
        spread = float(np.nanmax(column.values) - np.nanmin(column.values)) or 1.0
        return abs(mean - float(c.mean or 0.0)) / spread
    masses, wanted = _interval_masses(current, column.values, c.quantiles)
    return float(np.abs(masses - wanted).max())


def _parity_table(joint: np.ndarray, c: Constraint) -> tuple[list[int], np.ndarray]:
    """The axes of a parity constraint's columns, and the joint's mass over them as target cells
    (rows) by combined sensitive groups (columns)."""
    target, *sensitive = c.columns
    axes = [*target.axes, *(a for s in sensitive for a in s.axes)]
    return axes, marginal(joint, axes).reshape(int(np.prod(target.sizes)), -1)


def parity_out_of_reach(table: np.ndarray) -> np.ndarray:
    """Per group (column of ``table``: target cells by groups), whether parity cannot reach it:
    the group has rows but none in some target cell that other groups have.

    Raking cannot create mass where the model has none, so scaling such a group toward the
    common rates would only shrink it, until the group vanished from the output (adult's
    ``Preschool`` has no ``>50K``). These groups keep the model's rates; parity holds among the
    others.
    """
    present = table.sum(axis=1) > 0
    return np.asarray((table.sum(axis=0) > 0) & ((table[present] <= 0).any(axis=0)))


def rake(joint: np.ndarray, constraints: Sequence[Constraint]) -> tuple[np.ndarray, list[float]]:
    """Iterative proportional fitting of ``joint`` to all constraints; returns (joint, gaps)."""
    q = joint / max(joint.sum(), 1e-300)
    gaps = [gap(q, c) for c in constraints]
    for _ in range(_MAX_ITERATIONS):
        if max(gaps, default=0.0) < _TOLERANCE:
            break
        for c in constraints:
            q = apply_constraint(q, c)
            q = q / max(q.sum(), 1e-300)
        gaps = [gap(q, c) for c in constraints]
    return q, gaps


def _mean_tilt(current: np.ndarray, values: np.ndarray, target: float) -> np.ndarray:
    """Factor ``exp(lam * (v - target))`` on cells with values, ``lam`` making the mean ``target``."""
    valid = ~np.isnan(values) & (current > 0)
    factor = np.ones_like(current)
    if not valid.any():
        return factor
    centred = values[valid] - target
    scale = float(np.abs(centred).max()) or 1.0
    centred = centred / scale
    p = current[valid] / current[valid].sum()

    def moment(lam: float) -> float:
        logw = lam * centred
        w = p * np.exp(logw - logw.max())
        return float((w * centred).sum() / w.sum())

    low, high = -1.0, 1.0
    while moment(low) > 0 and low > -1e4:
        low *= 2
    while moment(high) < 0 and high < 1e4:
        high *= 2
    for _ in range(100):
        mid = 0.5 * (low + high)
        if moment(mid) > 0:
            high = mid
        else:
            low = mid
    lam = 0.5 * (low + high)
    logw = lam * centred
    factor[valid] = np.exp(logw - logw.max())
    # Cells without a value (missing) keep their share of the column.
    factor[np.isnan(values)] = 1.0
    kept = float((current[valid] * factor[valid]).sum())
    factor[valid] *= current[valid].sum() / max(kept, 1e-300)
    return factor


def _interval_of(values: np.ndarray, points: Sequence[tuple[float, float]]) -> np.ndarray:
    cuts = np.array([v for _, v in points])
    interval = np.searchsorted(cuts, values, side="left")
    return np.where(np.isnan(values), -1, interval)


def _interval_masses(
    current: np.ndarray, values: np.ndarray, points: Sequence[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    interval = _interval_of(values, points)
    valid = interval >= 0
    mass = current[valid].sum()
    masses = np.bincount(interval[valid], weights=current[valid], minlength=len(points) + 1)
    qs = np.array([0.0, *[q for q, _ in points], 1.0])
    return masses / max(mass, 1e-300), np.diff(qs)


def _quantile_factor(
    current: np.ndarray, values: np.ndarray, points: Sequence[tuple[float, float]]
) -> np.ndarray:
    interval = _interval_of(values, points)
    masses, wanted = _interval_masses(current, values, points)
    ratio = np.divide(wanted, masses, out=np.zeros_like(wanted), where=masses > 0)
    factor = np.ones_like(current)
    valid = interval >= 0
    factor[valid] = ratio[interval[valid]]
    return factor


# ---------------------------------------------------------------------------------------------
# Reading the targets
# ---------------------------------------------------------------------------------------------


def numeric_cell_values(encoder: ColumnEncoder) -> np.ndarray:
    """Mean value of each cell (coarse token, and fine token for binned columns); NaN if none."""
    n = encoder.n_tokens
    has_fine = len(encoder.part_tokens) > 1
    values = np.full((n, N_FINE_TOKENS) if has_fine else (n, 1), np.nan)
    if isinstance(encoder, NumericEncoder):
        atoms = encoder._atom_is_bin
        for t in range(len(atoms)):
            ref = encoder._atom_ref[t]
            if not atoms[t]:
                values[t] = encoder.spikes[ref]
                continue
            grid = encoder.within[ref]
            positions = np.linspace(0.0, 1.0, len(grid))
            for f in range(values.shape[1]):
                # Mean of the piecewise-linear quantile function over the fine token's positions.
                sub = np.linspace(f / N_FINE_TOKENS, (f + 1) / N_FINE_TOKENS, 33)
                values[t, f] = float(np.interp(sub, positions, grid).mean())
    return values.reshape(-1)


def target_columns(
    names: Sequence[str],
    encoders: Mapping[str, ColumnEncoder],
    needs_fine: set[str],
) -> dict[str, TargetColumn]:
    """Axis layout of the joint table: target columns in the given (model) order."""
    out: dict[str, TargetColumn] = {}
    axis = 0
    for name in names:
        encoder = encoders[name]
        sizes = encoder.part_tokens if name in needs_fine else encoder.part_tokens[:1]
        values = numeric_cell_values(encoder)
        if len(sizes) == 1 and len(encoder.part_tokens) > 1:
            # Coarse only: a bin's value is the mean over its fine tokens (equal weights).
            values = np.nanmean(values.reshape(sizes[0], -1), axis=1)
        out[name] = TargetColumn(
            name=name,
            axes=tuple(range(axis, axis + len(sizes))),
            sizes=tuple(int(s) for s in sizes),
            values=values,
        )
        axis += len(sizes)
    cells = int(np.prod([s for c in out.values() for s in c.sizes]))
    if cells > _MAX_CELLS:
        raise ConditionError(
            f"The targets on {list(out)} span {cells:,} token combinations; at most "
            f"{_MAX_CELLS:,} are supported. Target fewer columns at once."
        )
    return out


def is_categorical(encoder: ColumnEncoder) -> bool:
    """Whether shares of values make sense (categories, or a numeric column of kept values)."""
    if isinstance(encoder, CategoricalEncoder):
        return True
    return isinstance(encoder, NumericEncoder) and encoder.mode == "discrete"


def share_constraint(
    column: TargetColumn,
    encoder: ColumnEncoder,
    shares: Mapping[Any, Any],
    model_shares: np.ndarray,
    *,
    source: str,
    complete: bool = False,
) -> Constraint:
    """Target shares for some categories; the others share the rest in their model proportions."""
    name = column.name
    if not is_categorical(encoder):
        raise ConditionError(
            f"{source.capitalize()} of {name!r}: shares need a categorical column or a numeric "
            f"one with few distinct values; {name!r} is binned. Use 'mean' or 'quantiles'."
        )
    return category_shares(
        column,
        lambda key: encoder.tokens_for(key)[0],
        shares,
        model_shares,
        source=source,
        complete=complete,
    )


def category_shares(
    column: TargetColumn,
    token_of: Callable[[Any], int],
    shares: Any,
    model_shares: np.ndarray,
    *,
    source: str,
    complete: bool = False,
) -> Constraint:
    """The constraint of target shares for some categories (``token_of`` gives a category's
    token); the others share the rest in their model proportions."""
    target = target_shares(
        column.name, token_of, shares, model_shares, source=source, complete=complete
    )
    return Constraint(
        "shares",
        source,
        (column,),
        shares=target,
        asked={str(k): float(v) for k, v in shares.items()},
        model_value={str(k): float(model_shares[token_of(k)]) for k in shares},
    )


def target_shares(
    name: str,
    token_of: Callable[[Any], int],
    shares: Any,
    model_shares: np.ndarray,
    *,
    source: str,
    complete: bool = False,
) -> np.ndarray:
    """Per token, the share ``shares`` (category -> share) asks for: the categories not named
    share the rest in their ``model_shares`` proportions. ConditionError names a bad request."""
    if not isinstance(shares, Mapping) or not shares:
        raise ConditionError(
            f"{source.capitalize()} of {name!r} must map categories to shares, e.g. "
            f"{{'A': 0.3}}. Got {shares!r}."
        )
    target = np.zeros(len(model_shares))
    given = np.zeros(len(model_shares), dtype=bool)
    for key, share in shares.items():
        if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
            raise ConditionError(
                f"{source.capitalize()} of {name!r}: the share of {key!r} must be a number "
                f"in [0, 1]. Got {share!r}."
            )
        token = token_of(key)
        if given[token]:
            raise ConditionError(f"{source.capitalize()} of {name!r} names {key!r} twice.")
        given[token] = True
        target[token] = float(share)
        if share > 0 and model_shares[token] <= 0:
            raise ConditionError(
                f"{source.capitalize()} of {name!r}: {key!r} cannot reach {share:g}; the model "
                f"never produces it (under the conditions)."
            )
    asked_total = float(target.sum())
    if asked_total > 1 + 1e-9:
        raise ConditionError(
            f"{source.capitalize()} of {name!r}: the shares sum to {asked_total:g} > 1."
        )
    rest = 1.0 - asked_total
    others = model_shares * ~given
    if complete and rest > 1e-6:
        raise ConditionError(
            f"{source.capitalize()} of {name!r}: a whole distribution must sum to 1; "
            f"got {asked_total:g}."
        )
    if rest > 1e-9:
        if others.sum() <= 0:
            raise ConditionError(
                f"{source.capitalize()} of {name!r}: the shares sum to {asked_total:g}, and the "
                f"categories not named never occur, so nothing can fill the remaining "
                f"{rest:g}. Make the shares sum to 1."
            )
        target += rest * others / others.sum()
    return np.asarray(target / target.sum())


def mean_constraint(
    column: TargetColumn, kind: ColumnKind, asked: Any, model_marginal: np.ndarray
) -> Constraint:
    name = column.name
    if kind not in (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE):
        raise ConditionError(f"Shift of {name!r}: a mean needs a numeric column.")
    valid = ~np.isnan(column.values) & (model_marginal > 0)
    if not valid.any():
        raise ConditionError(f"Shift of {name!r}: the model produces no numbers for it.")
    weights = model_marginal[valid] / model_marginal[valid].sum()
    model_mean = float((weights * column.values[valid]).sum())
    target = _resolve_mean(name, asked, model_mean)
    low, high = float(column.values[valid].min()), float(column.values[valid].max())
    if not low < target < high:
        raise ConditionError(
            f"Shift of {name!r}: a mean of {target:g} is impossible; the model's values of "
            f"{name!r} lie between {low:g} and {high:g}."
        )
    return Constraint("mean", "shift", (column,), mean=target, asked=asked, model_value=model_mean)


def _resolve_mean(name: str, asked: Any, model_mean: float) -> float:
    if isinstance(asked, int | float) and not isinstance(asked, bool) and np.isfinite(asked):
        return float(asked)
    if isinstance(asked, str):
        match = _RELATIVE.match(asked)
        if match:
            sign, number, percent = match.groups()
            delta = float(number) * (1 if sign == "+" else -1)
            return model_mean * (1 + delta / 100) if percent else model_mean + delta
    raise ConditionError(
        f"Shift of {name!r}: 'mean' must be a number, or a change such as '+10', '-2.5' or "
        f"'+5%'. Got {asked!r}."
    )


def quantile_constraint(
    column: TargetColumn, kind: ColumnKind, asked: Any, model_marginal: np.ndarray
) -> Constraint:
    name = column.name
    if kind not in (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE):
        raise ConditionError(f"Shift of {name!r}: quantiles need a numeric column.")
    if not isinstance(asked, Mapping) or not asked:
        raise ConditionError(
            f"Shift of {name!r}: 'quantiles' must map levels to values, e.g. {{0.5: 60}}. "
            f"Got {asked!r}."
        )
    points = []
    for level, value in asked.items():
        try:
            q, v = float(level), float(value)
        except (TypeError, ValueError):
            raise ConditionError(
                f"Shift of {name!r}: quantile {level!r}: {value!r} must be numbers."
            ) from None
        if not 0 < q < 1:
            raise ConditionError(f"Shift of {name!r}: quantile levels lie in (0, 1); got {q:g}.")
        points.append((q, v))
    points.sort()
    if any(b[1] <= a[1] for a, b in itertools.pairwise(points)):
        raise ConditionError(
            f"Shift of {name!r}: quantile values must increase with the level; got {asked!r}."
        )
    masses, wanted = _interval_masses(model_marginal, column.values, points)
    empty = (masses <= 0) & (wanted > 0)
    if empty.any():
        cuts = [-np.inf, *(v for _, v in points), np.inf]
        i = int(np.flatnonzero(empty)[0])
        raise ConditionError(
            f"Shift of {name!r}: quantiles {asked!r} are impossible; the model produces no "
            f"values between {cuts[i]:g} and {cuts[i + 1]:g}."
        )
    return Constraint("quantiles", "shift", (column,), quantiles=tuple(points), asked=dict(points))


def parity_constraint(target: TargetColumn, sensitive: Sequence[TargetColumn]) -> Constraint:
    return Constraint(
        "parity",
        "parity",
        (target, *sensitive),
        asked={"demographic_parity_difference": 0.0},
    )


def read_parity(parity: Any, names: Sequence[str]) -> tuple[str, list[str]]:
    """``{"target": col, "sensitive": [cols]}`` -> (target, sensitive); ConditionError if bad."""
    if not isinstance(parity, Mapping) or set(parity) - {"target", "sensitive"}:
        raise ConditionError(
            f"parity must be {{'target': column, 'sensitive': [columns]}}. Got {parity!r} instead."
        )
    target = parity.get("target")
    sensitive = parity.get("sensitive")
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    if not isinstance(target, str) or not sensitive or not isinstance(sensitive, Sequence):
        raise ConditionError(
            f"parity needs a 'target' column and at least one 'sensitive' column; got {parity!r}."
        )
    sensitive = [str(s) for s in sensitive]
    unknown = [c for c in [target, *sensitive] if c not in names]
    if unknown:
        raise ConditionError(
            f"parity names unknown column(s) {unknown}; the model has {list(names)}."
        )
    if target in sensitive:
        raise ConditionError(f"parity: the target {target!r} cannot also be a sensitive column.")
    return target, sensitive
