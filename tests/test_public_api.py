"""The public names are exactly these; anything else is private and may change."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

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


def test_warning_filters_that_libraries_set_at_import_survive_a_seed_row_draw(
    tmp_path: Path,
) -> None:
    # Seed rows are drawn inside warnings.catch_warnings; a library first imported there (as
    # scikit-learn and SciPy now are, lazily) would lose the filters it sets at import.
    df = la.datasets.load_adult().head(600)
    la.Synthesizer(random_state=0).fit(df).save(tmp_path / "m.lookalike")
    show = "import warnings; print(sorted(repr(f) for f in warnings.filters))"
    draw = (
        "import pandas as pd, lookalike as la; "
        f"m = la.load({str(tmp_path / 'm.lookalike')!r}); "
        "m.sample(conditions=pd.DataFrame({'sex': ['Male', 'Female']}), random_state=0); "
    )
    runs = [
        subprocess.run([sys.executable, "-c", code + show], capture_output=True, text=True)
        for code in ("import sklearn.tree; ", draw + "import sklearn.tree; ")
    ]
    assert all(run.returncode == 0 for run in runs), [run.stderr[-500:] for run in runs]
    expected, after_draw = (set(ast.literal_eval(run.stdout.splitlines()[-1])) for run in runs)
    assert expected <= after_draw
