"""lookalike: synthetic data with the statistics of real tables, and measured privacy.

>>> import lookalike as la
>>> df = la.datasets.load_adult().head(2000)
>>> model = la.Synthesizer(random_state=7).fit(df)
>>> synthetic = model.sample(1000)
>>> list(synthetic.columns) == list(df.columns)
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from lookalike import datasets
from lookalike.errors import (
    BudgetExceededError,
    ConditionError,
    DataError,
    DataWarning,
    LookalikeError,
    ModelFileError,
    NotFittedError,
    OutputExistsError,
    SchemaError,
)
from lookalike.evaluate import EvaluationResult, evaluate
from lookalike.io import read_table, write_table
from lookalike.models import Synthesizer, load
from lookalike.schema import ColumnKind, ColumnSpec, Schema, infer_schema, load_schema_overrides

__all__ = [
    "BudgetExceededError",
    "ColumnKind",
    "ColumnSpec",
    "ConditionError",
    "DataError",
    "DataWarning",
    "EvaluationResult",
    "LookalikeError",
    "ModelFileError",
    "NotFittedError",
    "OutputExistsError",
    "Schema",
    "SchemaError",
    "Synthesizer",
    "__version__",
    "datasets",
    "evaluate",
    "infer_schema",
    "load",
    "load_schema_overrides",
    "read_table",
    "write_table",
]
