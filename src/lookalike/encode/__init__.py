"""Per-kind encoders: analyse -> reduce -> encode -> decode, between columns and integer tokens.

Statistics are plain JSON values, and analysing is a map over partitions followed by a reduce, so
the same code learns from one DataFrame, a chunked file or many partitions.

Later stages (control, sample) read values exactly as the encoders do through
:func:`numeric_values`, :func:`seconds_to_datetimes`, :func:`value_label` / :func:`value_labels`
and :func:`restore_dtype`, so a condition or a rule compares what the model learned.
"""

from lookalike.encode._encoders import (
    MISSING_TOKEN_NAME,
    N_FINE_TOKENS,
    RARE_VALUE,
    CategoricalEncoder,
    ColumnEncoder,
    FrequentValues,
    NumericEncoder,
    analyze_column,
    make_encoder,
    numeric_values,
    reduce_statistics,
    seconds_to_datetimes,
)
from lookalike.encode._table import TableEncoder, restore_dtype
from lookalike.schema._labels import value_label, value_labels

__all__ = [
    "MISSING_TOKEN_NAME",
    "N_FINE_TOKENS",
    "RARE_VALUE",
    "CategoricalEncoder",
    "ColumnEncoder",
    "FrequentValues",
    "NumericEncoder",
    "TableEncoder",
    "analyze_column",
    "make_encoder",
    "numeric_values",
    "reduce_statistics",
    "restore_dtype",
    "seconds_to_datetimes",
    "value_label",
    "value_labels",
]
