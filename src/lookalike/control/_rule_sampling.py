"""Drawing rows that obey business rules: exact, sequential, never rejection.

Columns are drawn in the model's order. When a column is drawn, every rule whose other columns
are already known (drawn earlier or fixed) restricts it, through the token filter of
:func:`lookalike.models._trees.sample_tokens`:

* a category may take only the tokens the rule allows given the known labels (allowed values,
  allowed combinations, equalities, and conditionals between two label columns, all compiled to
  per-token tables);
* a number or date may take only the bins (and tenths of bins) that reach the interval the
  comparisons leave it, given the known values;
* a conditional restricts its ``then`` column on rows where its ``if`` part holds, and its ``if``
  column (by the negation) on rows where its ``then`` part already failed.

Each row is also weighed by the share of its model mass the rules keep at each column they
restrict (:class:`lookalike.control._smc.RuleWeights`; the token filter's shares are that mass),
and the rows are selected from a pool of particles by those weights: the sample is the model's
given the rules, as a condition's is, and the columns drawn before a rule's are reweighed too.

A continuous column's exact value is then drawn from its bin's learned within-bin distribution
restricted to that interval (the inverse of the decoder's share -> value map), before any later
column looks at it, so later comparisons see exact values. Formulas are computed last, and every
rule is verified on the output: a violation that remained would raise, never be emitted.

Comparisons between numeric columns are first closed under transitivity (a difference-bound
matrix, Floyd-Warshall): with ``a <= b`` and ``b <= c``, drawing ``c`` before ``b`` already
enforces ``c >= a``, so ``b`` always has room. The closure also finds contradictory rule sets,
and label tables are pruned to values that have a partner (arc consistency).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lookalike.control._conditions import Condition
from lookalike.control._links import Link
from lookalike.control._rules import (
    Arithmetic,
    Atom,
    Column,
    Domain,
    Expression,
    Formula,
    Membership,
    Rule,
    RuleReport,
    TableValues,
    Value,
    Within,
    check_rules,
    column_domain,
    compare,
    constant_label,
    constant_number,
    evaluate_expression,
    negate,
    parse_rules,
)
from lookalike.encode import (
    N_FINE_TOKENS,
    CategoricalEncoder,
    ColumnEncoder,
    FrequentValues,
    NumericEncoder,
    TableEncoder,
    numeric_values,
    restore_dtype,
    seconds_to_datetimes,
    value_label,
)
from lookalike.errors import ConditionError, warn_data
from lookalike.models._trees import (
    MASKED,
    ColumnModel,
    Patterns,
    TokenFilter,
    group_rows,
    leaf_mixture,
    leaf_probabilities,
)
from lookalike.schema import ColumnKind, ColumnSpec, Schema
from lookalike.schema._numbers import clock_hhmm, clock_minutes

_TOLERANCE = 1e-9
#: The per-row state of a :class:`RuleSampler`: dicts of one array per column, a row per entry.
_ROW_STATE = ("values", "valued", "fixed", "kept_low", "kept_high", "kept", "cut_low", "cut_high")


# ---------------------------------------------------------------------------------------------
# Columns as the rules see them
# ---------------------------------------------------------------------------------------------


@dataclass
class _Column:
    """What the rules need to know about one column's tokens and values."""

    name: str
    domain: Domain
    coarse: int  # position of the first part in the model's order
    fine: int | None  # position of the within-bin part, for continuous columns
    n_tokens: int
    missing: np.ndarray  # bool per token: the token decodes to a missing value
    labels: np.ndarray  # object per token: its label (None where missing)
    low: np.ndarray  # float per token: smallest value it decodes to (NaN where missing)
    high: np.ndarray  # float per token: largest value
    bin_of: np.ndarray  # int per token: its bin, -1 for exact tokens
    within: np.ndarray  # (bins, grid points) learned within-bin quantiles, as the encoder's grid
    step: float | None  # values lie on this grid (decimals, whole numbers, date steps)
    clock: bool = False  # HHMM clock times: whole minutes, and ``within`` holds minutes
    spread: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None  # share -> value
    frequent: FrequentValues | None = None  # values drawn as themselves, by (bin, tenth) cell
    _fine_low: np.ndarray | None = None
    _fine_high: np.ndarray | None = None
    _sorted_low: np.ndarray | None = None
    _sorted_high: np.ndarray | None = None
    _sorted_fine: tuple[np.ndarray, np.ndarray] | None = None
    _token_of_bin: np.ndarray | None = None

    @property
    def continuous(self) -> bool:
        return bool((self.bin_of >= 0).any())

    def round(self, values: np.ndarray) -> np.ndarray:
        """Values as the decoder rounds them (to the column's decimals or date step).

        A formula's HHMM result stays what the formula says, a time or not.
        """
        return values if self.step is None else _on_grid(values, self.step)

    def snap_up(self, low: np.ndarray, strict: np.ndarray) -> np.ndarray:
        """The smallest representable value >= low (> low where strict)."""
        if self.clock:
            # 11:65 is no time: the smallest time at or after it is 12:00.
            with np.errstate(invalid="ignore"):
                g = clock_hhmm(np.ceil(clock_minutes(low) - _TOLERANCE))
                after = clock_hhmm(clock_minutes(g) + 1.0)
            return np.where(strict & (g <= low), after, g)
        if self.step is None:
            return np.where(strict, np.nextafter(low, np.inf), low)
        finite = np.isfinite(low)
        if not finite.all():  # infinite ends stay (the usual case: only a few rows are bounded)
            out = low.copy()
            out[finite] = self.snap_up(low[finite], strict[finite])
            return out
        # An end a sum left off the grid is on it (x <= y - 0.1 at y = 1.9 is 1.7999999999999998:
        # 1.8 is not past it, and a row whose only values were 1.7 and 1.8 had none).
        near = _TOLERANCE * self.step
        with np.errstate(invalid="ignore"):
            g = self.round(np.ceil(low / self.step - _TOLERANCE) * self.step)
            g = np.where(g < low - near, self.round(g + self.step), g)
            return np.where(strict & (g <= low + near), self.round(g + self.step), g)

    def snap_down(self, high: np.ndarray, strict: np.ndarray) -> np.ndarray:
        """The largest representable value <= high (< high where strict)."""
        if self.clock:
            # 11:65 is no time: the largest time at or before it is 11:59.
            with np.errstate(invalid="ignore"):
                g = clock_hhmm(np.floor(clock_minutes(high, upper=True) + _TOLERANCE))
                before = clock_hhmm(clock_minutes(g) - 1.0)
            return np.where(strict & (g >= high), before, g)
        if self.step is None:
            return np.where(strict, np.nextafter(high, -np.inf), high)
        finite = np.isfinite(high)
        if not finite.all():
            out = high.copy()
            out[finite] = self.snap_down(high[finite], strict[finite])
            return out
        near = _TOLERANCE * self.step
        with np.errstate(invalid="ignore"):
            g = self.round(np.floor(high / self.step + _TOLERANCE) * self.step)
            g = np.where(g > high + near, self.round(g - self.step), g)
            return np.where(strict & (g >= high - near), self.round(g - self.step), g)

    def share_to_value(self, bins: np.ndarray, share: np.ndarray) -> np.ndarray:
        """The decoder's map from a share of a bin to a value (:meth:`NumericEncoder.spread`)."""
        if self.spread is None:  # pragma: no cover - only binned numbers have shares
            raise ConditionError(f"Column {self.name!r} has no bins.")
        return self.spread(bins, share)

    def value_to_share(self, bins: np.ndarray, values: np.ndarray, side: str) -> np.ndarray:
        """Smallest (side 'low') or largest ('high') share whose value, as the decoder rounds
        it, reaches ``values``."""
        if self.clock:
            values = clock_minutes(values, upper=side == "high")
        # Values within half a step round onto the bound (minutes for clock times).
        half = 0.5 if self.clock else (self.step or 0.0) / 2
        values = values - half if side == "low" else values + half
        out = np.empty(len(bins))
        grid = np.linspace(0.0, 1.0, self.within.shape[1])
        for b in np.unique(bins):
            rows = bins == b
            quantiles = self.within[b]
            v = np.clip(values[rows], quantiles[0], quantiles[-1])
            if side == "low":
                # First grid segment whose end reaches v, then linear inside it.
                k = np.clip(np.searchsorted(quantiles, v, side="left"), 1, len(quantiles) - 1)
            else:
                k = np.clip(np.searchsorted(quantiles, v, side="right"), 1, len(quantiles) - 1)
            a, c = quantiles[k - 1], quantiles[k]
            width = c - a
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(width > 0, (v - a) / np.where(width > 0, width, 1.0), 0.0)
            out[rows] = grid[k - 1] + np.clip(frac, 0.0, 1.0) * (grid[k] - grid[k - 1])
        return out

    def cuts(
        self, bins: np.ndarray, low: np.ndarray, high: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the shares of bin ``bins`` (>= 0) where the interval [low, high] enters and
        leaves its spread (0 and 1 where an end does not cut the bin), the shares
        :meth:`RuleSampler._draw_values` draws between."""
        enter, leave = np.zeros(len(bins)), np.ones(len(bins))
        tokens = self.token_of_bin[bins]
        cut_low = low > self.low[tokens]
        if cut_low.any():
            enter[cut_low] = self.value_to_share(bins[cut_low], low[cut_low], "low")
        cut_high = high < self.high[tokens]
        if cut_high.any():
            leave[cut_high] = self.value_to_share(bins[cut_high], high[cut_high], "high")
        return enter, np.maximum(leave, enter)

    def tenth_shares(
        self,
        bins: np.ndarray,
        enter: np.ndarray,
        leave: np.ndarray,
        low: np.ndarray,
        high: np.ndarray,
    ) -> np.ndarray:
        """(rows, tenths): the share of each tenth's rows whose values the interval keeps.

        The spread rows count by the part of the tenth's positions between ``enter`` and
        ``leave``; the tenth's frequent values count when they lie in [low, high].
        """
        tenth = np.arange(N_FINE_TOKENS) / N_FINE_TOKENS
        inside = np.minimum(leave[:, None], tenth + 1 / N_FINE_TOKENS) - np.maximum(
            enter[:, None], tenth
        )
        positional = np.asarray(np.clip(inside * N_FINE_TOKENS, 0.0, 1.0))
        if self.frequent is None:
            return positional
        # Rows share few (bin, low, high): a pair rule's bound is the other column's value.
        ends = [np.unique(end, return_inverse=True)[1].reshape(-1) for end in (low, high)]
        first, back = group_rows([bins, *ends], len(bins))
        if len(first) < len(bins):
            shares = self.tenth_shares(
                bins[first], enter[first], leave[first], low[first], high[first]
            )
            return np.asarray(shares[back])
        # Only the tenths an end cuts differ: the others are wholly in or out, frequent values
        # and all (so a cell's entries are read for at most two tenths a row).
        row, part = np.nonzero((positional > 0) & (positional < 1))
        shares = positional.copy()
        shares[row, part] = self.frequent.shares_in_range(
            bins[row] * N_FINE_TOKENS + part, positional[row, part], low[row], high[row]
        )
        return shares

    def kept_share(self, bins: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Per row, the share of bin ``bins``'s spread that [low, high] keeps (a bin without
        tenths has no frequent values: its rows are spread)."""
        enter, leave = self.cuts(bins, low, high)
        return np.asarray(leave - enter)

    @property
    def token_of_bin(self) -> np.ndarray:
        if self._token_of_bin is None:
            binned = np.flatnonzero(self.bin_of >= 0)
            self._token_of_bin = np.zeros(len(self.within), dtype=np.int64)
            self._token_of_bin[self.bin_of[binned]] = binned
        return self._token_of_bin

    def cut_bins(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the bin the interval's low end cuts and the one its high end cuts (-1:
        none); the same bin when both ends fall inside it."""
        bins = self.token_of_bin
        first, last = self.low[bins], self.high[bins]  # bins lie in value order
        at_low = np.searchsorted(last, low, side="left")
        inside = at_low < len(bins)
        at_low = np.where(inside, at_low, 0)
        at_low = np.where(inside & (first[at_low] < low), at_low, -1)
        at_high = np.searchsorted(first, high, side="right") - 1
        inside = at_high >= 0
        at_high = np.where(inside, at_high, 0)
        at_high = np.where(inside & (high < last[at_high]), at_high, -1)
        return at_low, at_high

    def rank_of_low(self, low: np.ndarray) -> np.ndarray:
        """How many tokens lie wholly below each lower end: rows with equal ranks allow the
        same tokens (NaN ends rank last)."""
        if self._sorted_high is None:
            self._sorted_high = np.sort(self.high)
        return np.searchsorted(self._sorted_high, low, side="left")

    def rank_of_high(self, high: np.ndarray) -> np.ndarray:
        """How many tokens start at or below each upper end (the same for the upper side)."""
        if self._sorted_low is None:
            self._sorted_low = np.sort(self.low)
        return np.searchsorted(self._sorted_low, high, side="right")

    def fine_ranks(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`rank_of_low` and :meth:`rank_of_high` among every bin's tenths: rows in one
        bin with equal ranks allow the same tenths."""
        self.fine_ranges(np.zeros(0, dtype=np.int64))  # builds the tables on first use
        assert self._fine_low is not None and self._fine_high is not None
        if self._sorted_fine is None:
            self._sorted_fine = (np.sort(self._fine_high.ravel()), np.sort(self._fine_low.ravel()))
        by_high, by_low = self._sorted_fine
        return (
            np.searchsorted(by_high, low, side="left"),
            np.searchsorted(by_low, high, side="right"),
        )

    def fine_range(self, bins: np.ndarray, fine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest value of each row's tenth ``fine`` of its bin."""
        self.fine_ranges(bins[:0])  # builds the tables on first use
        assert self._fine_low is not None and self._fine_high is not None  # set by fine_ranges
        flat = np.asarray(bins, dtype=np.int64) * N_FINE_TOKENS + fine
        return self._fine_low.ravel().take(flat), self._fine_high.ravel().take(flat)

    def fine_ranges(self, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, N_FINE_TOKENS) smallest and largest value of each tenth of each row's bin."""
        if self._fine_low is None or self._fine_high is None:
            n_bins = len(self.within)
            edges = np.linspace(0.0, 1.0, N_FINE_TOKENS + 1)
            every = np.repeat(np.arange(n_bins), N_FINE_TOKENS)
            starts = np.tile(edges[:-1], n_bins)
            ends = np.tile(edges[1:], n_bins)
            shape = (n_bins, N_FINE_TOKENS)
            self._fine_low = self.round(self.share_to_value(every, starts)).reshape(shape)
            self._fine_high = self.round(self.share_to_value(every, ends)).reshape(shape)
        return self._fine_low[bins], self._fine_high[bins]


#: The least weight of a token the rules allow: an interval that only touches it keeps it possible.
_LEAST_SHARE = 1e-9


@dataclass(frozen=True)
class _EndCuts:
    """Tokens a filter call weighs only for the rows that draw them
    (:class:`~lookalike.models._trees.CutShares`): the bins its intervals cut (-1: none; see
    :meth:`RuleSampler._cut_shares`) and, where the rules exclude values, the missing token
    (:meth:`RuleSampler._missing_shares`)."""

    sampler: RuleSampler
    column: _Column
    features: np.ndarray
    rows: np.ndarray
    low: np.ndarray
    high: np.ndarray
    bin_low: np.ndarray
    bin_high: np.ndarray
    allowed: np.ndarray  # (patterns, tokens), as the filter returns them
    index: np.ndarray  # each row's pattern

    def tokens(self) -> np.ndarray | None:
        """Per pattern, the allowed tokens weighed lazily (None: none)."""
        cut = np.zeros(self.allowed.shape, dtype=bool)
        some = np.zeros(len(self.allowed), dtype=np.intp)
        some[self.index] = np.arange(len(self.index))
        for bins in (self.bin_low, self.bin_high):
            at = np.flatnonzero(bins[some] >= 0)
            cut[at, self.column.token_of_bin[bins[some][at]]] = True
        # A missing value satisfies every rule: where the rules exclude values, it keeps the
        # share the model gives it (else it takes theirs: 30 % of flights' arrival delays
        # came out missing under arr_delay >= 100, against 2.6 %).
        present = ~self.column.missing
        restricted = np.asarray((~self.allowed[:, present]).any(axis=1) | cut.any(axis=1))
        cut |= restricted[:, None] & self.column.missing[None, :]
        cut &= self.allowed
        return cut if cut.any() else None

    def __call__(
        self, rows: np.ndarray, tokens: np.ndarray, trees: np.ndarray | None = None
    ) -> np.ndarray:
        share = self.sampler._cut_shares(self, rows, tokens)
        gone = self.column.missing[tokens]
        if gone.any():
            tree = None if trees is None else trees[gone]
            share[gone] = self.sampler._missing_shares(self, rows[gone], tree)
        return share


def listed_values(values: Sequence[Any], most: int = 12) -> str:
    """The first ``most`` values, quoted, for a message (``'a', 'b', ...``)."""
    return ", ".join(repr(v) for v in values[:most]) + (", ..." if len(values) > most else "")


def _check_labels(
    column: _Column, labels: set[Any], rule: str, declared: Sequence[Any] | None
) -> None:
    """Warn where the model never gives one of ``labels`` in ``column``: a misspelt category
    made ``carrier != "Ev"`` hold everywhere and ``carrier == "ZZ"`` nowhere, silently. (Not an
    error: a real category too rare to be released, or one the dtype declares, is such a value
    and the rule about it is sound.)"""
    emitted = {label for label, gone in zip(column.labels, column.missing, strict=True) if not gone}
    unknown = sorted(str(label) for label in labels - emitted - {str(v) for v in declared or ()})
    if unknown:
        listed = listed_values(sorted(str(label) for label in emitted))
        warn_data(
            f"Rule {rule!r}: {unknown[0]!r} is not a value the model gives column "
            f"{column.name!r} (it gives {listed}); the rule takes it for a value never drawn. "
            "A misspelling? (Categories too rare to release are never drawn either.)"
        )


def _describe_column(
    name: str, encoder: TableEncoder, position_in_order: Mapping[int, int], rule: str
) -> _Column:
    if name not in encoder.encoders:
        raise ConditionError(
            f"Rule {rule!r} names the unknown column {name!r}; the model has "
            f"{list(encoder.encoders)}."
        )
    column_encoder = encoder.encoders[name]
    spec = column_encoder.spec
    if not column_encoder.is_modelled or spec.pii is not None:
        raise ConditionError(
            f"Rule {rule!r}: column {name!r} is an identifier or PII column, which is generated, "
            "not learned; rules cannot constrain it."
        )
    if spec.integer_offset is not None:
        # Rules compute in float64, which cannot tell such numbers apart; conditions are exact.
        raise ConditionError(
            f"Rule {rule!r}: column {name!r} holds whole numbers beyond 2**53, which rules "
            "cannot compare exactly; condition on its values instead."
        )
    positions = [position_in_order[p] for p in encoder.positions(name)]
    domain = column_domain(spec)
    n = column_encoder.n_tokens
    bin_of = np.full(n, -1, dtype=np.int64)
    within = np.empty((0, 2))
    step: float | None = None
    if isinstance(column_encoder, CategoricalEncoder):
        labels = column_encoder.decode(np.arange(n), np.random.default_rng(0)).to_numpy(
            dtype=object
        )
        missing = np.array([v is None for v in labels])
        low = np.full(n, np.nan)
        if domain == "number":
            for t, label in enumerate(labels):
                if label is not None:
                    try:
                        low[t] = float(label)
                    except ValueError:
                        missing[t] = True
        high = low.copy()
    elif isinstance(column_encoder, NumericEncoder):
        low, high, bin_of, within = _numeric_token_ranges(column_encoder)
        missing = np.isnan(low)
        labels = np.array([None if np.isnan(v) else _number_label(v) for v in low], dtype=object)
        if spec.kind is ColumnKind.DATETIME:
            step = int(column_encoder.statistics.get("step_ns", 1)) / 1e9
        elif spec.decimals is not None and spec.decimals < 6:
            step = 10.0 ** (-spec.decimals)
        if step is not None:
            # As the decoder rounds them: 17 * 0.1 is 1.7000000000000002, and a row whose
            # interval was [1.7, 1.7] had no token (its lowest started past 1.7).
            low, high = _on_grid(low, step), _on_grid(high, step)
    else:  # pragma: no cover - every modelled kind is one of the two
        raise ConditionError(f"Rule {rule!r}: column {name!r} cannot carry rules.")
    return _Column(
        name=name,
        domain=domain,
        coarse=positions[0],
        fine=positions[1] if len(positions) > 1 else None,
        n_tokens=n,
        missing=missing,
        labels=labels,
        low=low,
        high=high,
        bin_of=bin_of,
        within=within,
        step=step,
        clock=isinstance(column_encoder, NumericEncoder) and column_encoder.clock,
        spread=column_encoder.spread if isinstance(column_encoder, NumericEncoder) else None,
        frequent=(
            column_encoder.frequent_values
            if isinstance(column_encoder, NumericEncoder) and len(positions) > 1
            else None
        ),
    )


def _token_labels(column: _Column) -> list[str | None]:
    """Each token's label as links and data know it (``value_label``), None where missing."""
    return [
        None if missing else value_label(label)
        for label, missing in zip(column.labels, column.missing, strict=True)
    ]


def _number_label(value: float) -> str | None:
    if np.isinf(value):
        return str(value)
    return constant_label(float(value))


def _on_grid(values: np.ndarray, step: float) -> np.ndarray:
    """Values rounded to a column's step as the decoder rounds them.

    >>> _on_grid(np.array([17 * 0.1, -0.01]), 0.1).tolist()
    [1.7, 0.0]
    """
    with np.errstate(invalid="ignore"):
        decimals = -math.log10(step)
        if step < 1 and abs(decimals - round(decimals)) < 1e-9:
            # As the decoder rounds decimals: 4800 * 0.0001 is 0.48000000000000004, past a
            # bound of 0.48, where round(0.48, 4) is 0.48 (every row broke 0.47 <= x <= 0.48
            # that ended at its bound).
            return np.asarray(np.round(values, round(decimals)) + 0.0)
        # + 0.0 turns -0.0 into 0.0.
        return np.asarray(np.round(values / step) * step + 0.0)


def _numeric_token_ranges(
    encoder: NumericEncoder,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per token: smallest and largest decoded value, bin (-1 for exact values), within-bin grid."""
    n = encoder.n_tokens
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    bin_of = np.full(n, -1, dtype=np.int64)
    n_bins = max(len(encoder.edges) - 1, 0)
    # The encoder lays out atoms in value order: spikes at their value, bins at their lower edge.
    keys = np.concatenate([encoder.spikes, encoder.edges[:n_bins]])
    is_bin = np.concatenate([np.zeros(len(encoder.spikes), bool), np.ones(n_bins, bool)])
    order = np.lexsort((is_bin, keys))
    refs = np.concatenate([np.arange(len(encoder.spikes)), np.arange(n_bins)])[order]
    for token, (binned, ref) in enumerate(zip(is_bin[order], refs, strict=True)):
        if binned:
            low[token] = encoder.within[ref, 0]
            high[token] = encoder.within[ref, -1]
            bin_of[token] = ref
        else:
            low[token] = high[token] = encoder.spikes[ref]
    for extreme, value in ((encoder.neginf_token, -np.inf), (encoder.posinf_token, np.inf)):
        if extreme is not None:
            low[extreme] = high[extreme] = value
    within = encoder.grid if n_bins else np.empty((0, 2))
    return low, high, bin_of, within


# ---------------------------------------------------------------------------------------------
# Compiled constraints
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unary:
    """A label (or exact-value) column may take only the tokens marked true."""

    column: str
    truth: np.ndarray  # bool per token; tokens that decode to missing are true
    rule: str


@dataclass(frozen=True)
class _Pair:
    """Two label columns: ``table[a_token, b_token]`` says whether the pair may occur."""

    a: str
    b: str
    table: np.ndarray
    rule: str


@dataclass(frozen=True)
class _Bound:
    """``column op other`` (a column name) or ``column op constant`` for numbers and dates."""

    column: str
    op: str
    other: str | None
    constant: float
    rule: str

    def mirrored(self) -> _Bound:
        assert self.other is not None
        mirror = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
        return _Bound(self.other, mirror[self.op], self.column, 0.0, self.rule)


_Constraint = _Unary | _Pair | _Bound


@dataclass(frozen=True)
class _Conditional:
    """``if condition then consequence``, enforced per row on whichever column comes last."""

    condition: _Constraint
    consequence: _Constraint
    negated_condition: _Constraint
    rule: str


def _columns_of(constraint: _Constraint) -> tuple[str, ...]:
    if isinstance(constraint, _Unary):
        return (constraint.column,)
    if isinstance(constraint, _Pair):
        return (constraint.a, constraint.b)
    return (
        (constraint.column,) if constraint.other is None else (constraint.column, constraint.other)
    )


class _Differences:
    """A difference-bound matrix: ``x_i - x_j <= bound[i, j]`` (``<`` where strict); x_0 = 0."""

    def __init__(self, names: Sequence[str], steps: Mapping[str, float | None]) -> None:
        self.names = list(names)
        self.index = {name: i + 1 for i, name in enumerate(self.names)}
        self.steps = [None, *(steps[name] for name in self.names)]
        size = len(self.names) + 1
        self.bound = np.full((size, size), np.inf)
        np.fill_diagonal(self.bound, 0.0)
        self.strict = np.zeros((size, size), dtype=bool)

    def copy(self) -> _Differences:
        other = _Differences.__new__(_Differences)
        other.names, other.index, other.steps = self.names, self.index, self.steps
        other.bound, other.strict = self.bound.copy(), self.strict.copy()
        return other

    def implied(self, i: int, j: int) -> bool:
        """Whether ``x_i - x_j``'s bound follows from the two columns' own bounds (through x_0)."""
        through = self.bound[i, 0] + self.bound[0, j]
        if self.bound[i, j] != through:
            return bool(self.bound[i, j] > through)
        return not self.strict[i, j] or bool(self.strict[i, 0] or self.strict[0, j])

    def add(self, bound: _Bound) -> None:
        """Add ``column op other|constant`` (``!=`` is not a difference bound and is skipped)."""
        i = self.index[bound.column]
        j = 0 if bound.other is None else self.index[bound.other]
        c = bound.constant if bound.other is None else 0.0
        op = bound.op
        if op in ("<=", "<", "=="):
            self._edge(i, j, c, op == "<")
        if op in (">=", ">", "=="):
            self._edge(j, i, -c, op == ">")

    def _edge(self, i: int, j: int, c: float, strict: bool) -> None:
        # On a grid a bound moves to the grid, and a strict one a step inside: x < 5 is x <= 4.
        if i == 0 or j == 0:
            step = self.steps[j] if i == 0 else self.steps[i]
        else:
            step = self.steps[i] if self.steps[i] == self.steps[j] else None
        if step is not None and np.isfinite(c):
            k = c / step
            on_grid = abs(k - round(k)) < 1e-9
            k = round(k) - (1 if strict else 0) if on_grid else float(np.floor(k))
            c, strict = k * step, False
        if c < self.bound[i, j] or (c == self.bound[i, j] and strict and not self.strict[i, j]):
            self.bound[i, j], self.strict[i, j] = c, strict

    def close(self) -> bool:
        """Tighten every bound to what the others imply; False if they contradict."""
        bound, strict = self.bound, self.strict
        for k in range(len(bound)):
            through = bound[:, k : k + 1] + bound[k : k + 1, :]
            through_strict = strict[:, k : k + 1] | strict[k : k + 1, :]
            tighter = (through < bound) | ((through == bound) & through_strict & ~strict)
            bound[tighter] = through[tighter]
            strict[tighter] = through_strict[tighter]
        diagonal = np.diag(bound)
        return not bool(np.any(diagonal < -1e-9) or np.any((diagonal <= 1e-9) & np.diag(strict)))


# ---------------------------------------------------------------------------------------------
# The sampler
# ---------------------------------------------------------------------------------------------


class RuleSampler:
    """Compiles rules against a fitted model; gives the token filter and the final steps.

    One instance serves one ``sample`` call: it keeps the exact values of the continuous columns
    it has drawn so far.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        encoder: TableEncoder,
        order: np.ndarray,
        n_rows: int,
        rng: np.random.Generator,
        fixed_values: pd.DataFrame | None = None,
        models: Sequence[ColumnModel] | None = None,
        links: Sequence[Link] = (),
    ) -> None:
        self.rules = list(rules)
        # Whether the rows drawn weigh by the mass the rules leave them (controlled sampling's
        # particles; set by its caller).
        self.weighs_rows = False
        self.encoder = encoder
        self.models = models  # the model's column trees, in its order
        self.schema: Schema = encoder.schema
        self.n_rows = n_rows
        self.rng = rng
        position_in_order = {int(m): k for k, m in enumerate(order)}
        self.columns: dict[str, _Column] = {}
        self.formulas: dict[str, Formula] = {}
        self.formula_rules: dict[str, str] = {}
        unary: list[_Unary] = []
        pairs: list[_Pair] = []
        bounds: list[_Bound] = []
        self.conditionals: list[_Conditional] = []
        for rule in self.rules:
            for name in rule.columns:
                if name not in self.columns:
                    self.columns[name] = _describe_column(
                        name, encoder, position_in_order, rule.text
                    )
            if rule.formula is not None:
                self._add_formula(rule)
                continue
            compiled = [self._compile(atom, rule.text) for atom in rule.atoms]
            if rule.condition is None:
                for constraint in compiled:
                    _sort(constraint, unary, pairs, bounds)
                continue
            consequence = compiled[0]
            condition = self._compile(rule.condition, rule.text)
            negated = self._compile(negate(rule.condition), rule.text)
            if isinstance(condition, _Unary | _Pair) and isinstance(consequence, _Unary | _Pair):
                names = set(_columns_of(condition)) | set(_columns_of(consequence))
                if len(names) == 2:
                    pairs.append(self._conditional_pair(condition, consequence, rule.text))
                    continue
            self.conditionals.append(_Conditional(condition, consequence, negated, rule.text))
        linked: list[_Pair] = []
        for link in links:
            pair = self._link_pair(link, encoder, position_in_order)
            if pair is not None:
                linked.append(pair)
        pairs += linked
        targets = set(self.formulas)
        for rule in self.rules:
            clash = targets & set(rule.columns) - (
                {rule.formula.target} if rule.formula is not None else set()
            )
            if clash:
                raise ConditionError(
                    f"Rule {rule.text!r} uses {sorted(clash)}, which a formula derives; a derived "
                    "column cannot be constrained by other rules (constrain its inputs instead)."
                )
        self._settle(unary, pairs, bounds)
        # Conditions of controlled sampling (see take_conditions): values fixed on every row,
        # and the ranges each column's exact value must also keep.
        self.every_row: pd.DataFrame | None = None
        self.own_range: dict[str, tuple[float, float]] = {}
        self.differences_for: dict[str, _Differences] = {}
        # Per-row state, one entry per row (see _ROW_STATE): the exact values drawn so far and,
        # kept from the draw of a continuous column's bin for the draw of its exact value
        # (nothing is drawn in between, so it is still the same), the interval its rules leave.
        # The bins the rules' ends cut, as weighed when each row's bin was drawn: per entry, the
        # bin, its tenths' weights, and whether an end cuts a tenth (else the tenth is free).
        self._cut_tables: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._cut_dropped: dict[str, int] = {}  # entries numbered before the table's first
        self._set_rows(self._new_rows(n_rows))
        if fixed_values is not None:
            self._take_fixed(fixed_values, self._rows())
        self.by_position: dict[int, tuple[str, int]] = {}
        for name, column in self.columns.items():
            self.by_position[column.coarse] = (name, 0)
            if column.fine is not None:
                self.by_position[column.fine] = (name, 1)
        self._cached_features: np.ndarray | None = None
        self._cached_tokens: dict[str, np.ndarray] = {}
        # A derived column's last formula values and their tokens.
        self._pinned: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # The columns valued on every row of the last ``rows`` seen by _value_known.
        self._complete_rows: np.ndarray | None = None
        self._complete: set[str] = set()
        self._fixed_here: set[str] = set()
        self._row_index: slice | np.ndarray = slice(0, 0)
        self.may_exclude = {
            name: any(name in _columns_of(b) for b in self.exclusions)
            or any(
                isinstance(part, _Bound) and part.op == "!=" and name in _columns_of(part)
                for c in self.conditionals
                for part in (c.consequence, c.negated_condition)
            )
            for name in self.columns
        }
        self.draw_order = sorted(
            (c for c in self.columns.values() if c.continuous), key=lambda c: c.coarse
        )
        # The model columns at which rows are weighed by the mass the rules keep (see
        # lookalike.control._smc.RuleWeights): a column's first part, whose weight already
        # holds the share of its bin the rules leave to the tenths; not a derived column, whose
        # value the formula sets.
        named = {name for rule in self.rules if rule.formula is None for name in rule.columns}
        self._linked = linked
        self._named = frozenset(named)  # the rules' own columns (named grows below)
        named |= self._restricted_through_links(named, linked)
        # The other columns of each column's rules (those of formulas aside: they set values).
        self.partners: dict[str, set[str]] = {name: set() for name in self.columns}
        for rule in self.rules:
            if rule.formula is None:
                for name in rule.columns:
                    self.partners[name] |= set(rule.columns) - {name}
        self.weighed = frozenset(
            column.coarse
            for name, column in self.columns.items()
            if name in named and name not in self.formulas
        )

    def linked_only(self, j: int, features: np.ndarray, rows: np.ndarray) -> Patterns | None:
        """The tokens the links alone leave the column drawn at model column ``j``, given the
        columns drawn before it (None: no restriction): a filter whose mass is not weighed.

        The link sets a column drawn after its source whatever the trees give it, so the
        rules keep all of what the link leaves: weighed by the trees' share of the country
        the link gives a city, a rule ``country == 'Ka'`` moved a group drawn before from
        0.36 of the rows to 0.46 (the same value as a condition: 0.36, the data's 0.36).
        """
        del rows  # the same for every row that holds the same tokens
        target = self.by_position.get(j)
        if target is None or target[1] != 0:
            return None
        name = target[0]
        restriction: Patterns | None = None
        for pair in self._linked:
            if name not in (pair.a, pair.b):
                continue
            other = self.columns[pair.b if pair.a == name else pair.a]
            tokens = features[:, other.coarse].astype(np.int64)
            known = tokens != MASKED
            if not known.any():
                continue
            table = pair.table if pair.a == name else pair.table.T  # (this, other)
            # One pattern per token of the other column, and one allowing all for the unknown.
            allowed = np.vstack([table.T, np.ones((1, table.shape[0]), dtype=bool)])
            index = np.where(known, tokens, other.n_tokens).astype(np.intp)
            patterns = Patterns(allowed, index)
            restriction = patterns if restriction is None else restriction & patterns
        return restriction

    def waived(self, j: int, features: np.ndarray) -> np.ndarray | None:
        """Per row, which of the columns the rules tie to the one drawn at model column ``j``
        are missing, drawn or fixed before it (their rules do not bind there): bit ``k`` for
        the ``k``-th; None where none is on any row."""
        target = self.by_position.get(j)
        if target is None or target[1] != 0:
            return None
        out = np.zeros(len(features), dtype=np.int64)
        for k, other in enumerate(sorted(self.partners[target[0]])):
            column = self.columns[other]
            tokens = features[:, column.coarse]
            known = np.flatnonzero(tokens != MASKED)
            gone = column.missing[tokens[known].astype(np.int64)]
            out[known[gone]] |= 1 << min(k, 62)
        return out if out.any() else None

    def _restricted_through_links(self, named: Set[str], linked: Sequence[_Pair]) -> set[str]:
        """The columns a link ties (in a chain too) to one the rules name, which the rows are
        weighed at: those drawn before every column they are linked with.

        Under ``city == 'Bonn'`` a country drawn before the city may only be Germany; unweighed,
        the columns before it kept their shares (half the rows from a group of mostly French
        rows, nine in ten given the condition). A column drawn after one it is linked with
        has only the values the link leaves it given that one (the link recomputes it, or
        the source it is computed from): the rules keep all of that mass, and weighing it by
        the trees' share of those values only added the model's error (a country weighed at
        0.49 for one of three cities the rule kept, whose share fell from 0.27 to 0.15).
        """
        component = set(named)
        while (
            grown := {c for p in linked if {p.a, p.b} & component for c in (p.a, p.b)} - component
        ):
            component |= grown
        position = {name: self.columns[name].coarse for name in component}
        first = {name: True for name in component}
        for pair in linked:
            if pair.a in component:
                later = pair.a if position[pair.a] > position[pair.b] else pair.b
                first[later] = False
        return {name for name in component - named if first[name]}

    # -- compiling --------------------------------------------------------------------------

    def _declared(self, name: str) -> Sequence[Any] | None:
        spec = self.schema[name] if name in self.schema.names else None
        return None if spec is None else spec.category_order

    def _compile(self, atom: Atom, rule: str) -> _Constraint:
        if isinstance(atom, Within):
            return self._compile_within(atom, rule)
        if isinstance(atom, Membership):
            column = self.columns[atom.column]
            if column.domain == "label":
                allowed = {constant_label(v) for v in atom.values}
                _check_labels(column, allowed, rule, self._declared(atom.column))
                member = np.array([label in allowed for label in column.labels])
            else:
                if column.continuous:
                    raise ConditionError(
                        f"Rule {rule!r}: 'in' on the continuous column {atom.column!r} is not "
                        "supported; use a range."
                    )
                numbers = [constant_number(v, column.domain, rule) for v in atom.values]
                member = np.isin(column.low, numbers)
            truth = (~member if atom.negated else member) | column.missing
            return _Unary(atom.column, truth, rule)
        left = atom.left
        assert isinstance(left, Column)
        column = self.columns[left.name]
        right = atom.right
        if isinstance(right, Column):
            other = self.columns[right.name]
            if (column.domain == "label") != (other.domain == "label") or {
                column.domain,
                other.domain,
            } == {"number", "time"}:
                raise ConditionError(
                    f"Rule {rule!r}: columns {left.name!r} ({column.domain}) and {right.name!r} "
                    f"({other.domain}) cannot be compared."
                )
            if left.name == right.name:
                raise ConditionError(f"Rule {rule!r} compares a column with itself.")
            if column.domain == "label":
                if atom.op not in ("==", "!="):
                    raise ConditionError(
                        f"Rule {rule!r}: label columns can only be compared with == and !=."
                    )
                a = column.labels[:, None]
                b = other.labels[None, :]
                table = (a == b) if atom.op == "==" else (a != b)
                table = table | column.missing[:, None] | other.missing[None, :]
                return _Pair(left.name, right.name, np.asarray(table, dtype=bool), rule)
            return _Bound(left.name, atom.op, right.name, 0.0, rule)
        if column.domain == "label":
            if atom.op not in ("==", "!="):
                raise ConditionError(
                    f"Rule {rule!r}: column {left.name!r} holds labels, which can only be "
                    "compared with == and != (or 'in')."
                )
            _check_labels(column, {constant_label(right.value)}, rule, self._declared(left.name))
            equal = column.labels == constant_label(right.value)
            truth = (equal if atom.op == "==" else ~equal) | column.missing
            return _Unary(left.name, np.asarray(truth, dtype=bool), rule)
        constant = constant_number(right.value, column.domain, rule)
        return _Bound(left.name, atom.op, None, constant, rule)

    def _compile_within(self, atom: Within, rule: str) -> _Pair:
        if atom.pairs is None:
            raise ConditionError(
                f"Rule {rule!r}: its allowed combinations are unknown; declare the rule at fit "
                "time (they are learned from the data) or give them as "
                "{'rule': ..., 'allowed': {parent: [children]}}."
            )
        child, parent = self.columns[atom.child], self.columns[atom.parent]
        for column in (child, parent):
            if column.continuous:
                raise ConditionError(
                    f"Rule {rule!r}: 'within' needs columns of labels or exact values; "
                    f"{column.name!r} is continuous."
                )
        child_index = {label: i for i, label in enumerate(child.labels) if label is not None}
        parent_index = {label: i for i, label in enumerate(parent.labels) if label is not None}
        table = np.zeros((child.n_tokens, parent.n_tokens), dtype=bool)
        for c, p in atom.pairs:
            if c in child_index and p in parent_index:
                table[child_index[c], parent_index[p]] = True
        if atom.negated:
            table = ~table
        table |= child.missing[:, None] | parent.missing[None, :]
        return _Pair(atom.child, atom.parent, table, rule)

    def _link_pair(
        self, link: Link, encoder: TableEncoder, position_in_order: Mapping[int, int]
    ) -> _Pair | None:
        """A ``mapping`` link as a table of allowed pairs: a listed source value goes only with
        its value, an unlisted one (rare, say) with any; None for a column drawn by bins.

        Rules restrict a column given the columns drawn before it, and the link is recomputed
        after the draw: under ``region == "N"`` a state drawn before the region would then
        give most rows another region, and the rule would keep the broken pair. With the
        table, the arc consistency of the rules keeps only the states of the allowed regions.
        """
        text = f"the link {link.describe()}"
        (source_name,) = link.sources
        described = {
            name: self.columns.get(name) or _describe_column(name, encoder, position_in_order, text)
            for name in (source_name, link.column)
        }
        if any(column.continuous for column in described.values()):
            return None
        self.columns.update(described)
        source, computed = described[source_name], described[link.column]
        computed_index = {
            label: t for t, label in enumerate(_token_labels(computed)) if label is not None
        }
        value_of = dict(link.pairs)
        table = np.ones((source.n_tokens, computed.n_tokens), dtype=bool)
        for t, label in enumerate(_token_labels(source)):
            mapped = value_of.get(label) if label is not None else None
            if mapped is not None and mapped in computed_index:
                table[t] = computed.missing
                table[t, computed_index[mapped]] = True
        return _Pair(source_name, link.column, table, text)

    def _conditional_pair(
        self, condition: _Constraint, consequence: _Constraint, rule: str
    ) -> _Pair:
        """A conditional between two label columns is a table of allowed token pairs."""
        assert isinstance(condition, _Unary) and isinstance(consequence, _Unary)
        a, b = self.columns[condition.column], self.columns[consequence.column]
        condition_true = condition.truth & ~a.missing
        table = ~condition_true[:, None] | consequence.truth[None, :]
        return _Pair(a.name, b.name, table, rule)

    def _add_formula(self, rule: Rule) -> None:
        formula = rule.formula
        assert formula is not None
        for name in formula.columns:
            if self.columns[name].domain != "number":
                raise ConditionError(
                    f"Rule {rule.text!r}: formulas use numeric columns; {name!r} is not one."
                )
        if formula.target in formula.inputs:
            raise ConditionError(f"Rule {rule.text!r} derives a column from itself.")
        if formula.target in self.formulas:
            raise ConditionError(
                f"Rules {self.formula_rules[formula.target]!r} and {rule.text!r} both derive "
                f"{formula.target!r}."
            )
        self.formulas[formula.target] = formula
        self.formula_rules[formula.target] = rule.text
        inputs = set(formula.inputs)
        for other, earlier in self.formulas.items():
            if other != formula.target and (formula.target in earlier.inputs or other in inputs):
                raise ConditionError(
                    f"Rules {self.formula_rules[other]!r} and {rule.text!r}: a derived column "
                    "cannot feed another formula."
                )

    def _settle(self, unary: list[_Unary], pairs: list[_Pair], bounds: list[_Bound]) -> None:
        """Close the comparisons, prune the label tables, and find contradictions."""
        numeric = sorted(
            {n for b in bounds for n in _columns_of(b)}
            | {
                n
                for c in self.conditionals
                for part in (c.condition, c.consequence)
                if isinstance(part, _Bound)
                for n in _columns_of(part)
            }
        )
        steps = {n: self.columns[n].step for n in numeric}
        differences = _Differences(numeric, steps)
        ranged = [b for b in bounds if b.op != "!="]
        for bound in ranged:
            differences.add(bound)
        if not differences.close():
            culprits = _minimal_conflict(ranged, lambda subset: _feasible(numeric, steps, subset))
            raise ConditionError(
                "Rules "
                + ", ".join(repr(r) for r in _unique(b.rule for b in culprits))
                + " contradict each other: no value satisfies them all."
            )
        # A conditional whose consequence cannot hold with the other rules forbids its condition.
        forced: list[_Constraint] = []
        for conditional in self.conditionals:
            consequence = conditional.consequence
            if isinstance(consequence, _Bound) and consequence.op != "!=":
                trial = differences.copy()
                trial.add(consequence)
                if not trial.close():
                    forced.append(conditional.negated_condition)
        for constraint in forced:
            _sort(constraint, unary, pairs, bounds)
            if isinstance(constraint, _Bound) and constraint.op != "!=":
                differences.add(constraint)
                if not differences.close():
                    rule = next(
                        c.rule for c in self.conditionals if c.negated_condition is constraint
                    )
                    raise ConditionError(
                        f"Rule {rule!r} contradicts the other rules: neither its 'then' part "
                        "nor the negation of its 'if' part can hold."
                    )
        # The columns' own ranges bound them too: under ``arr_delay >= dep_delay`` a dep_delay
        # past arr_delay's largest value leaves arr_delay none (a flights model's 660 against
        # 648 failed one sample in three). Their closure gives each column static bounds only:
        # the bounds it derives between two columns would not hold where a condition fixes one
        # past its range. Ranges that the rules contradict are left to that error.
        self.range_bounds: dict[str, tuple[float, float]] = {}
        pruning = differences
        if any(b.other is not None for b in ranged):
            ranges = differences.copy()
            for name in numeric:
                column = self.columns[name]
                present = ~column.missing & ~np.isnan(column.low)
                if present.any():
                    described = f"the range of {name!r}"
                    lowest, highest = column.low[present].min(), column.high[present].max()
                    ranges.add(_Bound(name, ">=", None, float(lowest), described))
                    ranges.add(_Bound(name, "<=", None, float(highest), described))
            if ranges.close():
                pruning = ranges
                for name in numeric:
                    i = ranges.index[name]
                    self.range_bounds[name] = (-ranges.bound[0, i], ranges.bound[i, 0])
        self.differences = differences
        self.ranged = ranged
        self.exclusions = [b for b in bounds if b.op == "!="]
        self.unary: dict[str, np.ndarray] = {
            name: np.ones(c.n_tokens, dtype=bool) for name, c in self.columns.items()
        }
        self.unary_rules: dict[str, list[str]] = {name: [] for name in self.columns}
        for constraint in unary:
            self.unary[constraint.column] &= constraint.truth
            self.unary_rules[constraint.column].append(constraint.rule)
        # Static bounds prune exact-value tokens (and bins entirely outside).
        for name in numeric:
            column = self.columns[name]
            i = pruning.index[name]
            low = column.snap_up(np.array([-pruning.bound[0, i]]), pruning.strict[0, [i]])
            high = column.snap_down(np.array([pruning.bound[i, 0]]), pruning.strict[i, [0]])
            with np.errstate(invalid="ignore"):
                reach = (column.high >= low[0]) & (column.low <= high[0])
            self.unary[name] &= reach | column.missing
        self.pairs = pairs
        # Arc consistency: a label keeps a token only if every partner column has a non-missing
        # token that goes with it.
        changed = True
        while changed:
            changed = False
            for pair in pairs:
                a, b = self.columns[pair.a], self.columns[pair.b]
                domain_a = self.unary[pair.a]
                domain_b = self.unary[pair.b]
                support_b = domain_b & ~b.missing
                support_a = domain_a & ~a.missing
                if support_b.any():
                    keep = pair.table[:, support_b].any(axis=1) | a.missing
                    if (domain_a & ~keep).any():
                        self.unary[pair.a] = domain_a & keep
                        changed = True
                if support_a.any():
                    keep = pair.table[support_a, :].any(axis=0) | b.missing
                    if (self.unary[pair.b] & ~keep).any():
                        self.unary[pair.b] = self.unary[pair.b] & keep
                        changed = True
        for name, column in self.columns.items():
            if (~column.missing).any() and not (self.unary[name] & ~column.missing).any():
                involved = _unique(
                    [*self.unary_rules[name]]
                    + [p.rule for p in pairs if name in (p.a, p.b)]
                    + [b.rule for b in bounds if name in _columns_of(b)]
                )
                values = column.low[~column.missing]
                learned = (
                    f" (it learned values from {_number_label(float(np.nanmin(values)))} to "
                    f"{_number_label(float(np.nanmax(column.high[~column.missing])))})"
                    if column.domain == "number" and np.isfinite(values).any()
                    else ""
                )
                raise ConditionError(
                    ("Rule " if len(involved) == 1 else "Rules ")
                    + ", ".join(repr(r) for r in involved)
                    + (" leave" if len(involved) > 1 else " leaves")
                    + f" column {name!r} no value the model can produce{learned}."
                )

    def _take_fixed(self, table: pd.DataFrame, state: dict[str, dict[str, np.ndarray]]) -> None:
        for name in table.columns:
            if name not in self.columns:
                continue
            column = self.columns[name]
            series = table[name].reset_index(drop=True)
            present = series.notna().to_numpy()
            state["fixed"][name] = present
            if column.continuous:
                spec = self.schema[name]
                numbers = numeric_values(spec, series)
                state["values"][name][present] = numbers[present]
                state["valued"][name][present] = True

    # -- per-row state, and the particles of controlled sampling -------------------------------

    def _new_rows(self, n_rows: int) -> dict[str, dict[str, np.ndarray]]:
        continuous = [name for name, c in self.columns.items() if c.continuous]
        state = {
            "values": {name: np.full(n_rows, np.nan) for name in continuous},
            "valued": {name: np.zeros(n_rows, dtype=bool) for name in continuous},
            "fixed": {name: np.zeros(n_rows, dtype=bool) for name in self.columns},
            "kept_low": {name: np.full(n_rows, -np.inf) for name in continuous},
            "kept_high": {name: np.full(n_rows, np.inf) for name in continuous},
            "kept": {name: np.zeros(n_rows, dtype=bool) for name in continuous},
            # The entry of the cut-bin table (see _cut_shares) of the bin each end cut, or -1.
            "cut_low": {name: np.full(n_rows, -1, dtype=np.int64) for name in continuous},
            "cut_high": {name: np.full(n_rows, -1, dtype=np.int64) for name in continuous},
        }
        if self.every_row is not None and n_rows:
            self._take_fixed(self.every_row.iloc[np.zeros(n_rows, dtype=np.intp)], state)
        return state

    def _rows(self) -> dict[str, dict[str, np.ndarray]]:
        return {attribute: getattr(self, attribute) for attribute in _ROW_STATE}

    def _set_rows(self, state: dict[str, dict[str, np.ndarray]]) -> None:
        self.values, self.valued, self.fixed = state["values"], state["valued"], state["fixed"]
        self.kept_low, self.kept_high = state["kept_low"], state["kept_high"]
        self.kept = state["kept"]
        self.cut_low, self.cut_high = state["cut_low"], state["cut_high"]
        self.n_rows = len(next(iter(self.fixed.values()), np.empty(self.n_rows)))
        self._cached_features, self._cached_tokens = None, {}
        self._complete_rows, self._complete = None, set()

    def add_rows(self, n_new: int) -> None:
        """Append ``n_new`` rows on which nothing is drawn yet (controlled sampling's particles).

        Values fixed by :meth:`take_conditions` are fixed on them too.
        """
        new = self._new_rows(n_new)
        self._set_rows(
            {
                attribute: {
                    name: np.concatenate([part[name], new[attribute][name]]) for name in part
                }
                for attribute, part in self._rows().items()
            }
        )

    def select(self, indices: np.ndarray) -> None:
        """Keep the rows ``indices``, in that order (a repeated index copies its row).

        Controlled sampling resamples its particles: each row's exact values go with its tokens.
        """
        self._set_rows(
            {
                attribute: {name: column[indices] for name, column in part.items()}
                for attribute, part in self._rows().items()
            }
        )

    def take_conditions(self, conditions: Sequence[Condition]) -> None:
        """Let the rules work with controlled sampling's conditions (before any row is added).

        A fixed value is fixed on every row, as on the direct path. A range's exact values are
        drawn inside it, and the comparisons carry it to the other columns (``end >= start``
        with ``end <= H`` keeps ``start <= H``), so a value always has room. A column's own range
        does not restrict its tokens here: the controlled sampler weighs them by the range, and
        a restriction would be renormalised away. Sets of numbers on a column the rules draw
        exactly, and sets or ranges on a derived column, are not supported (ConditionError).
        """
        fixed: dict[str, Any] = {}
        bounds: list[_Bound] = []
        for condition in conditions:
            name = condition.column
            if name not in self.columns:
                continue
            column = self.columns[name]
            if condition.kind == "value":
                fixed[name] = [condition.values[0]]
                continue
            if name in self.formulas:
                raise ConditionError(
                    f"The condition {condition.describe()!r} is on {name!r}, which the rule "
                    f"{self.formula_rules[name]!r} derives; condition its inputs instead."
                )
            if condition.kind == "set" and column.continuous:
                raise ConditionError(
                    f"A set of values ({condition.describe()!r}) cannot be combined yet with the "
                    f"rules on {name!r}; use a range or a fixed value."
                )
            if condition.kind != "range":
                continue
            low = -np.inf if condition.low is None else float(condition.low)
            high = np.inf if condition.high is None else float(condition.high)
            never = np.zeros(1, dtype=bool)
            self.own_range[name] = (
                float(column.snap_up(np.array([low]), never)[0]),
                float(column.snap_down(np.array([high]), never)[0]),
            )
            if name in self.differences.index:
                for op, end in ((">=", low), ("<=", high)):
                    if np.isfinite(end):
                        bounds.append(_Bound(name, op, None, end, condition.describe()))
        if fixed:
            self._check_fixed_values(fixed, conditions)
            self.every_row = pd.DataFrame(fixed)
            self._set_rows(self._new_rows(self.n_rows))
            # A link's column fixed as a rule would name it: the columns it is linked with
            # and drawn before are weighed by the values the link leaves them (a country fixed
            # after its city: 37 % of rows kept a city of another country, unweighed).
            through = self._restricted_through_links(self._named | set(fixed), self._linked)
            self.weighed = self.weighed | {
                self.columns[name].coarse
                for name in through - set(fixed)
                if name not in self.formulas
            }
        if not bounds:
            return
        self._check_ranges(bounds)
        for name in self.differences.names:
            closed = self.differences.copy()
            for bound in bounds:
                if bound.column != name:
                    closed.add(bound)
            closed.close()
            self.differences_for[name] = closed

    def _check_fixed_values(
        self, fixed: Mapping[str, list[Any]], conditions: Sequence[Condition]
    ) -> None:
        """ConditionError naming the condition and the rule when fixed values alone break a rule
        (a rule on columns that are not all fixed is checked as rows are drawn)."""
        given = [r for r in self.rules if set(r.columns) <= set(fixed)]
        if not given:
            return
        report = check_rules(pd.DataFrame(fixed), given, schema=self.schema)
        broken = [rule for rule, result in zip(given, report, strict=True) if result.n_violations]
        if not broken:
            return
        involved = {column for rule in broken for column in rule.columns}
        named = [c.describe() for c in conditions if c.kind == "value" and c.column in involved]
        raise ConditionError(
            f"The condition {' and '.join(named)} breaks the rule "
            + " and ".join(repr(rule.text) for rule in broken)
            + "; every sampled row obeys the rules, so change the condition or sample without "
            "the rule."
        )

    def _check_ranges(self, bounds: list[_Bound]) -> None:
        everything = self.differences.copy()
        for bound in bounds:
            everything.add(bound)
        if everything.close():
            for name, (low, high) in self.own_range.items():
                if low > high:
                    raise ConditionError(
                        f"The range on {name!r} holds no value the column takes (its step)."
                    )
            return
        numeric, steps = self.differences.names, self.differences.steps[1:]
        by_name = dict(zip(numeric, steps, strict=True))
        candidates = [*self.ranged, *bounds]
        if _feasible(numeric, by_name, candidates):
            culprits = candidates  # the conflict goes through a conditional's forced part
        else:
            culprits = _minimal_conflict(
                candidates, lambda subset: _feasible(numeric, by_name, subset)
            )
        conditions = _unique(b.rule for b in culprits if b in bounds)
        rules = _unique(b.rule for b in culprits if b not in bounds)
        if not rules:
            rules = _unique(
                r.text for r in self.rules if set(r.columns) & {b.column for b in bounds}
            )
        raise ConditionError(
            f"The condition(s) {', '.join(repr(c) for c in conditions)} contradict the rule(s) "
            f"{', '.join(repr(r) for r in rules)}: no value satisfies them all."
        )

    # -- the token filter ---------------------------------------------------------------------

    @property
    def token_filter(self) -> TokenFilter:
        return self._filter

    def _filter(
        self, j: int, features: np.ndarray, rows: np.ndarray
    ) -> np.ndarray | Patterns | None:
        target = self.by_position.get(j)
        if target is None:
            return None
        # The cache of tokens holds within one call: a caller may fill ``features`` in place.
        self._cached_features, self._cached_tokens = None, {}
        self._value_known(features, rows, before=j)
        name, part = target
        column = self.columns[name]
        if name in self.formulas:
            return self._pin(column, part, features, rows)
        if part == 1:
            return self._fine_mask(column, features, rows)
        return self._mask(column, features, rows)

    def _known_tokens(self, name: str, features: np.ndarray) -> np.ndarray:
        """A column's first-part tokens, MASKED where any of its parts is not known yet."""
        if self._cached_features is not features:
            # Keep a reference so the identity check cannot match a recycled object.
            self._cached_features = features
            self._cached_tokens = {}
        if name not in self._cached_tokens:
            column = self.columns[name]
            tokens = features[:, column.coarse].astype(np.int64)
            if column.fine is not None:
                tokens[features[:, column.fine] == MASKED] = MASKED
            self._cached_tokens[name] = tokens
        return self._cached_tokens[name]

    def _numbers(self, name: str, features: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Known exact values of a numeric column (NaN where unknown or missing)."""
        column = self.columns[name]
        tokens = self._known_tokens(name, features)
        known = tokens != MASKED
        values = np.full(len(rows), np.nan)
        values[known] = column.low[tokens[known]]
        if column.continuous:
            valued = self.valued[name][rows]
            values[valued] = self.values[name][rows[valued]]
            values[~valued & known & (column.bin_of[np.maximum(tokens, 0)] >= 0)] = np.nan
        return values

    def _truth(
        self, constraint: _Constraint, features: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(holds, known) of a constraint on rows whose columns are all known."""
        if isinstance(constraint, _Unary):
            tokens = self._known_tokens(constraint.column, features)
            known = tokens != MASKED
            column = self.columns[constraint.column]
            known &= ~column.missing[np.maximum(tokens, 0)]
            return constraint.truth[np.maximum(tokens, 0)] & known, known
        if isinstance(constraint, _Pair):
            ta = self._known_tokens(constraint.a, features)
            tb = self._known_tokens(constraint.b, features)
            known = (ta != MASKED) & (tb != MASKED)
            ta, tb = np.maximum(ta, 0), np.maximum(tb, 0)
            known &= (
                ~self.columns[constraint.a].missing[ta] & ~self.columns[constraint.b].missing[tb]
            )
            return constraint.table[ta, tb] & known, known
        x = self._numbers(constraint.column, features, rows)
        y = (
            self._numbers(constraint.other, features, rows)
            if constraint.other is not None
            else np.full(len(rows), constraint.constant)
        )
        known = ~np.isnan(x) & ~np.isnan(y)
        with np.errstate(invalid="ignore"):
            return compare(x, constraint.op, y) & known, known

    def _all_known(
        self, names: Sequence[str], features: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        known = np.ones(len(rows), dtype=bool)
        for name in names:
            tokens = self._known_tokens(name, features)
            known &= tokens != MASKED
            if self.columns[name].continuous:
                known &= self.valued[name][rows] | (
                    self.columns[name].bin_of[np.maximum(tokens, 0)] < 0
                )
        return known

    def _active(
        self, name: str, features: np.ndarray, rows: np.ndarray
    ) -> list[tuple[_Constraint, np.ndarray]]:
        """Conditional parts that bind column ``name`` on each row (with the rows they bind)."""
        active = []
        for conditional in self.conditionals:
            condition, consequence = conditional.condition, conditional.consequence
            if name in _columns_of(consequence):
                others = [n for n in _columns_of(consequence) if n != name]
                ready = self._all_known(others, features, rows)
                holds, known = self._truth(condition, features, rows)
                binding = ready & holds & known
                if binding.any():
                    active.append((consequence, binding))
            elif name in _columns_of(condition):
                others = [n for n in _columns_of(condition) if n != name]
                ready = self._all_known(others, features, rows)
                holds, known = self._truth(consequence, features, rows)
                binding = ready & ~holds & known
                if binding.any():
                    active.append((conditional.negated_condition, binding))
        return active

    def _mask(self, column: _Column, features: np.ndarray, rows: np.ndarray) -> Patterns | None:
        """Which tokens (of a column's first part) each row may take.

        The allowed tokens depend on a few small integers per row (the other column's token in
        a pair, whether a conditional binds, where the interval's ends fall among the tokens):
        rows equal in all of them share a pattern, computed once.
        """
        name = column.name
        pairs: list[tuple[_Pair, np.ndarray]] = []  # with the other column's token (or MASKED)
        for pair in self.pairs:
            if name in (pair.a, pair.b):
                pairs.append(
                    (pair, self._known_tokens(pair.b if pair.a == name else pair.a, features))
                )
        unary: list[tuple[_Unary, np.ndarray]] = []
        extra: list[tuple[_Bound, np.ndarray]] = []
        for constraint, binding in self._active(name, features, rows):
            if isinstance(constraint, _Unary):
                unary.append((constraint, binding))
            elif isinstance(constraint, _Pair):
                other = constraint.b if constraint.a == name else constraint.a
                tokens = self._known_tokens(other, features)
                pairs.append((constraint, np.where(binding, tokens, MASKED)))
            else:
                extra.append((constraint, binding))
        keys: list[np.ndarray] = [tokens for _, tokens in pairs] + [b for _, b in unary]
        interval = None
        low = high = np.full(len(rows), np.nan)
        bin_low = bin_high = np.full(len(rows), -1, dtype=np.int64)
        if column.domain != "label":
            low, high, exclusions = self._interval(column, features, rows, extra)
            self._raise_if_empty(low > high, column, rows, missing_left=True)
            if name in self.kept:
                self.kept_low[name][rows] = low
                self.kept_high[name][rows] = high
                self.kept[name][rows] = True
            interval = (low, high, exclusions)
            keys += [column.rank_of_low(low), column.rank_of_high(high)]
            keys += [np.unique(excluded, return_inverse=True)[1] for excluded in exclusions]
            if column.continuous:
                # A bin an end cuts keeps the part of its mass inside: weighed whole, rows
                # would pile up at the bound.
                bin_low, bin_high = column.cut_bins(low, high)
                keys += [bin_low, bin_high]
                # A new batch: the earlier batches' weights go (the table grew to 163 MB over
                # 1,000,000 rows); a row still pointing into them is worked out afresh.
                dropped = self._cut_tables.pop(name, None)
                if dropped is not None:
                    self._cut_dropped[name] = self._cut_dropped.get(name, 0) + len(dropped[0])
                self.cut_low[name][rows] = -1
                self.cut_high[name][rows] = -1
        some, index = group_rows(keys, len(rows))
        allowed = np.repeat(self.unary[name][None, :], len(some), axis=0)
        for pair, tokens in pairs:
            other = tokens[some]
            use = other != MASKED
            table = pair.table if pair.a == name else pair.table.T
            allowed[use] &= table[:, other[use]].T
        for constraint, binding in unary:
            allowed[binding[some]] &= constraint.truth[None, :]
        if interval is not None:
            lows, highs, exclusions = (interval[0][some], interval[1][some], interval[2])
            with np.errstate(invalid="ignore"):
                fits = (column.high[None, :] >= lows[:, None]) & (
                    column.low[None, :] <= highs[:, None]
                )
                point = column.low == column.high
                for excluded in exclusions:
                    fits &= ~(point[None, :] & (column.low[None, :] == excluded[some][:, None]))
            allowed &= fits | column.missing[None, :]
        if (~column.missing).any():
            dead = ~(allowed & ~column.missing[None, :]).any(axis=1)
            self._raise_if_empty(dead[index], column, rows, missing_left=True)
        # An unrestricted column keeps the sampler's fast path.
        if allowed.all():
            return None
        cuts = _EndCuts(self, column, features, rows, low, high, bin_low, bin_high, allowed, index)
        cut = cuts.tokens()
        return Patterns(allowed, index, None, cut, None if cut is None else cuts)

    def _cut_shares(self, cuts: _EndCuts, at: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The share of its bin's mass that each row's interval keeps, where the bin is one an
        end cuts (1 elsewhere); ``at`` are positions among the filter call's rows.

        That share is the bin's tenths' shares inside the interval weighed by how likely the
        row's next tenth is (the tenth's tree, with what is known of the row and the cut bin
        as its token): ``end >= start`` keeps nearly all of the bin holding ``start`` where
        the rows near ``start`` end later, as they do. The weights are kept for the draw of the
        tenth (:meth:`_fine_mask`). A column without tenths weighs the part of the bin's spread
        inside (so does a sampler built without the trees, which only checks rules at fit time
        and never draws).
        """
        column = cuts.column
        share = np.ones(len(at))
        done = np.zeros(len(at), dtype=bool)
        for bins, state in ((cuts.bin_low, self.cut_low), (cuts.bin_high, self.cut_high)):
            b = bins[at]
            # (A column of labels has no bins, and no entries: its missing token is weighed.)
            if not (b >= 0).any():
                continue
            entries = state[column.name]
            hit = np.flatnonzero(
                ~done & (b >= 0) & (column.token_of_bin[np.maximum(b, 0)] == tokens)
            )
            if not len(hit):
                continue
            done[hit] = True
            rows, b = at[hit], b[hit]
            low, high = cuts.low[rows], cuts.high[rows]
            if column.fine is None or self.models is None:
                share[hit] = column.kept_share(b, low, high)
                continue
            known = cuts.features[rows].copy()
            known[:, column.coarse] = column.token_of_bin[b]
            trees = self.models[column.fine].ordered
            leaves = [tree.leaves(known) for tree in trees]
            # Rows in one leaf, cut at the same ends, share the answer: work on one each.
            ends = [np.unique(v, return_inverse=True)[1].reshape(-1) for v in (low, high)]
            first, back = group_rows([b, *ends, *leaves], len(rows))
            one, lo, hi = b[first], low[first], high[first]
            enter, leave = column.cuts(one, lo, hi)
            tenths = column.tenth_shares(one, enter, leave, lo, hi)
            weights = tenths * leaf_mixture(trees, [leaf[first] for leaf in leaves])
            share[hit] = weights.sum(axis=1)[back]
            through = (enter > 0) | (leave < 1)
            entries[cuts.rows[rows]] = self._add_cuts(column.name, one, weights, through)[back]
        return np.clip(share, _LEAST_SHARE, 1.0)

    def _missing_shares(
        self, cuts: _EndCuts, at: np.ndarray, trees: np.ndarray | None = None
    ) -> np.ndarray:
        """Per row, the share of the missing token's mass it keeps: what the rules leave of its
        values, so they leave the model's share of missing values as it was.

        That is the row's mass of the allowed values (cut bins at their share), and for the
        part of the row that is missing, the share of the column's values overall the rules
        allow: a row mostly missing (a cancelled flight's arrival delay, missing because its
        departure delay is) tells little of the values it would have had. Where the few values
        of such a leaf decided its share, those rows outweighed every row the rules cut: 19 %
        of 40,000 flights came out with no arrival delay under ``arr_delay >= 100`` (2.8 % in
        the model). The mass is the row's own tree's (``trees``: its index among the
        column's), or the trees' mixture. (Counting the row's own share by its leaf's rows,
        less the smoothing pseudo-rows, was tried: better on 20,000 rows, worse on 2,000-5,000,
        where leaves of 20 rows fell back to the share overall; see RESULTS.)
        """
        if self.models is None:
            return np.ones(len(at))
        column = cuts.column
        ensemble = self.models[column.coarse].ordered
        if trees is None:
            probs = leaf_probabilities(ensemble, cuts.features[at])
        else:
            probs = np.empty((len(at), column.n_tokens))
            for t, tree in enumerate(ensemble):
                mine = np.flatnonzero(trees == t)
                if len(mine):
                    probs[mine] = leaf_mixture((tree,), [tree.leaves(cuts.features[at[mine]])])
        present = ~column.missing
        overall = sum(t.leaf_counts.sum(axis=0, dtype=np.float64) for t in ensemble) * present
        overall = np.broadcast_to(overall / max(float(overall.sum()), 1e-300), probs.shape)
        allowed = cuts.allowed[cuts.index[at]] & present[None, :]
        weights, overall = probs * allowed, overall * allowed
        for side, bins in enumerate((cuts.bin_low, cuts.bin_high)):
            b = bins[at]
            if side == 1:
                b = np.where(b == cuts.bin_low[at], -1, b)  # one share covers both ends
            row = np.flatnonzero(b >= 0)
            if not len(row):
                continue
            tokens = column.token_of_bin[b[row]]
            weights[row, tokens] *= self._cut_shares(cuts, at[row], tokens)
            # The values overall keep the bin's own spread inside the interval: the row's
            # share, its tree's guess at values it never has (a delay whose earlier column is
            # missing), was near 0 under ``y > 33`` and the missing values went (1.9 %, 15 %
            # in the model).
            # (The tenths are the bin's deciles, so equally likely overall; their frequent
            # values count: the spread alone gave a rounded tail 1.2 to 1.7 times its share.)
            one, low, high = b[row], cuts.low[at[row]], cuts.high[at[row]]
            enter, leave = column.cuts(one, low, high)
            overall[row, tokens] *= column.tenth_shares(one, enter, leave, low, high).mean(axis=1)
        total = np.maximum(probs.sum(axis=1), 1e-300)
        missing = (probs * column.missing[None, :]).sum(axis=1) / total
        share = weights.sum(axis=1) / total + missing * overall.sum(axis=1)
        kept: np.ndarray = np.clip(share, _LEAST_SHARE, 1.0)
        return kept

    def _add_cuts(
        self, name: str, bins: np.ndarray, weights: np.ndarray, through: np.ndarray
    ) -> np.ndarray:
        """Append cut bins to the column's table (:meth:`_cut_shares`); their entries (numbered
        on from the dropped ones)."""
        start = self._cut_dropped.get(name, 0)
        if name not in self._cut_tables:
            self._cut_tables[name] = (bins, weights, through)
            return start + np.arange(len(bins))
        old = self._cut_tables[name]
        self._cut_tables[name] = (
            np.concatenate([old[0], bins]),
            np.concatenate([old[1], weights]),
            np.concatenate([old[2], through]),
        )
        return start + np.arange(len(old[0]), len(old[0]) + len(bins))

    def _interval(
        self,
        column: _Column,
        features: np.ndarray,
        rows: np.ndarray,
        extra: Sequence[tuple[_Bound, np.ndarray]] = (),
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Per row, the closed interval of representable values the rules leave a column, and
        the values it must avoid (from ``!=``)."""
        n = len(rows)
        low = np.full(n, -np.inf)
        high = np.full(n, np.inf)
        low_strict = np.zeros(n, dtype=bool)
        high_strict = np.zeros(n, dtype=bool)

        def tighten(
            value: np.ndarray, strict: bool | np.ndarray, upper: bool, use: np.ndarray
        ) -> None:
            nonlocal low, high, low_strict, high_strict
            use = use & ~np.isnan(value)
            strict_arr = np.broadcast_to(strict, value.shape)
            if upper:
                better = use & ((value < high) | ((value == high) & strict_arr))
                high = np.where(better, value, high)
                high_strict = np.where(better, strict_arr, high_strict)
            else:
                better = use & ((value > low) | ((value == low) & strict_arr))
                low = np.where(better, value, low)
                low_strict = np.where(better, strict_arr, low_strict)

        # With controlled sampling's ranges: the closure with every range but this column's own.
        d = self.differences_for.get(column.name, self.differences)
        everywhere = np.ones(n, dtype=bool)
        if column.name in d.index:
            i = d.index[column.name]
            for other, k in [("", 0), *((name, d.index[name]) for name in d.names)]:
                # A bound the two columns' static ranges imply adds nothing (the ranges' closure
                # gives every pair of ranged columns one), unless a condition fixes the other
                # column on some rows, maybe past its range (x fixed at 25 where x ends at 10).
                fixed = k > 0 and bool(self.fixed[other][rows].any())
                upper = np.isfinite(d.bound[i, k]) and (k == 0 or fixed or not d.implied(i, k))
                lower = np.isfinite(d.bound[k, i]) and (k == 0 or fixed or not d.implied(k, i))
                if k == i or not (upper or lower):
                    continue
                value = np.zeros(n) if k == 0 else self._numbers(other, features, rows)
                if upper:
                    tighten(value + d.bound[i, k], bool(d.strict[i, k]), True, everywhere)
                if lower:
                    tighten(value - d.bound[k, i], bool(d.strict[k, i]), False, everywhere)
        if column.name in self.range_bounds:
            lowest, highest = self.range_bounds[column.name]
            tighten(np.full(n, highest), False, True, everywhere)
            tighten(np.full(n, lowest), False, False, everywhere)
        exclusions: list[np.ndarray] = []
        bounds = [(b, everywhere) for b in self.exclusions if column.name in _columns_of(b)]
        for constraint, binding in [*bounds, *extra]:
            bound = constraint if constraint.column == column.name else constraint.mirrored()
            value = (
                self._numbers(bound.other, features, rows)
                if bound.other is not None
                else np.full(n, bound.constant)
            )
            if bound.op == "!=":
                exclusions.append(np.where(binding, value, np.nan))
                continue
            if bound.op in ("<", "<=", "=="):
                tighten(value, bound.op == "<", True, binding)
            if bound.op in (">", ">=", "=="):
                tighten(value, bound.op == ">", False, binding)
        return column.snap_up(low, low_strict), column.snap_down(high, high_strict), exclusions

    def _bounds_for(
        self, column: _Column, features: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        name = column.name
        if not self.may_exclude[name] and self.kept[name][rows].all():
            return self.kept_low[name][rows], self.kept_high[name][rows], []
        extra = []
        for constraint, binding in self._active(name, features, rows):
            if isinstance(constraint, _Bound):
                extra.append((constraint, binding))
        return self._interval(column, features, rows, extra)

    def _fine_mask(
        self, column: _Column, features: np.ndarray, rows: np.ndarray
    ) -> Patterns | None:
        """Which tenths of its bin each row may take, as shared patterns (see :meth:`_mask`).

        In a bin the interval cuts, the tenth is drawn here, from the same distribution that
        weighed the bin (:meth:`_cut_shares`: the tenth's tree on what was known when the bin
        was drawn, times each tenth's share inside the interval). Drawn from the tree on what is
        known now, a small leaf that holds only a thin cut tenth would take it whole (1003 in
        ``1000 <= k <= 1003`` came out for 39 % of rows).
        """
        tokens = features[:, column.coarse].astype(np.int64)
        bins = column.bin_of[tokens]
        if not (bins >= 0).any():
            return None
        low, high, _ = self._bounds_for(column, features, rows)
        in_bin = bins >= 0
        # Rows whose ends are still those their bin was drawn under (:meth:`_mask`) take the
        # weights it was drawn with where an end cut it, and are not cut where none did; the
        # rest are worked out here (the same, at three times the cost).
        weighed = np.full(len(rows), -1, dtype=np.int64)
        settled = np.zeros(len(rows), dtype=bool)
        if self.models is not None:  # (else _cut_shares kept no table)
            settled = (
                self.kept[column.name][rows]
                & (self.kept_low[column.name][rows] == low)
                & (self.kept_high[column.name][rows] == high)
            )
        dropped = self._cut_dropped.get(column.name, 0)
        for entries in (self.cut_low[column.name][rows], self.cut_high[column.name][rows]):
            # An entry of a dropped table (an earlier batch's) tells nothing: work it out.
            settled &= ~((entries >= 0) & (entries < dropped))
        if column.name in self._cut_tables:
            table_bins, table_weights, table_through = self._cut_tables[column.name]
            for entries in (self.cut_low[column.name][rows], self.cut_high[column.name][rows]):
                local = entries - dropped
                take = (weighed < 0) & (local >= 0) & settled
                take[take] = table_bins[local[take]] == bins[take]
                weighed[take] = local[take]
        fresh = in_bin & ~settled
        enter, leave = np.zeros(len(rows)), np.ones(len(rows))
        enter[fresh], leave[fresh] = column.cuts(bins[fresh], low[fresh], high[fresh])
        through = (enter > 0) | (leave < 1)
        if (weighed >= 0).any():
            through[weighed >= 0] = table_through[weighed[weighed >= 0]]
        drawn = np.full(len(rows), -1, dtype=np.int64)
        cut = np.flatnonzero(in_bin & through)
        if len(cut):
            b = bins[cut]
            weights = np.empty((len(cut), N_FINE_TOKENS))
            stored = weighed[cut] >= 0
            weights[stored] = table_weights[weighed[cut][stored]] if stored.any() else 0.0
            new = cut[~stored]
            if len(new):
                shares = column.tenth_shares(
                    b[~stored], enter[new], leave[new], low[new], high[new]
                )
                if self.models is not None and column.fine is not None:
                    known = features[new].copy()
                    known[:, column.coarse + 1 : column.fine] = MASKED  # as when the bin was drawn
                    shares = shares * leaf_probabilities(self.models[column.fine].ordered, known)
                weights[~stored] = shares
            total = weights.sum(axis=1)
            usable = total > 0  # none (round-off): the tenths that fit, below
            cumulative = np.cumsum(weights[usable], axis=1)
            rank = self.rng.random(int(usable.sum())) * total[usable]
            drawn[cut[usable]] = np.minimum(
                (cumulative <= rank[:, None]).sum(axis=1), N_FINE_TOKENS - 1
            )
        # The allowed tenths: the one drawn, else those that reach the interval (all where
        # round-off leaves a bin that reaches it with none that does). Rows share them by the
        # bits of the ten flags, so patterns stay few.
        allowed = np.ones((len(rows), N_FINE_TOKENS), dtype=bool)
        # (A bin no end cut lies wholly inside the interval.)
        open_rows = np.flatnonzero(in_bin & (drawn < 0) & ~(settled & (weighed < 0)))
        if len(open_rows):
            lows, highs = column.fine_ranges(bins[open_rows])
            fits = (highs >= low[open_rows, None]) & (lows <= high[open_rows, None])
            fits[~fits.any(axis=1)] = True
            allowed[open_rows] = fits
        picked = np.flatnonzero(drawn >= 0)
        allowed[picked] = np.eye(N_FINE_TOKENS, dtype=bool)[drawn[picked]]
        if allowed.all():
            return None
        some, index = group_rows([allowed @ (1 << np.arange(N_FINE_TOKENS))], len(rows))
        return Patterns(allowed[some], index)

    def _pin(
        self, column: _Column, part: int, features: np.ndarray, rows: np.ndarray
    ) -> Patterns | None:
        """A derived column's token is the one its formula's value falls in, when known."""
        formula = self.formulas[column.name]
        ready = self._all_known(list(formula.inputs), features, rows)
        if not ready.any():
            return None
        inputs = {name: self._numbers(name, features, rows) for name in formula.inputs}
        value = column.round(_evaluate(formula.expression, inputs, len(rows)))
        cached = self._pinned.get(column.name)
        if cached is not None and np.array_equal(cached[0], value, equal_nan=True):
            parts = cached[1]  # the fine part's call, on the same values as the coarse one's
        else:
            parts = self.encoder.encoders[column.name].encode_parts(pd.Series(value))
            self._pinned[column.name] = (value, parts)
        tokens = parts[:, min(part, parts.shape[1] - 1)]
        width = column.n_tokens if part == 0 else N_FINE_TOKENS
        use = ready & (~np.isnan(value) | (column.missing.any() if part == 0 else False))
        if part == 1:
            coarse = features[:, column.coarse].astype(np.int64)
            use &= column.bin_of[coarse] >= 0
        # Pattern t allows token t alone; the last one allows every token.
        allowed = np.vstack([np.eye(width, dtype=bool), np.ones((1, width), dtype=bool)])
        return Patterns(allowed, np.where(use, tokens, width))

    def _raise_if_empty(
        self, dead: np.ndarray, column: _Column, rows: np.ndarray, missing_left: bool = False
    ) -> None:
        """ConditionError when rows have no value the rules allow. Where the rows weigh by the
        mass the rules leave them (:attr:`weighs_rows`) and the missing value is left
        (``missing_left``, which satisfies every rule), some rows may have only that: they
        keep the least of weights and are practically never drawn. ``if g == 'a' then y > x``
        left no ``y`` past an ``x`` beyond ``y``'s largest value, and the sample raised."""
        if missing_left and self.weighs_rows and column.missing.any() and not dead.all():
            return
        if dead.any():
            involved = [r.text for r in self.rules if column.name in r.columns]
            # A share, not a count: under conditions the rows here are a pool of candidates,
            # several per requested row (12,223 "rows" of a 5,000-row request).
            share = float(dead.mean())
            raise ConditionError(
                f"Rules {', '.join(repr(r) for r in involved)} leave column {column.name!r} no "
                f"value on {100 * share:.3g} % of the rows drawn, given the values drawn before "
                "it; they cannot all hold there."
            )

    # -- exact values -------------------------------------------------------------------------

    def _value_known(
        self, features: np.ndarray, rows: np.ndarray, before: int | None = None
    ) -> None:
        """Draw the exact value of every continuous rule column already drawn on these rows
        (while drawing the column at position ``before``: those before it, and fixed ones)."""
        if rows is not self._complete_rows:
            # Values are never unset: a column valued on every one of these rows stays so.
            self._complete_rows, self._complete = rows, set()
            # A batch's rows are usually a range: a slice reads the state without copying it.
            contiguous = len(rows) > 1 and bool((np.diff(rows) == 1).all())
            self._row_index = slice(int(rows[0]), int(rows[-1]) + 1) if contiguous else rows
            self._fixed_here = {
                name for name, fixed in self.fixed.items() if fixed[self._row_index].any()
            }
        for column in self.draw_order:
            if column.name in self.formulas or column.name in self._complete:
                continue
            if (
                before is not None
                and column.coarse >= before
                and column.name not in self._fixed_here
            ):
                continue  # drawn on no row yet: nothing to value (a scan of every row each call)
            unvalued = ~self.valued[column.name][self._row_index]
            where = np.flatnonzero(unvalued & (features[:, column.coarse] != MASKED))
            if not len(where):
                if not unvalued.any():
                    self._complete.add(column.name)
                continue
            tokens = self._known_tokens(column.name, features)[where]
            where, tokens = where[tokens != MASKED], tokens[tokens != MASKED]
            if len(where):
                self._draw_values(column, features[where], rows[where], tokens)

    def _draw_values(
        self, column: _Column, features: np.ndarray, rows: np.ndarray, tokens: np.ndarray
    ) -> None:
        values = column.low[tokens].copy()
        bins = column.bin_of[tokens]
        in_bin = bins >= 0
        low, high, exclusions = self._bounds_for(column, features, rows)
        if column.name in self.own_range:
            own_low, own_high = self.own_range[column.name]
            low, high = np.maximum(low, own_low), np.minimum(high, own_high)
        if in_bin.any():
            b = bins[in_bin]
            if column.fine is not None:
                fine = features[in_bin, column.fine].astype(np.int64)
                share_low = fine / N_FINE_TOKENS
                share_high = (fine + 1) / N_FINE_TOKENS
                lowest, highest = column.fine_range(b, fine)
            else:
                share_low, share_high = np.zeros(len(b)), np.ones(len(b))
                lowest, highest = column.low[tokens[in_bin]], column.high[tokens[in_bin]]
            # The model's within-bin distribution restricted to the interval: a uniform share
            # between the shares where the value enters and leaves it (only rows it cuts).
            cut_low = low[in_bin] > lowest
            if cut_low.any():
                entering = column.value_to_share(b[cut_low], low[in_bin][cut_low], "low")
                share_low[cut_low] = np.maximum(share_low[cut_low], entering)
            cut_high = high[in_bin] < highest
            if cut_high.any():
                leaving = column.value_to_share(b[cut_high], high[in_bin][cut_high], "high")
                share_high[cut_high] = np.minimum(share_high[cut_high], leaving)
            share_high = np.maximum(share_high, share_low)
            share = share_low + self.rng.random(len(b)) * (share_high - share_low)
            spread = column.round(column.share_to_value(b, share))
            if column.frequent is not None and column.fine is not None:
                # The tenth's frequent values (inside the interval where it cuts the tenth), as
                # the decoder draws them.
                cells = b * N_FINE_TOKENS + fine
                frequent = column.frequent.draw(cells, self.rng.random(len(b)))[0]
                cut = np.flatnonzero(cut_low | cut_high)
                if len(cut):
                    frequent[cut] = column.frequent.draw_in_range(
                        cells[cut],
                        (share_high[cut] - share_low[cut]) * N_FINE_TOKENS,
                        low[in_bin][cut],
                        high[in_bin][cut],
                        self.rng,
                    )
                spread = np.where(np.isnan(frequent), spread, frequent)
            values[in_bin] = spread
        finite = ~np.isnan(values)
        values[finite] = np.clip(values[finite], low[finite], high[finite])
        for excluded in exclusions:
            clash = finite & (values == excluded)
            if clash.any():
                always = np.ones(len(values), dtype=bool)
                up, down = column.snap_up(values, always), column.snap_down(values, always)
                values = np.where(
                    clash & (up <= high), up, np.where(clash & (down >= low), down, values)
                )
        dead = finite & ((values < low) | (values > high))
        for excluded in exclusions:
            # The interval holds no other value on the column's grid.
            dead |= finite & (values == excluded)
        self._raise_if_empty(dead, column, rows)
        self.values[column.name][rows] = values
        self.valued[column.name][rows] = True

    # -- after the draw -----------------------------------------------------------------------

    @property
    def replaced(self) -> set[str]:
        """The columns :meth:`apply` writes on every row (the decoder need not draw them)."""
        return set(self.values) | set(self.formulas)

    def finish(self, drawn: np.ndarray, out: pd.DataFrame) -> pd.DataFrame:
        """The last steps: ``drawn`` tokens (model order) and the decoded rows -> verified rows."""
        self.finish_tokens(drawn)
        return self.apply(out)

    def finish_tokens(self, tokens: np.ndarray) -> None:
        """Value the columns no later filter call reached (``tokens`` in the model's order)."""
        self._value_known(tokens.astype(np.float32), np.arange(self.n_rows))

    def apply(self, out: pd.DataFrame) -> pd.DataFrame:
        """Put the exact values and derived columns into the decoded rows, then verify."""
        for name, values in self.values.items():
            if name in self.formulas:
                continue
            spec = self.schema[name]
            keep = self.fixed[name]
            if spec.kind is ColumnKind.DATETIME:
                series = _datetimes_of(self.encoder.encoders[name], values, spec)
            else:
                series = pd.Series(values, name=name)
            restored = restore_dtype(series.reset_index(drop=True), spec)
            if keep.any():
                merged = restored.astype(object).to_numpy(copy=True)
                merged[keep] = out[name].astype(object).to_numpy()[keep]
                restored = restore_dtype(pd.Series(merged, name=name), spec)
            out[name] = restored
        if self.formulas:
            table_values = TableValues(out, self.schema)
            for target, formula in self.formulas.items():
                column = self.columns[target]
                spec = self.schema[target]
                computed = evaluate_expression(formula.expression, table_values, target)
                rounded = column.round(computed)
                keep = self.fixed[target]
                if keep.any():
                    given = numeric_values(spec, out[target])
                    rounded = np.where(keep, given, rounded)
                out[target] = restore_dtype(pd.Series(rounded, name=target), spec)
        self.verify(out)
        return out

    def verify(self, out: pd.DataFrame) -> None:
        """Raise if any rule is broken in ``out`` (never emit a violating row silently)."""
        report = check_rules(out, self.rules, schema=self.schema)
        broken = [r for r in report if r.n_violations]
        if broken:
            raise ConditionError(
                "Sampling left rows that break rule(s) "
                + ", ".join(f"{r.rule!r} ({r.n_violations} rows)" for r in broken)
                + "; this is a bug or a rule interplay lookalike cannot enforce — please report it."
            )


def _sort(
    constraint: _Constraint, unary: list[_Unary], pairs: list[_Pair], bounds: list[_Bound]
) -> None:
    if isinstance(constraint, _Unary):
        unary.append(constraint)
    elif isinstance(constraint, _Pair):
        pairs.append(constraint)
    else:
        bounds.append(constraint)


def _unique(items: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _feasible(
    names: Sequence[str], steps: Mapping[str, float | None], bounds: Sequence[_Bound]
) -> bool:
    differences = _Differences(names, steps)
    for bound in bounds:
        differences.add(bound)
    return differences.close()


def _minimal_conflict(
    bounds: Sequence[_Bound], feasible: Callable[[Sequence[_Bound]], bool]
) -> list[_Bound]:
    """A smallest-by-deletion subset of bounds that still contradict each other."""
    kept = list(bounds)
    for bound in list(kept):
        trial = [b for b in kept if b is not bound]
        if not feasible(trial):
            kept = trial
    return kept


def _evaluate(expression: Expression, inputs: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    if isinstance(expression, Value):
        return np.full(n, float(expression.value))
    if isinstance(expression, Column):
        return inputs[expression.name]
    assert isinstance(expression, Arithmetic)
    left = _evaluate(expression.left, inputs, n)
    right = _evaluate(expression.right, inputs, n)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = {
            "+": lambda: left + right,
            "-": lambda: left - right,
            "*": lambda: left * right,
            "/": lambda: left / right,
        }[expression.op]()
    out = np.asarray(out, dtype=float)
    out[~np.isfinite(out)] = np.nan
    return out


# ---------------------------------------------------------------------------------------------
# What the Synthesizer calls
# ---------------------------------------------------------------------------------------------


def fit_rules(
    rules: Any,
    frame: pd.DataFrame,
    schema: Schema,
    encoder: TableEncoder,
    rare_threshold: int,
) -> tuple[list[Rule], RuleReport | None]:
    """Parse rules given at fit time, learn their allowed combinations, and check the data.

    A ``within`` rule without explicit combinations keeps those seen at least
    ``rare_threshold`` times (among the encoded labels, so rare categories appear only as the
    rare token): nothing rarer is stored in the model. The report says how often each rule held
    in the real data; a :class:`~lookalike.errors.DataWarning` names the rules it breaks.
    """
    parsed = parse_rules(rules)
    if not parsed:
        return [], None
    learned = []
    for rule in parsed:
        within = rule.within
        for name in rule.columns:
            if name not in schema:
                raise ConditionError(
                    f"Rule {rule.text!r} names the unknown column {name!r}; the table has "
                    f"{schema.names}."
                )
        if within is not None and within.pairs is None:
            rule = rule.with_pairs(_seen_pairs(within, frame, encoder, rare_threshold))
        learned.append(rule)
    # The real data is checked against every combination it holds (a learned 'within' holds by
    # construction); the other rules as written.
    as_seen = [
        rule.with_pairs(_seen_pairs(rule.within, frame, None, 1))
        if rule.within is not None and original.within is not None and original.within.pairs is None
        else rule
        for rule, original in zip(learned, parsed, strict=True)
    ]
    report = check_rules(frame, as_seen, schema=schema, warn=True)
    # Compile once against the model's encoder, so contradictions surface at fit time.
    RuleSampler(
        learned, encoder, np.arange(len(encoder.model_columns)), 1, np.random.default_rng(0)
    )
    return learned, report


def _seen_pairs(
    within: Within, frame: pd.DataFrame, encoder: TableEncoder | None, threshold: int
) -> frozenset[tuple[str, str]]:
    labels = []
    for name in (within.child, within.parent):
        if encoder is None:
            values = TableValues(frame, None).labels(name)
        else:
            column_encoder = encoder.encoders[name]
            tokens = column_encoder.encode(frame[name])
            lookup = column_encoder.decode(
                np.arange(column_encoder.n_tokens), np.random.default_rng(0)
            ).to_numpy(dtype=object)
            values = np.array([_label_or_none(v) for v in lookup], dtype=object)[tokens]
        labels.append(values)
    pairs = pd.DataFrame({"child": labels[0], "parent": labels[1]}).dropna()
    counts = pairs.groupby(["child", "parent"]).size()
    kept = counts[counts >= threshold].index
    return frozenset(
        (str(child), str(parent))
        for child, parent in zip(kept.get_level_values(0), kept.get_level_values(1), strict=True)
    )


def _label_or_none(value: Any) -> str | None:
    return None if value is None else constant_label(value)


def rules_to_manifest(rules: Sequence[Rule], report: RuleReport | None) -> dict[str, Any]:
    """The rules as JSON data (texts and allowed combinations) for the model file."""
    return {
        "rules": [rule.to_dict() for rule in rules],
        "real_data": None if report is None else report.to_dict(),
    }


def rules_from_manifest(data: Any) -> tuple[list[Rule], RuleReport | None]:
    """Rules read back from a model file: parsed again (never evaluated)."""
    if data is None:
        return [], None
    rules = parse_rules(list(data["rules"]))
    report = None if data.get("real_data") is None else RuleReport.from_dict(data["real_data"])
    return rules, report


def rule_sampler(
    model: Any,
    rules: Any,
    n_rows: int,
    rng: np.random.Generator,
    fixed_values: pd.DataFrame | None,
    fixed_columns: Mapping[str, Any] | None = None,
    targeted: Sequence[str] = (),
) -> RuleSampler | None:
    """The sampler for the model's fit-time rules plus ``rules``; None when there are none
    and no link holds as a rule.

    A ``within`` rule given at sample time without combinations uses those learned at fit time
    for the same two columns (or a ``mapping`` link's: the source within its value). The
    model's ``mapping`` links hold as rules too (see :meth:`RuleSampler._link_pair`) where
    :func:`_rules_allow_link`, unless seed rows (``fixed_values``) fix one of their columns,
    a condition (``fixed_columns``: column -> value) fixes both, or the rules and the fixed
    values contradict them: fixed values and rules win over a link, as in
    :func:`~lookalike.control._links.apply_links`.

    Links on a ``targeted`` or fixed column (rebalanced, shifted, in a parity, given one
    value, or kept to a set or range by a condition), and links that share a column with a
    link that holds, hold as rules with no rule at all: the call keeps that column's value, so the link
    cannot recompute it after the draw, and a source drawn first from a leaf that does not
    tell its value apart would keep another (a 200-row table rebalanced to half its rarest
    value broke 501 pairs of 1,000; a country fixed by a condition, 37 % of 6,000).
    """
    everything = _all_rules(model, rules)
    fixed = dict(fixed_columns or {})
    if fixed_values is not None:
        _check_seed_rows(fixed_values, everything, model.schema_)
    held: set[str] = set()
    if fixed_values is not None:
        held |= {str(c) for c in fixed_values.columns if fixed_values[c].notna().any()}
    held |= {r.formula.target for r in everything if r.formula is not None}
    mappings = [link for link in getattr(model, "links_", ()) if link.kind == "mapping"]
    # A link that shares a column with one that holds holds too: in a chain zip -> city ->
    # country, a country kept as given needs the zip's city to be one of its own (else the
    # city computed from the zip drawn after it broke the pair in 90 % of the rows).
    joined: set[int] = set()
    while grown := {
        k
        for k, link in enumerate(mappings)
        if k not in joined
        and not held & {link.column, *link.sources}
        and not {link.column, *link.sources} <= set(fixed)
        and _rules_allow_link(
            everything,
            {link.column, *link.sources},
            {
                *targeted,
                *fixed,
                *(c for j in joined for c in (mappings[j].column, *mappings[j].sources)),
            },
        )
    }:
        joined |= grown
    links = [link for k, link in enumerate(mappings) if k in joined]
    if not everything and not links:
        return None

    def build(kept: Sequence[Link]) -> RuleSampler:
        sampler = RuleSampler(
            everything,
            model.encoder_,
            model.order_,
            n_rows,
            rng,
            fixed_values,
            model.trees_,
            kept,
        )
        if kept and fixed:
            _check_fixed_link_values(sampler, fixed)
        return sampler

    if not links:
        return build([])
    try:
        return build(links)
    except ConditionError:
        pass
    # The rules contradict a link: they win over it (the rows then hold pairs the link does
    # not list, and the sample warns), and the links they leave possible still hold.
    kept: list[Link] = []
    for link in links:
        try:
            build([*kept, link])
        except ConditionError:
            continue
        kept.append(link)
    return build(kept)


def _check_fixed_link_values(sampler: RuleSampler, fixed: Mapping[str, Any]) -> None:
    """ConditionError where the rules and links leave a fixed value's token no possibility
    (``city == 'Lyon'`` fixed under ``country == 'DE'``): the links give way there."""
    for name, value in fixed.items():
        column = sampler.columns.get(name)
        if column is None or column.continuous:
            continue
        wanted = value_label(value)
        tokens = [t for t, label in enumerate(_token_labels(column)) if label == wanted]
        if tokens and not sampler.unary[name][tokens].any():
            raise ConditionError(f"The links leave {name!r} no {wanted!r} under the rules.")


def _all_rules(model: Any, rules: Any) -> list[Rule]:
    """The model's fit-time rules and ``rules``; a ``within`` rule given without combinations
    takes those learned at fit time for the same two columns (or a ``mapping`` link's)."""
    fitted: list[Rule] = list(getattr(model, "rules_", []))
    extra = parse_rules(rules)
    known = {
        (r.within.child, r.within.parent): r.within.pairs for r in fitted if r.within is not None
    }
    for link in getattr(model, "links_", ()):
        if link.kind == "mapping":
            known.setdefault((link.sources[0], link.column), frozenset(link.pairs))
    completed = []
    for rule in extra:
        within = rule.within
        if within is not None and within.pairs is None:
            pairs = known.get((within.child, within.parent))
            if pairs is not None:
                rule = rule.with_pairs(pairs)
        completed.append(rule)
    return [*fitted, *(r for r in completed if r.text not in {f.text for f in fitted})]


def ruled_columns(model: Any, rules: Any) -> set[str]:
    """The columns that the model's fit-time rules or ``rules`` name."""
    return {c for rule in _all_rules(model, rules) for c in rule.columns}


def rules_weigh_rows(model: Any, rules: Any) -> bool:
    """Whether the model's fit-time rules or ``rules`` weigh the rows drawn: all but formulas,
    which set their column's value last and restrict nothing."""
    return any(rule.formula is None for rule in _all_rules(model, rules))


def check_seed_rows(model: Any, rules: Any, seed: pd.DataFrame) -> None:
    """Raise :class:`ConditionError` before sampling when seed rows' given values already break
    one of the model's rules or ``rules``, naming the rule, the count and the first row."""
    _check_seed_rows(seed, _all_rules(model, rules), model.schema_)


def _rules_allow_link(rules: Sequence[Rule], columns: set[str], targeted: set[str]) -> bool:
    """Whether a ``mapping`` link on ``columns`` joins the rules: some rule names one of them
    or one of them is ``targeted``, and every rule naming one names nothing else (a rule on one
    column, or a ``within`` of the two).

    Rules on one column prune the link's pairs before any row is drawn, so a contradiction is
    found then. A rule that ties a link column to another (``if age > 60 then education_num
    == 9``) restricts it row by row, and with the link a row could be left no value at all: the
    link gives way to such rules, as to fixed values (the sample warns of the pairs broken).
    """
    touching = [r for r in rules if columns & set(r.columns)]
    return bool(touching or columns & targeted) and all(
        set(r.columns) <= columns
        and r.formula is None
        and (len(set(r.columns)) == 1 or (r.within is not None and r.condition is None))
        for r in touching
    )


def _check_seed_rows(seed: pd.DataFrame, rules: Sequence[Rule], schema: Schema) -> None:
    """Raise before sampling when a seed row's given values already break a rule."""
    given = [r for r in rules if set(r.columns) <= set(seed.columns)]
    if not given:
        return
    report = check_rules(seed.reset_index(drop=True), given, schema=schema)
    broken = [r for r in report if r.n_violations]
    if broken:
        first = int(np.flatnonzero(report.violations[broken[0].rule])[0])
        raise ConditionError(
            "Seed rows break rule(s) "
            + ", ".join(
                f"{r.rule!r} ({r.n_violations} row{'s' if r.n_violations != 1 else ''})"
                for r in broken
            )
            + f" with the values they give (the first is row {first}); every sampled row obeys "
            "the rules, so fix those values or sample without the rules."
        )


def _datetimes_of(encoder: ColumnEncoder, seconds: np.ndarray, spec: ColumnSpec) -> pd.Series:
    """Seconds as the column's datetimes, in the unit, format and UTC offset it learned."""
    if isinstance(encoder, NumericEncoder):
        return encoder.to_datetimes(seconds)
    return seconds_to_datetimes(seconds, spec, spec.name)
