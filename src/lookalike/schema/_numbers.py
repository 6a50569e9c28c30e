"""Numbers written as text: amounts with a currency sign, percentages, thousands separators.

A column such as ``$1,243.56`` or ``10.7%`` is a number to learn, not a category whose every
value is rare. Inference finds the one format that writes every value back exactly as it was
(``number_format``, a Python format string such as ``"${:,.2f}"``); the encoder reads the
numbers through it and the decoder writes them with it.

Numbers with a decimal comma (``1.243,56 €``, ``53,5 %``) use the same field with its two
separators swapped: ``"{:.,2f} €"`` groups thousands with a dot and writes two decimals after a
comma, ``"{:,1f} %"`` writes one decimal after a comma and no grouping. Python has no such
format; this module reads and writes it. Where a column reads both ways (``1.243`` is a
number with three decimals or a thousand and more), the dot is taken as the decimal point.

Whole numbers can be HHMM clock times (``1342`` for 13:42): :func:`is_hhmm_clock` tells them,
and :func:`clock_minutes` / :func:`clock_hhmm` convert them to minutes since midnight and back.

>>> guess_number_format(pd.Series(["$1,243.56", "$960.92", "-$3.10", "$12,000.00"]))
'${:,.2f}'
>>> guess_number_format(pd.Series(["10.7%", "6.6%", "0.0%"]))
'{:.1f}%'
>>> guess_number_format(pd.Series(["EUR 1,000", "EUR 250", "EUR 12,500"]))
'EUR {:,.0f}'
>>> guess_number_format(pd.Series(["02134", "10001"])) is None  # codes keep their zeros
True
>>> parse_formatted(pd.Series(["$1,243.56", "-$3.10", None]), "${:,.2f}").tolist()
[1243.56, -3.1, nan]
>>> format_numbers(np.array([1243.561, -3.1, np.nan]), "${:,.2f}").tolist()
['$1,243.56', '-$3.10', None]
>>> guess_number_format(pd.Series(["1.243,56 €", "960,92 €", "-3,10 €"]))
'{:.,2f} €'
>>> guess_number_format(pd.Series(["53,5 %", "6,0 %"]))
'{:,1f} %'
>>> guess_number_format(pd.Series(["1.234", "2.500"])) is None  # a decimal point, as pandas reads it
True
>>> parse_formatted(
...     pd.Series(["1.243,56 €", "-3,10 €", "1.243", "1243.5 €", "0.500", "1.5e-05"]), "{:.,2f} €"
... ).tolist()
[1243.56, -3.1, 1243.0, 1243.5, 0.5, 1.5e-05]
>>> format_numbers(np.array([1243.561, 1234567.0]), "{:.,2f} €").tolist()
['1.243,56 €', '1.234.567,00 €']
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lookalike.errors import SchemaError


def _number_pattern(thousands: str, decimal: str) -> re.Pattern[str]:
    """Sign, prefix (no digits), digits (grouped in threes by ``thousands``, or plain), decimals
    after ``decimal``, suffix."""
    t, d = re.escape(thousands), re.escape(decimal)
    return re.compile(
        r"^(?P<sign>-?)(?P<prefix>(?:[^\d\-+.,\s]{1,3} ?)?)(?P<sign2>-?)"
        rf"(?P<int>\d{{1,3}}(?:{t}\d{{3}})+|\d+)(?:{d}(?P<dec>\d+))?(?P<suffix>[^\d\-+.,]{{0,3}})$"
    )


_NUMBER = _number_pattern(",", ".")
_NUMBER_DECIMAL_COMMA = _number_pattern(".", ",")
_PLAIN = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_DOT_GROUPS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")
# "{:,.2f}" (thousands comma, decimal point) or "{:.,2f}" / "{:,2f}" (decimal comma).
_FIELD = re.compile(
    r"\{:(?:(?P<comma>,?)\.(?P<point_decimals>\d)|(?P<dot>\.?),(?P<comma_decimals>\d))f\}"
)


def guess_number_format(text: pd.Series) -> str | None:
    """The format that writes every value of ``text`` back as it was, or None.

    Every value must be a number with the same prefix (up to three characters and a space, e.g.
    ``$`` or ``EUR ``), the same suffix (``%``, `` kg``) and the same number of decimals; at least one of a
    prefix, a suffix or thousands separators must be there (plain numbers are read as numbers
    already), no value may start with a zero it would lose (``007`` is a code), and there must
    be two different values at least.
    """
    # Every test below holds for all values when it holds for each distinct one.
    values = pd.Series(text.dropna().astype(str).unique(), dtype=object)
    if len(values) < 2:
        return None  # one text is a label: adult's "<=50K" alone read as the number 50
    found = _guess_with(values, _NUMBER, ",")
    if found is not None or values.str.fullmatch(_PLAIN).all():
        return found  # plain "1.234" keeps its decimal point
    return _guess_with(values, _NUMBER_DECIMAL_COMMA, ".")


def other_reading(text: pd.Series, fmt: str) -> str | None:
    """The format of the other convention, when it also writes every value back as it was.

    ``1,234 kg`` reads as 1234 (a thousands comma, the reading chosen) or as 1.234 (a decimal
    comma): when every value has one separator followed by exactly three digits, nothing in the
    column tells them apart, and the caller should say which reading it took.

    >>> other_reading(pd.Series(["1,234 kg", "5,500 kg"]), "{:,.0f} kg")
    '{:,3f} kg'
    >>> other_reading(pd.Series(["1,234 kg", "980 kg"]), "{:,.0f} kg") is None
    True
    >>> other_reading(pd.Series(["v1", "v25"]), "v{:.0f}") is None  # no separator: no doubt
    True
    """
    values = text.dropna().astype(str)
    if _affixes(fmt)[4] or not len(values):  # a decimal comma is only taken when a point fails
        return None
    other = _guess_with(values, _NUMBER_DECIMAL_COMMA, ".")
    if other is None or np.array_equal(
        parse_formatted(values, fmt), parse_formatted(values, other), equal_nan=True
    ):
        return None
    return other


def _guess_with(values: pd.Series, pattern: re.Pattern[str], thousands: str) -> str | None:
    """:func:`guess_number_format` for one convention (its thousands separator)."""
    parts = values.str.extract(pattern)
    if parts["int"].isna().any():
        return None
    prefix, suffix = parts["prefix"].unique(), parts["suffix"].unique()
    decimals = parts["dec"].fillna("").str.len().unique()
    if len(prefix) != 1 or len(suffix) != 1 or len(decimals) != 1 or decimals[0] > 6:
        return None
    integer = parts["int"]
    grouped = integer.str.contains(thousands, regex=False)
    if (integer.str.len() > 1).any() and integer[integer.str.len() > 1].str.startswith("0").any():
        return None
    digits = integer.str.replace(thousands, "", regex=False)
    if grouped.any() and (digits.str.len() > 3)[~grouped].any():
        return None  # some large numbers without separators: not one format
    comma_decimals = thousands == "." and decimals[0] > 0
    # Plain numbers are read as numbers already; a decimal comma alone is not.
    if not (prefix[0] or suffix[0] or grouped.any() or comma_decimals):
        return None
    if (parts["sign2"] == "-").any():
        return None  # "$-3.10": written back as "-$3.10", so not this format
    decimal = "," if thousands == "." else "."
    separators = (thousands if grouped.any() else "") + decimal
    return f"{prefix[0]}{{:{separators}{int(decimals[0])}f}}{suffix[0]}"


def check_number_format(fmt: str) -> None:
    """Raise SchemaError unless ``fmt`` is a format this module writes and reads."""
    if len(_FIELD.findall(fmt)) != 1:
        raise SchemaError(
            f"number_format {fmt!r} must hold one field like '{{:,.2f}}' (thousands separator "
            "optional, 0-9 decimals; '{:.,2f}' for a decimal comma), with any prefix and suffix "
            "around it."
        )


def decimals_of(fmt: str) -> int:
    """How many decimals ``fmt`` writes."""
    return _affixes(fmt)[3]


def _affixes(fmt: str) -> tuple[str, str, bool, int, bool]:
    """Prefix, suffix, grouped thousands, decimals, decimal comma."""
    check_number_format(fmt)
    match = _FIELD.search(fmt)
    if match is None:  # unreachable after the check; keeps the type checker informed
        raise SchemaError(f"number_format {fmt!r} has no number field.")
    decimal_comma = match.group("comma_decimals") is not None
    grouped = bool(match.group("dot") if decimal_comma else match.group("comma"))
    decimals = int(
        match.group("comma_decimals") if decimal_comma else match.group("point_decimals")
    )
    return fmt[: match.start()], fmt[match.end() :], grouped, decimals, decimal_comma


def parse_formatted(series: pd.Series, fmt: str) -> np.ndarray:
    """Numbers (float64, NaN for missing or unreadable) of values written with ``fmt``.

    Plain numbers pass through, so conditions may be given either way.
    """
    if pd.api.types.is_numeric_dtype(series):
        return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    prefix, suffix, _, _, decimal_comma = _affixes(fmt)
    text = series.astype("object").where(series.notna(), None).astype("str").str.strip()
    negative = text.str.startswith("-")
    text = text.where(~negative, text.str[1:])
    if prefix:
        text = text.where(~text.str.startswith(prefix), text.str[len(prefix) :])
    if suffix.strip():
        text = text.where(~text.str.endswith(suffix.strip()), text.str[: -len(suffix.strip())])
    text = text.str.strip()
    if decimal_comma:
        # "1.243,5" and "1.243" follow the column; "1243.5", "0.500" and "1.5e-05" (a number
        # given plainly: its dot cannot be a thousands separator) keep their decimal point.
        plain = text.str.fullmatch(_PLAIN) & ~text.str.fullmatch(_DOT_GROUPS)
        converted = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        text = text.where(plain.fillna(False).astype(bool), converted)
    else:
        text = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    values = numbers.astype("float64").to_numpy(na_value=np.nan)
    values = np.where(negative.to_numpy(dtype=bool), -values, values)
    values[series.isna().to_numpy()] = np.nan
    return values


_SWAP_SEPARATORS = str.maketrans({",": ".", ".": ","})


def format_numbers(numbers: np.ndarray, fmt: str) -> pd.Series:
    """Values written with ``fmt`` (a minus sign before the prefix); missing stays None."""
    prefix, suffix, thousands, decimals, decimal_comma = _affixes(fmt)
    spec = f"{{:{',' if thousands else ''}.{decimals}f}}"
    out: list[str | None] = []
    for value in np.asarray(numbers, dtype=float):
        if not np.isfinite(value):
            out.append(None)
            continue
        body = spec.format(abs(value))
        negative = value < 0 and float(body.replace(",", "")) != 0
        if decimal_comma:
            body = body.translate(_SWAP_SEPARATORS)
        out.append(f"{'-' if negative else ''}{prefix}{body}{suffix}")
    return pd.Series(out, dtype=object)


# ---------------------------------------------------------------------------------------------
# HHMM clock times
# ---------------------------------------------------------------------------------------------

#: ``ColumnSpec.clock`` of whole numbers that are HHMM clock times (``1342`` for 13:42).
CLOCK_HHMM = "hhmm"
#: Numbers are read as HHMM times with at least this many distinct values, ...
_CLOCK_MIN_VALUES = 60
#: ... at least this many distinct minutes (last two digits) and hours.
_CLOCK_MIN_MINUTES = 30
_CLOCK_MIN_HOURS = 3


def on_clock(values: np.ndarray) -> np.ndarray:
    """Which values are HHMM clock times: whole numbers from 0 to 2400 not ending in 60-99.

    >>> on_clock(np.array([0.0, 1159.0, 1165.0, 2400.0, 2500.0, 12.5, np.nan])).tolist()
    [True, True, False, True, False, False, False]
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(
            (values >= 0) & (values <= 2400) & (values == np.round(values)) & (values % 100 < 60)
        )


def is_hhmm_clock(values: np.ndarray) -> bool:
    """Whether distinct numbers read as HHMM clock times (``1342`` for 13:42).

    Whole numbers from 0 to 2400 whose last two digits never reach 60, with enough distinct
    values, minutes and hours that chance does not explain it: 60 distinct whole numbers in that
    range avoid the endings 60-99 with probability about 0.6**60, 5e-14.

    >>> is_hhmm_clock(np.array([h * 100 + m for h in range(6, 9) for m in range(0, 60, 2)]))
    True
    >>> is_hhmm_clock(np.arange(0.0, 200.0))
    False
    """
    if len(values) < _CLOCK_MIN_VALUES or not on_clock(values).all():
        return False
    return bool(
        len(np.unique(values % 100)) >= _CLOCK_MIN_MINUTES
        and len(np.unique(values // 100)) >= _CLOCK_MIN_HOURS
    )


def clock_minutes(hhmm: np.ndarray, upper: bool = False) -> np.ndarray:
    """HHMM as minutes since midnight.

    60-99 past an hour is no time: as a lower bound it counts as the next hour's start (the
    first time after it), as an ``upper`` bound as the hour's last minute (the last time
    before it). Non-decreasing, so value order and ranges keep their meaning.

    >>> clock_minutes(np.array([0.0, 59.0, 100.0, 1178.0, 1200.0, 2400.0, np.inf])).tolist()
    [0.0, 59.0, 60.0, 720.0, 720.0, 1440.0, inf]
    >>> clock_minutes(np.array([1159.0, 1178.0]), upper=True).tolist()
    [719.0, 719.0]
    """
    with np.errstate(invalid="ignore"):
        hours = np.floor(hhmm / 100.0)
        past = hhmm - hours * 100.0
        minutes = hours * 60.0 + np.where(past < 60.0, past, 59.0 if upper else 60.0)
    return np.asarray(np.where(np.isfinite(hhmm), minutes, hhmm))


def clock_hhmm(minutes: np.ndarray) -> np.ndarray:
    """Minutes since midnight, rounded to whole minutes, as HHMM: the inverse of
    :func:`clock_minutes` on clock times.

    >>> clock_hhmm(np.array([0.0, 59.4, 59.6, 720.0, 1440.0])).tolist()
    [0.0, 59.0, 100.0, 1200.0, 2400.0]
    """
    whole = np.round(minutes)
    with np.errstate(invalid="ignore"):
        hours = np.floor(whole / 60.0)
        hhmm = hours * 100.0 + (whole - hours * 60.0)
    return np.asarray(np.where(np.isfinite(minutes), hhmm, minutes))
