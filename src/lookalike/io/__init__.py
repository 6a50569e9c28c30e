"""Read tables from files and in-memory frames; write them to CSV or Parquet, atomically."""

from lookalike.io._files import check_input_file, check_output_path, write_text, write_texts
from lookalike.io._table import (
    BOOLEAN_SPELLINGS,
    DECIMAL_PLACES,
    TABLE_SUFFIXES,
    check_model_name,
    check_table_output,
    in_memory_frame,
    index_as_columns,
    read_table,
    write_table,
)

__all__ = [
    "BOOLEAN_SPELLINGS",
    "DECIMAL_PLACES",
    "TABLE_SUFFIXES",
    "check_input_file",
    "check_model_name",
    "check_output_path",
    "check_table_output",
    "in_memory_frame",
    "index_as_columns",
    "read_table",
    "write_table",
    "write_text",
    "write_texts",
]
