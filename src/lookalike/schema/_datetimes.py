"""Datetimes as seconds since the epoch and back, at any resolution, and the zones of conditions.

pandas holds datetimes at second, milli-, micro- or nanosecond resolution, and only nanoseconds
are limited to the years 1677-2262. Real tables hold dates beyond that (births in the 1600s, the
end date ``9999-12-31`` of an open-ended contract), so nothing here passes through nanoseconds:
a column is read in its own unit, and written back in its own unit (text in microseconds).

A column's *zone* is what its times are relative to: the time zone of a tz-aware dtype, UTC for
text written with a literal ``Z``, explicit UTC offsets for text with ``%z``/``%Z``, or nothing
(naive times). A condition value must fit it: naive values on a zoned column are read as wall
times in that zone (an error if the wall time happens twice or never there), values with a zone
on a zoned column are converted, and values with a zone on a naive column are an error.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import ConditionError
from lookalike.schema._infer import parse_datetimes
from lookalike.schema._schema import ColumnSpec

_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
#: Seconds from 0001-01-01 to 9999-12-31 23:59:59: what Python's datetime and strftime can show.
_YEARS_1_TO_9999 = (-62_135_596_800.0, 253_402_300_799.0)
#: Within what datetime64[ns] holds (1677-09-21 to 2262-04-11), with room for rounding.
_NANOSECOND_RANGE = (-9.2e9, 9.2e9)
#: Text columns are decoded at this resolution: strftime shows at most microseconds.
_TEXT_UNIT = "us"
_DIRECTIVE = re.compile(r"%[-#]?[a-zA-Z%]")
#: What a directive's text looks like, where a pattern for it is needed; others match lazily.
_DIRECTIVE_TEXT = {
    "%f": r"\d+",
    "%z": r"Z|[+-]\d\d(?::?\d\d)?",
    "%%": "%",
    **dict.fromkeys(("%m", "%d", "%H", "%I"), r"\d{1,2}"),
    "%p": "[AaPp][Mm]",
}
#: Directives strptime reads with or without a leading zero; text may write them without.
UNPADDED_DIRECTIVES = ("%m", "%d", "%H", "%I")
#: Time zones are checked against at most this many instants (the changes of offset among them).
_MAX_ZONE_INSTANTS = 2_000


def datetimes_to_seconds(stamps: pd.Series) -> np.ndarray:
    """Seconds since the epoch (UTC for tz-aware values) of datetimes in any unit; NaN if missing.

    >>> far = pd.Series(pd.to_datetime(["1650-01-01", "9999-12-31", None])).astype("datetime64[s]")
    >>> datetimes_to_seconds(far).tolist()
    [-10098172800.0, 253402214400.0, nan]
    """
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    per_second = _PER_SECOND[str(stamps.dt.unit)]
    whole, rest = np.divmod(stamps.to_numpy().view(np.int64), per_second)
    seconds = whole.astype(float) + rest / per_second
    seconds[stamps.isna().to_numpy()] = np.nan
    return np.asarray(seconds, dtype=float)


def datetime_ticks(stamps: pd.Series) -> tuple[np.ndarray, int]:
    """Exact ticks since the epoch (UTC for tz-aware values) of present datetimes, and how many
    nanoseconds a tick of their unit is.

    Float seconds are ~100 ns coarse at today's dates, too coarse to tell a whole millisecond.

    >>> stamps = pd.Series(pd.to_datetime(["1970-01-01 00:00:01.5", None]), dtype="M8[ms]")
    >>> datetime_ticks(stamps)
    (array([1500]), 1000000)
    """
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = stamps.to_numpy()
    present = ~np.isnat(raw)
    ticks = raw[present].view(np.int64)
    return ticks, 10**9 // _PER_SECOND[str(stamps.dt.unit)]


def seconds_to_stamps(seconds: np.ndarray, unit: str, name: str | None = None) -> pd.Series:
    """Naive datetimes (UTC wall time) at ``unit`` resolution; NaN becomes NaT.

    Values beyond what the unit holds are clipped to it (years 1-9999, or 1677-2262 for ns).

    >>> seconds_to_stamps(np.array([253402214400.0, np.nan]), "s").tolist()
    [Timestamp('9999-12-31 00:00:00'), NaT]
    """
    seconds = np.asarray(seconds, dtype=float)
    finite = np.isfinite(seconds)
    low, high = _NANOSECOND_RANGE if unit == "ns" else _YEARS_1_TO_9999
    clipped = np.clip(np.where(finite, seconds, 0.0), low, high)
    per_second = _PER_SECOND[unit]
    whole = np.floor(clipped)
    # Whole seconds and the fraction apart: seconds * 10**6 as a float would round microseconds.
    ticks = whole.astype(np.int64) * per_second + np.round((clipped - whole) * per_second).astype(
        np.int64
    )
    raw = ticks.view(f"datetime64[{unit}]").copy()
    raw[~finite] = np.datetime64("NaT")
    return pd.Series(raw, name=name)


def directive_texts(text: pd.Series, fmt: str, directive: str) -> pd.Series:
    """The part of each text that ``fmt``'s ``directive`` (``"%f"``, ``"%z"``) reads; NaN if none.

    strftime writes fractions at 6 digits and offsets as ``+0100``; the text shows how the
    column itself writes them.

    >>> directive_texts(pd.Series(["10:00:01.25+01:00"]), "%H:%M:%S.%f%z", "%z").tolist()
    ['+01:00']
    """
    pattern, position, captured = "", 0, False
    for match in _DIRECTIVE.finditer(fmt):
        pattern += re.escape(fmt[position : match.start()])
        piece = _DIRECTIVE_TEXT.get(match.group(), ".+?")
        capture = match.group() == directive and not captured
        pattern += f"({piece})" if capture else f"(?:{piece})"
        captured, position = captured or capture, match.end()
    if not captured:
        return pd.Series(np.nan, index=text.index, dtype=object)
    pattern += re.escape(fmt[position:])
    return text.astype(str).str.extract(f"^{pattern}$", expand=False)


def offset_minutes(offsets: pd.Series) -> np.ndarray:
    """UTC offsets as written (``+01:00``, ``-0330``, ``+01``, ``Z``) in minutes; NaN if none.

    >>> offset_minutes(pd.Series(["+01:00", "-0330", "+01", "Z", None])).tolist()
    [60.0, -210.0, 60.0, 0.0, nan]
    """
    parts = offsets.astype(object).str.extract(r"^([+-])(\d\d):?(\d\d)?$")
    hours = pd.to_numeric(parts[1]).to_numpy(dtype=float, na_value=np.nan)
    minutes = pd.to_numeric(parts[2]).fillna(0).to_numpy(dtype=float, na_value=np.nan)
    sign = np.where(parts[0].to_numpy() == "-", -1.0, 1.0)
    out = np.asarray(sign * (hours * 60 + minutes), dtype=float)
    out[(offsets == "Z").to_numpy(dtype=bool, na_value=False)] = 0.0
    return out


def fitting_time_zones(
    seconds: np.ndarray, minutes: np.ndarray, candidates: Sequence[str] | None = None
) -> list[str]:
    """The time zones (of ``candidates``, else every IANA zone) in which each instant, in seconds
    since the epoch, has the UTC offset in ``minutes``; canonical zones first, then by name.

    Text written in a zone with daylight saving time shows several offsets; the zone writes the
    same wall times back. Up to :data:`_MAX_ZONE_INSTANTS` instants are checked, always
    including each change of offset.

    >>> summer = [1616889600.0, 1616896800.0]  # 2021-03-28 00:00 and 02:00 UTC
    >>> fitting_time_zones(np.array(summer), np.array([60.0, 120.0]), ["Europe/Berlin", "UTC"])
    ['Europe/Berlin']
    """
    finite = np.isfinite(seconds) & np.isfinite(minutes)
    pairs = np.unique(np.column_stack([np.floor(seconds[finite]), minutes[finite]]), axis=0)
    if not len(pairs):
        return []
    changes = np.flatnonzero(np.diff(pairs[:, 1]) != 0)
    edges = np.unique(np.concatenate([changes, changes + 1, [0, len(pairs) - 1]]))
    spread = np.linspace(0, len(pairs) - 1, min(len(pairs), _MAX_ZONE_INSTANTS)).astype(np.int64)
    checked = pairs[np.union1d(edges, spread)]
    # Seconds, not nanoseconds: instants beyond 1677-2262 fit.
    stamps = pd.DatetimeIndex(checked[:, 0].astype("datetime64[s]")).tz_localize("UTC")
    first = np.isin(checked[:, 0], pairs[edges, 0])
    names = _time_zone_names() if candidates is None else list(candidates)
    return [
        name
        for name in names
        if _offsets_fit(stamps[first], checked[first, 1], name)
        and _offsets_fit(stamps, checked[:, 1], name)
    ]


def _offsets_fit(stamps: pd.DatetimeIndex, minutes: np.ndarray, zone: str) -> bool:
    try:
        local = stamps.tz_convert(zone).tz_localize(None)
    except (ValueError, KeyError, zoneinfo.ZoneInfoNotFoundError):
        return False
    offsets = (local - stamps.tz_localize(None)).total_seconds().to_numpy() / 60
    return bool(np.array_equal(offsets, minutes))


#: Zones many datasets are written in, tried first: where several zones have had the same
#: offsets (Berlin, Paris and Ceuta since 1979), the name a reader expects is picked rather than
#: the first in alphabetical order. One per pattern of offsets is enough; order breaks ties.
_WIDELY_USED_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Halifax",
    "America/St_Johns",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "America/Santiago",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Europe/Moscow",
    "Africa/Cairo",
    "Asia/Jerusalem",
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Pacific/Auckland",
)


@functools.cache
def _time_zone_names() -> tuple[str, ...]:
    """IANA zone names: widely used ones first (``_WIDELY_USED_ZONES``), then canonical ones
    (``zone1970.tab``), then the rest, each by name; no aliases of fixed offsets (``Etc/GMT-1``)
    or of other zones' copies (``posix/``, ``right/``)."""
    try:
        table = resources.files("tzdata").joinpath("zoneinfo", "zone1970.tab").read_text()
    except (ModuleNotFoundError, OSError):
        table = ""  # no tzdata package: the system's zones, by name
    canonical = {
        line.split("\t")[2] for line in table.splitlines() if line and not line.startswith("#")
    }
    names = [
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "posix/", "right/", "SystemV/"))
    ]
    rank = {name: i for i, name in enumerate(_WIDELY_USED_ZONES)}
    return tuple(
        sorted(names, key=lambda name: (rank.get(name, len(rank)), name not in canonical, name))
    )


def datetime_unit(spec: ColumnSpec) -> str:
    """The resolution a datetime column is decoded at: its dtype's, or microseconds for text."""
    if spec.datetime_format:
        return _TEXT_UNIT
    try:
        dtype: Any = pd.api.types.pandas_dtype(spec.dtype)
    except TypeError:
        return _TEXT_UNIT
    if isinstance(dtype, pd.DatetimeTZDtype):
        return str(dtype.unit)
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return str(np.datetime_data(dtype)[0])
    return _TEXT_UNIT


def column_zone(spec: ColumnSpec) -> str | None:
    """The zone a datetime column's times are in: a time zone name, ``"offset"`` or None (naive)."""
    fmt = spec.datetime_format
    if fmt:
        if "%z" in fmt or "%Z" in fmt:
            return "offset"
        return "UTC" if fmt.endswith("Z") else None
    try:
        dtype: Any = pd.api.types.pandas_dtype(spec.dtype)
    except TypeError:
        return None
    tz = getattr(dtype, "tz", None)
    return None if tz is None else str(tz)


def condition_datetimes(spec: ColumnSpec, values: pd.Series) -> pd.Series:
    """Condition values on a datetime column as datetimes that fit the column's zone.

    Tz-aware results keep the values' own zone (compare them as instants); naive values on a
    column with a named zone are read as wall times there. Values that are not dates become NaT.
    Raises :class:`ConditionError`, naming the column, when a value's zone does not fit.
    """
    parsed = parse_datetimes(values, spec.datetime_format)
    zone = column_zone(spec)
    aware = getattr(parsed.dt, "tz", None) is not None
    present = values[parsed.notna().to_numpy()]
    if not len(present):
        return parsed
    example = _show(present.iloc[0])
    if zone is None and aware:
        raise ConditionError(
            f"Column {spec.name!r} holds times with no time zone, so a condition on it must have "
            f"none either. Got {example} (with time zone {parsed.dt.tz})."
        )
    if zone is None or aware:
        return parsed
    if zone == "offset":
        raise ConditionError(
            f"Column {spec.name!r} holds times with UTC offsets (format "
            f"{spec.datetime_format!r}), so a condition on it needs one: give a time zone, "
            f"e.g. '2024-01-31 10:00+01:00'. Got {example} (no time zone)."
        )
    return _localize(spec.name, parsed, zone)


def _localize(name: str, parsed: pd.Series, zone: str) -> pd.Series:
    localized: pd.Series = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    failed = localized.isna().to_numpy() & parsed.notna().to_numpy()
    if not failed.any():
        return localized
    wall = pd.Timestamp(parsed[failed].iloc[0])
    try:
        offsets = [str(wall.tz_localize(zone, ambiguous=first)) for first in (True, False)]
    except ValueError:
        raise ConditionError(
            f"Column {name!r} holds times in time zone {zone}, where {wall} never happens (the "
            f"clocks skip it); give a time that exists there, or one with a UTC offset."
        ) from None
    raise ConditionError(
        f"Column {name!r} holds times in time zone {zone}, where {wall} happens twice (the "
        f"clocks go back); give its UTC offset: {offsets[0]!r} or {offsets[1]!r}."
    )


def condition_seconds(spec: ColumnSpec, values: pd.Series) -> np.ndarray:
    """Seconds since the epoch (UTC) of condition values; see :func:`condition_datetimes`."""
    return datetimes_to_seconds(condition_datetimes(spec, values))


def _show(value: Any) -> str:
    return repr(str(value)) if not isinstance(value, str) else repr(value)
