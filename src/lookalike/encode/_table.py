"""Encode a whole table: one encoder per column, JSON statistics, dtype restoration on decode."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lookalike.encode._encoders import (
    ColumnEncoder,
    analyze_column,
    make_encoder,
    reduce_statistics,
)
from lookalike.errors import DataError
from lookalike.schema import ColumnKind, ColumnSpec, Schema
from lookalike.schema._labels import value_labels
from lookalike.schema._numbers import format_numbers, parse_formatted
from lookalike.schema._schema import TIME_CATEGORY_DTYPE
from lookalike.schema._storage import is_storage_dtype, numbers_to_storage, values_to_numbers


class TableEncoder:
    """The encoders of every column of a schema.

    >>> df = pd.DataFrame({"x": [1, 2, 2, 3] * 5, "c": ["a", "b"] * 10})
    >>> from lookalike.schema import infer_schema
    >>> enc = TableEncoder.fit(infer_schema(df), df, rare_threshold=2, n_bins=4)
    >>> enc.encode(df).shape
    (20, 2)
    """

    def __init__(self, schema: Schema, statistics: Mapping[str, Mapping[str, Any]]) -> None:
        self.schema = schema
        self.statistics = {name: dict(statistics[name]) for name in schema.names}
        self.encoders: dict[str, ColumnEncoder] = {
            spec.name: make_encoder(spec, self.statistics[spec.name], locale=schema.locale)
            for spec in schema
        }

    @classmethod
    def fit(
        cls,
        schema: Schema,
        data: pd.DataFrame,
        *,
        rare_threshold: int,
        n_bins: int,
        on_column: Callable[[str], None] | None = None,
    ) -> TableEncoder:
        """Analyse ``data`` (one partition) and reduce the statistics into encoders."""
        missing = [name for name in schema.names if name not in data.columns]
        if missing:
            raise DataError(f"The table lacks column(s) {missing} named in the schema.")
        statistics = {}
        for spec in schema:
            partial = analyze_column(spec, data[spec.name])
            statistics[spec.name] = reduce_statistics(
                spec, [partial], rare_threshold=rare_threshold, n_bins=n_bins
            )
            if on_column is not None:
                on_column(spec.name)
        return cls(schema, statistics)

    @property
    def withheld(self) -> list[str]:
        """Columns with values of which none may be released: every value (and every bin's
        worth of numbers) was seen fewer than ``rare_threshold`` times, so each comes out
        missing (``_RARE_`` in a column of text)."""
        names = []
        for name, stats in self.statistics.items():
            if name not in self.modelled or int(stats["n"]) <= int(stats["n_missing"]):
                continue
            if "categories" in stats:
                # Withheld texts come back as fake texts of their lengths, where those are kept.
                released = bool(stats["categories"] or stats.get("rare_length_steps"))
            else:
                released = bool(stats.get("spikes") or stats.get("edges") or stats.get("values"))
                released |= bool(stats.get("has_posinf") or stats.get("has_neginf"))
            if not released:
                names.append(name)
        return names

    @property
    def modelled(self) -> list[str]:
        """Names of the columns a model learns (all but identifiers and PII), in schema order."""
        return [name for name, enc in self.encoders.items() if enc.is_modelled]

    @property
    def model_columns(self) -> list[tuple[str, int]]:
        """The token columns a model sees: (column name, part), a continuous column giving two."""
        return [
            (name, part)
            for name in self.modelled
            for part in range(len(self.encoders[name].part_tokens))
        ]

    @property
    def n_tokens(self) -> np.ndarray:
        """Tokens per model column."""
        return np.array(
            [k for name in self.modelled for k in self.encoders[name].part_tokens], dtype=np.int64
        )

    def positions(self, name: str) -> list[int]:
        """Indices of a column's parts among the model columns."""
        return [j for j, (column, _) in enumerate(self.model_columns) if column == name]

    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """Tokens of the model columns, shape (rows, model columns), int32."""
        parts = [self.encoders[name].encode_parts(data[name]) for name in self.modelled]
        if not parts:
            return np.zeros((len(data), 0), dtype=np.int32)
        return np.hstack(parts).astype(np.int32)

    def decode(
        self, tokens: np.ndarray, rng: np.random.Generator, skip: Collection[str] = ()
    ) -> pd.DataFrame:
        """Rows of values, in schema order and dtypes, from tokens of the model columns.

        Columns in ``skip`` (every row of which the caller sets itself) come out as missing
        objects, whatever their dtype.
        """
        n = len(tokens)
        # One child stream per column: decoding one column never shifts another's draws.
        streams = dict(zip(self.schema.names, rng.spawn(len(self.schema)), strict=True))
        columns = {}
        for spec in self.schema:
            if spec.name in skip:
                columns[spec.name] = pd.Series(np.full(n, None, dtype=object), name=spec.name)
                continue
            encoder = self.encoders[spec.name]
            where = self.positions(spec.name)
            column_tokens = tokens[:, where] if where else np.zeros((n, 1), np.int64)
            decoded = encoder.decode_parts(column_tokens, streams[spec.name])
            columns[spec.name] = restore_dtype(decoded.reset_index(drop=True), spec)
        return pd.DataFrame(columns)


def restore_dtype(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Cast decoded values back to the column's storage dtype (nullable where values are missing)."""
    dtype = spec.dtype
    has_missing = bool(values.isna().any())
    if dtype.startswith("period["):
        # Periods are learned as the text pandas writes them in ("2013-02"), and read back.
        return _periods(restore_dtype(values, replace(spec, dtype="object")), dtype)
    if spec.kind is ColumnKind.DATETIME:
        if spec.datetime_format:
            return _restore_text(values, dtype)
        return _cast(values, dtype)
    if spec.number_format is not None:
        parsed = parse_formatted(values, spec.number_format)
        if spec.decimals is not None:
            parsed = np.round(parsed, spec.decimals)
        written = format_numbers(parsed, spec.number_format)
        return _restore_text(written, dtype)
    arrow = _arrow_plain(dtype)
    if arrow is not None:
        # Through the NumPy or nullable dtype of the same values, then in Arrow again.
        base, arrow_dtype = arrow
        return restore_dtype(values, replace(spec, dtype=base)).astype(arrow_dtype)
    # Python bools in an object column (bools with gaps) come back as a nullable boolean column.
    bool_objects = spec.kind is ColumnKind.BOOLEAN and dtype == "object"
    if bool_objects and set(values.dropna()) <= {"True", "False"}:
        dtype = "boolean"
    if spec.pii is not None and dtype == "category":
        # Fakes are none of the declared categories (a schema of an earlier version kept them).
        return _cast(values, dtype)
    if dtype == "category" and spec.category_dtype is not None:
        return _typed_categories(values, spec, spec.category_dtype)
    if dtype == "category" and spec.category_order is not None:
        # The declared categories, unused ones too; a withheld rare value is not one of them and
        # comes out missing.
        declared = pd.CategoricalDtype(list(spec.category_order), ordered=spec.ordered)
        known = values.where(values.isin(declared.categories))
        result: pd.Series = known.astype(declared)
        return result
    if dtype in _TEXT_DTYPES or dtype.startswith("string") or dtype == "category":
        return _cast(values, dtype)
    if dtype in {"bool", "boolean"}:
        mapped = values.map(lambda v: None if v is None or v != v else str(v).lower() == "true")
        return _cast(mapped, "boolean" if has_missing or dtype == "boolean" else "bool")
    if spec.integer_offset is not None:
        return _offset_integers(values, spec.integer_offset, dtype)
    if is_storage_dtype(dtype):
        restored = numbers_to_storage(values_to_numbers(values, dtype), dtype)
        restored.index, restored.name = values.index, values.name
        return restored
    numbers = pd.to_numeric(values, errors="coerce")
    if dtype in _NUMPY_INTEGERS or dtype in _NULLABLE_INTEGERS:
        nullable = _nullable_integer(dtype)
        # Within the dtype: past it the cast wraps (a private model's noisy range reached 1e19,
        # and 5e18-9.2e18 came out as -9.2e18 in 1 % of rows).
        info = np.iinfo(dtype.lower())
        top = float(info.max)
        if top > info.max:  # float rounds int64's largest up past it
            top = float(np.nextafter(top, -np.inf))
        return _cast(numbers.round().clip(float(info.min), top), nullable if has_missing else dtype)
    if dtype in _NUMPY_FLOATS or dtype in {"Float32", "Float64"}:
        return _cast(numbers, dtype)
    return _cast(numbers, "float64")


def _restore_text(values: pd.Series, dtype: str) -> pd.Series:
    """Text written back from dates or numbers, in the column's own text dtype: pandas' ``str``
    or ``string``, an Arrow string (``large_string[pyarrow]``, what ``dtype_backend="pyarrow"``
    reads), else object (a ``category`` column of dates).
    """
    arrow = _arrow_plain(dtype)
    if arrow is not None:
        # In Arrow again, through the text or the numbers of the same values.
        return _restore_text(values, arrow[0]).astype(arrow[1])
    if dtype in _NUMPY_INTEGERS | _NULLABLE_INTEGERS | _NUMPY_FLOATS:
        # Dates written as numbers (20130101).
        numbers = pd.to_numeric(values)
        if numbers.isna().any():
            dtype = _nullable_integer(dtype)
        return _cast(numbers, dtype)
    return _cast(values, dtype if dtype in _TEXT_DTYPES or dtype.startswith("string") else "object")


def _nullable_integer(dtype: str) -> str:
    """The nullable pandas dtype of an integer dtype (``uint8`` -> ``UInt8``); others as they are.

    >>> _nullable_integer("uint8"), _nullable_integer("Int64"), _nullable_integer("float64")
    ('UInt8', 'Int64', 'float64')
    """
    if dtype not in _NUMPY_INTEGERS:
        return dtype
    return dtype.capitalize().replace("Uint", "UInt")


def _periods(text: pd.Series, dtype: str) -> pd.Series:
    """``text`` read as periods of ``dtype`` (``period[M]``); a value that is none (a withheld
    rare one) comes out missing.

    >>> _periods(pd.Series(["2013-02", None, "_RARE_"]), "period[M]").tolist()
    [Period('2013-02', 'M'), NaT, NaT]
    """
    freq = dtype[len("period[") : -1]
    codes, labels = pd.factorize(text)
    read: list[Any] = []
    for label in labels:
        try:
            read.append(pd.Period(str(label), freq=freq))
        except ValueError:
            read.append(None)
    read.append(None)  # code -1: missing
    return pd.Series([read[k] for k in codes], index=text.index, name=text.name, dtype=dtype)


def _typed_categories(values: pd.Series, spec: ColumnSpec, dtype: str) -> pd.Series:
    """A category column of numbers or booleans: the values (or their labels) as categories of
    ``dtype``, read from the labels exactly (an int64 near its top went through float and came
    back another number), the declared ones if any (a value not among them comes out missing),
    else those drawn (a private model keeps none).

    >>> spec = ColumnSpec("c", "categorical", "category", category_order=("1", "9223372036854775807"),
    ...                   category_dtype="int64")
    >>> _typed_categories(pd.Series(["9223372036854775807", "5", None]), spec, "int64").tolist()
    [9223372036854775807, nan, nan]
    """

    if TIME_CATEGORY_DTYPE.match(dtype):
        return _time_categories(values, spec, dtype)

    def parse(label: str | None) -> Any:
        if label is None:
            return None
        try:
            if dtype in {"bool", "boolean"}:
                return {"True": True, "False": False}.get(label)
            if dtype.lower().startswith(("int", "uint")):
                return int(label)
            number = float(label)
        except ValueError:
            return None
        # A missing value's label ("nan", as a private model keeps it) is no category.
        return None if math.isnan(number) else number

    # A list, not a Series: pandas would hold whole numbers with gaps as floats.
    typed = [parse(label) for label in value_labels(values)]
    if spec.category_order is not None:
        categories = [parse(label) for label in spec.category_order]
    else:
        categories = sorted({value for value in typed if value is not None})
    declared = pd.CategoricalDtype(pd.Index(categories, dtype=dtype), ordered=spec.ordered)
    kept = set(categories)
    typed = [value if value in kept else None for value in typed]
    return pd.Series(pd.Categorical(typed, dtype=declared), index=values.index, name=values.name)


def _time_categories(values: pd.Series, spec: ColumnSpec, dtype: str) -> pd.Series:
    """A category column of datetimes or durations: the values read from their labels (a
    Timestamp's or Timedelta's text, exact to the nanosecond, with its UTC offset) in ``dtype``,
    among the declared categories if any, else those drawn.

    >>> spec = ColumnSpec("c", "categorical", "category", category_order=("0 days 00:00:01",),
    ...                   category_dtype="timedelta64[s]")
    >>> _time_categories(pd.Series(["0 days 00:00:01", "_RARE_"]), spec, "timedelta64[s]").tolist()
    [Timedelta('0 days 00:00:01'), NaT]
    """
    own = pd.api.types.pandas_dtype(dtype)
    tz = getattr(own, "tz", None)

    def parse(labels: pd.Series) -> pd.Series:
        text = labels.astype(object)
        if dtype.startswith("timedelta64"):
            return pd.to_timedelta(text, errors="coerce").astype(own)
        stamps = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=tz is not None)
        if tz is not None:
            stamps = stamps.dt.tz_convert(tz)  # from UTC: the offset in the label tells a fold
        return stamps.astype(own)

    typed = parse(value_labels(values))
    if spec.category_order is not None:
        categories = pd.Index(parse(pd.Series(list(spec.category_order), dtype=object)))
    else:
        categories = pd.Index(typed.dropna().unique()).sort_values()
    declared = pd.CategoricalDtype(categories, ordered=spec.ordered)
    kept = typed.where(typed.isin(categories))
    return pd.Series(pd.Categorical(kept, dtype=declared), index=values.index, name=values.name)


def _arrow_plain(dtype: str) -> tuple[str, pd.ArrowDtype] | None:
    """For a pandas Arrow dtype of booleans, numbers or text (``int64[pyarrow]``,
    ``bool[pyarrow]``, ``large_string[pyarrow]``), the dtype its values are restored in and the
    Arrow dtype; None for other dtypes (durations, times and decimals are storage types).

    >>> _arrow_plain("uint8[pyarrow]")[0], _arrow_plain("bool[pyarrow]")[0], _arrow_plain("int64")
    ('uint8', 'boolean', None)
    >>> _arrow_plain("string[pyarrow]")[1]
    string[pyarrow]
    """
    if not dtype.endswith("[pyarrow]") or is_storage_dtype(dtype):
        return None
    if dtype == "string[pyarrow]":
        # What pd.ArrowDtype(pa.string()) is written as, and pandas reads back as its own
        # StringDtype (which is written "string"): that dtype is restored as a plain string.
        return "object", pd.ArrowDtype(pa.string())
    try:
        arrow_dtype = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        return None
    if not isinstance(arrow_dtype, pd.ArrowDtype):
        return None
    kind = arrow_dtype.pyarrow_dtype
    if pa.types.is_boolean(kind):
        return "boolean", arrow_dtype
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return str(np.dtype(kind.to_pandas_dtype())), arrow_dtype
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "object", arrow_dtype
    return None


def _offset_integers(values: pd.Series, offset: int, dtype: str) -> pd.Series:
    """Whole numbers beyond float64's precision, in integers (never through float).

    Floats are numbers as the encoders see them (minus the offset); anything else is the column's
    own values (a condition's, or rows already restored).
    """
    unsigned = dtype.lower().startswith("uint")
    numpy_dtype = np.dtype(np.uint64 if unsigned else np.int64)
    missing = values.isna().to_numpy()
    ints = np.zeros(len(values), dtype=numpy_dtype)
    if pd.api.types.is_float_dtype(values):
        relative = np.round(values.to_numpy(dtype=float)[~missing]).astype(np.int64)
        # Arithmetic modulo 2**64, exact for every value of the column's type.
        ints[~missing] = (relative.view(np.uint64) + np.uint64(offset % 2**64)).view(numpy_dtype)
    else:
        ints[~missing] = [int(v) for v in values[~missing].tolist()]
    nullable = "UInt64" if unsigned else "Int64"
    array = pd.arrays.IntegerArray(ints, missing)
    target = nullable if missing.any() or dtype == nullable else str(numpy_dtype)
    return _cast(pd.Series(array, name=values.name), target)


def _cast(values: pd.Series, dtype: str) -> pd.Series:
    result: pd.Series = values.astype(pd.api.types.pandas_dtype(dtype))
    return result


_TEXT_DTYPES = {"str", "string", "object"}
_NUMPY_INTEGERS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_NULLABLE_INTEGERS = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"}
_NUMPY_FLOATS = {"float16", "float32", "float64"}
