"""The schema: one frozen :class:`ColumnSpec` per column, serialisable to and from JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from lookalike.errors import SchemaError

#: Version 2 added ``ColumnSpec.pii`` and ``Schema.locale``; version 1 schemas are read as having
#: no PII columns and the default locale. Version 3 added ``ColumnSpec.integer_offset``,
#: ``category_order`` and ``ordered``; older schemas have none. Version 4 added
#: ``ColumnSpec.clock``; older schemas read no column as clock times. Version 5 added
#: ``ColumnSpec.category_dtype``; older schemas declare categories of text only. Version 6 lets
#: ``category_dtype`` name datetimes and durations too (:data:`TIME_CATEGORY_DTYPE`); older
#: schemas declare none. Version 7 lets it name pandas' nullable dtypes (``"Int64"``,
#: ``"boolean"``, ``"Float64"``); older schemas declare none.
SCHEMA_VERSION = 7
#: The dtypes a ``category`` column's declared categories may have besides text, with those of
#: :data:`TIME_CATEGORY_DTYPE`.
CATEGORY_DTYPES = (
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "bool",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Float32",
    "Float64",
    "boolean",
)
#: Datetimes at a resolution, with or without a time zone, and durations: the other dtypes a
#: category's categories may have (``"datetime64[us]"``, ``"datetime64[s, Europe/Oslo]"``,
#: ``"timedelta64[ns]"``).
TIME_CATEGORY_DTYPE = re.compile(
    r"^(datetime64\[(s|ms|us|ns)(, [^\]\s][^\]]*)?\]|timedelta64\[(s|ms|us|ns)\])$"
)
#: Locale of the fake values that replace PII columns, unless the schema or the model names another.
DEFAULT_LOCALE = "en_US"
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")


class ColumnKind(StrEnum):
    """What a column means, independent of how it is stored."""

    CONTINUOUS = "continuous"
    """Numbers with many distinct values: learned as quantile bins plus a within-bin position."""
    DISCRETE = "discrete"
    """Numbers with few distinct values: each value is its own token."""
    CATEGORICAL = "categorical"
    """Labels; rare labels are never emitted as themselves."""
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    """Timestamps and dates (native or parsed from text with a known format)."""
    IDENTIFIER = "identifier"
    """Unique keys: regenerated as new unique keys, never learned."""
    TEXT = "text"
    """Free text: only frequent values are learned; the rest become the rare token."""


class PiiType(StrEnum):
    """What kind of direct identifier a column holds. Such columns are never learned.

    Their values are replaced by realistic fakes of the same type (see :mod:`lookalike.pii`).
    """

    NAME = "name"
    """A person's full name ("Ada Lovelace", "Dr. Jane Q. Smith")."""
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    PHONE = "phone"
    US_SSN = "us_ssn"
    """A US Social Security number ("123-45-6789")."""
    UK_NINO = "uk_nino"
    """A UK National Insurance number ("QQ123456C")."""
    IBAN = "iban"
    CARD_NUMBER = "card_number"
    """A payment card number (13-19 digits passing the Luhn check)."""
    ADDRESS = "address"
    """A street or postal address."""
    TEXT = "text"
    """Free text that mentions identifiers: replaced by fake text as a whole."""


#: Steps of a datetime column's wall clock (seconds), coarsest first: ``datetime_step`` names the
#: coarsest one every value is a whole number of.
DATETIME_STEPS = {"day": 86_400, "hour": 3_600, "minute": 60, "second": 1}

#: Override fields that give a differentially private model its public domain; they sit beside a
#: column's schema overrides but are not schema fields, so only such a model accepts them.
PUBLIC_DOMAIN_FIELDS = ("bounds", "categories", "complete")

#: PII types whose fakes can be stored as whole numbers (in an integer column).
NUMERIC_PII_TYPES = frozenset({PiiType.PHONE, PiiType.US_SSN, PiiType.CARD_NUMBER})


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is stored and what it means.

    ``dtype`` is the pandas storage dtype of the column as read (``"int64"``, ``"Int64"``,
    ``"float64"``, ``"str"``, ``"bool"``, ``"datetime64[ns, UTC]"``...); ``kind`` is its meaning.
    ``datetime_format`` is set when a datetime was parsed from text, so it is written back in the same
    format. ``number_format`` is set when numbers were read from text such as ``$1,243.56`` (a
    Python format string, ``"${:,.2f}"``; ``"{:.,2f} €"`` for ``1.243,56 €``, with a decimal
    comma), so they are written back the same way.
    ``decimals`` is how many decimals the numbers carry (``0`` for whole numbers).
    ``datetime_step`` is the coarsest of ``"day"``, ``"hour"``, ``"minute"`` and ``"second"``
    that every value of a datetime column is a whole number of on its wall clock (``"day"`` for
    dates), or ``None``; a duration or time-of-day column has one on its clock too. Like
    ``decimals`` it is read from the values; values are drawn on it (by the private model, on
    datetime columns).
    ``pii`` names the kind of direct identifier the column holds (a :class:`PiiType`), or is
    ``None``: a PII column is never learned, and comes out as fake values of that type.
    ``integer_offset`` is set on a column of whole numbers beyond 2**53, which float64 cannot
    hold exactly: the encoders see each value minus the offset (exact while the column spans less
    than 2**52), and the offset is added back in integers when rows are written.
    ``category_order`` holds the declared categories of a pandas ``category`` column, in order
    and including unused ones (their labels: ``"10"`` for 10), and ``ordered`` whether they are
    ordered, so the column is written back with the same dtype; ``category_dtype`` the
    categories' own dtype when they are not text (``"int64"``, ``"bool"``: one of
    :data:`CATEGORY_DTYPES`, or ``"datetime64[us, UTC]"``, ``"timedelta64[s]"``: see
    :data:`TIME_CATEGORY_DTYPE`; a private model keeps it, without the categories). A column
    of categories of datetimes or durations is learned as categories (kind ``categorical``), so
    it comes back holding exactly those values.
    ``clock`` is ``"hhmm"`` on whole numbers that are clock times written as HHMM (``1342`` for
    13:42; read from the values, like ``decimals``): the models draw them in minutes since
    midnight, so a value never ends in 60-99.
    """

    name: str
    kind: ColumnKind
    dtype: str
    nullable: bool = True
    datetime_format: str | None = None
    decimals: int | None = None
    pii: PiiType | None = None
    number_format: str | None = None
    datetime_step: str | None = None
    integer_offset: int | None = None
    category_order: tuple[str, ...] | None = None
    ordered: bool = False
    clock: str | None = None
    category_dtype: str | None = None

    def __post_init__(self) -> None:
        # Field types are checked too: a schema may come from a file someone edited.
        checks = (
            ("name", isinstance(self.name, str)),
            ("dtype", isinstance(self.dtype, str)),
            ("nullable", isinstance(self.nullable, bool)),
            (
                "datetime_format",
                self.datetime_format is None or isinstance(self.datetime_format, str),
            ),
            (
                "decimals",
                self.decimals is None
                or (
                    isinstance(self.decimals, int)
                    and not isinstance(self.decimals, bool)
                    and 0 <= self.decimals <= 6
                ),
            ),
        )
        for field_name, valid in checks:
            if not valid:
                raise SchemaError(
                    f"Column {self.name!r}: field {field_name!r} has an invalid value "
                    f"{getattr(self, field_name)!r}."
                )
        if self.category_order is not None:
            if (
                not isinstance(self.category_order, list | tuple)
                or not all(isinstance(c, str) for c in self.category_order)
                or self.dtype != "category"
            ):
                raise SchemaError(
                    f"Column {self.name!r}: field 'category_order' is a list of strings on a "
                    f"column of dtype 'category'. Got {self.category_order!r} on {self.dtype}."
                )
            # Lists from JSON are stored as tuples, so specs stay comparable and hashable.
            object.__setattr__(self, "category_order", tuple(self.category_order))
        if self.category_dtype is not None:
            self._check_category_dtype()
        if not isinstance(self.ordered, bool) or (self.ordered and self.category_order is None):
            raise SchemaError(
                f"Column {self.name!r}: field 'ordered' is true or false, and true only with a "
                f"category_order. Got {self.ordered!r}."
            )
        # Accept plain strings (from JSON or overrides) but store the enum.
        try:
            object.__setattr__(self, "kind", ColumnKind(self.kind))
        except ValueError:
            allowed = ", ".join(k.value for k in ColumnKind)
            raise SchemaError(
                f"Column {self.name!r}: kind must be one of {allowed}. Got {self.kind!r} instead."
            ) from None
        if self.pii is not None:
            self._check_pii()
        self._check_clock()
        # Durations and times of day are numbers of their unit with a step on the clock too.
        clock_numbers = self.kind in (
            ColumnKind.CONTINUOUS,
            ColumnKind.DISCRETE,
        ) and self.dtype.startswith(("timedelta64", "time32", "time64", "duration["))
        if self.datetime_step is not None and (
            self.datetime_step not in DATETIME_STEPS
            or (self.kind is not ColumnKind.DATETIME and not clock_numbers)
        ):
            raise SchemaError(
                f"Column {self.name!r}: datetime_step is one of {list(DATETIME_STEPS)} on a "
                "datetime, duration or time-of-day column (or null). Got "
                f"{self.datetime_step!r} on a {self.kind.value} "
                "column."
            )
        if self.number_format is not None:
            if not isinstance(self.number_format, str):
                raise SchemaError(
                    f"Column {self.name!r}: field 'number_format' has an invalid value "
                    f"{self.number_format!r}."
                )
            if self.kind not in (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE):
                raise SchemaError(
                    f"Column {self.name!r}: number_format is for continuous or discrete columns, "
                    f"not {self.kind.value}."
                )
            from lookalike.schema._numbers import check_number_format

            check_number_format(self.number_format)
        if self.integer_offset is not None and (
            not isinstance(self.integer_offset, int)
            or isinstance(self.integer_offset, bool)
            or self.kind not in (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE)
            or not self.dtype.lower().startswith(("int", "uint"))
        ):
            raise SchemaError(
                f"Column {self.name!r}: integer_offset is a whole number on a continuous or "
                f"discrete column of integers (or null). Got {self.integer_offset!r} on a "
                f"{self.kind.value} column of {self.dtype}."
            )

    def _check_category_dtype(self) -> None:
        own = self.category_dtype
        time = isinstance(own, str) and TIME_CATEGORY_DTYPE.match(own) is not None
        if (own not in CATEGORY_DTYPES and not time) or self.dtype != "category":
            raise SchemaError(
                f"Column {self.name!r}: field 'category_dtype' is one of {list(CATEGORY_DTYPES)} "
                "or a datetime64 or timedelta64 dtype with its unit ('datetime64[us]', "
                "'datetime64[ns, UTC]'), on a column of dtype 'category'. Got "
                f"{own!r} on {self.dtype}."
            )
        if not time:
            return
        import pandas as pd  # imported late, like the number formats' check

        try:
            pd.api.types.pandas_dtype(own)
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"Column {self.name!r}: field 'category_dtype' {own!r} is not a pandas dtype "
                f"({exc})."
            ) from None
        if self.kind == ColumnKind.DATETIME:  # a string until checked below
            # Drawn on a time line, most values would be none of the categories, and missing.
            raise SchemaError(
                f"Column {self.name!r} holds categories of {own}: they are learned as "
                "categories (kind 'categorical'), not as a datetime; to learn a time line, "
                "cast the column to its categories' dtype first."
            )

    def _check_clock(self) -> None:
        if self.clock is None:
            return
        numbers = self.kind in (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE)
        plain = self.number_format is None and self.integer_offset is None
        if self.clock != "hhmm" or not numbers or not plain or self.decimals not in (None, 0):
            raise SchemaError(
                f"Column {self.name!r}: clock is 'hhmm' on a continuous or discrete column of "
                f"whole numbers (or null). Got {self.clock!r} on a {self.kind.value} column."
            )

    def _check_pii(self) -> None:
        try:
            pii = PiiType(str(self.pii))
        except ValueError:
            allowed = ", ".join(p.value for p in PiiType)
            raise SchemaError(
                f"Column {self.name!r}: pii must be null or one of {allowed}. "
                f"Got {self.pii!r} instead."
            ) from None
        object.__setattr__(self, "pii", pii)
        if self.kind in (ColumnKind.BOOLEAN, ColumnKind.DATETIME):
            raise SchemaError(
                f"Column {self.name!r}: a {self.kind.value} column cannot hold PII "
                f"({pii.value!r}); set pii to null or change its kind."
            )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = self.kind.value
        out["pii"] = None if self.pii is None else self.pii.value
        if self.category_order is not None:
            out["category_order"] = list(self.category_order)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        domain = [name for name in unknown if name in PUBLIC_DOMAIN_FIELDS]
        if domain:
            # The usual slip: a schema file written for `fit --epsilon`, used without it.
            raise SchemaError(
                f"Column {data.get('name')!r}: field(s) {domain} apply only to a differentially "
                "private model; fit with --epsilon (Synthesizer(epsilon=...)) or remove them."
            )
        if unknown:
            raise SchemaError(
                f"Unknown column schema field(s) {unknown}; expected some of {sorted(known)}."
            )
        if "name" not in data or "kind" not in data or "dtype" not in data:
            raise SchemaError(
                f"A column schema needs 'name', 'kind' and 'dtype'. Got {dict(data)!r}."
            )
        return cls(**dict(data))


@dataclass(frozen=True)
class Schema:
    """The columns of a table, in order.

    >>> s = Schema((ColumnSpec("age", ColumnKind.DISCRETE, "int64", nullable=False, decimals=0),))
    >>> Schema.from_json(s.to_json()) == s
    True
    >>> s["age"].kind.value
    'discrete'
    """

    columns: tuple[ColumnSpec, ...]
    version: int = field(default=SCHEMA_VERSION)
    locale: str = DEFAULT_LOCALE
    """Locale of the fakes that replace PII columns (a Faker locale such as ``"de_DE"``)."""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise SchemaError(f"Duplicate column names in schema: {duplicated}.")
        check_locale(self.locale)

    def with_locale(self, locale: str) -> Schema:
        """The same schema with fakes in ``locale``."""
        return Schema(self.columns, self.version, check_locale(locale))

    @property
    def pii_columns(self) -> dict[str, PiiType]:
        """The PII columns and their types, in schema order."""
        return {c.name: c.pii for c in self.columns if c.pii is not None}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def __iter__(self) -> Iterator[ColumnSpec]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "locale": self.locale,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise SchemaError(f"Schema 'version' must be a positive integer. Got {version!r}.")
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"Schema version {version} is newer than this lookalike understands "
                f"({SCHEMA_VERSION}); upgrade lookalike."
            )
        columns = data.get("columns")
        if not isinstance(columns, list):
            raise SchemaError("Schema 'columns' must be a list of column schemas.")
        # Version 1 had no 'pii' and no 'locale', version 2 no 'integer_offset'
        # or 'category_order', version 3 no 'clock', version 4 no 'category_dtype': the
        # dataclass defaults upgrade them. Version 5 is version 6 without categories of
        # datetimes or durations, and version 6 is version 7 without nullable ones.
        locale = data.get("locale", DEFAULT_LOCALE)
        return cls(
            tuple(ColumnSpec.from_dict(c) for c in columns), version=SCHEMA_VERSION, locale=locale
        )

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"Schema is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SchemaError("Schema JSON must be an object with 'version' and 'columns'.")
        return cls.from_dict(data)


def check_locale(locale: object) -> str:
    """``locale`` if Faker knows it; a :class:`SchemaError` naming it otherwise.

    >>> check_locale("de_DE")
    'de_DE'
    """
    if not isinstance(locale, str) or not _LOCALE.match(locale):
        raise SchemaError(
            f"The locale must look like 'en_US' (a Faker locale). Got {locale!r} instead."
        )
    if locale == DEFAULT_LOCALE:
        return locale
    from faker.config import AVAILABLE_LOCALES  # imported late: it scans Faker's providers

    if locale not in AVAILABLE_LOCALES:
        raise SchemaError(
            f"Unknown locale {locale!r}; Faker knows {', '.join(AVAILABLE_LOCALES[:8])}, ... "
            "(see faker.config.AVAILABLE_LOCALES)."
        )
    return locale
