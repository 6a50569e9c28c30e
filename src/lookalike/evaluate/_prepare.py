"""Check the input tables, align them on the real table's columns, and bin every column.

Every metric in this package works on one of two views of the tables:

* a *canonical* view: numbers (and datetimes, as seconds since 1970) as ``float64`` with NaN for
  missing, categories as Python strings with ``None`` for missing; this is what exact-copy checks,
  classifiers and distances use;
* a *binned* view: every column cut into at most a dozen bins defined on the **real** table
  (10 quantile bins for numbers and datetimes, the 10 most frequent categories plus "other", and
  missing as a bin of its own), plus bins for values the real table does not hold (beyond its
  range, infinities, unseen values and categories), which hold no real row; this is what the
  fidelity and association metrics use.

Columns that a generator regenerates by design are left out of both views, so that no metric
compares them: identifier columns (unique keys, which lookalike replaces with new keys) and PII
columns (which it replaces with fakes), as the real table's schema says (see
:func:`excluded_columns`). A classifier would tell a fake e-mail from a real one at once, and
fresh keys never match the training keys, so keeping them would only make the numbers misleading.
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from lookalike.errors import DataError, SchemaError
from lookalike.schema import ColumnKind as SchemaKind
from lookalike.schema import Schema, infer_schema
from lookalike.schema._infer import COMPACT_DATE_FORMATS
from lookalike.schema._numbers import guess_number_format, parse_formatted
from lookalike.schema._storage import is_storage_dtype, storage_numbers

ColumnKind = Literal["numeric", "datetime", "categorical"]

#: Numbers and datetimes are cut into this many quantile bins of the real data.
N_NUMERIC_BINS = 10
#: Categorical columns keep their most frequent categories (in the real data); the rest are "other".
N_TOP_CATEGORIES = 10
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"
UNSEEN_LABEL = "(not in real data)"
POS_INF_LABEL = "(+inf)"
NEG_INF_LABEL = "(-inf)"
#: Numbers within this share of the largest real magnitude of a real value still count as it:
#: a table that passed through float32 (7 digits) keeps its values.
RELATIVE_TOLERANCE = 1e-6
#: Datetimes (in seconds) within this of a real value still count as it.
DATETIME_TOLERANCE = 1e-3
# Fixed positions of the number bins before the bins of the real values (see ColumnBins).
_NEG_INF_BIN, _BELOW_BIN, _FIRST_NUMBER_BIN = 0, 1, 2
#: Why a column is not compared: the reasons :func:`excluded_columns` gives.
IDENTIFIER_REASON = "key, regenerated"
PII_REASON = "PII, replaced with fakes"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class ColumnBins:
    """How one column is cut into bins, learned on the real data.

    Values the real table does not hold get bins of their own, in which the real table's share is
    0 by construction, so that they count as mismatches: numbers below or above the real range,
    numbers between the values of a column of few distinct values, infinities the real table
    lacks, and categories it never holds. (Put into the nearest real bin, a synthetic column
    shifted clear of the real one still scored as overlapping.)

    Numbers and datetimes are laid out as ``-inf``, below the range, the bins of the real values,
    above the range, ``+inf``, not in the real data, missing; categories as the kept categories,
    "other" (the real table's rarer categories), not in the real data, missing.
    """

    name: str
    kind: ColumnKind
    labels: tuple[str, ...]
    """One label per bin; the last bin is always the missing bin."""
    cuts: tuple[float, ...] = ()
    """Numbers: a value ``x`` in the real range falls in the bin of the real values
    ``searchsorted(cuts, x, side='right')``."""
    categories: tuple[str, ...] = ()
    """Categories: the kept categories, in bin order; bin ``len(categories)`` is "other"."""
    known: frozenset[str] = frozenset()
    """Categories: every category of the real table; the others are not in the real data."""
    low: float = math.nan
    high: float = math.nan
    """Numbers: the smallest and largest finite real value (NaN when there is none)."""
    points: tuple[float, ...] = ()
    """Numbers of few distinct values: those values, one per bin; a value matching none of them
    (within ``tolerance``) is not in the real data."""
    tolerance: float = 0.0
    """Numbers: how far a value may stray from the real range or a real value and still count
    as in it."""
    outside: tuple[int, ...] = ()
    """Bins that hold no real row by construction: worth showing only when another table uses
    them."""

    @property
    def n_bins(self) -> int:
        return len(self.labels)

    def transform(self, values: npt.NDArray[Any]) -> IntArray:
        """Bin canonical values (floats for numbers, strings or None for categories)."""
        missing_code = self.n_bins - 1
        unseen_code = self.n_bins - 2
        if self.kind == "categorical":
            codes = category_codes(values, self.categories)
            is_missing = pd.isna(values)
            rest = (codes < 0) & ~is_missing
            codes[rest] = len(self.categories)
            is_known = pd.Index(values[rest], dtype=object).isin(list(self.known))
            codes[np.flatnonzero(rest)[~is_known]] = unseen_code
            codes[is_missing] = missing_code
            return codes
        floats = values.astype(np.float64)
        above_code = self.n_bins - 4
        codes = np.full(floats.shape[0], unseen_code, dtype=np.int64)
        finite = np.isfinite(floats)
        if not math.isnan(self.low):
            present = floats[finite]
            inner = np.searchsorted(np.asarray(self.cuts, dtype=np.float64), present, "right")
            binned = _FIRST_NUMBER_BIN + inner.astype(np.int64)
            if self.points:
                nearest = np.asarray(self.points, dtype=np.float64)[inner]
                binned[np.abs(present - nearest) > self.tolerance] = unseen_code
            binned[present < self.low - self.tolerance] = _BELOW_BIN
            binned[present > self.high + self.tolerance] = above_code
            codes[finite] = binned
        codes[floats == -np.inf] = _NEG_INF_BIN
        codes[floats == np.inf] = above_code + 1
        codes[np.isnan(floats)] = missing_code
        return codes


@dataclass(frozen=True)
class PreparedTables:
    """The tables aligned on the real table's columns, in canonical form, with their bins."""

    names: tuple[str, ...]
    kinds: tuple[ColumnKind, ...]
    real: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    bins: tuple[ColumnBins, ...]
    # The real table's number_format for numbers written as text, by column.
    formats: Mapping[str, str | None] = field(default_factory=dict)


def category_codes(values: npt.NDArray[Any], categories: Sequence[str]) -> IntArray:
    """Position of each value in ``categories``; -1 for missing values and other categories."""
    index = pd.Index(list(categories), dtype=object)
    return np.asarray(index.get_indexer(pd.Index(values, dtype=object)), dtype=np.int64)


def load_table(data: Any, role: str) -> pd.DataFrame:
    """Return ``data`` as a DataFrame; paths are read with :func:`lookalike.io.read_table`, and
    pyarrow Tables and polars DataFrames converted with its types, as ``fit`` reads them."""
    if not isinstance(data, pd.DataFrame | str | Path):
        io_module = importlib.import_module("lookalike.io")
        data = io_module.in_memory_frame(data, f"The {role!r} table")
    if isinstance(data, pd.DataFrame):
        # A named index is data, as fit reads it (a model of df.set_index("time_hour") samples a
        # time_hour column).
        io_module = importlib.import_module("lookalike.io")
        frame: pd.DataFrame = io_module.index_as_columns(data, f"The {role!r} table")
    elif isinstance(data, str | Path):
        try:
            io_module = importlib.import_module("lookalike.io")
        except ImportError:
            raise DataError(
                f"The {role!r} table must be a pandas DataFrame. Got the path {str(data)!r} instead."
            ) from None
        frame = io_module.read_table(data)
    else:
        raise DataError(
            f"The {role!r} table must be a pandas or polars DataFrame, a pyarrow Table or a "
            f"path. Got {type(data).__name__} instead."
        )
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError(
            f"The {role!r} table must have at least one row and one column. "
            f"Got shape {frame.shape} instead."
        )
    duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise DataError(f"The {role!r} table has duplicated column names: {duplicated}.")
    return frame


def table_schema(real: pd.DataFrame, schema: Schema | Mapping[str, Any] | None) -> Schema:
    """The schema of the real table: ``schema`` itself, or inferred with ``schema`` as overrides."""
    if isinstance(schema, Schema):
        names = [str(c) for c in real.columns]
        missing = [n for n in schema.names if n not in names]
        extra = [n for n in names if n not in schema]
        if missing or extra:
            raise SchemaError(
                f"The schema does not match the real table: the table lacks {missing} and the "
                f"schema lacks {extra}."
            )
        return schema
    if schema is not None and not isinstance(schema, Mapping):
        raise SchemaError(
            "The 'schema' parameter must be a Schema or a mapping of schema overrides. "
            f"Got {type(schema).__name__} instead."
        )
    return infer_schema(real, schema)


def excluded_columns(schema: Schema) -> dict[str, str]:
    """The columns no metric compares, in table order, each with the reason.

    >>> from lookalike.schema import ColumnSpec
    >>> excluded_columns(
    ...     Schema((
    ...         ColumnSpec("customer_id", SchemaKind.IDENTIFIER, "int64"),
    ...         ColumnSpec("email", SchemaKind.IDENTIFIER, "str", pii="email"),
    ...         ColumnSpec("age", SchemaKind.DISCRETE, "int64"),
    ...     ))
    ... )
    {'customer_id': 'key, regenerated', 'email': 'PII, replaced with fakes'}
    """
    excluded = {}
    for spec in schema:
        # PII first: a column of unique e-mails is also a key, but it comes out as fakes.
        if spec.pii is not None:
            excluded[spec.name] = PII_REASON
        elif spec.kind is SchemaKind.IDENTIFIER:
            excluded[spec.name] = IDENTIFIER_REASON
    return excluded


def prepare_tables(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    excluded: Mapping[str, str] | None = None,
    dates: Mapping[str, str | None] | None = None,
) -> PreparedTables:
    """Check that the tables have the same columns and convert them to the real table's kinds.

    The ``excluded`` columns (names and reasons, from :func:`excluded_columns`) must be present in
    every table too, but are dropped from the prepared tables. ``dates`` names the columns the
    real table's schema reads as datetimes, with their text format (None: parsed as found):
    dates written as text in a CSV are then binned as dates, not as categories.
    """
    all_names = tuple(str(c) for c in real.columns)
    excluded = {} if excluded is None else excluded
    names = tuple(n for n in all_names if n not in excluded)
    real = real.set_axis(list(all_names), axis=1)
    others = (
        {"synthetic": synthetic}
        if holdout is None
        else {"synthetic": synthetic, "holdout": holdout}
    )
    aligned: dict[str, pd.DataFrame] = {}
    for role, frame in others.items():
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        missing = [n for n in all_names if n not in frame.columns]
        extra = [str(c) for c in frame.columns if c not in all_names]
        if missing or extra:
            raise DataError(
                f"The {role} table must have the same columns as the real table; "
                f"missing from it: {missing}, not in the real table: {extra}."
            )
        aligned[role] = frame[list(names)]
    if not names:
        left_out = ", ".join(f"{n} ({excluded[n]})" for n in all_names)
        raise DataError(
            f"Every column is left out of the comparison ({left_out}), so there is nothing to "
            "compare. If a column is neither a key nor PII, say so in the 'schema' parameter, "
            "e.g. schema={'code': {'kind': 'categorical', 'pii': None}}."
        )
    # Numbers written as text are read with the real table's format in every table: guessed
    # per table, "0,512 kg" could read as a decimal comma in one and as thousands in another.
    formats = {name: _text_number_format(real[name]) for name in names}
    dates = {} if dates is None else dates
    kinds = tuple(
        "datetime" if name in dates else _column_kind(real[name], formats[name]) for name in names
    )
    canonical_real = _canonical(real, names, kinds, "real", formats, dates)
    canonical = {
        role: _canonical(frame, names, kinds, role, formats, dates)
        for role, frame in aligned.items()
    }
    bins = tuple(
        _fit_bins(name, kind, canonical_real[name].to_numpy())
        for name, kind in zip(names, kinds, strict=True)
    )
    return PreparedTables(
        names=names,
        kinds=kinds,
        real=canonical_real,
        synthetic=canonical["synthetic"],
        holdout=canonical.get("holdout"),
        bins=bins,
        formats=formats,
    )


def bin_table(table: pd.DataFrame, bins: Sequence[ColumnBins]) -> IntArray:
    """Return the ``(n_rows, n_columns)`` matrix of bin codes of a canonical table."""
    codes = np.empty((table.shape[0], len(bins)), dtype=np.int64)
    for j, column_bins in enumerate(bins):
        codes[:, j] = column_bins.transform(table[column_bins.name].to_numpy())
    return codes


def _text_number_format(series: pd.Series) -> str | None:
    """The number_format of amounts written as text ("$1,243.56", "10.7%"), or None."""
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return None  # booleans count as numeric here
    return guess_number_format(series.dropna().astype(str))


def _column_kind(series: pd.Series, number_format: str | None) -> ColumnKind:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series.dtype) or number_format is not None:
        return "numeric"
    if is_storage_dtype(str(series.dtype)):
        return "numeric"  # durations and times of day, as numbers of their unit
    return "categorical"


def _canonical(
    frame: pd.DataFrame,
    names: Sequence[str],
    kinds: Sequence[ColumnKind],
    role: str,
    formats: Mapping[str, str | None],
    dates: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    columns: dict[str, npt.NDArray[Any]] = {}
    for name, kind in zip(names, kinds, strict=True):
        series = frame[name]
        if kind == "numeric":
            columns[name] = _as_numbers(series, name, role, formats.get(name))
        elif kind == "datetime":
            columns[name] = _as_seconds(series, name, role, (dates or {}).get(name))
        else:
            columns[name] = _as_strings(series)
    return pd.DataFrame(columns, index=pd.RangeIndex(frame.shape[0]))


def _as_numbers(series: pd.Series, name: str, role: str, fmt: str | None) -> FloatArray:
    """Numbers of a column; text is read with ``fmt``, the real table's number format."""
    stored = storage_numbers(series)
    if stored is not None:
        return np.asarray(stored, dtype=np.float64)
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        if fmt is not None and series.dtype != bool:
            converted = pd.Series(parse_formatted(series, fmt), index=series.index)
        else:
            converted = pd.to_numeric(series.astype("object"), errors="coerce")
        _check_conversion(series, converted, name, role, "numeric")
        series = converted
    return np.asarray(series.astype("float64").to_numpy(na_value=np.nan), dtype=np.float64)


def _whole_number_text(value: object) -> object:
    """A whole number as its digits (20130101.0 as ``"20130101"``); anything else unchanged."""
    is_whole = isinstance(value, numbers.Number) and float(value).is_integer()  # type: ignore[arg-type]
    return str(int(value)) if is_whole else value  # type: ignore[call-overload]


def _as_seconds(series: pd.Series, name: str, role: str, fmt: str | None = None) -> FloatArray:
    """Seconds since the epoch; text is read with the real table's ``fmt`` when it has one."""
    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_date(series.dtype.pyarrow_dtype):
        series = series.astype("datetime64[s]")  # Arrow dates
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        # Numbers are not dates: to_datetime would read them as nanoseconds since 1970, so a
        # synthetic column of numbers would pass for dates near 1970. They are refused, as dates
        # are in a numeric column; dates as text or as datetime objects are read.
        values = series.astype("object")
        is_number = np.array([isinstance(v, numbers.Number) for v in values], dtype=bool)
        if fmt in COMPACT_DATE_FORMATS:
            # Dates written as whole numbers (20130101): read as such text.
            values = values.map(_whole_number_text)
            is_number[:] = False
        converted = pd.to_datetime(
            values.mask(is_number), errors="coerce", format=fmt or "mixed", utc=True
        )
        _check_conversion(series, converted, name, role, "datetime")
        series = converted
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = (series - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
    return np.asarray(seconds.astype("float64").to_numpy(na_value=np.nan), dtype=np.float64)


def _check_conversion(
    original: pd.Series, converted: pd.Series, name: str, role: str, kind: str
) -> None:
    bad = converted.isna().to_numpy() & ~original.isna().to_numpy()
    if bad.any():
        example = original[bad].iloc[0]
        raise DataError(
            f"Column {name!r} is {kind} in the real table, but the {role} table holds "
            f"{int(bad.sum())} value(s) that are not, such as {example!r}."
        )


def _as_strings(series: pd.Series) -> ObjectArray:
    """Categories as strings, so that 1, 1.0 and "1" in different tables are the same category."""
    out = np.full(series.shape[0], None, dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Written as its categories' own dtype is: a categorical of 1.0 and 2.0 (not a numeric
        # dtype) became "1.0" and "2.0", while a float column of the same values gives "1", "2".
        names = _as_strings(pd.Series(series.cat.categories))
        codes = np.asarray(series.cat.codes.to_numpy(), dtype=np.int64)
        out[codes >= 0] = names[codes[codes >= 0]]
        return out
    present = ~series.isna().to_numpy()
    values = series[present]
    if pd.api.types.is_bool_dtype(values.dtype):
        strings = values.map(str)
    elif pd.api.types.is_numeric_dtype(values.dtype):
        floats = values.astype("float64").to_numpy()
        if np.all(np.isfinite(floats)) and np.all(floats == np.round(floats)):
            strings = pd.Series([str(int(v)) for v in floats], dtype=object)
        else:
            strings = pd.Series([repr(float(v)) for v in floats], dtype=object)
    else:
        strings = values.astype(str)
    out[present] = np.asarray(strings, dtype=object)
    return out


def _fit_bins(name: str, kind: ColumnKind, values: npt.NDArray[Any]) -> ColumnBins:
    if kind == "categorical":
        present = pd.Series(values[~pd.isna(values)], dtype=object)
        counts = present.value_counts(sort=False)
        # Most frequent first; ties by name so the bins do not depend on row order.
        ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
        top = tuple(str(value) for value, _ in ordered[:N_TOP_CATEGORIES])
        return ColumnBins(
            name,
            kind,
            (*top, OTHER_LABEL, UNSEEN_LABEL, MISSING_LABEL),
            categories=top,
            known=frozenset(str(value) for value, _ in ordered),
            outside=(len(top) + 1,),
        )
    floats = values.astype(np.float64)
    finite = np.sort(floats[np.isfinite(floats)])
    if finite.size == 0:
        return _number_bins(name, kind, floats, finite, (), ())
    distinct, value_counts = np.unique(finite, return_counts=True)
    if distinct.size <= N_NUMERIC_BINS:
        # Few distinct values: each is a bin, with cuts half way between neighbours.
        cuts = (distinct[:-1] + distinct[1:]) / 2
        labels = tuple(_format_value(v, kind) for v in distinct)
        return _number_bins(name, kind, floats, finite, labels, cuts, points=distinct)
    # A value held by at least one row in N_NUMERIC_BINS (e.g. the zeros of a zero-inflated
    # column) gets a bin of its own; the other values share quantile bins, so that a point mass
    # does not swallow the rest of the column into one bin.
    masses = distinct[value_counts * N_NUMERIC_BINS >= finite.size]
    rest = finite[~np.isin(finite, masses)]
    candidates = [masses, np.nextafter(masses, np.inf)]
    if rest.size:
        n_rest_bins = max(2, N_NUMERIC_BINS - masses.size)
        candidates.append(np.quantile(rest, np.linspace(0, 1, n_rest_bins + 1)[1:-1]))
    cuts = np.unique(np.concatenate(candidates))
    cuts = cuts[(cuts > finite[0]) & (cuts <= finite[-1])]
    # Drop cuts that leave a bin without real values: merge it with its neighbour.
    codes = np.searchsorted(cuts, finite, side="right")
    occupied = np.bincount(codes, minlength=cuts.size + 1) > 0
    keep = np.ones(cuts.size, dtype=bool)
    for k in np.flatnonzero(~occupied):
        keep[k if k < cuts.size else k - 1] = False
    cuts = cuts[keep]
    codes = np.searchsorted(cuts, finite, side="right")
    # Label each bin by the smallest and largest real value in it.
    starts = np.searchsorted(codes, np.arange(cuts.size + 1), side="left")
    ends = np.searchsorted(codes, np.arange(cuts.size + 1), side="right") - 1
    labels = tuple(
        _format_value(finite[a], kind)
        if finite[a] == finite[b]
        else f"{_format_value(finite[a], kind)} – {_format_value(finite[b], kind)}"
        for a, b in zip(starts, ends, strict=True)
    )
    return _number_bins(name, kind, floats, finite, labels, cuts)


def _number_bins(
    name: str,
    kind: ColumnKind,
    floats: FloatArray,
    finite: FloatArray,
    labels: tuple[str, ...],
    cuts: Sequence[float] | FloatArray,
    points: Sequence[float] | FloatArray = (),
) -> ColumnBins:
    """The bins of the real values (``labels``, ``cuts``) framed by the bins for the rest."""
    if finite.size:
        low, high = float(finite[0]), float(finite[-1])
        before, after = ("before", "after") if kind == "datetime" else ("below", "above")
        below = f"({before} {_format_value(low, kind)})"
        above = f"({after} {_format_value(high, kind)})"
    else:
        low = high = math.nan
        below, above = "(below real range)", "(above real range)"
    tolerance = (
        DATETIME_TOLERANCE
        if kind == "datetime"
        else RELATIVE_TOLERANCE * max(abs(low), abs(high))
        if finite.size
        else 0.0
    )
    above_code = _FIRST_NUMBER_BIN + len(labels)
    outside = [_BELOW_BIN, above_code, above_code + 2]
    if not np.any(floats == -np.inf):
        outside.append(_NEG_INF_BIN)
    if not np.any(floats == np.inf):
        outside.append(above_code + 1)
    return ColumnBins(
        name,
        kind,
        (NEG_INF_LABEL, below, *labels, above, POS_INF_LABEL, UNSEEN_LABEL, MISSING_LABEL),
        cuts=tuple(map(float, cuts)),
        low=low,
        high=high,
        points=tuple(map(float, points)),
        tolerance=tolerance,
        outside=tuple(sorted(outside)),
    )


def _format_value(value: float, kind: ColumnKind) -> str:
    if kind == "datetime":
        stamp = pd.Timestamp(value, unit="s")
        return stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M")
    if value == int(value) and abs(value) < 1e12:
        # Four digits stay as written: a year (2013), a clock time (1130) or a code reads
        # wrong as 2,013; longer numbers get separators (1,484,705).
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.0f}"
    return f"{value:.4g}"
