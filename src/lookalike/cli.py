"""The ``lookalike`` command: parse arguments, call the library, report errors in one line.

This is the only module that turns exceptions into exit codes: a lookalike error, a bad value or an
operating-system error (permission denied, disk full) prints ``error: <what went wrong>`` on stderr
and exits with 1; a bad command line exits with 2. No traceback is ever shown. Every output is
checked before the long work starts, and no existing file is replaced without ``--force``.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup
from typer.exceptions import TyperException

from lookalike import __version__
from lookalike.errors import ConditionError, DataWarning, LookalikeError, warn_data

if TYPE_CHECKING:
    import pandas as pd

    from lookalike.evaluate import PrivacyAudit
    from lookalike.sample import Synthesizer
    from lookalike.scenarios import ExperimentResult, StressTestResult

    _Result = TypeVar("_Result", StressTestResult, ExperimentResult, PrivacyAudit)

__all__ = ["app", "main"]


class _OneLineUsageErrors(TyperGroup):
    """Usage errors (a missing argument, an unknown option, a value of the wrong type) print one
    ``error:`` line with exit code 2, like every other error of the CLI, not typer's framed box."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        call = (args, prog_name, complete_var, False, windows_expand_args)
        if not standalone_mode:
            return super().main(*call, **extra)
        try:
            code = super().main(*call, **extra)
        except TyperException as exc:
            # The bare command has already printed its help; other errors say what went wrong.
            if type(exc).__name__ != "NoArgsIsHelpError":
                message = exc.format_message().rstrip()
                context = getattr(exc, "ctx", None)
                if context is not None:
                    stop = "" if message.endswith((".", "?", "!")) else "."
                    message += f"{stop} See '{context.command_path} --help'."
                _print_problem("error", message[:1].lower() + message[1:], "bold red")
            sys.exit(exc.exit_code)
        except typer.Abort:
            _print_problem("error", "aborted.", "bold red")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineUsageErrors,
    name="lookalike",
    help="Synthetic tables with the statistics of real ones, and measured fidelity and privacy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Resolved at print time, so redirected streams (tests, pipes) are honoured.
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

_MODEL_SUFFIX = ".lookalike"
_MAX_ROWS = 1_000_000_000
_DEMO_FILES = ("adult_synthetic.csv", "adult.lookalike", "report.html", "report.json")


class _UsageProblem(Exception):
    """A command-line value that parses but makes no sense (``-n 0``); exits with code 2."""


# --- commands -----------------------------------------------------------------------------------


def _show_version(value: bool) -> None:
    if value:
        _out.print(f"lookalike {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Learn from a real table, sample synthetic rows, and measure how good and how private they are."""


@app.command()
def fit(
    data: Annotated[
        Path,
        typer.Argument(metavar="DATA", help="Table to learn: .csv, .csv.gz, .tsv, .parquet."),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file to write.")],
    seed: Annotated[
        str | None,
        typer.Option(
            "--seed",
            metavar="N",
            help="Whole number >= 0; same seed, same model (default: a fresh random seed, "
            "recorded in the model).",
        ),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="JSON/YAML file fixing some column kinds.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the model file.")] = False,
    epsilon: Annotated[
        str | None,
        typer.Option(
            "--epsilon",
            metavar="EPS",
            help="Differential privacy: the model is (epsilon, delta)-DP. Public bounds and "
            "categories may be given in --schema ('bounds': \\[low, high], 'categories': [...]).",
        ),
    ] = None,
    delta: Annotated[
        str | None,
        typer.Option("--delta", metavar="DELTA", help="The delta of --epsilon (default 1e-9)."),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="YAML/JSON file with a 'rules:' list (a scenario file's rules, not its other "
            "controls): every sampled row obeys them, and 'within' rules learn their allowed "
            "combinations here.",
        ),
    ] = None,
    jobs: Annotated[
        str | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            help="Threads that grow the trees (default: the CPUs this process may use, at most "
            "$OMP_NUM_THREADS when set; -1: all). The model is the same whatever N is.",
        ),
    ] = None,
) -> None:
    """Learn a table and save the model."""
    with _reported_errors():
        random_state = _parse_seed(seed)
        n_jobs = _parse_jobs(jobs)
        eps, dlt = _parse_budget(epsilon, "--epsilon"), _parse_budget(delta, "--delta")
        from lookalike.io import check_output_path, read_table

        _check_not_inputs([output], [data, schema, rules])
        _check_model_name(output)
        check_output_path(output, force=force)
        import lookalike as la

        overrides = la.load_schema_overrides(schema) if schema is not None else None
        declared = _read_rules(rules) if rules is not None else None
        frame = read_table(data)
        started = time.perf_counter()
        model = la.Synthesizer(random_state=random_state, epsilon=eps, delta=dlt).fit(
            frame, schema=overrides, rules=declared, progress=True, n_jobs=n_jobs
        )
        model.save(output, force=force)
        _out.print(
            f"Learned {len(frame):,} rows x {frame.shape[1]} columns in "
            f"{time.perf_counter() - started:.1f} s; model saved to {output}",
            soft_wrap=True,
            markup=False,
        )
        links = model.describe().get("links") or []
        if links:
            _out.print(
                f"Kept exactly in samples ({len(links)} link(s) found): " + "; ".join(links),
                soft_wrap=True,
                markup=False,
            )


@app.command()
def sample(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="Model file from 'fit'.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Table to write: .csv, .csv.gz, .parquet.")
    ],
    rows: Annotated[
        str | None,
        typer.Option(
            "-n",
            "--rows",
            metavar="N",
            help="Number of rows to draw (>= 1; with --seed-rows, optional).",
        ),
    ] = None,
    seed: Annotated[
        str | None,
        typer.Option(
            "--seed",
            metavar="N",
            help="Whole number >= 0 (default: the model's, so the same rows every time).",
        ),
    ] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            "-c",
            metavar="COL=VALUE",
            help=(
                "Fix a column, e.g. --condition age=40, or a range --condition age=60..90 "
                "(repeatable; 'col=' asks for missing)."
            ),
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            help="YAML/JSON file of conditions, rebalance, shift, parity and rules.",
        ),
    ] = None,
    seed_rows: Annotated[
        Path | None,
        typer.Option(
            "--seed-rows",
            help="Table of seed rows: one synthetic row per seed row, its filled cells kept and "
            "its empty ones drawn (completes, or imputes, a table).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output table.")] = False,
) -> None:
    """Draw synthetic rows from a saved model, optionally under a scenario's controls."""
    with _reported_errors():
        if rows is None and seed_rows is None:
            raise _UsageProblem("Give the number of rows with -n N (or a table with --seed-rows).")
        n = None if rows is None else _parse_count(rows, "-n")
        random_state = _parse_seed(seed)
        raw_conditions = _parse_conditions(condition or [])
        if seed_rows is not None and raw_conditions:
            raise _UsageProblem(
                "--seed-rows and --condition cannot be combined: put the fixed "
                "values into the seed rows."
            )
        from lookalike.io import read_table

        _check_not_inputs([output], [model_path, scenario, seed_rows])
        _check_table_output(output, force=force)
        controls: dict[str, Any] = {}
        if scenario is not None:
            from lookalike.control import Scenario

            controls = Scenario.from_file(scenario).sample_kwargs()
        model = _load_model(model_path)
        from_scenario = controls.pop("conditions", {})
        from_options = _typed_conditions(model, raw_conditions)
        twice = sorted(set(from_scenario) & set(from_options), key=str)
        if twice:
            raise _UsageProblem(
                f"--condition and the scenario's conditions both fix {', '.join(twice)}: "
                "give each column's condition in one place."
            )
        conditions: Any = {**from_scenario, **from_options}
        if seed_rows is not None:
            if conditions:
                raise _UsageProblem(
                    "--seed-rows cannot be combined with the scenario's "
                    "conditions: put the fixed values into the seed rows."
                )
            conditions = read_table(seed_rows)
        elif not conditions:
            conditions = None
        started = time.perf_counter()
        table, report = model.sample_with_report(
            n,
            conditions=conditions,
            random_state=random_state,
            progress=True,
            **controls,
        )
        _write_rows(table, output, force=force)
        _out.print(
            f"Sampled {len(table):,} rows in {time.perf_counter() - started:.1f} s; "
            f"written to {output}",
            soft_wrap=True,
            markup=False,
        )
        if report is not None and report.targets:
            _out.print(report.to_text(), soft_wrap=True, markup=False, highlight=False)


@app.command()
def report(
    real: Annotated[Path, typer.Argument(metavar="REAL", help="The real (training) table.")],
    synthetic: Annotated[Path, typer.Argument(metavar="SYNTH", help="The synthetic table.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML report to write.")],
    holdout: Annotated[
        Path | None,
        typer.Option(
            "--holdout", help="Real rows not used for training (for privacy and utility)."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", metavar="COL", help="Column a downstream model would predict."),
    ] = None,
    sensitive: Annotated[
        str | None,
        typer.Option(
            "--sensitive",
            metavar="COLS",
            help="Comma-separated sensitive columns (e.g. sex,race) for the fairness section.",
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the numbers as JSON.")
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option(
            "--schema",
            help="JSON/YAML overrides of the real table's schema; key and PII columns are not "
            "compared.",
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="YAML/JSON file with a 'rules:' list (a scenario file's rules) to check on both "
            "tables.",
        ),
    ] = None,
    stress: Annotated[
        list[Path] | None,
        typer.Option(
            "--stress",
            help="JSON of a stress test (StressTestResult.to_json) to add as a section; "
            "repeatable.",
        ),
    ] = None,
    experiment: Annotated[
        list[Path] | None,
        typer.Option(
            "--experiment",
            help="JSON of an experiment leaderboard (ExperimentResult.to_json) to add as a "
            "section; repeatable.",
        ),
    ] = None,
    audit: Annotated[
        list[Path] | None,
        typer.Option(
            "--audit",
            help="JSON of a privacy audit (PrivacyAudit.to_json) to add as a section; repeatable.",
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="The model file that made SYNTH: the report shows what it promises (a DP "
            "model's epsilon and privacy ledger, or the default protections).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the report files.")] = False,
) -> None:
    """Measure fidelity, utility and privacy of a synthetic table against the real one."""
    with _reported_errors():
        from lookalike.io import TABLE_SUFFIXES, check_output_path, read_table, write_texts

        outputs = [output] if json_path is None else [output, json_path]
        inputs = [real, synthetic, holdout, schema, rules, model]
        _check_not_inputs(outputs, [*inputs, *(stress or ()), *(experiment or ()), *(audit or ())])
        # A report named like a table or a model would later be read as one (or, with --force,
        # replace one).
        for path, option, content, suffixes in (
            (output, "-o", "an HTML page", (".html", ".htm")),
            (json_path, "--json", "JSON", (".json",)),
        ):
            name = "" if path is None else path.name.lower()
            if name.endswith((*TABLE_SUFFIXES, ".gz", _MODEL_SUFFIX)):
                raise _UsageProblem(
                    f"{option} {str(path)!r} is named like a table or a model; it gets {content}."
                )
            if path is not None and not name.endswith(suffixes):
                raise _UsageProblem(
                    f"{option} {str(path)!r} gets {content}: name it with {' or '.join(suffixes)}."
                )
        _check_outputs(outputs, force=force)
        import lookalike as la

        overrides = la.load_schema_overrides(schema) if schema is not None else None
        rule_list = _read_rules(rules) if rules is not None else None
        extra: list[StressTestResult | ExperimentResult | PrivacyAudit] = [
            _read_result(path, la.StressTestResult) for path in stress or ()
        ]
        extra += [_read_result(path, la.ExperimentResult) for path in experiment or ()]
        extra += [_read_result(path, la.PrivacyAudit) for path in audit or ()]
        generator = _load_model(model) if model is not None else None
        real_frame = read_table(real)
        synthetic_frame = read_table(synthetic)
        holdout_frame = read_table(holdout) if holdout is not None else None
        started = time.perf_counter()
        result = la.evaluate(
            real_frame,
            synthetic_frame,
            holdout=holdout_frame,
            target=target,
            sensitive=None if sensitive is None else [c.strip() for c in sensitive.split(",")],
            schema=overrides,
            rules=rule_list,
            model=generator,
            progress=True,
        )
        # Checked again: the files may have appeared while we evaluated.
        for path in outputs:
            check_output_path(path, force=force)
        # Both files or neither: an HTML report left behind by a failed command looks finished.
        texts = [(result.to_html(extra=extra), output)]
        if json_path is not None:
            texts.append((result.to_json(), json_path))
        write_texts(texts, force=force)
        _out.print(
            f"Evaluated in {time.perf_counter() - started:.1f} s; report written to "
            + " and ".join(map(str, outputs)),
            soft_wrap=True,
            markup=False,
        )
        if result.excluded_columns:
            not_compared = ", ".join(f"{n} ({r})" for n, r in result.excluded_columns.items())
            _out.print(f"Not compared: {not_compared}", soft_wrap=True, markup=False)
        for line in result.rules.warnings if result.rules is not None else ():
            _print_problem("warning", line, "yellow")
        _print_verdicts(result.to_dict())


@app.command()
def inspect(
    path: Annotated[
        Path, typer.Argument(metavar="DATA_OR_MODEL", help="A table or a .lookalike model file.")
    ],
) -> None:
    """Show the inferred schema of a table, or the schema, parameters and seed of a model."""
    with _reported_errors():
        if not path.exists():
            raise LookalikeError(f"{str(path)!r} does not exist.")
        if _looks_like_model(path):
            _print_model(_load_model(path).describe())
            return
        from lookalike.io import read_table

        frame = read_table(path)
        import lookalike as la

        _print_table_schema(frame, la.infer_schema(frame).to_dict(), path)


@app.command()
def pii(
    data: Annotated[
        Path, typer.Argument(metavar="DATA", help="Real table whose PII columns are replaced.")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Table to write: .csv, .csv.gz, .parquet.")
    ],
    consistent: Annotated[
        bool,
        typer.Option(
            "--consistent", help="Give the same real value the same fake everywhere in the table."
        ),
    ] = False,
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale",
            metavar="LOCALE",
            help="Faker locale of the fakes, e.g. de_DE (default: the schema's, else en_US).",
        ),
    ] = None,
    seed: Annotated[
        str | None,
        typer.Option(
            "--seed",
            metavar="N",
            help="Whole number >= 0; same seed, same fakes (default: a fresh random seed).",
        ),
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option("--schema", help="JSON/YAML overrides, e.g. marking a column as PII."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output table.")] = False,
) -> None:
    """Pseudonymise a real table: replace its PII columns with realistic fakes."""
    with _reported_errors():
        random_state = _parse_seed(seed)
        from lookalike.io import read_table

        _check_not_inputs([output], [data, schema])
        _check_table_output(output, force=force)
        import lookalike as la

        overrides = la.load_schema_overrides(schema) if schema is not None else None
        frame = read_table(data)
        replaced_schema = la.infer_schema(frame, overrides)
        table = la.replace_pii(
            frame,
            replaced_schema,
            consistent=consistent,
            locale=locale,
            random_state=random_state,
        )
        _write_rows(table, output, force=force)
        columns = replaced_schema.pii_columns
        listed = ", ".join(f"{name} ({kind.value})" for name, kind in columns.items())
        _out.print(
            f"Replaced {len(columns)} PII column(s){': ' + listed if listed else ''}; "
            f"written to {output}",
            soft_wrap=True,
            markup=False,
        )


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the demo's files.")
    ] = Path("lookalike-demo"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite earlier demo files.")] = False,
    rows: Annotated[
        str | None,
        typer.Option(
            "--rows", metavar="N", help="Train on this many adult rows (default: all 32,561)."
        ),
    ] = None,
) -> None:
    """Learn the bundled Adult census data, sample it, and write the model, rows and report."""
    with _reported_errors():
        n_rows = _parse_count(rows, "--rows") if rows is not None else None
        if directory.exists() and not directory.is_dir():
            raise LookalikeError(f"Output folder {str(directory)!r} exists and is not a folder.")
        outputs = [directory / name for name in _DEMO_FILES]
        if directory.exists():
            _check_outputs(outputs, force=force)
        import numpy as np

        import lookalike as la
        from lookalike.datasets import load_adult
        from lookalike.io import write_table, write_text

        train, holdout = load_adult("train"), load_adult("test")
        if n_rows is not None:
            if n_rows > len(train):
                raise _UsageProblem(f"--rows must be at most {len(train):,}; got {n_rows:,}.")
            # One seeded stream picks both subsets, so the demo is the same on every run.
            rng = np.random.default_rng(0)
            train = train.iloc[np.sort(rng.choice(len(train), n_rows, replace=False))]
            keep = min(n_rows, len(holdout))
            holdout = holdout.iloc[np.sort(rng.choice(len(holdout), keep, replace=False))]
            train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)

        _out.print(f"Learning {len(train):,} rows of the Adult census data (bundled, CC BY 4.0)...")
        started = time.perf_counter()
        model = la.Synthesizer(random_state=0).fit(train, progress=True)
        fit_seconds = time.perf_counter() - started
        synthetic = model.sample(len(train), progress=True)
        sample_seconds = time.perf_counter() - started - fit_seconds
        result = la.evaluate(
            train, synthetic, holdout=holdout, target="income", model=model, progress=True
        )

        with _staged_folder(directory, force=force) as staged:
            synthetic_path, model_path, html_path, json_path = (staged / n for n in _DEMO_FILES)
            write_table(synthetic, synthetic_path)
            model.save(model_path)
            write_text(result.to_html(), html_path)
            write_text(result.to_json(), json_path)
        _out.print(
            f"Fit {fit_seconds:.1f} s, sampled {len(synthetic):,} rows in {sample_seconds:.1f} s, "
            f"total {time.perf_counter() - started:.1f} s.",
            soft_wrap=True,
        )
        for label, path in zip(
            ("synthetic rows", "model", "report", "numbers"), outputs, strict=True
        ):
            _out.print(f"  {label:<15} {path}", soft_wrap=True, markup=False)
        _print_verdicts(result.to_dict())


def _write_rows(table: pd.DataFrame, output: Path, *, force: bool) -> None:
    """``write_table`` with a progress bar: millions of rows take tens of seconds to write."""
    from lookalike._progress import progress_bar
    from lookalike.io import write_table

    with progress_bar(True) as bar:
        task = bar.add_task(f"Writing {output.name}", total=len(table))
        write_table(table, output, force=force, on_rows=lambda k: bar.advance(task, k))


@contextlib.contextmanager
def _staged_folder(directory: Path, *, force: bool) -> Iterator[Path]:
    """A hidden folder beside ``directory`` to write files into; when the block ends they
    are moved into ``directory`` together, and on any error or interrupt none of them is.

    The demo wrote its four files one by one, so a stop while writing left some of them (and
    said nothing was written), and the next run refused to overwrite them.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    moved: list[Path] = []
    created = not directory.exists()
    try:
        yield staged
        directory.mkdir(exist_ok=True)
        for path in sorted(staged.iterdir()):
            target = directory / path.name
            if target.exists() and not force:
                raise LookalikeError(f"Output {str(target)!r} appeared while the demo ran.")
            os.replace(path, target)
            moved.append(target)
    except BaseException:
        if not force:  # replaced files cannot come back; new ones go
            for target in moved:
                target.unlink(missing_ok=True)
        if created and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
        raise
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def main() -> None:
    """Entry point of the ``lookalike`` console script."""
    app()


# --- errors and warnings ------------------------------------------------------------------------


class _Terminated(BaseException):
    """SIGTERM, raised where the command is, so half-written files are removed on the way out."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated


@contextlib.contextmanager
def _terminated_as_exception() -> Iterator[None]:
    """While a command runs, SIGTERM (``kill``, a scheduler's timeout) unwinds it as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _reported_errors() -> Iterator[None]:
    """Print warnings and errors as one ``warning:``/``error:`` line each; map errors to exit codes."""
    with warnings.catch_warnings(), _terminated_as_exception():
        warnings.simplefilter("always", DataWarning)

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            # Library warnings (pandas, scikit-learn) get their class name; ours speak for themselves.
            prefix = "" if issubclass(category, DataWarning) else f"{category.__name__}: "
            _print_problem("warning", f"{prefix}{message}", "yellow")

        warnings.showwarning = show
        try:
            yield
        except typer.Exit:
            raise
        except _UsageProblem as exc:
            _fail(str(exc), code=2)
        except (LookalikeError, ValueError, TypeError) as exc:
            _fail(str(exc) or type(exc).__name__)
        except OSError as exc:
            _fail(_describe_os_error(exc))
        except MemoryError:
            _fail(
                "not enough memory for this; no output was written. Sample fewer rows (-n) "
                "and join the files, or use a machine with more memory."
            )
        except KeyboardInterrupt:
            _fail("interrupted; no output was written unless reported above.", code=130)
        except _Terminated:
            _fail("terminated; no output was written unless reported above.", code=143)
        except Exception as exc:  # the CLI promises one line, never a traceback
            _fail(
                f"unexpected {type(exc).__name__}: {exc} (this is a bug in lookalike; please report it)"
            )


def _fail(message: str, *, code: int = 1) -> NoReturn:
    _print_problem("error", message, "bold red")
    raise typer.Exit(code)


def _print_problem(label: str, message: str, style: str) -> None:
    one_line = " ".join(message.split())
    _err.print(Text(f"{label}: ", style=style) + Text(one_line), soft_wrap=True)


def _describe_os_error(exc: OSError) -> str:
    if exc.strerror and exc.filename:
        return f"{exc.strerror}: {str(exc.filename)!r}"
    return str(exc) or type(exc).__name__


# --- argument parsing ---------------------------------------------------------------------------


def _parse_count(text: str, option: str) -> int:
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        raise _UsageProblem(f"{option} must be a whole number >= 1; got {text!r}.") from None
    if value < 1:
        raise _UsageProblem(f"{option} must be a whole number >= 1; got {value}.")
    if value > _MAX_ROWS:
        raise _UsageProblem(
            f"{option} must be at most {_MAX_ROWS:,} (one call holds its rows in memory); "
            f"got {value:,}. Sample in several runs."
        )
    return value


def _parse_budget(text: str | None, option: str) -> float | None:
    """--epsilon and --delta: a number > 0 (a delta under 1), as a usage error otherwise."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        raise _UsageProblem(f"{option} must be a number > 0; got {text!r}.") from None
    if not 0 < value < math.inf:
        raise _UsageProblem(f"{option} must be a number > 0; got {text!r}.")
    if option == "--delta" and value >= 1:
        raise _UsageProblem(f"--delta must be a number between 0 and 1; got {text!r}.")
    return value


def _parse_seed(text: str | None) -> int | None:
    return _parse_whole(text, "--seed", "a whole number >= 0", lambda value: value >= 0)


def _parse_jobs(text: str | None) -> int | None:
    return _parse_whole(
        text, "--jobs", "a whole number >= 1, or -1 for every CPU", lambda v: v >= 1 or v == -1
    )


def _parse_whole(
    text: str | None, option: str, expected: str, valid: Callable[[int], bool]
) -> int | None:
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise _UsageProblem(f"{option} must be {expected}; got {text!r}.") from None
    if not valid(value):
        raise _UsageProblem(f"{option} must be {expected}; got {value}.")
    return value


def _parse_conditions(items: list[str]) -> dict[str, str]:
    conditions: dict[str, str] = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise _UsageProblem(f"--condition must look like column=value; got {item!r}.")
        if column in conditions:
            raise _UsageProblem(f"--condition names column {column!r} twice.")
        conditions[column] = value
    return conditions


def _typed_conditions(model: Synthesizer, conditions: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``--condition`` text into values of each column's type; unknown columns pass through.

    An empty value asks for a missing value. The model itself reports unknown columns and values
    that the column cannot take.
    """
    import pandas as pd

    typed: dict[str, Any] = {}
    for column, text in _split_at_known_columns(model, conditions).items():
        if text == "":
            typed[column] = None
            continue
        if column not in model.schema_:
            typed[column] = text
            continue
        dtype = model.schema_[column].dtype
        low, dots, high = text.partition("..")
        numeric = dtype.lower().startswith(("int", "uint", "float", "datetime64"))
        try:
            if dots and numeric:
                # "60..90" is an inclusive range; an empty end is open ("60..").
                typed[column] = tuple(
                    _coerce(end.strip(), dtype, pd) if end.strip() else None for end in (low, high)
                )
                continue
            typed[column] = _coerce(text, dtype, pd)
        except (ValueError, TypeError):
            raise ConditionError(
                f"--condition {column}={text}: column {column!r} holds {_describe_dtype(dtype)}; "
                f"{text!r} is not one."
            ) from None
    return typed


def _split_at_known_columns(model: Synthesizer, conditions: Mapping[str, str]) -> dict[str, str]:
    """Re-split ``a=b=1`` at a later ``=`` when the model has a column ``a=b`` and none ``a``."""
    out: dict[str, str] = {}
    for column, text in conditions.items():
        if column not in model.schema_:
            item = f"{column}={text}"
            cuts = [i for i, char in enumerate(item) if char == "=" and item[:i] in model.schema_]
            if cuts:
                column, text = item[: cuts[-1]], item[cuts[-1] + 1 :]
        if column in out:
            raise _UsageProblem(f"--condition names column {column!r} twice.")
        out[column] = text
    return out


def _coerce(text: str, dtype: str, pd: Any) -> Any:
    lowered = dtype.lower()
    if lowered in {"bool", "boolean"}:
        flag = text.strip().lower()
        if flag not in {"true", "false"}:
            raise ValueError(text)
        return flag == "true"
    if lowered.startswith(("int", "uint")):
        try:
            # Exactly, not through a float: 2**53 + 1 is a whole number a float cannot hold.
            return int(text.strip())
        except ValueError:
            number = float(text)
        if not number.is_integer():
            raise ValueError(text)
        # Beyond 64 bits no integer column holds it: kept as the float, so the error shows 1e+30.
        return int(number) if abs(number) < 2**64 else number
    if lowered.startswith("float"):
        return float(text)
    if lowered.startswith("datetime64"):
        # A time without a zone stays so: the model reads it as a wall time in the column's zone,
        # and says which offsets to choose from when that wall time happens twice.
        return pd.Timestamp(text)
    return text


def _describe_dtype(dtype: str) -> str:
    lowered = dtype.lower()
    if lowered in {"bool", "boolean"}:
        return "true/false values"
    if lowered.startswith(("int", "uint")):
        return "whole numbers"
    if lowered.startswith("float"):
        return "numbers"
    if lowered.startswith("datetime64"):
        return "dates"
    return f"values of type {dtype}"


def _check_not_inputs(outputs: list[Path], inputs: list[Path | None]) -> None:
    """Refuse an output that is one of the inputs: not even --force may replace the data read."""
    for output in outputs:
        for source in inputs:
            if source is not None and _same_file(output, source):
                raise _UsageProblem(
                    f"Output file {str(output)!r} is the input {str(source)!r}; not even --force "
                    "replaces the data being read. Write to another file."
                )


def _same_file(first: Path, second: Path) -> bool:
    # samefile also sees through symbolic and hard links; a missing file is no input to protect.
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _check_model_name(path: Path) -> None:
    """Refuse a model file named like a table before fitting (a usage problem, exit code 2)."""
    from lookalike.errors import ModelFileError
    from lookalike.io import check_model_name

    try:
        check_model_name(path)
    except ModelFileError as exc:
        raise _UsageProblem(str(exc)) from None


def _check_table_output(path: Path, *, force: bool) -> None:
    """An output table's checks; a name of no table type is a usage problem (exit code 2)."""
    from lookalike.errors import DataError
    from lookalike.io import check_table_output

    try:
        check_table_output(path, force=force)
    except DataError as exc:  # the only DataError here: the file type
        raise _UsageProblem(str(exc)) from None


def _check_outputs(paths: list[Path], *, force: bool) -> None:
    from lookalike.io import check_output_path

    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) < len(resolved):
        raise _UsageProblem("Two outputs name the same file: " + ", ".join(map(str, paths)) + ".")
    for path in paths:
        check_output_path(path, force=force)


# --- models and printing ------------------------------------------------------------------------


def _looks_like_model(path: Path) -> bool:
    return path.suffix.lower() == _MODEL_SUFFIX or (path.is_file() and zipfile.is_zipfile(path))


def _load_model(path: Path) -> Synthesizer:
    from lookalike.sample import load

    return load(path)


def _print_model(description: Mapping[str, Any]) -> None:
    rows = f"{description.get('n_rows_trained', '?')} rows"
    if _private_section(description) is not None:
        rows = f"about {rows} (a noisy count: a private model does not release its row count)"
    _out.print(
        f"[bold]{description.get('class', 'model')}[/bold] "
        f"(lookalike {description.get('library_version', '?')}), trained on "
        f"{rows}, seed entropy "
        f"{description.get('seed_entropy', '?')}",
        soft_wrap=True,
    )
    params = description.get("params", {})
    if isinstance(params, Mapping) and params:
        _out.print(
            "Parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items()),
            soft_wrap=True,
            markup=False,
        )
    private = _private_section(description)
    for key, value in description.items():
        if key not in {
            "class",
            "library_version",
            "n_rows_trained",
            "seed_entropy",
            "params",
            "schema",
            "rules",
            "links",
        } and not (key == "privacy" and private):
            _out.print(f"{key}: {value}", soft_wrap=True, markup=False)
    schema = description.get("schema", {})
    columns = schema.get("columns", []) if isinstance(schema, Mapping) else []
    table = Table(title="Schema")
    fields = _schema_fields(columns)
    for field in [*fields, "nullable"]:
        _add_column(table, field)
    for column in columns:
        table.add_row(*(_cell(column.get(f)) for f in [*fields, "nullable"]))
    _print_wide(table)
    rules = description.get("rules") or []
    if rules:
        listed = Table(title="Rules (every sampled row obeys them)")
        for field in ("rule", "kind", "held in training"):
            listed.add_column(field, overflow="fold")
        for rule in rules:
            share = rule.get("share_held_in_training")
            listed.add_row(
                str(rule.get("rule")),
                str(rule.get("kind")),
                "" if share is None else f"{100 * share:.2f}%",
            )
        _print_wide(listed)
    links = description.get("links") or []
    if links:
        found = Table(title="Links found in the training table (kept exactly in samples)")
        found.add_column("link", overflow="fold")
        for link in links:
            found.add_row(str(link))
        _print_wide(found)
    if private:
        _print_ledger(private)


def _private_section(description: Mapping[str, Any]) -> Mapping[str, Any] | None:
    privacy = description.get("privacy")
    section = privacy.get("differential_privacy") if isinstance(privacy, Mapping) else None
    return section if isinstance(section, Mapping) and "ledger" in section else None


def _print_ledger(private: Mapping[str, Any]) -> None:
    """The differential-privacy guarantee and every step of its budget ledger."""
    ledger = private["ledger"]
    budget = ledger.get("budget", {})
    _out.print(
        f"[bold]Differential privacy[/bold]: ({private.get('epsilon', 0):.4g}, "
        f"{private.get('delta', 0):.3g})-DP for adding or removing one row; zCDP rho spent "
        f"{ledger.get('rho_spent', 0):.6g} of {budget.get('rho', 0):.6g} "
        f"(budget epsilon={budget.get('epsilon')}, delta={budget.get('delta')})",
        soft_wrap=True,
    )
    if private.get("guarantee_void_test_only_fixed_noise"):
        _out.print("[bold red]Noise was fixed for a test: no privacy guarantee.[/bold red]")
    from lookalike.evaluate._guarantee import ledger_entries

    table = Table(title="Privacy ledger")
    for field in ("step", "mechanism", "rho", "delta", "noise"):
        table.add_column(field, overflow="fold")
    for step in ledger_entries(ledger):
        table.add_row(step.step, step.mechanism, f"{step.rho:.4g}", f"{step.delta:.3g}", step.noise)
    _print_wide(table)


def _print_table_schema(frame: pd.DataFrame, schema: Mapping[str, Any], path: Path) -> None:
    columns = schema.get("columns", [])
    fields = _schema_fields(columns)
    table = Table(title=f"{path}: {len(frame):,} rows x {frame.shape[1]} columns")
    for field in [*fields, "missing", "distinct", "example"]:
        _add_column(table, field)
    for column in columns:
        values = frame[column["name"]]
        present = values.dropna()
        table.add_row(
            *(_cell(column.get(f)) for f in fields),
            f"{values.isna().mean():.1%}",
            f"{present.nunique():,}",
            # A PII column's values are not shown: the terminal may be shared or logged.
            f"<{column['pii']}>"
            if column.get("pii")
            else _cell(present.iloc[0] if len(present) else None),
        )
    _print_wide(table)


#: Short keyword columns never wrap (a narrow terminal would print "categorica|l").
_NO_WRAP = {"kind", "dtype", "nullable", "missing", "distinct", "pii"}


def _add_column(table: Table, field: str) -> None:
    if field == "example":
        table.add_column(field, overflow="ellipsis", no_wrap=True, max_width=24)
    else:
        table.add_column(field, overflow="fold", no_wrap=field in _NO_WRAP)


def _print_wide(table: Table) -> None:
    """A table in full when the output is a file or a pipe (Rich would assume 80 columns)."""
    if _out.is_terminal:
        _out.print(table)
    else:
        Console(highlight=False, width=max(_out.width, 160)).print(table)


def _schema_fields(columns: list[Mapping[str, Any]]) -> list[str]:
    """The schema fields worth a table column: name, kind, dtype, and the formats, date steps,
    clock times and PII types that some column has."""
    optional = (
        "datetime_format",
        "datetime_step",
        "number_format",
        "clock",
        "pii",
        "category_dtype",
    )
    return ["name", "kind", "dtype", *(f for f in optional if any(c.get(f) for c in columns))]


def _cell(value: Any) -> str:
    """A value as a table cell: brackets are text (``int64[pyarrow]`` lost its ``[pyarrow]`` to
    Rich's markup)."""
    return "" if value is None else escape(str(value))


def _read_rules(path: Path) -> list[Any]:
    """The 'rules' list of a YAML/JSON file (a scenario file, or one with only 'rules')."""
    from lookalike.control import Scenario
    from lookalike.io import check_input_file

    check_input_file(path, "Rules file", ConditionError)
    scenario = Scenario.from_file(path)
    if not scenario.rules:
        raise _UsageProblem(f"The rules file {str(path)!r} has no 'rules:' list.")
    ignored = sorted(set(scenario.sample_kwargs()) - {"rules"})
    if ignored:
        warn_data(
            f"{str(path)!r} also has {', '.join(ignored)}: only its rules are used here "
            "(give the file to 'sample --scenario' for the rest)."
        )
    return list(scenario.rules)


def _read_result(path: Path, kind: type[_Result]) -> _Result:
    """A stress-test, experiment or audit result from the JSON file its ``to_json`` wrote."""
    import json

    from lookalike.io import check_input_file

    check_input_file(path, "Result file", ConditionError)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _UsageProblem(f"{str(path)!r} is not JSON: {exc}.") from None
    try:
        return kind.from_dict(data)
    except LookalikeError as exc:
        problem = exc
    import lookalike as la

    # What the file holds instead, when it is another of these results: say where it belongs.
    options: dict[Any, tuple[str, str]] = {
        la.StressTestResult: ("a stress test", "--stress"),
        la.ExperimentResult: ("an experiment leaderboard", "--experiment"),
        la.PrivacyAudit: ("a privacy audit", "--audit"),
    }
    wanted = options[kind][0]
    for other, (holds, option) in options.items():
        if other is not kind:
            try:
                other.from_dict(data)
            except LookalikeError:
                continue
            raise _UsageProblem(
                f"{str(path)!r} holds {holds}, not {wanted}: give it with {option}."
            )
    raise _UsageProblem(f"{str(path)!r} is not {wanted} written by to_json: {problem}")


def _print_verdicts(result: Mapping[str, Any]) -> None:
    """Print the overall rating and each section's verdict, one line each."""
    sections = [("overall", result.get("summary"))]
    sections += [
        (name, section.get("verdict"))
        for name, section in result.items()
        if isinstance(section, Mapping)
    ]
    lines = [(name, v) for name, v in sections if isinstance(v, Mapping) and "rating" in v]
    if not lines:
        return
    _out.print("[bold]Verdicts[/bold]")
    for name, verdict in lines:
        _out.print(
            f"  {name}: {verdict['rating']} - {verdict.get('explanation', '')}",
            soft_wrap=True,
            markup=False,
        )
