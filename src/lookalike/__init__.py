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
from lookalike.control import ControlReport, RuleReport, Scenario, check_rules
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
from lookalike.evaluate import EvaluationResult, PrivacyAudit, audit_privacy, evaluate
from lookalike.io import read_table, write_table
from lookalike.pii import detect_pii, replace_pii
from lookalike.sample import Synthesizer, load
from lookalike.scenarios import (
    ExperimentResult,
    StressTestResult,
    experiment,
    stress_test,
    variant_grid,
)
from lookalike.schema import (
    ColumnKind,
    ColumnSpec,
    PiiType,
    Schema,
    infer_schema,
    load_schema_overrides,
)

__all__ = [
    "BudgetExceededError",
    "ColumnKind",
    "ColumnSpec",
    "ConditionError",
    "ControlReport",
    "DataError",
    "DataWarning",
    "EvaluationResult",
    "ExperimentResult",
    "LookalikeError",
    "ModelFileError",
    "NotFittedError",
    "OutputExistsError",
    "PiiType",
    "PrivacyAudit",
    "RuleReport",
    "Scenario",
    "Schema",
    "SchemaError",
    "StressTestResult",
    "Synthesizer",
    "__version__",
    "audit_privacy",
    "check_rules",
    "datasets",
    "detect_pii",
    "evaluate",
    "experiment",
    "infer_schema",
    "load",
    "load_schema_overrides",
    "read_table",
    "replace_pii",
    "stress_test",
    "variant_grid",
    "write_table",
]
