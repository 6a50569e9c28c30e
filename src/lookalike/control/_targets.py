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
class ParitySupport:
    """Where parity can hold: the combined sensitive groups it equalises (``groups``, a mask over
    the columns of :func:`parity_table`) and the target cells they share (``values``, a mask over
    its rows). Groups left out keep the model's rates; cells left out are not drawn in the
    equalised groups. ``groups_seen`` and ``values_seen`` mark those with any mass."""

    groups: np.ndarray
    values: np.ndarray
    groups_seen: np.ndarray
    values_seen: np.ndarray

    @property
    def left_out_groups(self) -> np.ndarray:
        return np.asarray(self.groups_seen & ~self.groups)

    @property
    def left_out_values(self) -> np.ndarray:
        return np.asarray(self.values_seen & ~self.values)


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
    support: ParitySupport | None = None  # parity: the groups and target cells it equalises

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
        target, *sensitive = c.columns
        axes, table = _parity_axes(target, sensitive), parity_table(joint, target, sensitive)
        support = c.support or parity_support(table)
        shared = np.ix_(support.values, support.groups)
        within = table[shared]
        product = np.outer(within.sum(axis=1), within.sum(axis=0)) / max(within.sum(), 1e-300)
        factor = np.ones_like(table)
        factor[:, support.groups] = 0.0  # cells the equalised groups do not share
        factor[shared] = np.divide(product, within, out=np.zeros_like(within), where=within > 0)
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
        target, *sensitive = c.columns
        table = parity_table(joint, target, sensitive) / total
        support = c.support or parity_support(table)
        within = table[np.ix_(support.values, support.groups)]
        product = np.outer(within.sum(axis=1), within.sum(axis=0)) / max(within.sum(), 1e-300)
        unshared = table[np.ix_(~support.values, support.groups)]
        return float(max(np.abs(within - product).max(initial=0.0), unshared.max(initial=0.0)))
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


def _parity_axes(target: TargetColumn, sensitive: Sequence[TargetColumn]) -> list[int]:
    return [target.axes[0], *(s.axes[0] for s in sensitive)]


def parity_table(
    joint: np.ndarray, target: TargetColumn, sensitive: Sequence[TargetColumn]
) -> np.ndarray:
    """The joint's mass as target cells (rows) by combined sensitive groups (columns), on each
    column's first axis: a continuous column's bins, not the positions inside them (parity of
    400 bin-and-position cells, or across 400 groups of a few rows each, would ask for noise)."""
    table = marginal(joint, _parity_axes(target, sensitive))
    return np.asarray(table.reshape(target.sizes[0], -1))


def least_rate_gap(counts: np.ndarray) -> float:
    """A floor under the parity difference of rows with these group sizes and category totals
    (``counts``: rows per target cell and group): a group of n rows has rates in steps of 1/n.

    A category's overall rate p lies between its smallest and largest group rate, so the gap is at
    least every group's distance from p, and a group of n rows is at least |round(p n) / n - p|
    from it. With 4 rows a group sits at 0.25, not 0.24: parity to 0.01 needs larger groups.
    The floor is not always reached (groups of 3 and 3 with 3 positives differ by at least 1/3;
    the floor says 1/6).

    >>> least_rate_gap(np.array([[1, 2], [3, 2]]))  # rates 1/4 and 2/4; p = 3/8
    0.125
    """
    sizes = np.rint(counts.sum(axis=0))
    kept = sizes > 0
    if kept.sum() < 2:
        return 0.0
    sizes, overall = sizes[kept], counts[:, kept].sum(axis=1) / sizes[kept].sum()
    nearest = np.rint(np.outer(overall, sizes)) / sizes
    return float(np.abs(nearest - overall[:, None]).max())


def parity_support(table: np.ndarray) -> ParitySupport:
    """Which groups and target cells parity can equalise, from the model's ``table``
    (:func:`parity_table` of a pilot draw).

    Raking cannot create mass where the model has none. A group with no rows of some target
    value that other groups have cannot reach the common rates: scaled toward them it would only
    shrink, until it vanished from the output (adult's ``Preschool`` has no ``>50K``). Each such
    gap is closed by leaving out the lighter side: the target value (not drawn in any equalised
    group: ``occupation``'s rare ``Priv-house-serv``, which men never have in the model, by
    ``sex``) or the group (which keeps the model's rates: ``Preschool``), until the groups left
    share every value left.
    """
    groups_seen, values_seen = table.sum(axis=0) > 0, table.sum(axis=1) > 0
    groups, values = groups_seen.copy(), values_seen.copy()
    while True:
        empty = table[np.ix_(values, groups)] <= 0
        if not empty.any():
            return ParitySupport(groups, values, groups_seen, values_seen)
        value_at, group_at = np.flatnonzero(values), np.flatnonzero(groups)
        lacking_values = value_at[empty.any(axis=1)]
        lacking_groups = group_at[empty.any(axis=0)]
        value_mass = table[np.ix_(lacking_values, groups)].sum(axis=1)
        group_mass = table[np.ix_(values, lacking_groups)].sum(axis=0)
        if value_mass.min() <= group_mass.min():
            values[lacking_values[np.argmin(value_mass)]] = False
        else:
            groups[lacking_groups[np.argmin(group_mass)]] = False


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
            for f in range(values.shape[1]):
                # Mean of the decoder's quantile function over the fine token's positions.
                sub = np.linspace(f / N_FINE_TOKENS, (f + 1) / N_FINE_TOKENS, 33)
                values[t, f] = float(encoder.spread(np.full(len(sub), ref), sub).mean())
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
            # (The missing token has no value: NaN, without nanmean's empty-slice warning.)
            parts = values.reshape(sizes[0], -1)
            with np.errstate(invalid="ignore"):
                values = np.nansum(parts, axis=1) / (~np.isnan(parts)).sum(axis=1)
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


def parity_constraint(
    target: TargetColumn, sensitive: Sequence[TargetColumn], joint: np.ndarray
) -> Constraint:
    """Parity of ``target`` across the ``sensitive`` groups, where the model's ``joint`` (a pilot
    draw's) lets it hold (see :func:`parity_support`)."""
    return Constraint(
        "parity",
        "parity",
        (target, *sensitive),
        asked={"demographic_parity_difference": 0.0},
        support=parity_support(parity_table(joint, target, sensitive)),
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
