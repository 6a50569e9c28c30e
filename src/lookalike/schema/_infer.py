"""Infer a :class:`Schema` from a table, and apply a user's overrides."""

from __future__ import annotations

import difflib
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from pandas.tseries.api import guess_datetime_format

from lookalike.errors import DataError, SchemaError, warn_data
from lookalike.io import check_input_file
from lookalike.schema._labels import value_labels
from lookalike.schema._numbers import (
    CLOCK_HHMM,
    decimals_of,
    guess_number_format,
    is_hhmm_clock,
    other_reading,
    parse_formatted,
)
from lookalike.schema._pii import detect_column_pii
from lookalike.schema._schema import (
    CATEGORY_DTYPES,
    DATETIME_STEPS,
    DEFAULT_LOCALE,
    NUMERIC_PII_TYPES,
    TIME_CATEGORY_DTYPE,
    ColumnKind,
    ColumnSpec,
    Schema,
    check_locale,
)
from lookalike.schema._storage import storage_numbers, ticks_per_second

#: Numbers with at most this many distinct values are discrete: each value is its own token.
MAX_DISCRETE_VALUES = 100
#: Text columns whose values average more characters than this and are mostly distinct are free
#: text; so are columns of several words per value that are nearly all distinct (names of things).
MIN_TEXT_LENGTH = 40
_ID_NAME = re.compile(r"(^|[_\W])(id|key|uuid|guid)$|^id[_\W]|id$", re.IGNORECASE)
#: Words that end in "id" and name no key (a sparse "amount_paid" is unique where present).
_ID_WORDS = frozenset((
    "paid", "unpaid", "prepaid", "postpaid", "overpaid", "valid", "invalid", "lipid", "fluid",
    "liquid", "solid", "rapid", "acid", "humid", "rigid", "hybrid", "grid", "bid", "void",
    "avoid", "covid", "aid", "raid", "said", "laid", "kid", "squid", "android",
))  # fmt: skip
_MAX_DECIMALS = 6
#: Whole numbers from this magnitude on are not all exact in float64.
_FLOAT_EXACT = 2.0**53


def infer_schema(data: pd.DataFrame, overrides: Mapping[str, Any] | None = None) -> Schema:
    """Infer each column's kind, storage type and PII type; ``overrides`` fixes some of them.

    ``overrides`` maps column names to a kind (``{"zip": "categorical"}``) or to a dict of
    :class:`ColumnSpec` fields (``{"when": {"kind": "datetime", "datetime_format": "%d/%m/%Y"}}``).
    ``{"notes": {"pii": "text"}}`` marks a column as PII and ``{"code": {"pii": None}}`` (``null``
    in a file) unmarks one that was detected. A ``{"columns": {...}}`` wrapper, as in an override
    file, is accepted too, and may name the ``"locale"`` of the fakes (``"de_DE"``).

    PII detection is described in :mod:`lookalike.schema._pii`.

    >>> df = pd.DataFrame({"id": range(12), "city": ["Oslo", "Rome"] * 6, "t": [1.5, 2.25] * 6})
    >>> [c.kind.value for c in infer_schema(df)]
    ['identifier', 'categorical', 'discrete']
    >>> df["mail"] = [f"user{i}@example.org" for i in range(12)]
    >>> infer_schema(df).pii_columns
    {'mail': <PiiType.EMAIL: 'email'>}
    >>> infer_schema(df, {"mail": {"pii": None}}).pii_columns
    {}
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"infer_schema expects a pandas DataFrame. Got {type(data).__name__} instead."
        )
    overrides, locale = _normalise_overrides(overrides, list(map(str, data.columns)))
    columns = []
    for name in data.columns:
        inferred = _infer_column(str(name), data[name])
        declared = _declared_categories(data[name])
        if declared is not None:
            if inferred.kind is ColumnKind.DATETIME and "category_dtype" in declared:
                # Categories of datetimes read as dates from their text; they are categories.
                declared |= {"kind": "categorical", "datetime_format": None, "datetime_step": None}
            inferred = ColumnSpec.from_dict({**inferred.to_dict(), **declared})
        pii = detect_column_pii(str(name), data[name], inferred.kind)
        if pii is not None:
            inferred = ColumnSpec.from_dict({**inferred.to_dict(), "pii": pii})
        override = overrides.get(str(name))
        if override is not None:
            inferred = _apply_override(inferred, override, data[name])
        if inferred.pii is not None and inferred.category_order is not None:
            # Its categories are the identifiers themselves, and the fakes are none of them.
            inferred = replace(inferred, category_order=None, ordered=False, category_dtype=None)
        if inferred.number_format is not None and not (
            isinstance(override, Mapping) and "number_format" in override
        ):
            _warn_if_ambiguous(str(name), data[name], inferred.number_format)
        columns.append(inferred)
    return Schema(tuple(columns), locale=locale)


def load_schema_overrides(path: str | Path) -> dict[str, Any]:
    """Read a schema override file (JSON, or YAML for ``.yaml``/``.yml``)."""
    path = Path(path)
    check_input_file(path, "Schema file", SchemaError)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        # YAML explains over several lines: the problem, then where it is (line and column).
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SchemaError(f"Schema file {str(path)!r} cannot be parsed: {reason}") from None
    if not isinstance(data, dict):
        raise SchemaError(
            f"Schema file {str(path)!r} must hold a mapping of column names to kinds."
        )
    return data


_WRAPPER_KEYS = {"columns", "version", "locale"}


def _normalise_overrides(
    overrides: Mapping[str, Any] | None, names: list[str]
) -> tuple[dict[str, Any], str]:
    """Column overrides by name, and the locale (only a ``{"columns": ...}`` wrapper sets one)."""
    if not overrides:
        return {}, DEFAULT_LOCALE
    locale = DEFAULT_LOCALE
    if set(overrides) <= _WRAPPER_KEYS and isinstance(overrides.get("columns"), Mapping | list):
        locale = check_locale(overrides.get("locale", DEFAULT_LOCALE))
        if isinstance(overrides["columns"], Mapping):
            overrides = overrides["columns"]
        else:
            overrides = {
                str(c.get("name")): c for c in overrides["columns"] if isinstance(c, Mapping)
            }
    unknown = sorted(str(k) for k in overrides if k not in names)
    if unknown:
        # A misspelt wrapper key ("colums:") reads as a column of that name.
        guesses = {
            name: close[0]
            for name in unknown
            if (close := difflib.get_close_matches(name, [*names, *_WRAPPER_KEYS], n=1, cutoff=0.8))
            and close[0] != name
        }
        hint = "".join(f" Did you mean {guess!r} for {name!r}?" for name, guess in guesses.items())
        raise SchemaError(
            f"Schema overrides name unknown column(s) {unknown}; the table has {names}.{hint}"
        )
    return dict(overrides), locale


def _apply_override(inferred: ColumnSpec, override: Any, series: pd.Series) -> ColumnSpec:
    if isinstance(override, str):
        override = {"kind": override}
    if not isinstance(override, Mapping):
        raise SchemaError(
            f"Column {inferred.name!r}: an override must be a kind name or a mapping. Got {override!r}."
        )
    spec = inferred.to_dict()
    spec.update({k: v for k, v in override.items() if k != "name"})
    if "pii" not in override and spec["kind"] in (ColumnKind.BOOLEAN, ColumnKind.DATETIME):
        # A detected PII type cannot survive a kind that holds none; an explicit one is an error.
        spec["pii"] = None
    numeric_kinds = (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE)
    kind = getattr(spec["kind"], "value", spec["kind"])
    if "number_format" not in override and kind not in {k.value for k in numeric_kinds}:
        spec["number_format"] = None  # a detected number format does not outlive the number
    if "datetime_step" not in override and kind != ColumnKind.DATETIME.value:
        spec["datetime_step"] = None
    if "integer_offset" not in override and kind not in {k.value for k in numeric_kinds}:
        spec["integer_offset"] = None
    if "clock" not in override and (
        kind not in {k.value for k in numeric_kinds}
        or spec.get("number_format") is not None
        or spec.get("decimals") not in (None, 0)
    ):
        spec["clock"] = None  # clock times do not outlive whole numbers
    result = ColumnSpec.from_dict(spec)
    if result.pii is not None and _is_numeric(series) and result.pii not in NUMERIC_PII_TYPES:
        allowed = ", ".join(sorted(p.value for p in NUMERIC_PII_TYPES))
        raise SchemaError(
            f"Column {inferred.name!r} holds numbers, so it cannot be {result.pii.value!r} PII; "
            f"numbers can be {allowed} PII."
        )
    # (A PII column gets fakes, whatever its kind.)
    if (
        result.kind is ColumnKind.IDENTIFIER
        and inferred.kind is not ColumnKind.IDENTIFIER
        and result.pii is None
    ):
        present = series.dropna()
        n_repeated = len(present) - int(present.nunique())
        if n_repeated:
            warn_data(
                f"Column {inferred.name!r} is marked identifier, but {n_repeated:,} of its "
                f"{len(present):,} values repeat an earlier one; samples give every row a new "
                "unique key, so which rows share a value is not kept (a repeated code is "
                "categorical)."
            )
    if result.kind is ColumnKind.BOOLEAN:
        n_distinct = int(series.nunique(dropna=True))
        if n_distinct > 2:
            # Learned as two categories, the rest would be withheld as rare: an empty column.
            raise SchemaError(
                f"Column {inferred.name!r} cannot be boolean: it holds {n_distinct:,} distinct "
                "values, and a boolean column holds at most two."
            )
    if result.kind is ColumnKind.DATETIME and override.get("datetime_format") is not None:
        _check_format_is_used(result, series)
    if result.kind is ColumnKind.DATETIME and (
        inferred.kind is not ColumnKind.DATETIME or "datetime_format" in override
    ):
        if result.datetime_format is None and not pd.api.types.is_datetime64_any_dtype(series):
            fmt = _guess_format(series.dropna().astype(str))
            result = ColumnSpec.from_dict({**result.to_dict(), "datetime_format": fmt})
        _check_datetime_parses(result, series)
        if "datetime_step" not in override:
            step = datetime_step(parse_datetimes(series.dropna(), result.datetime_format))
            result = ColumnSpec.from_dict({**result.to_dict(), "datetime_step": step})
    if result.kind in numeric_kinds and result.number_format is not None:
        values = series.dropna()
        bad = values[np.isnan(parse_formatted(values, result.number_format))]
        if len(bad):
            raise SchemaError(
                f"Column {inferred.name!r}: {len(bad)} value(s) do not read as numbers written "
                f"{result.number_format!r}, e.g. {str(bad.iloc[0])!r}."
            )
        # The decimals follow the format, unless given: an inferred count belongs to the
        # inferred format, and a new one ("{:,3f} kg" for "{:,.0f} kg") writes another.
        if result.decimals is None or ("decimals" not in override and "number_format" in override):
            decimals = decimals_of(result.number_format)
            result = ColumnSpec.from_dict({**result.to_dict(), "decimals": decimals})
        return result
    if result.kind in numeric_kinds and not _is_numeric(series):
        raise SchemaError(
            f"Column {inferred.name!r} cannot be {result.kind.value}: its values are not numbers "
            "(for numbers written as text, give a number_format such as '${:,.2f}')."
        )
    if result.kind in numeric_kinds and result.decimals is None:
        result = ColumnSpec.from_dict({**result.to_dict(), "decimals": _decimals(series)})
    return result


def _check_datetime_parses(spec: ColumnSpec, series: pd.Series) -> None:
    values = series.dropna()
    parsed = parse_datetimes(values, spec.datetime_format)
    bad = values[parsed.isna()]
    if len(bad):
        raise SchemaError(
            f"Column {spec.name!r} cannot be a datetime with format {spec.datetime_format!r}: "
            f"{len(bad)} value(s) do not parse, e.g. {str(bad.iloc[0])!r}."
        )


def _check_format_is_used(spec: ColumnSpec, series: pd.Series) -> None:
    """A ``datetime_format`` given for text must read it: values in other formats are read by
    their own and written in the given one, so a format that reads none of them rewrote the
    whole column (``%d/%m/%Y`` on ``2013-01-01T06:00:00Z`` dropped every time of day)."""
    values = series.dropna()
    if not len(values) or pd.api.types.is_datetime64_any_dtype(values):
        return
    fmt = spec.datetime_format or ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # Padding is not a format (" 2013-01-01" reads, and is written, as 2013-01-01).
        unread = values[_to_datetime(values.astype(str).str.strip(), fmt).isna().to_numpy()]
    if len(unread) == len(values):
        raise SchemaError(
            f"Column {spec.name!r}: no value is written as datetime_format {fmt!r}, "
            f"e.g. {str(unread.iloc[0])!r}."
        )
    if len(unread):
        warn_data(
            f"Column {spec.name!r}: {len(unread):,} of {len(values):,} values are not written as "
            f"datetime_format {fmt!r} (e.g. {str(unread.iloc[0])!r}); they are read in their "
            "own format and written in that one."
        )


def _is_key_name(name: str) -> bool:
    """Whether a column's name says it holds keys: ``id``, ``user_id``, ``customerId``,
    ``userid``, ``uuid``; not ``amount_paid`` or ``LIPID``.

    >>> [_is_key_name(n) for n in ["user_id", "customerID", "userid", "AMOUNT_PAID", "amountPaid"]]
    [True, True, True, False, False]
    """
    if not _ID_NAME.search(name):
        return False
    last = re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name.strip("_ "))[-1]
    return last.lower() not in _ID_WORDS


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _infer_column(name: str, series: pd.Series) -> ColumnSpec:
    dtype = str(series.dtype)
    nullable = bool(series.isna().any())
    values = series.dropna()
    n_unique = int(values.nunique())
    # Keys may have gaps (an order without a customer): unique among the rows that have one.
    all_unique = len(values) > 1 and n_unique == len(values)

    if pd.api.types.is_bool_dtype(series):
        return ColumnSpec(name, ColumnKind.BOOLEAN, dtype, nullable)
    if pd.api.types.is_datetime64_any_dtype(series):
        step = datetime_step(parse_datetimes(values, None))
        return ColumnSpec(name, ColumnKind.DATETIME, dtype, nullable, datetime_step=step)
    stored = storage_numbers(values)
    if _is_numeric(series) or stored is not None:
        finite = pd.to_numeric(values).to_numpy(dtype=float) if stored is None else stored
        integral = bool(np.all(np.mod(finite[np.isfinite(finite)], 1) == 0))
        fmt = _compact_date_format(finite) if integral and stored is None else None
        if fmt is not None:
            step = datetime_step(parse_datetimes(values, fmt))
            return ColumnSpec(
                name, ColumnKind.DATETIME, dtype, nullable, datetime_format=fmt, datetime_step=step
            )
        if integral and all_unique and len(values) >= 10 and _is_key_name(name):
            return ColumnSpec(name, ColumnKind.IDENTIFIER, dtype, nullable)
        kind = ColumnKind.DISCRETE if n_unique <= MAX_DISCRETE_VALUES else ColumnKind.CONTINUOUS
        offset = None
        if integral and len(finite) and np.abs(finite).max() >= _FLOAT_EXACT:
            offset = _integer_offset(values)
        decimals = _decimals(series) if stored is None else _decimals(pd.Series(stored))
        hhmm = stored is None and offset is None and integral
        return ColumnSpec(
            name,
            kind,
            dtype,
            nullable,
            decimals=decimals,
            integer_offset=offset,
            datetime_step=None if stored is None else _clock_step(stored, dtype),
            clock=CLOCK_HHMM if hhmm and is_hhmm_clock(np.unique(finite)) else None,
        )
    # Text (str / object / category dtypes), and periods as the text pandas writes them in.
    text = values.astype(str)
    if len(text) and set(text.str.lower().unique()) <= {"true", "false"}:
        return ColumnSpec(name, ColumnKind.BOOLEAN, dtype, nullable)
    fmt = _guess_format(text)
    if fmt is not None:
        step = datetime_step(parse_datetimes(values, fmt))
        return ColumnSpec(
            name, ColumnKind.DATETIME, dtype, nullable, datetime_format=fmt, datetime_step=step
        )
    if isinstance(series.dtype, pd.PeriodDtype):
        return ColumnSpec(name, ColumnKind.CATEGORICAL, dtype, nullable)  # "2013Q1": not a key
    number_format = guess_number_format(text)
    if number_format is not None:
        numbers = parse_formatted(values, number_format)
        n_numbers = len(np.unique(numbers[np.isfinite(numbers)]))
        return ColumnSpec(
            name,
            ColumnKind.DISCRETE if n_numbers <= MAX_DISCRETE_VALUES else ColumnKind.CONTINUOUS,
            dtype,
            nullable,
            decimals=decimals_of(number_format),
            number_format=number_format,
        )
    # Several words per value: names of things or sentences, not keys.
    words = len(text) > 0 and text.str.contains(" ").mean() > 0.5
    if all_unique and len(values) >= 10:
        return ColumnSpec(
            name, ColumnKind.TEXT if words else ColumnKind.IDENTIFIER, dtype, nullable
        )
    long_text = len(text) > 0 and text.str.len().mean() > MIN_TEXT_LENGTH
    if (long_text and n_unique > 0.5 * len(text)) or (
        words and len(text) >= 10 and n_unique > 0.9 * len(text)
    ):
        return ColumnSpec(name, ColumnKind.TEXT, dtype, nullable)
    return ColumnSpec(name, ColumnKind.CATEGORICAL, dtype, nullable)


def _clock_step(ticks: np.ndarray, dtype: str) -> str | None:
    """The coarsest of :data:`DATETIME_STEPS` every duration or time of day is a whole number of.

    >>> _clock_step(np.array([0.0, 1800e6, 3600e6]), "time64[us][pyarrow]")
    'minute'
    """
    per_second = ticks_per_second(dtype)
    if per_second is None or not len(ticks):
        return None
    for name, seconds in DATETIME_STEPS.items():
        if np.all(np.mod(ticks, seconds * per_second) == 0):
            return name
    return None


def _declared_categories(series: pd.Series) -> dict[str, Any] | None:
    """A ``category`` column of text, numbers, booleans, datetimes or durations: its
    categories' labels, in order, whether they are ordered, and their dtype when they are not
    text.

    >>> _declared_categories(pd.Series([3, 1], dtype="category"))
    {'category_order': ['1', '3'], 'ordered': False, 'category_dtype': 'int64'}
    >>> _declared_categories(pd.Series(pd.to_timedelta(["1s"]), dtype="category"))
    {'category_order': ['0 days 00:00:01'], 'ordered': False, 'category_dtype': 'timedelta64[us]'}
    """
    dtype = series.dtype
    if not isinstance(dtype, pd.CategoricalDtype) or str(dtype) != "category":
        return None
    categories = dtype.categories.tolist()
    declared = {"category_order": categories, "ordered": bool(dtype.ordered)}
    if all(isinstance(c, str) for c in categories):
        return declared
    own = str(dtype.categories.dtype)
    if own not in CATEGORY_DTYPES and not TIME_CATEGORY_DTYPE.match(own):
        return None  # mixed objects, periods, intervals: written back as text
    labels = value_labels(pd.Series(categories, dtype=object)).tolist()
    return declared | {"category_order": labels, "category_dtype": own}


def _integer_offset(values: pd.Series) -> int | None:
    """For whole numbers beyond 2**53, their median rounded down to a multiple of 2**52.

    Values minus this offset are exact in float64 while the column spans less than 2**52. The
    coarse rounding tells little more than the values' order of magnitude, and the median is
    not an extreme: the offset says nothing about any one row.

    >>> _integer_offset(pd.Series([2**63 + 4, 2**63, 2**63 + 1], dtype="uint64")) == 2**63
    True
    """
    if not pd.api.types.is_integer_dtype(values):
        return None
    unsigned = pd.api.types.is_unsigned_integer_dtype(values)
    ints = np.sort(values.to_numpy(dtype=np.uint64 if unsigned else np.int64))
    median = int(ints[len(ints) // 2])
    return median - median % 2**52


def _decimals(series: pd.Series) -> int:
    """The fewest decimals (up to 6) that represent every value; 6 means 'continuous float'."""
    values = pd.to_numeric(series.dropna()).to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    # Float noise only, at the precision the values were stored with (0.1 + 0.2 has one
    # decimal, as has 15.29 stored as float32): a tolerance of a millionth of the value took
    # 549467.43 for one decimal, 40.6397511 for five and 3e-10 for none.
    stored = getattr(series.dtype, "numpy_dtype", series.dtype)
    floating = isinstance(stored, np.dtype) and np.issubdtype(stored, np.floating)
    noise = 64 * float(np.finfo(stored if floating else np.float64).eps)
    for decimals in range(_MAX_DECIMALS + 1):
        scaled = values * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < noise * np.maximum(1.0, np.abs(scaled))):
            return decimals
    return _MAX_DECIMALS


def _warn_if_ambiguous(name: str, text: pd.Series, number_format: str) -> None:
    """A DataWarning when the column reads as numbers in both conventions (``1,234 kg``)."""
    other = other_reading(text, number_format)
    if other is None:
        return
    example = str(text.dropna().iloc[0])
    chosen, alternative = (
        float(parse_formatted(pd.Series([example]), f)[0]) for f in (number_format, other)
    )
    warn_data(
        f"Column {name!r}: {example!r} could be {chosen:g} or {alternative:g}; read as "
        f"{chosen:g} (number_format {number_format!r}). If it means {alternative:g}, give "
        f"the column number_format {other!r} in the schema overrides."
    )


#: How dates are written as whole numbers (20130101, 20130101143000), with their ranges.
COMPACT_DATE_FORMATS = {
    "%Y%m%d": (1800_01_01, 2199_12_31),
    "%Y%m%d%H%M%S": (1800_01_01_000000, 2199_12_31_235959),
}


def compact_date(number: float) -> pd.Timestamp | None:
    """The date a whole number writes in one of :data:`COMPACT_DATE_FORMATS`, else None.

    >>> compact_date(20130601), compact_date(20130601143000), compact_date(20131301)
    (Timestamp('2013-06-01 00:00:00'), Timestamp('2013-06-01 14:30:00'), None)
    """
    if not np.isfinite(number) or number != int(number):
        return None
    for fmt, (low, high) in COMPACT_DATE_FORMATS.items():
        if low <= number <= high:
            parsed = pd.to_datetime(str(int(number)), format=fmt, errors="coerce")
            return None if pd.isna(parsed) else pd.Timestamp(parsed)
    return None


def _compact_date_format(numbers: np.ndarray) -> str | None:
    """``%Y%m%d`` or ``%Y%m%d%H%M%S`` if every one of at least 10 whole ``numbers`` is a date
    so written (20130101), from 1800 to 2199: learned as numbers, a tenth came out as no date
    (20131134). A number of 8 random digits is such a date about once in 30.

    >>> _compact_date_format(np.arange(20130101, 20130111, dtype=float))
    '%Y%m%d'
    >>> _compact_date_format(np.arange(20130125, 20130135, dtype=float)) is None
    True
    """
    present = numbers[~np.isnan(numbers)]
    if len(present) < 10 or np.isinf(present).any():
        return None
    for fmt, (low, high) in COMPACT_DATE_FORMATS.items():
        if present.min() >= low and present.max() <= high:
            text = pd.Series(np.unique(present).astype(np.int64).astype(str))
            if _to_datetime(text, fmt).notna().all():
                return fmt
    return None


def _guess_format(text: pd.Series) -> str | None:
    """The strftime format of a text column whose every value is a date, else None."""
    if not len(text):
        return None
    head = text.iloc[: min(len(text), 50)]
    if (
        not head.str.contains(r"\d", regex=True).all()
        or head.str.fullmatch(r"[+-]?\d+(\.\d*)?").any()
    ):
        return None
    with warnings.catch_warnings():
        # pandas warns on each day-first date ("31/01/2024"); the guessed format is what we want.
        warnings.simplefilter("ignore", UserWarning)
        formats = [f for f in (guess_datetime_format(v) for v in head) if f is not None]
    if len(formats) < len(head):
        # pandas guesses no two-digit years (01/02/13): the common spellings that read
        # every one of the first rows, then the same choice on the whole column as below.
        tried = dict.fromkeys([*_SHORT_YEAR_FORMATS, *map(_swap_day_month, _SHORT_YEAR_FORMATS)])
        if not text.str.fullmatch(_PADDED_TIME).all():
            # Only times written with two digits each: "16:9" is a ratio, "2:1" a score.
            tried = {f: None for f in tried if f not in _TIMES_OF_DAY}
        formats = [f for f in tried if _to_datetime(head, f).notna().all()]
        if not formats:
            return None
    # The first rows may not tell day from month (01/02/2013): the format, or the same with
    # the two swapped, that reads the most values of the whole column, the commoner on a tie.
    # On a tie the first of them in the rows' (or the list's) order.
    candidates = list(dict.fromkeys([*formats, *map(_swap_day_month, formats)]))
    unread = {f: int(_to_datetime(text, f).isna().sum()) for f in candidates}
    fmt = min(candidates, key=lambda f: (unread[f], -formats.count(f)))
    if fmt.endswith("%z") and text.str.endswith("Z").all():
        # ISO 8601 "Z" (UTC) suffix: keep it as a literal so it is written back the same way
        # (not if later values have offsets: winter "Z", summer "+01:00" in London).
        fmt = fmt[:-2] + "Z"
    if parse_datetimes(text, fmt).isna().any():
        return None
    return fmt


#: Two-digit-year spellings tried when pandas guesses none (and each with day and month
#: swapped).
_TIMES_OF_DAY = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p")
_PADDED_TIME = re.compile(r"\d{2}:\d{2}(?::\d{2})?|\d{1,2}:\d{2}(?::\d{2})? [AaPp][Mm]")
_SHORT_YEAR_FORMATS = (
    *(
        date + time
        for date in ("%m/%d/%y", "%y-%m-%d", "%m-%d-%y", "%d.%m.%y")
        for time in ("", " %H:%M", " %H:%M:%S")
    ),
    # Nor 12-hour clocks with a minute ("01/27/2021 03:15 PM"), nor times of day alone.
    *(
        date + time
        for date in ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%d.%m.%Y", "%m/%d/%y")
        for time in (" %I:%M %p", " %I:%M:%S %p")
    ),
    *_TIMES_OF_DAY,
    # pandas guesses month names in title case only (31-Oct-2013, not Oracle's 31-OCT-2013).
    *(
        date + time
        for date in (
            *("%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%b %d, %Y", "%Y-%b-%d"),
            *("%d %B %Y", "%B %d, %Y", "%d-%B-%Y", "%a, %d %b %Y", "%A, %d %B %Y"),
        )
        for time in ("", " %H:%M", " %H:%M:%S")
    ),
)


def _swap_day_month(fmt: str) -> str:
    """``fmt`` with ``%d`` and ``%m`` swapped.

    >>> _swap_day_month("%m/%d/%Y %H:%M")
    '%d/%m/%Y %H:%M'
    """
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def datetime_step(stamps: pd.Series) -> str | None:
    """The coarsest of :data:`DATETIME_STEPS` that every datetime is a whole number of on its
    wall clock (local dates are whole days there, not in UTC), or None.

    >>> datetime_step(pd.Series(pd.to_datetime(["2020-01-02", "1650-07-01"])))
    'day'
    >>> datetime_step(pd.Series(pd.to_datetime(["2020-01-02 10:30", None])))
    'minute'
    """
    stamps = stamps.dropna()
    if not len(stamps) or not pd.api.types.is_datetime64_any_dtype(stamps):
        return None
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    values = stamps.to_numpy()
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(
        np.datetime_data(values.dtype)[0]
    )
    if per_second is None:
        return None
    ticks = values.astype(np.int64)
    for name, seconds in DATETIME_STEPS.items():
        if np.all(ticks % (seconds * per_second) == 0):
            return name
    return None


def parse_datetimes(values: pd.Series, fmt: str | None) -> pd.Series:
    """Parse text to datetimes with ``fmt``, falling back to per-value format inference.

    Values that cannot be parsed become NaT; callers decide whether that is an error.
    """
    if isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_date(values.dtype.pyarrow_dtype):
        return values.astype("datetime64[s]")  # Arrow dates: NumPy has datetimes, not dates
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    # Dates written as whole numbers (20130101): a float column (with gaps) writes 20130101.0.
    text = (values.astype("Int64") if _is_numeric(values) else values).astype(str)
    with warnings.catch_warnings():
        # pandas warns when it infers formats per value; that is exactly what we ask for here.
        warnings.simplefilter("ignore", UserWarning)
        parsed = _to_datetime(text, fmt) if fmt else None
        if parsed is None or parsed.isna().any():
            mixed = _to_datetime(text, "mixed")
            parsed = mixed if parsed is None else _fill_datetimes(parsed, mixed)
    return parsed


def _fill_datetimes(parsed: pd.Series, other: pd.Series) -> pd.Series:
    """``parsed`` with its gaps filled from ``other``, at the finer of their resolutions.

    Values whose zone differs from ``parsed``'s (an offset among naive times) stay missing.
    """
    if parsed.isna().all():
        return other
    if (parsed.dt.tz is None) != (other.dt.tz is None):
        return parsed
    if parsed.dt.tz is not None:
        other = other.dt.tz_convert(parsed.dt.tz)
    unit = max(parsed.dt.unit, other.dt.unit, key=["s", "ms", "us", "ns"].index)
    try:
        filled: pd.Series = parsed.dt.as_unit(unit).fillna(other.dt.as_unit(unit))
    except pd.errors.OutOfBoundsDatetime:
        # Nanoseconds end in 2262; microseconds hold every year to 9999.
        filled = parsed.dt.as_unit("us").fillna(other.dt.as_unit("us"))
    return filled


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError:
        # Offsets that differ between values (daylight saving time): read everything as UTC.
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
