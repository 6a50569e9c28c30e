"""Conditions: fixed values, sets and ranges, turned into per-token factors of the model's draws.

A condition on a column multiplies that column's token distribution by how much of each token
lies inside the condition: 1 or 0 for categories and exact numbers, and for a numeric range the
share of a fine token's value interval that lies inside it (the decoder spreads values uniformly
over the within-bin position of a fine token). The rows the engine keeps are then exactly the
model's rows restricted to the condition; :func:`decode_in_range` draws each value inside the
range from the same within-bin distribution, so no mass piles up on the range's edges.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lookalike.encode import (
    N_FINE_TOKENS,
    CategoricalEncoder,
    ColumnEncoder,
    NumericEncoder,
    numeric_values,
    value_label,
    value_labels,
)
from lookalike.errors import ConditionError, warn_data
from lookalike.schema import ColumnKind, ColumnSpec
from lookalike.schema._datetimes import condition_seconds
from lookalike.schema._numbers import on_clock
from lookalike.schema._storage import is_storage_dtype, numbers_to_storage

_NUMERIC_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE, ColumnKind.DATETIME)
_RANGE_TEXT = re.compile(r"^\s*(.*?)\s*\.\.\s*(.*?)\s*$")


@dataclass(frozen=True)
class Condition:
    """One column's condition: a fixed ``value``, a ``set`` of values, or a ``range`` [low, high].

    For ranges ``low``/``high`` are numbers (datetimes as seconds since the epoch), None when open.
    """

    column: str
    kind: str  # "value" | "set" | "range"
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    asked: Any = None

    def describe(self) -> str:
        if self.kind == "range":
            low = "-inf" if self.low is None else _show(self.asked[0])
            high = "+inf" if self.high is None else _show(self.asked[1])
            return f"{self.column} in [{low}, {high}]"
        if self.kind == "set":
            return f"{self.column} in {{{', '.join(_show(v) for v in self.values)}}}"
        return f"{self.column} == {_show(self.values[0])}"

    def holds(self, spec: ColumnSpec, series: pd.Series) -> np.ndarray:
        """Which values of ``series`` satisfy the condition."""
        if self.kind == "range":
            numbers = numeric_values(spec, series)
            low = -np.inf if self.low is None else self.low
            high = np.inf if self.high is None else self.high
            return np.asarray((numbers >= low) & (numbers <= high))
        if spec.kind in _NUMERIC_KINDS:
            numbers = numeric_values(spec, series)
            wanted = _condition_numbers(spec, pd.Series(list(self.values), dtype=object))
            hit = np.isin(numbers, wanted[~np.isnan(wanted)])
            if np.isnan(wanted).any():
                hit |= np.isnan(numbers)
            return np.asarray(hit)
        labels = value_labels(series)
        present = {value_label(v) for v in self.values if not _is_missing(v)}
        hit = labels.isin(present).to_numpy(dtype=bool, copy=True)
        if any(_is_missing(v) for v in self.values):
            hit |= labels.isna().to_numpy()  # missing labels are NaN or None
        return np.asarray(hit)


def parse_conditions(
    schema_names: list[str], specs: Mapping[str, ColumnSpec], conditions: Mapping[str, Any]
) -> list[Condition]:
    """Read ``{column: value | set | (low, high)}``; ConditionError names the first bad entry.

    Lists, sets and frozensets are sets of values; a 2-tuple is an inclusive range whose ends may
    be None (open); for numeric and date columns a text ``"low..high"`` is a range too.
    """
    if not isinstance(conditions, Mapping):
        raise ConditionError(
            f"conditions must be a dict of column -> value, set or (low, high) range, or a "
            f"DataFrame of seed rows. Got {type(conditions).__name__} instead."
        )
    unknown = [str(c) for c in conditions if c not in specs]
    if unknown:
        raise ConditionError(
            f"Condition on unknown column(s) {unknown}; the model has {schema_names}."
        )
    parsed = []
    for column, value in conditions.items():
        spec = specs[column]
        numeric = spec.kind in _NUMERIC_KINDS
        if isinstance(value, str) and numeric and ".." in value:
            match = _RANGE_TEXT.match(value)
            if match:
                value = tuple(part if part != "" else None for part in match.groups())
        if isinstance(value, tuple):
            parsed.append(_parse_range(spec, value))
        elif isinstance(value, list | set | frozenset):
            values = tuple(value)
            if not values:
                raise ConditionError(f"The condition on {column!r} is an empty set of values.")
            check_fits_dtype(spec, values)
            parsed.append(Condition(column, "set", values=values, asked=values))
        else:
            check_fits_dtype(spec, [value])
            parsed.append(Condition(column, "value", values=(value,), asked=value))
    return parsed


def check_fits_dtype(spec: ColumnSpec, values: Any) -> None:
    """ConditionError if a condition value cannot be written into an integer column as asked.

    Written anyway, 30.5 would be cut to 30 and 10**20 would wrap to a negative number.
    """
    bounds = _integer_bounds(spec.dtype)
    if bounds is None:
        return
    low, high = bounds
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            continue  # text and missing values are read (and named if bad) by the encoder
        if isinstance(value, float | np.floating) and not np.isfinite(value):
            continue
        if not isinstance(value, int | np.integer) and not float(value).is_integer():
            raise ConditionError(
                f"Column {spec.name!r} holds whole numbers. Got {value!r} instead."
            )
        if not low <= int(value) <= high:
            raise ConditionError(
                f"Column {spec.name!r} holds whole numbers from {low} to {high} ({spec.dtype}). "
                f"Got {value!r} instead."
            )


def _integer_bounds(dtype: str) -> tuple[int, int] | None:
    try:
        numpy_dtype = np.dtype(dtype.lower())
    except (TypeError, ValueError):  # "str", Arrow decimals and times
        return None
    if numpy_dtype.kind not in "iu":
        return None
    info = np.iinfo(numpy_dtype)
    return int(info.min), int(info.max)


def _parse_range(spec: ColumnSpec, value: tuple[Any, ...]) -> Condition:
    column = spec.name
    if len(value) != 2:
        raise ConditionError(
            f"A range condition on {column!r} is a (low, high) pair; got {len(value)} item(s)."
        )
    if spec.kind not in _NUMERIC_KINDS:
        raise ConditionError(
            f"Column {column!r} is {spec.kind.value}; a (low, high) range needs a numeric or date "
            f"column. Use a set of values instead, e.g. {{'a', 'b'}}."
        )
    ends: list[float | None] = []
    for end in value:
        if end is None or (isinstance(end, float) and np.isnan(end)):
            ends.append(None)
            continue
        number = _condition_numbers(spec, pd.Series([end], dtype=object))[0]
        if np.isnan(number):
            expected = "dates" if spec.kind is ColumnKind.DATETIME else "numbers"
            raise ConditionError(
                f"The range on {column!r} needs {expected} (or None for an open end). Got {end!r}."
            )
        ends.append(float(number))
    low, high = ends
    if low is None and high is None:
        raise ConditionError(f"The range on {column!r} is open at both ends; give a low or high.")
    if low is not None and high is not None and low > high:
        raise ConditionError(
            f"The range on {column!r} has low > high: ({value[0]!r}, {value[1]!r})."
        )
    if low is not None and low == high:
        return Condition(column, "value", values=(value[0],), asked=value[0])
    return Condition(column, "range", low=low, high=high, asked=value)


# ---------------------------------------------------------------------------------------------
# Token factors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenMasks:
    """A condition at token level: a factor per coarse token and, for columns with a fine part,
    a factor per (coarse, fine) pair."""

    coarse: np.ndarray  # (n_tokens,) float in [0, 1]
    fine: np.ndarray | None  # (n_tokens, N_FINE_TOKENS) or None


def condition_masks(condition: Condition, encoder: ColumnEncoder) -> TokenMasks:
    """The token factors of a condition; ConditionError if no value can satisfy it."""
    has_fine = len(encoder.part_tokens) > 1
    n = encoder.n_tokens
    if condition.kind == "range":
        if not isinstance(encoder, NumericEncoder):
            raise ConditionError(f"Column {condition.column!r} cannot take a range.")
        coarse, within = _range_masks(encoder, condition.low, condition.high)
        if not np.any(coarse > 0):
            raise ConditionError(
                f"No value the model produces for {condition.column!r} lies in "
                f"{condition.describe().split(' in ', 1)[1]}; it produces "
                f"{_support(encoder)}."
            )
        return TokenMasks(coarse, within if has_fine else None)
    if (
        condition.kind == "value"
        and isinstance(encoder, NumericEncoder)
        and _half_step(encoder) > 0
    ):
        # The decoder rounds to the column's step: a value comes from every within-bin position
        # that rounds to it, which may be the next tenth's (a date drawn in one tenth and written
        # as the day re-read in the tenth before, where the model gave it no probability: the
        # model's own rows fed back as seed rows were "unreachable"). A value is set exactly
        # afterwards, whichever tenth drew it; a set's value is chosen by the tenth drawn
        # (``_set_exact_values``), so sets keep each value's own tenth.
        value = pd.Series([condition.values[0]], dtype=object)
        number = float(_condition_numbers(encoder.spec, value)[0])
        if np.isfinite(number):
            value_coarse, value_fine = _range_masks(encoder, number, number)
            if value_coarse.any():
                return TokenMasks(value_coarse, value_fine if has_fine else None)
    coarse = np.zeros(n)
    fine: np.ndarray | None = np.zeros((n, N_FINE_TOKENS)) if has_fine else None
    for value in condition.values:
        tokens = encoder.tokens_for(value)
        coarse[tokens[0]] = 1.0
        if fine is not None:
            fine[tokens[0], tokens[1] if len(tokens) > 1 else 0] = 1.0
    if fine is not None and isinstance(encoder, NumericEncoder):
        # Tokens that are not within-bin positions (spikes, missing) ignore the fine part.
        not_bin = ~_token_is_bin(encoder)
        fine[not_bin & (coarse > 0)] = 1.0
    return TokenMasks(coarse, fine)


def _token_is_bin(encoder: NumericEncoder) -> np.ndarray:
    is_bin = np.zeros(encoder.n_tokens, dtype=bool)
    atoms = encoder._atom_is_bin
    is_bin[: len(atoms)] = atoms
    return is_bin


def _range_masks(
    encoder: NumericEncoder, low: float | None, high: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Share of each token (and of each fine position of a bin) whose values lie in the range."""
    lo = -np.inf if low is None else low
    hi = np.inf if high is None else high
    lo_grid, hi_grid = _range_on_grid(encoder, lo, hi)
    n = encoder.n_tokens
    coarse = np.zeros(n)
    fine = np.ones((n, N_FINE_TOKENS))
    atoms = encoder._atom_is_bin
    refs = encoder._atom_ref
    for token in range(len(atoms)):
        if not atoms[token]:
            value = encoder.spikes[refs[token]]
            coarse[token] = float(lo <= value <= hi)
            continue
        grid = encoder.grid[refs[token]]
        shares = _cell_shares_in_range(grid, lo_grid, hi_grid)
        if encoder.frequent_values is not None:
            cells = int(refs[token]) * N_FINE_TOKENS + np.arange(N_FINE_TOKENS)
            shares = encoder.frequent_values.shares_in_range(cells, shares, lo, hi)
        fine[token] = np.asarray(shares)
        coarse[token] = float(shares.sum() > 0)
    if encoder.neginf_token is not None:
        coarse[encoder.neginf_token] = float(low is None)
    if encoder.posinf_token is not None:
        coarse[encoder.posinf_token] = float(high is None)
    return coarse, fine


def _range_on_grid(encoder: NumericEncoder, lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] where the bins' quantile grids read it (minutes since midnight for clock times),
    widened by half the column's step: the values that round into the range. (Without it the
    ends of ``k in (3000, 3009)`` on whole numbers got half their share.)"""
    half = _half_step(encoder)
    return (
        float(encoder.to_grid(np.array([lo]))[0]) - half,
        float(encoder.to_grid(np.array([hi]), upper=True)[0]) + half,
    )


def _half_step(encoder: NumericEncoder) -> float:
    """Half the step the decoder rounds a column's values to, where its grid reads them."""
    spec = encoder.spec
    if encoder.clock:
        return 0.5  # whole minutes
    if spec.kind is ColumnKind.DATETIME:
        return int(encoder.statistics.get("step_ns", 1)) / 1e9 / 2
    clock_step = encoder.clock_step()
    if clock_step is not None:
        # A duration or time of day on its step (whole seconds, milliseconds), whatever its
        # unit: a fixed 10 minutes had a probability a thousand times smaller in microseconds
        # than in ms.
        return clock_step / 2
    if spec.decimals is not None and spec.decimals < 6:
        return 0.5 * 10.0 ** (-spec.decimals)
    return 0.0


def position_interval(grid: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The within-bin positions (0..1) whose value (piecewise-linear in ``grid``) is in [lo, hi]."""
    n_steps = len(grid) - 1
    positions = np.linspace(0.0, 1.0, n_steps + 1)
    if lo <= grid[0]:
        start = 0.0
    elif lo > grid[-1]:
        return 1.0, 0.0
    else:
        i = int(np.searchsorted(grid, lo, side="left"))  # grid[i-1] < lo <= grid[i]
        start = positions[i - 1] + (lo - grid[i - 1]) / (grid[i] - grid[i - 1]) / n_steps
    if hi >= grid[-1]:
        end = 1.0
    elif hi < grid[0]:
        return 1.0, 0.0
    else:
        i = int(np.searchsorted(grid, hi, side="right"))  # grid[i-1] <= hi < grid[i]
        end = positions[i - 1] + (hi - grid[i - 1]) / (grid[i] - grid[i - 1]) / n_steps
    return start, end


def _cell_shares_in_range(grid: np.ndarray, lo: float, hi: float) -> np.ndarray:
    start, end = position_interval(grid, lo, hi)
    cells = np.arange(N_FINE_TOKENS) / N_FINE_TOKENS
    overlap = np.minimum(cells + 1 / N_FINE_TOKENS, end) - np.maximum(cells, start)
    shares = np.clip(overlap * N_FINE_TOKENS, 0.0, 1.0)
    if end >= start and not shares.any() and grid[0] <= lo <= grid[-1]:
        # A range narrower than any slope of the bin (a flat stretch): the position is a point.
        cell = min(int(start * N_FINE_TOKENS), N_FINE_TOKENS - 1)
        shares[cell] = 1e-9
    return np.asarray(shares)


def _support(encoder: NumericEncoder) -> str:
    bounds = encoder.finite_range()
    if bounds is None:
        return "no finite values"
    return f"values from {range_text(_shown_dtype(encoder), encoder.spec.integer_offset)(*bounds)}"


def _shown_dtype(encoder: NumericEncoder) -> str:
    """The dtype a numeric column's range is shown in (datetimes: their numbers are seconds)."""
    return DATETIME_SECONDS if encoder.spec.kind is ColumnKind.DATETIME else encoder.spec.dtype


def range_text(dtype: str, offset: int | None = None) -> Callable[[float, float], str]:
    """How a range of a column's numbers reads in its own terms: dates as dates, durations as
    durations (01:55:00, not 6.9e+09 microseconds), whole numbers past 2**53 with the
    ``integer_offset`` their model subtracts added back (not 8000 to 994000)."""

    def shown(low: float, high: float) -> str:
        if offset is not None:
            return f"{round(low) + offset} to {round(high) + offset}"
        if dtype == DATETIME_SECONDS:
            first, last = (pd.Timestamp(end, unit="s").round("s") for end in (low, high))
            return f"{first} to {last}"
        if is_storage_dtype(dtype):
            ends = numbers_to_storage(np.array([low, high]), dtype)
            return f"{ends.iloc[0]} to {ends.iloc[1]}"
        return f"{low:g} to {high:g}"

    return shown


#: What a model produces in a numeric column, for :func:`warn_outside_range`: given a column
#: and condition values, their numbers, the column's dtype and the range of numbers the model
#: produces; None when the column is not numeric or a value is bad (the sampler names those).
#: ``(column, values) -> (numbers, dtype, (low, high, slack))``: the range a numeric column produces
#: and how far past it a fixed value may lie unwarned (None: not a numeric column).
Produced = Callable[
    [str, list[Any]],
    tuple[np.ndarray, Callable[[float, float], str], tuple[float, float, float]] | None,
]


#: The dtype :func:`encoder_range` gives a datetime column: its numbers are seconds.
DATETIME_SECONDS = "datetime seconds"


def warn_outside_range(conditions: Any, produced: Produced) -> None:
    """Warn, once per column, about condition values well beyond what a numeric column produces.

    Such a value is written as asked; the other columns are drawn as for the nearest value the
    model produces, which says little about a value it never saw (an age of 500, say).
    """
    if not isinstance(conditions, Mapping):
        return
    for column, value in conditions.items():
        if isinstance(value, tuple) or (isinstance(value, str) and ".." in value):
            continue  # a range: outside values are already an error
        values = list(value) if isinstance(value, list | set | frozenset) else [value]
        found = produced(str(column), values)
        if found is not None:
            _warn_if_outside(str(column), values, *found)


def warn_off_step(conditions: Any, encoders: Mapping[str, ColumnEncoder]) -> None:
    """Warn, once per column, about a fixed date or time between the column's steps.

    ``time_hour=12:30`` on a column of whole hours is written as asked, but the model has never
    seen such a value; the other columns are drawn as for the values around it.
    """
    if not isinstance(conditions, Mapping):
        return
    for column, value in conditions.items():
        encoder = encoders.get(str(column))
        if (
            not isinstance(encoder, NumericEncoder)
            or isinstance(value, tuple)
            or (isinstance(value, str) and ".." in value)
        ):
            continue
        values = list(value) if isinstance(value, list | set | frozenset) else [value]
        if encoder.clock:
            _warn_off_clock(str(column), values, encoder)
            continue
        if encoder.spec.kind is not ColumnKind.DATETIME or encoder.spec.datetime_step is None:
            continue
        try:
            numbers = encoder._condition_numbers(pd.Series(values, dtype=object))
        except (ConditionError, TypeError, ValueError):
            continue  # named as an error where the condition is read
        on_step = encoder._round(numbers.copy())
        off = [
            v
            for v, x, y in zip(values, numbers, on_step, strict=True)
            if np.isfinite(x) and abs(x - y) > 1e-6
        ]
        if off:
            warn_data(
                f"Condition on {str(column)!r}: {off[0]!r} lies between the column's steps (it "
                f"holds whole {encoder.spec.datetime_step}s); written as asked, the other "
                "columns are drawn as for the values around it."
            )


def _warn_off_clock(column: str, values: list[Any], encoder: NumericEncoder) -> None:
    """Warn about a fixed value of an HHMM clock column that is no time (11:65, 2500)."""
    try:
        numbers = encoder._condition_numbers(pd.Series(values, dtype=object))
    except (ConditionError, TypeError, ValueError):
        return  # named as an error where the condition is read
    off = [
        v
        for v, x in zip(values, numbers, strict=True)
        if np.isfinite(x) and not on_clock(np.array([x]))[0]
    ]
    if off:
        warn_data(
            f"Condition on {column!r}: {off[0]!r} is no clock time (the column holds HHMM "
            "times, whose last two digits are minutes); written as asked, the other columns "
            "are drawn as for the times around it."
        )


def encoder_range(encoders: Mapping[str, ColumnEncoder]) -> Produced:
    """:data:`Produced` for the default model: its encoders' numbers and ranges."""

    def produced(
        column: str, values: list[Any]
    ) -> tuple[np.ndarray, Callable[[float, float], str], tuple[float, float, float]] | None:
        encoder = encoders.get(column)
        if not isinstance(encoder, NumericEncoder):
            return None
        try:
            check_fits_dtype(encoder.spec, values)
            for v in values:
                encoder.tokens_for(v)
            numbers = encoder._condition_numbers(pd.Series(values, dtype=object))
        except (ConditionError, TypeError, ValueError):
            return None
        bounds = encoder.finite_range()
        if bounds is None:
            return None
        # An infinity the column holds often enough to release is a value it produces.
        stats = encoder.statistics
        produced_inf = (np.isposinf(numbers) & bool(stats.get("has_posinf"))) | (
            np.isneginf(numbers) & bool(stats.get("has_neginf"))
        )
        numbers = np.where(produced_inf, np.nan, numbers)
        shown = range_text(_shown_dtype(encoder), encoder.spec.integer_offset)
        # Just past an end is where protected extremes lie, and the nearest value is a fair
        # stand-in there; a column of frequent values only (months) has none (13 went unwarned).
        slack = 0.0 if not len(encoder.within) else 0.1 * (bounds[1] - bounds[0])
        return numbers, shown, (*bounds, slack)

    return produced


def _warn_if_outside(
    column: str,
    values: Sequence[Any],
    numbers: np.ndarray,
    shown: Callable[[float, float], str],
    bounds: tuple[float, float, float],
) -> None:
    low, high, slack = bounds
    outside = [
        v
        for v, x in zip(values, numbers, strict=True)
        if not np.isnan(x) and not low - slack <= x <= high + slack
    ]
    if outside:
        warn_data(
            f"Condition on {column!r}: {outside[0]!r} lies outside the values the "
            f"model produces ({shown(low, high)}); the other columns are drawn "
            "as for the nearest value it produces."
        )


def decode_in_range(
    encoder: NumericEncoder,
    coarse: np.ndarray,
    fine: np.ndarray,
    low: float | None,
    high: float | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """New numbers for the rows whose fine token straddles the range, drawn inside it.

    Returns (rows, values). Within a fine token the decoder spreads the position uniformly; here it
    is uniform over the part of that position interval whose values lie in [low, high], which is
    the model's own within-bin distribution restricted to the range.
    """
    lo = -np.inf if low is None else low
    hi = np.inf if high is None else high
    atoms = encoder._atom_is_bin
    rows_out: list[np.ndarray] = []
    values_out: list[np.ndarray] = []
    in_atoms = coarse < len(atoms)
    is_bin = np.zeros(len(coarse), dtype=bool)
    is_bin[in_atoms] = atoms[coarse[in_atoms]]
    refs = np.full(len(coarse), -1)
    refs[is_bin] = encoder._atom_ref[coarse[is_bin]]
    lo_grid, hi_grid = _range_on_grid(encoder, lo, hi)
    for b in np.unique(refs[is_bin]):
        start, end = position_interval(encoder.grid[b], lo_grid, hi_grid)
        rows = np.flatnonzero(refs == b)
        cell_lo = fine[rows] / N_FINE_TOKENS
        a = np.maximum(cell_lo, start)
        z = np.minimum(cell_lo + 1 / N_FINE_TOKENS, end)
        straddle = (a > cell_lo) | (z < cell_lo + 1 / N_FINE_TOKENS)
        if not straddle.any():
            continue
        rows, a, z = rows[straddle], a[straddle], np.maximum(z[straddle], a[straddle])
        values = encoder.spread(np.full(len(rows), b), a + rng.random(len(rows)) * (z - a))
        if encoder.frequent_values is not None:
            cells = b * N_FINE_TOKENS + fine[rows]
            share_in = (z - a) * N_FINE_TOKENS
            frequent = encoder.frequent_values.draw_in_range(cells, share_in, lo, hi, rng)
            values = np.where(np.isnan(frequent), values, frequent)
        rows_out.append(rows)
        values_out.append(np.clip(values, lo, hi))
    if not rows_out:
        return np.empty(0, dtype=np.int64), np.empty(0)
    return np.concatenate(rows_out), np.concatenate(values_out)


def category_labels(encoder: ColumnEncoder) -> list[str]:
    """Display label of each token of a categorical or numeric column."""
    n = encoder.n_tokens
    labels = [f"token {t}" for t in range(n)]
    if isinstance(encoder, CategoricalEncoder):
        labels[: len(encoder.categories)] = encoder.categories
        if encoder.rare_token is not None:
            labels[encoder.rare_token] = "_RARE_"
    elif isinstance(encoder, NumericEncoder):
        atoms = encoder._atom_is_bin
        for t in range(len(atoms)):
            ref = encoder._atom_ref[t]
            if atoms[t]:
                labels[t] = f"[{encoder.edges[ref]:g}, {encoder.edges[ref + 1]:g})"
            else:
                labels[t] = f"{encoder.spikes[ref]:g}"
        if encoder.neginf_token is not None:
            labels[encoder.neginf_token] = "-inf"
        if encoder.posinf_token is not None:
            labels[encoder.posinf_token] = "+inf"
    if encoder.missing_token is not None:
        labels[encoder.missing_token] = "<missing>"
    return labels


def _condition_numbers(spec: ColumnSpec, values: pd.Series) -> np.ndarray:
    """Condition values as numbers; a date's time zone must fit the column's (ConditionError)."""
    if spec.kind is ColumnKind.DATETIME:
        return condition_seconds(spec, values)
    return numeric_values(spec, values)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
