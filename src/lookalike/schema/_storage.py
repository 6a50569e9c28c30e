"""Numbers stored in types NumPy has no number for: durations, times of day and decimals.

Such a column is learned as plain numbers and written back in its own type: a duration
(``timedelta64[s]``, Parquet ``duration``) and an Arrow time of day (``time64[us][pyarrow]``)
as whole counts of their unit, an Arrow decimal (``decimal128(10, 2)[pyarrow]``) as a float
rounded back to its scale.

>>> durations = pd.Series(pd.to_timedelta([90, None], unit="s")).astype("timedelta64[s]")
>>> storage_numbers(durations).tolist()
[90.0, nan]
>>> numbers_to_storage(np.array([90.4, np.nan]), "timedelta64[s]").tolist()
[Timedelta('0 days 00:01:30'), NaT]
>>> numbers_to_storage(np.array([1.254, np.nan]), "decimal128(10, 2)[pyarrow]").tolist()
[Decimal('1.25'), <NA>]
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

_DECIMAL = re.compile(r"decimal(128|256)\((\d+), (-?\d+)\)\[pyarrow\]")
_DURATION = re.compile(r"duration\[(s|ms|us|ns)\]\[pyarrow\]")
_TICKS_PER_DAY = {"s": 86_400, "ms": 86_400 * 10**3, "us": 86_400 * 10**6, "ns": 86_400 * 10**9}


def storage_numbers(series: pd.Series, dtype: str | None = None) -> np.ndarray | None:
    """The column as float64 numbers (NaN for missing), or None if NumPy has a type for it.

    Durations count units of ``dtype`` (a column's, for a condition's values) or their own.
    """
    timedelta = pd.api.types.is_timedelta64_dtype(series.dtype)
    if timedelta and dtype is not None and dtype.startswith("timedelta64"):
        series = series.astype(np.dtype(dtype))
    if timedelta:
        ticks = series.to_numpy()
        numbers = ticks.view(np.int64).astype(float)
        numbers[np.isnat(ticks)] = np.nan
        return numbers
    own = series.dtype
    if isinstance(own, pd.ArrowDtype) and (
        pa.types.is_time(own.pyarrow_dtype)
        or pa.types.is_decimal(own.pyarrow_dtype)
        or pa.types.is_duration(own.pyarrow_dtype)
    ):
        values = pa.array(series)
        if pa.types.is_time(values.type):
            # Arrow casts a time to the integer of its own width only (time32: int32).
            values = values.cast(pa.int32() if pa.types.is_time32(values.type) else pa.int64())
        elif pa.types.is_duration(values.type):
            values = values.cast(pa.int64())
        # Unsafe: Arrow refuses integers past 2**53 (nanosecond durations past 104 days), and
        # float64 is how every number is learned anyway (steps come from exact storage_ticks).
        return np.asarray(
            values.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=float
        ).copy()
    return None


def storage_ticks(series: pd.Series, dtype: str) -> np.ndarray | None:
    """The present values of a duration or time-of-day column held in ``dtype`` as exact int64
    counts of its unit (float64 loses nanoseconds past 104 days); None if it is held otherwise.

    >>> storage_ticks(pd.Series(pd.to_timedelta([2**60, None], unit="ns")), "timedelta64[ns]")
    array([1152921504606846976])
    """
    if str(series.dtype) != dtype:
        return None
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        raw = series.to_numpy()
        return np.asarray(raw[~np.isnat(raw)].view(np.int64))
    arrow_type = _arrow_type(dtype)
    if arrow_type is None or not (pa.types.is_time(arrow_type) or pa.types.is_duration(arrow_type)):
        return None
    values = pa.array(series).drop_null()
    width = pa.int32() if pa.types.is_time32(arrow_type) else pa.int64()
    return np.asarray(values.cast(width).to_numpy(zero_copy_only=False), dtype=np.int64)


def is_storage_dtype(dtype: str) -> bool:
    """Whether a schema's dtype is one :func:`numbers_to_storage` writes."""
    return dtype.startswith("timedelta64") or _arrow_type(dtype) is not None


def numbers_to_storage(numbers: np.ndarray, dtype: str) -> pd.Series:
    """Numbers (NaN for missing) back in the column's own type; the inverse of
    :func:`storage_numbers`."""
    numbers = np.asarray(numbers, dtype=float)
    missing = ~np.isfinite(numbers)
    if dtype.startswith("timedelta64"):
        unit = np.datetime_data(np.dtype(dtype))[0]
        ticks = np.where(missing, 0, np.round(numbers)).astype(np.int64).view(f"m8[{unit}]")
        ticks[missing] = np.timedelta64("NaT")
        return pd.Series(ticks, dtype=dtype)
    arrow_type = _arrow_type(dtype)
    if arrow_type is None:
        raise ValueError(f"{dtype!r} is not a duration, a time of day or a decimal.")
    if pa.types.is_duration(arrow_type):
        ticks = np.where(missing, 0, np.round(numbers)).astype(np.int64)
        return pd.Series(
            pd.arrays.ArrowExtensionArray(pa.array(ticks, mask=missing).cast(arrow_type))
        )
    if pa.types.is_decimal(arrow_type):
        scale = arrow_type.scale
        # Through text, so the digits are exactly the rounded number's; the largest the
        # precision holds bounds what an extrapolated tail may reach.
        largest = 10.0 ** (arrow_type.precision - scale) - 10.0**-scale
        text = [
            None if m else decimal.Decimal(f"{v:.{max(scale, 0)}f}")
            for v, m in zip(np.clip(numbers, -largest, largest), missing, strict=True)
        ]
        array: Any = pa.array(text, type=arrow_type)
    else:
        day = _TICKS_PER_DAY[arrow_type.unit]
        ticks = np.clip(np.where(missing, 0, np.round(numbers)), 0, day - 1).astype(np.int64)
        width = pa.int32() if pa.types.is_time32(arrow_type) else pa.int64()
        array = pa.array(ticks, mask=missing).cast(width).cast(arrow_type)
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def values_to_numbers(values: pd.Series, dtype: str) -> np.ndarray:
    """Numbers of values that are either numbers already or the column's own values (a
    condition's, or rows already written back); NaN for missing values and for values that are
    neither.

    A number (or text of one) counts units of ``dtype``. A duration column also takes
    timedeltas and their text (``"0 days 00:10:00"``, ``"10min"``); a time-of-day column
    ``datetime.time`` values, their text (``"10:30:00"``) and timedeltas since midnight; a
    decimal column ``Decimal`` values. Text of a number is a number: ``"600"`` on a
    ``timedelta64[s]`` column is ten minutes, as a condition on the command line means it.

    >>> values_to_numbers(pd.Series(["600", "0 days 00:01:30", None]), "timedelta64[s]").tolist()
    [600.0, 90.0, nan]
    >>> times = pd.Series([datetime.time(1, 30), "00:00:02", pd.Timedelta(seconds=3)])
    >>> values_to_numbers(times, "time64[us][pyarrow]").tolist()
    [5400000000.0, 2000000.0, 3000000.0]
    """
    same_kind = str(values.dtype) == dtype or (
        pd.api.types.is_timedelta64_dtype(values.dtype) and dtype.startswith("timedelta64")
    )
    if same_kind:
        stored = storage_numbers(values, dtype)
        if stored is not None:
            return stored
    if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.ArrowDtype):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not is_storage_dtype(dtype):
        raise ValueError(f"{dtype!r} is not a duration, a time of day or a decimal.")
    return np.array([_value_number(v, dtype) for v in values.tolist()], dtype=float)


def _value_number(value: Any, dtype: str) -> float:
    """One value of a duration, time-of-day or decimal column as a number of its unit."""
    if value is None or value is pd.NA or value is pd.NaT or isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float | np.integer | np.floating | decimal.Decimal):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(decimal.Decimal(text))
        except (decimal.InvalidOperation, ValueError):
            pass
    per_second = ticks_per_second(dtype)
    if per_second is None:
        return math.nan
    arrow_type = _arrow_type(dtype)
    is_time = arrow_type is not None and pa.types.is_time(arrow_type)
    if is_time and isinstance(value, str):
        try:
            value = datetime.time.fromisoformat(value.strip())
        except ValueError:
            return math.nan
    if isinstance(value, datetime.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return float(seconds * per_second + value.microsecond * per_second // 10**6)
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        return math.nan
    if pd.isna(delta):
        return math.nan
    nanoseconds = delta.value
    if is_time and not 0 <= nanoseconds < 86_400 * 10**9:
        return math.nan  # not a time of day: before midnight or a day or more after it
    return float(nanoseconds * per_second / 10**9)


def describe_storage(dtype: str) -> str | None:
    """What a condition on a duration, time-of-day or decimal column takes, for error messages."""
    arrow_type = _arrow_type(dtype)
    if dtype.startswith("timedelta64") or (
        arrow_type is not None and pa.types.is_duration(arrow_type)
    ):
        unit = np.datetime_data(np.dtype(dtype))[0] if arrow_type is None else arrow_type.unit
        return f"a duration (a Timedelta, text like '0 days 00:10:00', or a number of {unit})"
    if arrow_type is None:
        return None
    if pa.types.is_time(arrow_type):
        return (
            "a time of day (a datetime.time, text like '10:30:00', or a number of "
            f"{arrow_type.unit} since midnight)"
        )
    return "a decimal number"


def ticks_per_second(dtype: str) -> int | None:
    """How many units of a duration or time-of-day dtype make a second; None for other dtypes."""
    if dtype.startswith("timedelta64"):
        unit = np.datetime_data(np.dtype(dtype))[0]
    else:
        arrow_type = _arrow_type(dtype)
        if arrow_type is None or not (
            pa.types.is_time(arrow_type) or pa.types.is_duration(arrow_type)
        ):
            return None
        unit = arrow_type.unit
    return _TICKS_PER_DAY.get(str(unit), 0) // 86_400 or None


def _arrow_type(dtype: str) -> pa.DataType | None:
    match = _DECIMAL.fullmatch(dtype)
    if match is not None:
        width, precision, scale = match.groups()
        make = pa.decimal128 if width == "128" else pa.decimal256
        return make(int(precision), int(scale))
    duration = _DURATION.fullmatch(dtype)
    if duration is not None:
        return pa.duration(duration.group(1))
    if dtype.startswith("time") and dtype.endswith("[pyarrow]") and "timestamp" not in dtype:
        arrow_type = pd.api.types.pandas_dtype(dtype)
        if isinstance(arrow_type, pd.ArrowDtype) and pa.types.is_time(arrow_type.pyarrow_dtype):
            return arrow_type.pyarrow_dtype
    return None
