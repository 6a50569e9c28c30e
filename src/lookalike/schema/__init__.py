"""Column kinds, PII types and the frozen, JSON-serialisable table schema."""

from lookalike.schema._infer import infer_schema, load_schema_overrides
from lookalike.schema._schema import (
    DEFAULT_LOCALE,
    SCHEMA_VERSION,
    ColumnKind,
    ColumnSpec,
    PiiType,
    Schema,
)

__all__ = [
    "DEFAULT_LOCALE",
    "SCHEMA_VERSION",
    "ColumnKind",
    "ColumnSpec",
    "PiiType",
    "Schema",
    "infer_schema",
    "load_schema_overrides",
]
