"""Column kinds and the frozen, JSON-serialisable table schema."""

from lookalike.schema._infer import infer_schema, load_schema_overrides
from lookalike.schema._schema import SCHEMA_VERSION, ColumnKind, ColumnSpec, Schema

__all__ = [
    "SCHEMA_VERSION",
    "ColumnKind",
    "ColumnSpec",
    "Schema",
    "infer_schema",
    "load_schema_overrides",
]
