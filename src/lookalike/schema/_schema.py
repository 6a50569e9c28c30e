"""The schema: one frozen :class:`ColumnSpec` per column, serialisable to and from JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from lookalike.errors import SchemaError

SCHEMA_VERSION = 1


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


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is stored and what it means.

    ``dtype`` is the pandas storage dtype of the column as read (``"int64"``, ``"Int64"``,
    ``"float64"``, ``"str"``, ``"bool"``, ``"datetime64[ns, UTC]"``...); ``kind`` is its meaning.
    ``datetime_format`` is set when a datetime was parsed from text, so it is written back in the same
    format. ``decimals`` is how many decimals the numbers carry (``0`` for whole numbers).
    """

    name: str
    kind: ColumnKind
    dtype: str
    nullable: bool = True
    datetime_format: str | None = None
    decimals: int | None = None

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
        # Accept plain strings (from JSON or overrides) but store the enum.
        try:
            object.__setattr__(self, "kind", ColumnKind(self.kind))
        except ValueError:
            allowed = ", ".join(k.value for k in ColumnKind)
            raise SchemaError(
                f"Column {self.name!r}: kind must be one of {allowed}. Got {self.kind!r} instead."
            ) from None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = self.kind.value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
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

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise SchemaError(f"Duplicate column names in schema: {duplicated}.")

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
        return {"version": self.version, "columns": [c.to_dict() for c in self.columns]}

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
        return cls(tuple(ColumnSpec.from_dict(c) for c in columns), version=SCHEMA_VERSION)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"Schema is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SchemaError("Schema JSON must be an object with 'version' and 'columns'.")
        return cls.from_dict(data)
