"""Per-kind encoders: analyse -> reduce -> encode -> decode, between columns and integer tokens.

Statistics are plain JSON values, and analysing is a map over partitions followed by a reduce, so
the same code learns from one DataFrame, a chunked file or many partitions.
"""

from lookalike.encode._encoders import (
    MISSING_TOKEN_NAME,
    RARE_VALUE,
    ColumnEncoder,
    analyze_column,
    make_encoder,
    reduce_statistics,
)
from lookalike.encode._table import TableEncoder

__all__ = [
    "MISSING_TOKEN_NAME",
    "RARE_VALUE",
    "ColumnEncoder",
    "TableEncoder",
    "analyze_column",
    "make_encoder",
    "reduce_statistics",
]
