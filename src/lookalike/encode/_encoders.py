"""Column encoders between values and integer tokens.

Each column kind goes through the same four steps:

1. ``analyze_column(spec, series)`` on each partition gives partial statistics (plain JSON);
2. ``reduce_statistics(spec, partials, ...)`` merges them and applies privacy protection: rare
   categories are withheld, rare numeric values snap to frequent ones, extremes are clipped;
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

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import ConditionError, SchemaError
from lookalike.pii._fakes import FakeMaker, faker_seed
from lookalike.schema import DEFAULT_LOCALE, ColumnKind, ColumnSpec, PiiType
from lookalike.schema._infer import parse_datetimes

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
_DATETIME_STEPS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)

Statistics = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Values: what each kind looks like as numbers or labels
# ---------------------------------------------------------------------------------------------


def _numeric_values(spec: ColumnSpec, series: pd.Series) -> np.ndarray:
    """Numbers as float64 with NaN for missing; datetimes as seconds since the epoch (UTC)."""
    if spec.kind is ColumnKind.DATETIME:
        parsed = parse_datetimes(series, spec.datetime_format)
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        nanos = parsed.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
        nanos[parsed.isna().to_numpy()] = np.nan
        return nanos / 1e9
    values = pd.to_numeric(series, errors="coerce")
    return values.astype("float64").to_numpy(dtype=float, na_value=np.nan)


def _labels(series: pd.Series) -> pd.Series:
    """Labels as exact strings, with missing kept missing.

    A whole float is labelled like the integer (1.0 -> "1"): integer columns turn float when a
    gap appears (in a seed table, say), and must still match their training labels.
    """
    missing = series.isna()
    out = series.astype(object).where(~missing, None)
    return out.map(_label)


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


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
        labels = _labels(series)
        label_counts = labels.dropna().value_counts()
        return {
            "n": n,
            "n_missing": int(labels.isna().sum()),
            "counts": {str(k): int(v) for k, v in label_counts.items()},
        }
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
    values = _numeric_values(spec, series)
    finite = values[np.isfinite(values)]
    distinct, distinct_counts = np.unique(finite, return_counts=True)
    uniques, counts = _compress_histogram(distinct, np.asarray(distinct_counts, dtype=np.int64))
    partial: Statistics = {
        "n": n,
        "n_missing": int(np.isnan(values).sum()),
        "n_posinf": int(np.isposinf(values).sum()),
        "n_neginf": int(np.isneginf(values).sum()),
        "values": uniques.tolist(),
        "counts": counts.tolist(),
    }
    if spec.kind is ColumnKind.DATETIME:
        partial["step_ns"] = _datetime_step_ns(finite)
    return partial


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
        return {**base, "categories": kept, "has_rare": len(kept) < len(ordered)}
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
    values, counts = _merge_histogram(values, counts)
    stats: Statistics = {
        **base,
        "has_posinf": sum(int(p["n_posinf"]) for p in partials) >= rare_threshold,
        "has_neginf": sum(int(p["n_neginf"]) for p in partials) >= rare_threshold,
    }
    if spec.kind is ColumnKind.DATETIME:
        stats["step_ns"] = min(int(p["step_ns"]) for p in partials)
    discrete = spec.kind is ColumnKind.DISCRETE or (
        spec.kind is ColumnKind.DATETIME and len(values) <= 100
    )
    frequent = counts >= rare_threshold
    # Value tokens only when frequent values hold nearly all rows; otherwise (small tables, many
    # rare values) snapping rare values would collapse the column, so bins are used instead.
    if discrete and counts[frequent].sum() >= _MIN_DISCRETE_COVERAGE * max(int(counts.sum()), 1):
        stats.update(mode="discrete", values=values[frequent].tolist())
        return stats
    stats.update(
        mode="continuous", **_continuous_bins(values, counts, rare_threshold, n_bins, n_within)
    )
    return stats


def _continuous_bins(
    values: np.ndarray, counts: np.ndarray, rare_threshold: int, n_bins: int, n_within: int
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
            within.append(_weighted_quantiles(rest_values[mask], rest_counts[mask], grid).tolist())
        else:
            within.append(np.linspace(edges[b], edges[b + 1], n_within + 1).tolist())
    return {"spikes": spikes.tolist(), "edges": edges.tolist(), "within": within}


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
    """Categories (most frequent first), then the rare token, then the missing token."""

    def __init__(self, spec: ColumnSpec, statistics: Mapping[str, Any]) -> None:
        super().__init__(spec, statistics)
        self.categories: list[str] = list(statistics["categories"])
        self._index = {c: i for i, c in enumerate(self.categories)}
        self.rare_token = len(self.categories) if statistics["has_rare"] else None

    @property
    def n_tokens(self) -> int:
        return (
            len(self.categories)
            + (self.rare_token is not None)
            + bool(self.statistics["has_missing"])
        )

    def encode(self, series: pd.Series) -> np.ndarray:
        labels = _labels(series)
        missing = labels.isna().to_numpy()
        fallback = self.rare_token if self.rare_token is not None else -1
        tokens = np.array([self._index.get(v, fallback) for v in labels], dtype=np.int64)
        if self.missing_token is not None:
            tokens[missing] = self.missing_token
        # Values unseen in training, or missing where training had none: the most common token.
        tokens[tokens < 0] = 0
        return tokens.astype(np.int32)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        lookup = np.empty(self.n_tokens, dtype=object)
        lookup[: len(self.categories)] = self.categories
        if self.rare_token is not None:
            lookup[self.rare_token] = RARE_VALUE if _is_textual(self.spec) else None
        if self.missing_token is not None:
            lookup[self.missing_token] = None
        return pd.Series(lookup[tokens], name=self.name, dtype=object)

    def token_for(self, value: Any) -> int:
        if _is_missing(value):
            return self._missing_token_or_error()
        label = str(_label(value))
        if label not in self._index:
            shown = self.categories[:10] + (["..."] if len(self.categories) > 10 else [])
            raise ConditionError(
                f"Column {self.name!r} cannot take the value {label!r}; it takes one of {shown}."
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
        return self._encode_values(_numeric_values(self.spec, series)).astype(np.int32)

    @property
    def has_fine_part(self) -> bool:
        """Continuous columns model the position within a bin as a second token."""
        return self.mode == "continuous" and len(self.edges) > 1

    @property
    def part_tokens(self) -> tuple[int, ...]:
        return (self.n_tokens, N_FINE_TOKENS) if self.has_fine_part else (self.n_tokens,)

    def encode_parts(self, series: pd.Series) -> np.ndarray:
        values = _numeric_values(self.spec, series)
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
        grid = np.linspace(0.0, 1.0, self.within.shape[1])
        for b in np.unique(bins):
            rows = in_bin[bins == b]
            position = np.interp(values[rows], self.within[b], grid)
            fine[rows] = np.minimum((position * N_FINE_TOKENS).astype(np.int64), N_FINE_TOKENS - 1)
        return fine

    def decode_parts(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        fine = tokens[:, 1] if self.has_fine_part and tokens.shape[1] > 1 else None
        numbers = self.decode_numbers(tokens[:, 0], rng, fine=fine)
        if self.spec.kind is ColumnKind.DATETIME:
            return _seconds_to_datetimes(numbers, self.spec, self.name)
        return pd.Series(numbers, name=self.name)

    def tokens_for(self, value: Any) -> tuple[int, ...]:
        coarse = self.token_for(value)
        if not self.has_fine_part:
            return (coarse,)
        number = _numeric_values(self.spec, pd.Series([value]))
        fine = self._fine_tokens(number, np.array([coarse]))
        return (coarse, int(fine[0]))

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
        if from_bin.any():
            rows = self.within[ref[from_bin]]
            n_grid = self.within.shape[1] - 1
            share = rng.random(len(rows))
            if fine is not None:
                # The fine token names a tenth of the bin; draw uniformly within it.
                share = (fine[is_atom][from_bin] + share) / N_FINE_TOKENS
            position = share * n_grid
            lower = np.minimum(position.astype(np.int64), n_grid - 1)
            frac = position - lower
            picked_low = np.take_along_axis(rows, lower[:, None], axis=1)[:, 0]
            picked_high = np.take_along_axis(rows, lower[:, None] + 1, axis=1)[:, 0]
            values[from_bin] = picked_low + frac * (picked_high - picked_low)
        out[is_atom] = values
        if self.neginf_token is not None:
            out[tokens == self.neginf_token] = -np.inf
        if self.posinf_token is not None:
            out[tokens == self.posinf_token] = np.inf
        return self._round(out)

    def _round(self, values: np.ndarray) -> np.ndarray:
        if self.spec.kind is ColumnKind.DATETIME:
            step = int(self.statistics.get("step_ns", 1)) / 1e9
            finite = np.isfinite(values)
            values[finite] = np.round(values[finite] / step) * step
            return values
        decimals = self.spec.decimals
        if decimals is not None and decimals < 6:
            values = np.round(values, decimals)
        return values

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return self.decode_parts(tokens[:, None], rng)

    def token_for(self, value: Any) -> int:
        if _is_missing(value):
            return self._missing_token_or_error()
        try:
            number = _numeric_values(self.spec, pd.Series([value]))[0]
        except (TypeError, ValueError):
            number = np.nan
        if np.isnan(number):
            expected = "a date or time" if self.spec.kind is ColumnKind.DATETIME else "a number"
            raise ConditionError(f"Column {self.name!r} takes {expected}. Got {value!r} instead.")
        return int(self._encode_values(np.array([number]))[0])


class IdentifierEncoder(ColumnEncoder):
    """Unique keys: never learned; fresh keys ``1..n`` (with the real keys' text prefix) are made."""

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
        keys = np.arange(1, n + 1)
        if self.statistics["numeric"]:
            out = pd.Series(keys, name=self.name, dtype=object)
        else:
            prefix = self.statistics["prefix"]
            width = max(int(self.statistics["width"]) - len(prefix), len(str(n)))
            out = pd.Series([f"{prefix}{k:0{width}d}" for k in keys], name=self.name, dtype=object)
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
        return CategoricalEncoder(spec, statistics)
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


def _datetime_step_ns(seconds: np.ndarray) -> int:
    if len(seconds) == 0:
        return 1
    nanos = np.round(seconds * 1e9).astype(np.int64)
    for step in _DATETIME_STEPS_NS:
        if np.all(nanos % step == 0):
            return step
    return 1


def _seconds_to_datetimes(seconds: np.ndarray, spec: ColumnSpec, name: str) -> pd.Series:
    nanos = np.where(np.isfinite(seconds), np.round(np.nan_to_num(seconds) * 1e9), 0).astype(
        np.int64
    )
    stamps = pd.Series(pd.to_datetime(nanos, unit="ns"), name=name)
    stamps = stamps.where(np.isfinite(seconds))
    if spec.datetime_format:
        tz = "UTC" if "%z" in spec.datetime_format or "%Z" in spec.datetime_format else None
        if tz:
            stamps = stamps.dt.tz_localize("UTC")
        text = stamps.dt.strftime(spec.datetime_format)
        return text.astype(object).where(stamps.notna(), None)
    dtype = pd.api.types.pandas_dtype(spec.dtype) if spec.dtype != "str" else None
    tz = getattr(dtype, "tz", None)
    if tz is not None:
        stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
    return stamps.astype(dtype) if dtype is not None else stamps
