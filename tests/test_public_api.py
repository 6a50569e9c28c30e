"""The public names are exactly these; anything else is private and may change."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files

import lookalike as la

PUBLIC = {
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
}


def test_public_names_are_exactly_these() -> None:
    assert set(la.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(la, name), name


def test_errors_share_one_base_and_the_matching_builtin() -> None:
    for error in (la.DataError, la.SchemaError, la.ConditionError, la.ModelFileError):
        assert issubclass(error, la.LookalikeError)
        assert issubclass(error, ValueError)
    assert issubclass(la.NotFittedError, AttributeError)
    assert issubclass(la.OutputExistsError, FileExistsError)


def test_package_ships_type_information_and_data() -> None:
    assert files("lookalike").joinpath("py.typed").is_file()
    assert files("lookalike").joinpath("data", "adult.csv.gz").is_file()
    assert callable(la.evaluate)


def test_importing_the_package_and_its_cli_loads_no_heavy_library() -> None:
    # scikit-learn, SciPy, Faker and matplotlib load where they are used: importing them all
    # made `import lookalike` take 2.7 s and `lookalike --help` 3.5 s.
    code = (
        "import sys, lookalike, lookalike.cli; "
        "print(sorted(m for m in ('sklearn', 'scipy', 'faker', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
