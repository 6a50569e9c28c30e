"""The ``lookalike`` command line: happy paths, and one-line errors for every bad input."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner, Result

import lookalike as la
from lookalike import __version__
from lookalike.cli import app
from lookalike.datasets import load_adult
from lookalike.io import read_table

runner = CliRunner()


def _run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def _assert_one_line_error(result: Result, *fragments: str, code: int = 1) -> str:
    """The command failed with ``code``, printing exactly one ``error:`` line and no traceback."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def adult_csv(work: Path) -> Path:
    path = work / "adult500.csv"
    load_adult().head(500).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(work: Path, adult_csv: Path) -> Path:
    path = work / "adult500.lookalike"
    result = _run("fit", adult_csv, "-o", path, "--seed", "3")
    assert result.exit_code == 0, result.output
    return path


# --- bad tables ------------------------------------------------------------------------------------

BAD_TABLES = {
    "empty.csv": (b"", "is empty (0 bytes)"),
    "header_only.csv": (b"age,income\n", "has a header but no rows"),
    "duplicates.csv": (b"age,income,age\n1,2,3\n", "duplicate column names: 'age'"),
    "garbage.csv": (bytes(range(256)) * 8, "not a text table"),
    "all_empty.csv": (b"a,b\n,\n,\n", "only empty columns"),
}


@pytest.mark.parametrize("name", sorted(BAD_TABLES))
def test_fit_rejects_bad_tables_in_one_line(tmp_path: Path, name: str) -> None:
    content, problem = BAD_TABLES[name]
    data = tmp_path / name
    data.write_bytes(content)
    result = _run("fit", data, "-o", tmp_path / "m.lookalike")
    _assert_one_line_error(result, name, problem)
    assert not (tmp_path / "m.lookalike").exists()


@pytest.mark.parametrize("name", sorted(BAD_TABLES))
def test_inspect_and_report_reject_bad_tables(tmp_path: Path, adult_csv: Path, name: str) -> None:
    content, problem = BAD_TABLES[name]
    data = tmp_path / name
    data.write_bytes(content)
    _assert_one_line_error(_run("inspect", data), name, problem)
    report = tmp_path / "report.html"
    _assert_one_line_error(_run("report", adult_csv, data, "-o", report), name, problem)
    assert not report.exists()


def test_missing_input_file(tmp_path: Path) -> None:
    result = _run("fit", tmp_path / "nope.csv", "-o", tmp_path / "m.lookalike")
    _assert_one_line_error(result, "nope.csv", "does not exist")
    _assert_one_line_error(_run("inspect", tmp_path / "nope.csv"), "nope.csv", "does not exist")


def test_output_folder_missing_is_reported_before_reading(tmp_path: Path, adult_csv: Path) -> None:
    result = _run("fit", adult_csv, "-o", tmp_path / "no" / "m.lookalike")
    _assert_one_line_error(result, "does not exist")


# --- bad models and arguments ------------------------------------------------------------------------


def _truncated_zip(path: Path, source: Path) -> None:
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])


def _random_bytes(path: Path, source: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(2048))


def _zip_of_other_things(path: Path, source: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a model")


@pytest.mark.parametrize("corrupt", [_truncated_zip, _random_bytes, _zip_of_other_things])
def test_corrupt_model_files(
    tmp_path: Path, model_file: Path, corrupt: Callable[[Path, Path], None]
) -> None:
    bad = tmp_path / "bad.lookalike"
    corrupt(bad, model_file)
    out = tmp_path / "out.csv"
    _assert_one_line_error(_run("sample", bad, "-n", "10", "-o", out), "bad.lookalike")
    assert not out.exists()
    _assert_one_line_error(_run("inspect", bad), "bad.lookalike")


@pytest.mark.parametrize("rows", ["0", "-5", "abc", "1.5", ""])
def test_sample_rejects_bad_row_counts(tmp_path: Path, model_file: Path, rows: str) -> None:
    out = tmp_path / "out.csv"
    result = _run("sample", model_file, "-n", rows, "-o", out)
    _assert_one_line_error(result, "-n must be a whole number >= 1", code=2)
    assert not out.exists()


@pytest.mark.parametrize(
    ("condition", "problem", "code"),
    [
        ("nosuchcolumn=1", "unknown column(s) ['nosuchcolumn']", 1),
        ("age=abc", "column 'age' holds whole numbers; 'abc' is not one", 1),
        # Past int64: it used to wrap to -9223372036854775808 in every row.
        ("age=99999999999999999999", "holds whole numbers from -9223372036854775808", 1),
        ("age", "--condition must look like column=value", 2),
        ("=40", "--condition must look like column=value", 2),
    ],
)
def test_sample_rejects_bad_conditions(
    tmp_path: Path, model_file: Path, condition: str, problem: str, code: int
) -> None:
    out = tmp_path / "out.csv"
    result = _run("sample", model_file, "-n", "10", "-o", out, "--condition", condition)
    _assert_one_line_error(result, problem, code=code)
    assert not out.exists()


def test_schema_file_problems(tmp_path: Path, adult_csv: Path) -> None:
    model = tmp_path / "m.lookalike"
    result = _run("fit", adult_csv, "-o", model, "--schema", tmp_path / "nope.json")
    _assert_one_line_error(result, "nope.json", "does not exist")
    overrides = tmp_path / "overrides.json"
    overrides.write_text('{"nosuchcolumn": "categorical"}')
    _assert_one_line_error(
        _run("fit", adult_csv, "-o", model, "--schema", overrides), "nosuchcolumn"
    )
    not_utf8 = tmp_path / "latin.json"
    not_utf8.write_bytes(b'\xff\xfe{"age": "categorical"}')
    _assert_one_line_error(
        _run("fit", adult_csv, "-o", model, "--schema", not_utf8), "latin.json", "utf-8"
    )
    _assert_one_line_error(
        _run("fit", adult_csv, "-o", model, "--schema", tmp_path), "is a folder, not a file"
    )
    public = tmp_path / "public.yaml"
    public.write_text("age: {bounds: [17, 90]}\n")
    _assert_one_line_error(
        _run("fit", adult_csv, "-o", model, "--schema", public),
        "['bounds'] apply only to a differentially private model",
        "--epsilon",
    )
    assert not model.exists()


def test_a_malformed_scenario_or_rules_file_is_named(
    tmp_path: Path, adult_csv: Path, model_file: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("conditions: [1, 2\n")
    out = tmp_path / "out.csv"
    result = _run("sample", model_file, "-n", "5", "-o", out, "--scenario", bad)
    _assert_one_line_error(result, "bad.yaml", "while parsing a flow sequence")
    assert "bug" not in result.stderr
    assert not out.exists()
    model = tmp_path / "m.lookalike"
    _assert_one_line_error(_run("fit", adult_csv, "-o", model, "--rules", bad), "bad.yaml")
    assert not model.exists()
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    result = _run("sample", model_file, "-n", "5", "-o", out, "--scenario", empty)
    _assert_one_line_error(result, "empty.yaml", "is empty")
    assert not out.exists()


def test_a_column_fixed_by_both_condition_and_scenario_is_refused(
    tmp_path: Path, model_file: Path
) -> None:
    scenario = tmp_path / "men.yaml"
    scenario.write_text("conditions:\n  sex: Male\n")
    out = tmp_path / "out.csv"
    result = _run(
        "sample", model_file, "-n", "5", "-o", out, "--condition", "sex=Female",
        "--scenario", scenario,
    )  # fmt: skip
    _assert_one_line_error(result, "both fix sex", code=2)
    assert not out.exists()


def test_fit_rules_from_a_scenario_warns_that_its_other_controls_are_unused(
    tmp_path: Path, adult_csv: Path
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("conditions:\n  sex: Male\nrules:\n  - age >= 17\n")
    model = tmp_path / "m.lookalike"
    result = _run("fit", adult_csv, "-o", model, "--rules", scenario)
    assert result.exit_code == 0, result.output
    assert "warning: " in result.stderr and "also has conditions" in result.stderr


@pytest.mark.parametrize("option", ["-o", "--json"])
def test_report_files_must_be_named_for_what_they_hold(
    tmp_path: Path, adult_csv: Path, option: str
) -> None:
    names = {"-o": tmp_path / "r.html", "--json": tmp_path / "r.json"}
    names[option] = tmp_path / "r.csv"
    result = _run("report", adult_csv, adult_csv, "-o", names["-o"], "--json", names["--json"])
    _assert_one_line_error(result, f"{option} ", "r.csv", "is named like a table", code=2)
    assert not any(path.exists() for path in names.values())
    # HTML in a file named .json (or JSON in .html) would be opened by the wrong program.
    names = {"-o": tmp_path / "r.html", "--json": tmp_path / "r.json"}
    names[option] = tmp_path / ("page.json" if option == "-o" else "numbers.html")
    result = _run("report", adult_csv, adult_csv, "-o", names["-o"], "--json", names["--json"])
    suffix = ".html or .htm" if option == "-o" else ".json"
    _assert_one_line_error(result, f"{option} ", f"name it with {suffix}.", code=2)
    assert not any(path.exists() for path in names.values())


def test_a_budget_or_row_count_that_cannot_be_read(
    tmp_path: Path, adult_csv: Path, model_file: Path
) -> None:
    model = tmp_path / "m.lookalike"
    result = _run("fit", adult_csv, "-o", model, "--epsilon", "abc")
    _assert_one_line_error(result, "--epsilon must be a number > 0; got 'abc'", code=2)
    result = _run("fit", adult_csv, "-o", model, "--epsilon", "1", "--delta", "x")
    _assert_one_line_error(result, "--delta must be a number", code=2)
    result = _run("fit", adult_csv, "-o", model, "--epsilon", "1", "--delta", "2")
    _assert_one_line_error(result, "--delta must be a number between 0 and 1; got '2'", code=2)
    for budget in ("0", "-1", "inf", "nan"):  # read as numbers, but no budget: usage errors too
        result = _run("fit", adult_csv, "-o", model, "--epsilon", budget)
        _assert_one_line_error(result, f"--epsilon must be a number > 0; got '{budget}'", code=2)
    assert not model.exists()
    assert not model.exists()
    out = tmp_path / "out.csv"
    result = _run("sample", model_file, "-n", "99999999999999999999", "-o", out)
    _assert_one_line_error(result, "-n must be at most 1,000,000,000", code=2)
    assert not out.exists()


def test_schema_file_overrides_a_column_kind(tmp_path: Path, adult_csv: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text('{"education_num": "categorical"}')
    model = tmp_path / "m.lookalike"
    assert _run("fit", adult_csv, "-o", model, "--schema", overrides).exit_code == 0
    shown = _run("inspect", model).stdout
    line = next(row for row in shown.splitlines() if "education_num" in row)
    assert "categorical" in line


def test_bad_seed(tmp_path: Path, adult_csv: Path) -> None:
    result = _run("fit", adult_csv, "-o", tmp_path / "m.lookalike", "--seed", "-1")
    _assert_one_line_error(result, "--seed must be a whole number >= 0", code=2)


def test_unsupported_output_type_is_reported_before_sampling(
    tmp_path: Path, model_file: Path
) -> None:
    result = _run("sample", model_file, "-n", "10", "-o", tmp_path / "out.xlsx")
    _assert_one_line_error(result, "unsupported type (.xlsx)", code=2)  # a usage error


# --- never overwrite without --force -------------------------------------------------------------------


def test_existing_outputs_are_untouched_without_force(
    tmp_path: Path, adult_csv: Path, model_file: Path
) -> None:
    existing, existing_json = tmp_path / "existing", tmp_path / "existing.json"
    existing.write_bytes(b"keep me")
    commands = [
        ["fit", adult_csv, "-o", existing],
        ["sample", model_file, "-n", "5", "-o", tmp_path / "existing.csv"],
        ["report", adult_csv, adult_csv, "-o", tmp_path / "existing.html"],
        ["report", adult_csv, adult_csv, "-o", tmp_path / "new.html", "--json", existing_json],
    ]
    for path in (existing_json, tmp_path / "existing.csv", tmp_path / "existing.html"):
        path.write_bytes(b"keep me")
    for command in commands:
        _assert_one_line_error(_run(*command), "already exists", "--force")
    for name in ("existing", "existing.csv", "existing.html", "existing.json"):
        assert (tmp_path / name).read_bytes() == b"keep me"
    assert not (tmp_path / "new.html").exists()


def test_an_input_is_never_an_output_even_with_force(
    tmp_path: Path, adult_csv: Path, model_file: Path
) -> None:
    data = tmp_path / "data.csv"
    data.write_bytes(adult_csv.read_bytes())
    model = tmp_path / "model.lookalike"
    model.write_bytes(model_file.read_bytes())
    schema = tmp_path / "schema.json"
    schema.write_text('{"age": "continuous"}')
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    commands = [
        (["fit", data, "-o", data], data),
        (["fit", data, "-o", tmp_path / "." / "schema.json", "--schema", schema], schema),
        (["sample", model, "-n", "5", "-o", model], model),
        (["sample", model, "-o", link, "--seed-rows", data], link),
        (["report", data, data, "-o", tmp_path / "r.html", "--json", data], data),
        (["pii", data, "-o", data], data),
    ]
    before = {path: path.read_bytes() for path in (data, model, schema)}
    for command, output in commands:
        _assert_one_line_error(
            _run(*command, "--force"), f"Output file '{output}' is the input", code=2
        )
    assert {path: path.read_bytes() for path in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["data.csv", "model.lookalike", "schema.json", "link.csv"]
    )


@pytest.mark.parametrize(
    "name", ["model.csv", "model.TSV", "model.parquet", "model.csv.gz", "m.gz"]
)
def test_a_model_is_not_written_under_a_table_name(
    tmp_path: Path, adult_csv: Path, name: str
) -> None:
    result = _run("fit", adult_csv, "-o", tmp_path / name)
    _assert_one_line_error(result, "named like a table", "*.lookalike", code=2)
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_to_overwrite_before_doing_any_work(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{}")
    result = _run("demo", "-o", tmp_path)
    _assert_one_line_error(result, "report.json", "already exists")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert (tmp_path / "report.json").read_text() == "{}"


def test_demo_rejects_bad_row_counts(tmp_path: Path) -> None:
    _assert_one_line_error(_run("demo", "-o", tmp_path / "d", "--rows", "0"), "--rows", code=2)
    _assert_one_line_error(
        _run("demo", "-o", tmp_path / "d", "--rows", "99999999"), "--rows", code=2
    )
    assert not (tmp_path / "d").exists()


# --- happy paths -----------------------------------------------------------------------------------


def test_version() -> None:
    result = _run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"lookalike {__version__}"


def test_help_shows_square_brackets_as_written() -> None:
    # Rich reads "[low, high]" as a markup tag and drops it unless the help escapes it.
    result = runner.invoke(app, ["fit", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "--schema ('bounds': [low, high], 'categories': [...])." in result.stdout


def _commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return dict(group.commands)


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_help_is_shown_whole(name: str) -> None:
    command = _commands()[name]
    result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())
    for param in command.params:
        written = " ".join((getattr(param, "help", None) or "").split()).replace("\\[", "[")
        assert written in shown, f"{name} {param.name}: {written!r}"


def test_fit_sample_inspect(tmp_path: Path, adult_csv: Path, model_file: Path) -> None:
    out = tmp_path / "synthetic.csv"
    result = _run("sample", model_file, "-n", "200", "-o", out, "--seed", "1")
    assert result.exit_code == 0, result.output
    synthetic = read_table(out)
    assert len(synthetic) == 200
    assert list(synthetic.columns) == list(read_table(adult_csv).columns)

    # Same seed, same rows; --force replaces the file.
    again = _run("sample", model_file, "-n", "200", "-o", out, "--seed", "1", "--force")
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(read_table(out), synthetic)

    shown = _run("inspect", model_file)
    assert shown.exit_code == 0, shown.output
    assert "hours_per_week" in shown.stdout
    assert "random_state=3" in shown.stdout

    table = _run("inspect", adult_csv)
    assert table.exit_code == 0, table.output
    assert "500 rows x 15 columns" in table.stdout
    assert "categorical" in table.stdout


def test_sample_with_conditions_fixes_the_columns(tmp_path: Path, model_file: Path) -> None:
    out = tmp_path / "conditioned.parquet"
    result = _run(
        "sample", model_file, "-n", "50", "-o", out, "--condition", "age=40", "-c", "sex=Female"
    )
    assert result.exit_code == 0, result.output
    synthetic = read_table(out)
    assert synthetic["age"].tolist() == [40] * 50
    assert set(synthetic["sex"]) == {"Female"}


def test_a_condition_on_a_column_whose_name_holds_an_equals_sign(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x=y": rng.choice(["on", "off"], 300), "z": rng.normal(size=300)})
    model = la.Synthesizer(random_state=0).fit(table).save(tmp_path / "m.lookalike")
    out = tmp_path / "out.csv"
    result = _run("sample", model, "-n", "20", "-o", out, "-c", "x=y=on")
    assert result.exit_code == 0, result.output
    assert set(read_table(out)["x=y"]) == {"on"}


def test_conditions_on_durations_and_times_of_day_read_the_columns_values(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "wait": pd.to_timedelta(rng.integers(60, 7_200, 300), unit="s").astype(
                "timedelta64[s]"
            ),
            "at": pd.array(
                [pd.Timestamp(int(s), unit="s").time() for s in rng.integers(0, 86_400, 300)],
                dtype="time64[us][pyarrow]",
            ),
        }
    )
    model = la.Synthesizer(random_state=0).fit(table).save(tmp_path / "m.lookalike")
    out = tmp_path / "out.parquet"
    # A number counts the column's unit (seconds here): 600 is ten minutes, not 600 ns.
    result = _run("sample", model, "-n", "5", "-o", out, "-c", "wait=600", "-c", "at=10:30:00")
    assert result.exit_code == 0, result.output
    written = read_table(out)
    assert (written["wait"] == pd.Timedelta(minutes=10)).all()
    assert written["at"].astype(str).tolist() == ["10:30:00"] * 5


def test_parquet_text_keeps_its_arrow_string_types(tmp_path: Path) -> None:
    """Text that pandas wrote from string[pyarrow] came back as large_string, and dates from
    large_string[pyarrow] as string."""
    days = pd.Series(pd.date_range("2020-01-01", periods=200).strftime("%Y-%m-%d"))
    frame = pd.DataFrame(
        {
            "day": days.astype(pd.ArrowDtype(pa.large_string())),
            "code": days.str[-1].astype(pd.ArrowDtype(pa.string())),
        }
    )
    source, model, out = tmp_path / "in.parquet", tmp_path / "m.lookalike", tmp_path / "o.parquet"
    frame.to_parquet(source)
    assert _run("fit", source, "-o", model).exit_code == 0
    result = _run("sample", model, "-n", "20", "-o", out)
    assert result.exit_code == 0, result.output
    assert pq.read_schema(out).types == [pa.large_string(), pa.string()]


def test_output_names_with_brackets_are_printed_whole(tmp_path: Path, model_file: Path) -> None:
    out = tmp_path / "out[v2].csv"
    result = _run("sample", model_file, "-n", "5", "-o", out)
    assert result.exit_code == 0, result.output
    assert "out[v2].csv" in result.stdout.replace("\n", "")


def test_sample_completes_seed_rows(tmp_path: Path, model_file: Path) -> None:
    seeds = tmp_path / "seeds.csv"
    seeds.write_text("age,sex\n39,Male\n,Female\n70,\n", encoding="utf-8")
    out = tmp_path / "filled.csv"
    result = _run("sample", model_file, "--seed-rows", seeds, "-o", out, "--seed", "1")
    assert result.exit_code == 0, result.output
    filled = read_table(out)
    # One row per seed row; the given cells are kept, the empty ones drawn.
    assert len(filled) == 3
    assert filled["age"].iloc[0] == 39 and filled["age"].iloc[2] == 70
    assert list(filled["sex"].iloc[:2]) == ["Male", "Female"]
    assert filled[["age", "sex", "income"]].notna().all().all()
    _assert_one_line_error(
        _run("sample", model_file, "--seed-rows", seeds, "-n", "5", "-o", tmp_path / "x.csv"),
        "must match the number of seed rows",
    )
    _assert_one_line_error(
        _run("sample", model_file, "--seed-rows", seeds, "-c", "age=30", "-o", tmp_path / "x.csv"),
        "cannot be combined",
        code=2,
    )
    _assert_one_line_error(
        _run("sample", model_file, "-o", tmp_path / "x.csv"), "number of rows", code=2
    )
    assert not (tmp_path / "x.csv").exists()


def test_data_warnings_are_shown_as_one_line(tmp_path: Path) -> None:
    data = tmp_path / "latin.csv"
    data.write_bytes("city,n\nMünchen,1\nKöln,2\n".encode("cp1252"))
    result = _run("inspect", data)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert "not valid UTF-8" in warnings[0]


def test_report_writes_html_and_json(tmp_path: Path, adult_csv: Path, model_file: Path) -> None:
    synthetic = tmp_path / "synthetic.csv"
    assert _run("sample", model_file, "-n", "500", "-o", synthetic).exit_code == 0
    holdout = tmp_path / "holdout.csv"
    load_adult("test").head(300).to_csv(holdout, index=False)
    html, numbers = tmp_path / "report.html", tmp_path / "report.json"
    result = _run(
        "report", adult_csv, synthetic, "--holdout", holdout, "--target", "income",
        "-o", html, "--json", numbers,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert isinstance(json.load(io.StringIO(numbers.read_text(encoding="utf-8"))), dict)


def test_report_writes_neither_file_when_one_cannot_be_written(
    tmp_path: Path, adult_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_text = Path.write_text

    def full_disk_for_json(path: Path, *args: Any, **kwargs: Any) -> int:
        if path.name.startswith(".r.json."):  # the JSON's temporary file
            raise OSError(28, "No space left on device", str(path))
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk_for_json)
    folder = tmp_path / "out"
    folder.mkdir()
    result = _run(
        "report", adult_csv, adult_csv, "-o", folder / "r.html", "--json", folder / "r.json"
    )
    _assert_one_line_error(result, "No space left on device")
    # The HTML was written first and stayed, looking like a finished report.
    assert list(folder.iterdir()) == []


def test_report_leaves_out_keys_and_pii_unless_the_schema_says(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for first_id in (0, 1000):
        ids = np.arange(first_id, first_id + 200)
        path = tmp_path / f"table{first_id}.csv"
        pd.DataFrame(
            {
                "customer_id": ids,
                "email": [f"client{i}@example.org" for i in ids],
                "x": rng.normal(size=200),
            }
        ).to_csv(path, index=False)
        paths.append(path)
    result = _run("report", *paths, "-o", tmp_path / "report.html", "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    expected = "Not compared: customer_id (key, regenerated), email (PII, replaced with fakes)"
    assert expected in result.stdout
    overrides = tmp_path / "schema.yaml"
    overrides.write_text("email:\n  pii: null\n  kind: categorical\n", encoding="utf-8")
    result = _run(
        "report", *paths, "-o", tmp_path / "r2.html", "--json", tmp_path / "r2.json",
        "--schema", overrides,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Not compared: customer_id (key, regenerated)\n" in result.stdout
    numbers = json.loads((tmp_path / "r2.json").read_text(encoding="utf-8"))
    assert numbers["excluded_columns"] == {"customer_id": "key, regenerated"}
    missing = _run("report", *paths, "-o", tmp_path / "r3.html", "--schema", tmp_path / "no.json")
    _assert_one_line_error(missing, "does not exist")


def test_report_checks_the_rules_of_a_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for name in ("real", "synthetic"):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"x": rng.normal(size=200), "y": rng.choice(["a", "b"], size=200)}).to_csv(
            path, index=False
        )
        paths.append(path)
    rules = tmp_path / "rules.yaml"
    rules.write_text('rules:\n  - "x >= 0"\n  - y in ("a", "b")\n', encoding="utf-8")
    result = _run(
        "report", *paths, "-o", tmp_path / "r.html", "--json", tmp_path / "r.json", "--rules", rules
    )
    assert result.exit_code == 0, result.output
    assert "warning: The real data breaks 'x >= 0'" in result.stderr
    assert "rules:" in result.stdout
    numbers = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [r["rule"] for r in numbers["rules"]["synthetic"]] == ["x >= 0", 'y in ("a", "b")']
    assert 'id="rules"' in (tmp_path / "r.html").read_text(encoding="utf-8")
    empty = tmp_path / "empty.yaml"
    empty.write_text("name: nothing\n", encoding="utf-8")
    _assert_one_line_error(
        _run("report", *paths, "-o", tmp_path / "r2.html", "--rules", empty),
        "no 'rules:' list",
        code=2,
    )
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text('rules: ["z > 1"]\n', encoding="utf-8")
    _assert_one_line_error(
        _run("report", *paths, "-o", tmp_path / "r3.html", "--rules", unknown), "'z'"
    )


def test_fit_learns_rules_from_a_file_and_inspect_lists_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    country = rng.choice(["FR", "US"], size=400)
    city = np.where(
        country == "FR", rng.choice(["Paris", "Lyon"], 400), rng.choice(["NYC", "LA"], 400)
    )
    price = rng.integers(1, 50, size=400)
    table = tmp_path / "orders.csv"
    pd.DataFrame({"country": country, "city": city, "price": price, "tax": price // 5}).to_csv(
        table, index=False
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text('rules:\n  - "city within country"\n  - "tax <= price"\n', encoding="utf-8")
    model = tmp_path / "m.lookalike"
    assert _run("fit", table, "-o", model, "--rules", rules, "--seed", "1").exit_code == 0
    shown = _run("inspect", model)
    assert shown.exit_code == 0, shown.output
    assert "city within country" in shown.stdout and "tax <= price" in shown.stdout
    out = tmp_path / "s.csv"
    # The within rule learned its combinations at fit time: a condition on the parent is enough.
    assert _run("sample", model, "-n", "500", "-o", out, "-c", "country=US").exit_code == 0
    rows = pd.read_csv(out)
    assert set(rows["city"]) <= {"NYC", "LA", "_RARE_"} and (rows["tax"] <= rows["price"]).all()
    empty = tmp_path / "empty.yaml"
    empty.write_text("name: nothing\n", encoding="utf-8")
    _assert_one_line_error(
        _run("fit", table, "-o", tmp_path / "m2.lookalike", "--rules", empty),
        "no 'rules:' list",
        code=2,
    )
    assert not (tmp_path / "m2.lookalike").exists()


@pytest.mark.slow
def test_demo_on_a_slice(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = _run("demo", "-o", folder, "--rows", "1000")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["adult_synthetic.csv", "adult.lookalike", "report.html", "report.json"]
    )
    assert len(read_table(folder / "adult_synthetic.csv")) == 1000
    for name in ("adult_synthetic.csv", "report.json"):
        assert str(folder / name) in result.stdout
    # The report says what the model promises (the default protections), next to the attacks.
    assert 'id="guarantee"' in (folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_demo_stopped_while_writing_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo wrote its four files one by one: stopped while writing the report, it left the
    synthetic rows and the model (and said nothing was written), and the next run refused to
    overwrite them."""
    import lookalike.io

    written = lookalike.io.write_text

    def stopped(text: str, path: Path, **kwargs: Any) -> Path:
        if Path(path).suffix == ".html":
            raise KeyboardInterrupt
        return written(text, path, **kwargs)

    monkeypatch.setattr(lookalike.io, "write_text", stopped)
    folder = tmp_path / "demo"
    result = _run("demo", "-o", folder, "--rows", "500")
    assert result.exit_code == 130, result.output
    assert not folder.exists() and [p.name for p in tmp_path.iterdir()] == []
    # Into a folder that holds other files: they stay, and nothing is added.
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert _run("demo", "-o", folder, "--rows", "500").exit_code == 130
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_while_the_command_loads_is_one_line(stop: int, code: int) -> None:
    """Loading the package takes about two seconds; Ctrl-C then printed a traceback (or
    "ImportError: initialization failed") and SIGTERM ended it silently. The signal is sent
    as pandas starts to load, as if the user had pressed Ctrl-C then."""
    script = (
        "import importlib.abc, os, sys\n"
        "import lookalike_cli\n"
        "class Stop(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        f"        if name == 'pandas': os.kill(os.getpid(), {int(stop)})\n"
        "sys.meta_path.insert(0, Stop())\n"
        "sys.argv = ['lookalike', '--version']\n"
        "lookalike_cli.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == code, done.stderr
    assert done.stderr == "error: stopped while starting; no output was written.\n"
    assert done.stdout == ""


# --- exceptions become one line, never a traceback ---------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(13, "Permission denied", "locked.csv"), "Permission denied: 'locked.csv'"),
        (RuntimeError("boom"), "unexpected RuntimeError: boom"),
        (ValueError("first line\nsecond line"), "first line second line"),
    ],
)
def test_any_exception_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, expected: str
) -> None:
    def fail(source: object) -> None:
        raise error

    monkeypatch.setattr("lookalike.io.read_table", fail)
    result = _run("fit", tmp_path / "locked.csv", "-o", tmp_path / "m.lookalike")
    _assert_one_line_error(result, expected)
    assert not (tmp_path / "m.lookalike").exists()


def test_report_adds_stress_tests_and_experiments_from_their_json(tmp_path: Path) -> None:
    import lookalike as la

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.integers(0, 100, 300), "y": rng.choice(["a", "b"], 300)})
    real, synthetic = tmp_path / "real.csv", tmp_path / "synthetic.csv"
    table.to_csv(real, index=False)
    table.sample(frac=1.0, random_state=1).to_csv(synthetic, index=False)
    model = la.Synthesizer(random_state=0).fit(table)
    stress = la.stress_test(
        lambda rows: ["a"] * len(rows),
        model,
        {"high x": {"conditions": {"x": (50, 99)}}},
        "y",
        n=100,
    )
    board = la.experiment(table, model, [{"n": 100}], "y", table, progress=False)
    stress_json, board_json = tmp_path / "stress.json", tmp_path / "board.json"
    stress.to_json(stress_json)
    board.to_json(board_json)
    html = tmp_path / "r.html"
    result = _run(
        "report", real, synthetic, "-o", html, "--stress", stress_json, "--experiment", board_json
    )
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert '<section id="stress-test">' in text and '<section id="experiment">' in text
    assert "high x" in text
    _assert_one_line_error(
        _run("report", real, synthetic, "-o", tmp_path / "r2.html", "--stress", board_json),
        "holds an experiment leaderboard, not a stress test: give it with --experiment.",
        code=2,
    )
    garbage = tmp_path / "other.json"
    garbage.write_text('{"rows": 3}')
    _assert_one_line_error(
        _run("report", real, synthetic, "-o", tmp_path / "r2.html", "--audit", garbage),
        "is not a privacy audit written by to_json",
        code=2,
    )
    assert not (tmp_path / "r2.html").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["fit"], "missing argument 'DATA'. See 'lookalike fit --help'."),
        (["sample", "m.lookalike", "-n", "5"], "missing option '-o'"),
        (["fit", "x.csv", "-o", "m.lookalike", "--xyzzy"], "no such option: --xyzzy."),
        (["fitt"], "no such command 'fitt'. Did you mean 'fit'?"),
        (["report"], "missing argument 'REAL'."),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(args: list[str], fragment: str) -> None:
    result = _run(*args)
    _assert_one_line_error(result, fragment, code=2)
    assert "╭" not in result.output and "Usage:" not in result.output


def test_the_bare_command_still_prints_its_help() -> None:
    result = _run()
    assert result.exit_code == 2
    assert "Usage: lookalike" in result.output and "error:" not in result.output
    assert "fit" in result.output and "sample" in result.output


def test_sigterm_while_writing_leaves_no_file(tmp_path: Path) -> None:
    """A scheduler's timeout (SIGTERM) during the write removes the temporary file, as Ctrl-C
    does: it used to stay behind as a hidden ``.out.csv.<hex>.tmp``."""
    import os
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=500), "g": rng.choice(["a", "b"], 500)})
    model = tmp_path / "m.lookalike"
    la.Synthesizer(random_state=0).fit(table).save(model)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [sys.executable, "-m", "lookalike", "sample", str(model), "-n", "3000000"]
    process = subprocess.Popen(
        [*command, "-o", str(out_dir / "s.csv")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while not any(out_dir.iterdir()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the sample finished before the test could stop it"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143
    assert "terminated" in err.decode() and "Traceback" not in err.decode()
    assert list(out_dir.iterdir()) == []


def test_missing_scenario_rules_and_result_files_are_named(
    tmp_path: Path, adult_csv: Path, model_file: Path
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    out = tmp_path / "out.csv"
    for option, role in (("--scenario", "Scenario file"), ("--rules", "Rules file")):
        command = (
            ("sample", model_file, "-n", "5", "-o", out)
            if option == "--scenario"
            else ("fit", adult_csv, "-o", tmp_path / "m.lookalike")
        )
        result = _run(*command, option, tmp_path / "nope.yaml")
        _assert_one_line_error(result, role, "nope.yaml", "does not exist")
        result = _run(*command, option, folder)
        _assert_one_line_error(result, role, "is a folder, not a file")
    result = _run("report", adult_csv, adult_csv, "-o", tmp_path / "r.html", "--audit", folder)
    _assert_one_line_error(result, "Result file", "is a folder, not a file")
    result = _run("report", adult_csv, adult_csv, "-o", tmp_path / "r.html", "--audit", "no.json")
    _assert_one_line_error(result, "Result file", "no.json", "does not exist")
    assert not out.exists() and not (tmp_path / "r.html").exists()


def test_inspect_shows_dtypes_with_brackets_and_the_categories_dtype(tmp_path: Path) -> None:
    """Rich read ``[pyarrow]`` and ``[us]`` as markup and dropped them."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "n": pd.array(rng.integers(0, 100, 300), dtype="int64[pyarrow]"),
            "size": pd.Categorical(rng.choice([10, 20], 300)),
            "day": pd.Categorical(rng.choice(pd.DatetimeIndex(["2020-01-01", "2021-01-01"]), 300)),
        }
    )
    model = la.Synthesizer(random_state=0).fit(frame).save(tmp_path / "m.lookalike")
    shown = runner.invoke(app, ["inspect", str(model)])
    assert shown.exit_code == 0, shown.output
    assert "int64[pyarrow]" in shown.output
    assert "category_dtype" in shown.output and "int64" in shown.output
    assert "datetime64[us]" in shown.output.replace("\n", "")
