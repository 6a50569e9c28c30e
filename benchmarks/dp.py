"""Differential-privacy benchmark on adult: lookalike's DP model vs smartnoise-synth MST and AIM
(and MOSTLY AI's engine in DP mode), at several epsilons, in one run on one machine.

    .venv-bench/bin/python benchmarks/dp.py --synths lookalike_dp,mst,aim,mostlyai_dp \\
        --epsilons 0.3,1,4 --time-limit 1200
    .venv-bench/bin/python benchmarks/dp.py --fix-tstr        # redo failed/NaN TSTR only
    .venv-bench/bin/python benchmarks/dp.py --synths mst --epsilons 1 --skip-fit   # re-score

Synths: lookalike_dp (nothing public given), lookalike_dp_public (the same public codebook as
MST/AIM), mst, aim (rows drawn i.i.d. from the fitted model), mst_round, aim_round (smartnoise's
shipped row generator, see the note at SMARTNOISE), mostlyai_dp (noise multiplier chosen so the
budget allows training, see mostlyai_noise_multiplier), mostlyai_dp_default (engine default 1.5).

Every (synth, epsilon) fits and samples len(train) rows in its own child process (peak memory is
that child's `ru_maxrss`, CPU seconds its user+system time, as in run.py), under a wall-clock
limit: a child still running then is killed and recorded as "timed out after N s" with the last
lines of its log (AIM prints how much of its budget it has spent). Scoring runs in a second
child, `run.py worker-score`, so every row is scored by exactly the same code as the main
benchmark: mostlyai-qa accuracy and DCR share, SDMetrics quality, TSTR ROC AUC on the adult test
set (target income), la.evaluate. When TSTR fails or is NaN because the synthetic target has
a missing or catch-all value, it is recomputed on the rows with a real label (noted per row).
Results merge into <out>/dp_results.json (keyed by synth and epsilon) and <out>/dp_results.md.

smartnoise-synth needs pandas < 3 and opacus 0.14 (mostlyai-engine needs opacus 1.x, lookalike is
developed on pandas 3), so MST and AIM fit in their own virtualenv, .venv-dp (see setup.sh); their
output is scored in .venv-bench like everyone else's.

Privacy parameters, the same for everyone: delta = 1e-9 (about 1/n^2 = 9.4e-10 for n = 32,561
training rows, and smartnoise's own default), epsilon as given; neighbouring tables differ by one
row added or removed.

Domains (what is treated as public):
- MST and AIM are handed the *public* adult codebook (UCI adult.names): every category of every
  categorical column plus a "missing" code, the integer ranges of age (17-90), education_num
  (1-16) and hours_per_week (1-99), and fixed, data-independent bins for capital_gain,
  capital_loss (0, then 30 geometric bins over 1..99,998, and the 99,999 top-code) and fnlwgt
  (40 geometric bins over 1e3..1e7). No budget is spent on domains or bounds, and nothing about
  the domain is read from the data; synthetic bin codes are mapped back to a uniform integer in
  the bin. This is the strongest fair set-up for marginal-based peers (smartnoise's defaults
  would take the categories from the data, which is not DP, and bin continuous columns into 10
  equal-width bins, which ruins skewed columns such as capital_gain).
- lookalike_dp is given nothing: it spends part of its own budget on bounds/bins and categories,
  so that comparison, if anything, favours the peers. lookalike_dp_public gets the same codebook
  as bounds and categories (`fit(train, schema={...})`), the like-for-like comparison.
- mostlyai_dp gets its own value protection (DP bounds and categories) with 10 % of epsilon,
  the share of MOSTLY AI's defaults (1 of 10); training stops at max_epsilon = epsilon. Its
  checkpoint choice by validation loss is the engine's own design and not part of its accounting.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from _data import REPO_ROOT, load_dataset, machine_info, to_object_strings  # noqa: E402

DATASET = "adult"
TARGET = "income"
DELTA = 1e-9
SEED = 0
SYNTHS = (
    "lookalike_dp",
    "lookalike_dp_public",
    "mst",
    "aim",
    "mostlyai_dp",
    "mst_round",
    "aim_round",
    "mostlyai_dp_default",
)
# MST and AIM run in .venv-dp (smartnoise-synth pins pandas < 3 and opacus 0.14)
SMARTNOISE = ("mst", "aim", "mst_round", "aim_round")
# private-pgm (mbi 1.1.0, the newest smartnoise-synth 1.0.8 accepts) generates rows by default with
# "randomized rounding", which assigns each child value in row order within a parent group, without
# shuffling: columns further down the junction tree become correlated with each other through the
# row index, and conditionals the model has right come out wrong (on a 4-column Markov chain fitted
# from exact marginals, corr(c0, c3) is 0.49 in the model and 0.22 in the rounded rows; i.i.d.
# sampling gives 0.49). "mst" and "aim" therefore draw rows i.i.d. from the fitted model
# (method="sample", pure post-processing); "mst_round"/"aim_round" keep the shipped default.
UNAVAILABLE_EXIT = 3
PACKAGES_BENCH = [
    "lookalike",
    "numpy",
    "pandas",
    "torch",
    "opacus",
    "mostlyai-engine",
    "mostlyai-qa",
    "sdmetrics",
    "scikit-learn",
]
PACKAGES_DP = ["smartnoise-synth", "smartnoise-sql", "mbi", "jax", "opendp", "numpy", "pandas"]

# --------------------------------------------------------------------------------------------
# Public domain of adult, from the UCI codebook (adult.names), not from the data
# --------------------------------------------------------------------------------------------
ADULT_CATEGORIES: dict[str, list[str]] = {
    "workclass": [
        "Private",
        "Self-emp-not-inc",
        "Self-emp-inc",
        "Federal-gov",
        "Local-gov",
        "State-gov",
        "Without-pay",
        "Never-worked",
    ],
    "education": [
        "Bachelors",
        "Some-college",
        "11th",
        "HS-grad",
        "Prof-school",
        "Assoc-acdm",
        "Assoc-voc",
        "9th",
        "7th-8th",
        "12th",
        "Masters",
        "1st-4th",
        "10th",
        "Doctorate",
        "5th-6th",
        "Preschool",
    ],
    "marital_status": [
        "Married-civ-spouse",
        "Divorced",
        "Never-married",
        "Separated",
        "Widowed",
        "Married-spouse-absent",
        "Married-AF-spouse",
    ],
    "occupation": [
        "Tech-support",
        "Craft-repair",
        "Other-service",
        "Sales",
        "Exec-managerial",
        "Prof-specialty",
        "Handlers-cleaners",
        "Machine-op-inspct",
        "Adm-clerical",
        "Farming-fishing",
        "Transport-moving",
        "Priv-house-serv",
        "Protective-serv",
        "Armed-Forces",
    ],
    "relationship": [
        "Wife",
        "Own-child",
        "Husband",
        "Not-in-family",
        "Other-relative",
        "Unmarried",
    ],
    "race": ["White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"],
    "sex": ["Female", "Male"],
    "native_country": [
        "United-States",
        "Cambodia",
        "England",
        "Puerto-Rico",
        "Canada",
        "Germany",
        "Outlying-US(Guam-USVI-etc)",
        "India",
        "Japan",
        "Greece",
        "South",
        "China",
        "Cuba",
        "Iran",
        "Honduras",
        "Philippines",
        "Italy",
        "Poland",
        "Jamaica",
        "Vietnam",
        "Mexico",
        "Portugal",
        "Ireland",
        "France",
        "Dominican-Republic",
        "Laos",
        "Ecuador",
        "Taiwan",
        "Haiti",
        "Columbia",
        "Hungary",
        "Guatemala",
        "Nicaragua",
        "Scotland",
        "Thailand",
        "Yugoslavia",
        "El-Salvador",
        "Trinadad&Tobago",
        "Peru",
        "Hong",
        "Holand-Netherlands",
    ],
    "income": [">50K", "<=50K"],
}
# integer columns with a small public range: one code per integer value
ADULT_INT_RANGES: dict[str, tuple[int, int]] = {
    "age": (17, 90),  # the extract kept people older than 16; the census top-codes age at 90
    "education_num": (1, 16),  # codebook: 16 education levels
    "hours_per_week": (1, 99),  # census top-code 99
}


def _geometric_edges(low: float, high: float, n_bins: int) -> list[int]:
    edges = [round(low * (high / low) ** (i / n_bins)) for i in range(n_bins + 1)]
    return sorted(set(edges))


# integer columns binned with fixed, data-independent edges: each bin is [edges[i], edges[i+1])
# (the last one closed); values outside the public range are clamped into it.
ADULT_INT_BINS: dict[str, list[int]] = {
    # 0 (no gain) is its own bin; 99,999 is the census top-code, its own bin
    "capital_gain": [0, *_geometric_edges(1, 99_999, 30), 100_000],
    "capital_loss": [0, *_geometric_edges(1, 99_999, 30), 100_000],
    # census person weights: positive; 1e3..1e7 brackets any CPS weight generously
    "fnlwgt": _geometric_edges(1_000, 10_000_000, 40),
}


def _missing_code(column: str) -> int:
    return len(ADULT_CATEGORIES[column])


def public_domain_sizes(columns: list[str]) -> dict[str, int]:
    sizes = {}
    for column in columns:
        if column in ADULT_CATEGORIES:
            sizes[column] = len(ADULT_CATEGORIES[column]) + 1  # + missing
        elif column in ADULT_INT_RANGES:
            low, high = ADULT_INT_RANGES[column]
            sizes[column] = high - low + 1
        elif column in ADULT_INT_BINS:
            sizes[column] = len(ADULT_INT_BINS[column]) - 1
        else:
            raise SystemExit(f"no public domain for column {column!r}")
    return sizes


def encode_public(frame: Any) -> Any:
    """Map every column to integer codes of its public domain (no statistics of the data used)."""
    import numpy as np
    import pandas as pd

    out = {}
    for column in frame.columns:
        values = frame[column]
        if column in ADULT_CATEGORIES:
            lookup = {value: code for code, value in enumerate(ADULT_CATEGORIES[column])}
            codes = values.map(lambda v, lookup=lookup, column=column: lookup.get(v))
            unknown = values.notna() & codes.isna()
            if unknown.any():
                raise SystemExit(f"{column}: values outside the codebook: {set(values[unknown])}")
            out[column] = codes.fillna(_missing_code(column)).astype("int64")
        elif column in ADULT_INT_RANGES:
            low, high = ADULT_INT_RANGES[column]
            out[column] = (np.clip(values.to_numpy(), low, high) - low).astype("int64")
        else:
            edges = np.asarray(ADULT_INT_BINS[column])
            clipped = np.clip(values.to_numpy(), edges[0], edges[-1] - 1)
            out[column] = (np.searchsorted(edges, clipped, side="right") - 1).astype("int64")
    return pd.DataFrame(out)


def decode_public(codes: Any, columns: list[str], seed: int = SEED) -> Any:
    """Integer codes back to values; a binned value is a uniform integer within its bin."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)  # post-processing only: no data involved
    out = {}
    for column in columns:
        code = codes[column].to_numpy().astype("int64")
        if column in ADULT_CATEGORIES:
            labels = np.array([*ADULT_CATEGORIES[column], None], dtype=object)
            out[column] = pd.Series(labels[code], dtype=object)
        elif column in ADULT_INT_RANGES:
            out[column] = pd.Series(code + ADULT_INT_RANGES[column][0], dtype="int64")
        else:
            edges = np.asarray(ADULT_INT_BINS[column])
            low, high = edges[code], edges[code + 1]
            out[column] = pd.Series(rng.integers(low, high), dtype="int64")
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# synthesizers (each runs inside a child process)
# --------------------------------------------------------------------------------------------
class Unavailable(Exception):
    """The synthesizer cannot be run here (API missing); reported, not a crash."""


def _smartnoise_fit(kind: str, train: Any, epsilon: float) -> Any:
    import pandas as pd
    from snsynth.transform.label import LabelTransformer
    from snsynth.transform.table import TableTransformer

    columns = list(train.columns)
    encoded = encode_public(train)
    # A transformer fitted on the public domain only (every code of every column), so smartnoise
    # neither reads the domain from the data nor spends budget on it.
    sizes = public_domain_sizes(columns)
    longest = max(sizes.values())
    domain_frame = pd.DataFrame(
        {column: [i % size for i in range(longest)] for column, size in sizes.items()}
    )
    transformer = TableTransformer([LabelTransformer(nullable=False) for _ in columns])
    transformer.fit(domain_frame)
    assert transformer.cardinality == [sizes[c] for c in columns], transformer.cardinality
    if kind == "mst":
        from snsynth.mst import MSTSynthesizer

        synthesizer = MSTSynthesizer(epsilon=epsilon, delta=DELTA, verbose=True)
    else:
        from snsynth.aim import AIMSynthesizer

        synthesizer = AIMSynthesizer(epsilon=epsilon, delta=DELTA, verbose=True)
    synthesizer.fit(encoded, transformer=transformer)
    return {"synthesizer": synthesizer, "columns": columns}


def _smartnoise_sample(model: Any, n: int, method: str = "sample") -> Any:
    """Sample n rows; `method` is private-pgm's row generator (see the note at SMARTNOISE)."""
    import pandas as pd

    estimate = model["synthesizer"].synthesizer  # mbi MarkovRandomField
    model_class = type(estimate)
    shipped = model_class.synthetic_data
    model_class.synthetic_data = lambda self, rows=None, method=method: shipped(
        self, rows=rows, method=method
    )
    try:
        raw = model["synthesizer"].sample(n)
    finally:
        model_class.synthetic_data = shipped
    codes = pd.DataFrame(raw, columns=model["columns"])
    decoded = decode_public(codes, model["columns"])
    # private-pgm emits rows grouped by value; shuffle (post-processing, no data involved)
    return decoded.sample(frac=1.0, random_state=SEED).reset_index(drop=True)


def lookalike_public_domain() -> dict[str, dict[str, Any]]:
    """The same public codebook MST and AIM get, in lookalike's schema-override form."""
    domain: dict[str, dict[str, Any]] = {
        column: {"categories": list(values)} for column, values in ADULT_CATEGORIES.items()
    }
    for column, (low, high) in ADULT_INT_RANGES.items():
        domain[column] = {"bounds": [low, high]}
    for column, edges in ADULT_INT_BINS.items():
        domain[column] = {"bounds": [edges[0], edges[-1] - 1]}
    return domain


def _lookalike_fit(train: Any, epsilon: float, public_domain: bool = False) -> Any:
    try:
        import lookalike as la
    except ImportError as exc:
        raise Unavailable(f"lookalike not importable: {exc}") from exc
    try:
        model = la.Synthesizer(epsilon=epsilon, delta=DELTA, random_state=SEED)
    except TypeError as exc:
        raise Unavailable(
            f"lookalike.Synthesizer(epsilon=..., delta=...) not available yet: {exc}"
        ) from exc
    if not public_domain:
        return model.fit(train)
    try:
        return model.fit(train, schema=lookalike_public_domain())
    except TypeError as exc:
        raise Unavailable(f"fit(schema=<public bounds/categories>) not available: {exc}") from exc


def _lookalike_sample(model: Any, n: int) -> Any:
    return model.sample(n)


MOSTLYAI_NOISE_GRID = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)  # 1.5 is the engine's default
MOSTLYAI_PLANNED_EPOCHS = 10


def mostlyai_noise_multiplier(epsilon: float, n_rows: int) -> float:
    """Smallest noise multiplier (from the grid, default first) with which MOSTLY AI's own RDP
    accountant allows MOSTLYAI_PLANNED_EPOCHS epochs within the training share of epsilon.

    Needed because engine 2.7.3, when its budget runs out before the first epoch ends, saves that
    over-budget model anyway (log: "saving model weights, as none were saved so far"): with the
    default 1.5 at delta 1e-9 one epoch of adult costs epsilon ~0.95, so asking for 0.3 or 1
    would release a model above the asked epsilon. Computed from n and the engine's batch size
    (256 for adult; 80 % of rows train, 20 % validate), never from the data's values.
    """
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    budget = 0.9 * epsilon  # 10 % goes to value protection
    q = 256 / round(0.8 * n_rows)
    steps = MOSTLYAI_PLANNED_EPOCHS * math.ceil(round(0.8 * n_rows) / 256)
    orders = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 256))
    for sigma in MOSTLYAI_NOISE_GRID:
        rdp = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
        spent, _ = get_privacy_spent(orders=orders, rdp=rdp, delta=DELTA / 2)
        if spent <= budget:
            return sigma
    return MOSTLYAI_NOISE_GRID[-1]


def _mostlyai_fit(
    train: Any, epsilon: float, time_limit: float, noise_multiplier: float | None
) -> Any:
    import torch
    from mostlyai.engine import TabularARGN
    from mostlyai.engine.domain import DifferentialPrivacyConfig

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(SEED)
    workspace = tempfile.TemporaryDirectory(prefix="argn-dp-")
    argn = TabularARGN(
        device="cpu",
        random_state=SEED,
        workspace_dir=workspace.name,
        verbose=1,
        value_protection=True,
        differential_privacy=DifferentialPrivacyConfig(
            max_epsilon=epsilon,
            delta=DELTA,
            value_protection_epsilon=round(0.1 * epsilon, 6),
            noise_multiplier=noise_multiplier,
        ),
        # leave time to sample and save inside the child's wall-clock limit
        max_training_time=max(1.0, 0.8 * time_limit / 60.0),
    )
    argn.fit(to_object_strings(train))
    return {"argn": argn, "workspace": workspace}


def _mostlyai_sample(model: Any, n: int) -> Any:
    return model["argn"].sample(n_samples=n)


def _mostlyai_spent(model: Any, epsilon: float) -> dict[str, Any]:
    """What MOSTLY AI's own accountant reported during training (its progress-messages.csv)."""
    import pandas as pd

    found: dict[str, Any] = {}
    for path in sorted(Path(model["workspace"].name).rglob("progress-messages.csv")):
        progress = pd.read_csv(path)
        if "dp_eps" not in progress.columns or progress["dp_eps"].isna().all():
            continue
        eps = progress["dp_eps"].dropna()
        found["dp_eps_reported_last"] = float(eps.iloc[-1])
        within = eps[eps <= epsilon + 1e-9]
        found["dp_eps_reported_max_within_budget"] = float(within.max()) if len(within) else None
        if "epoch" in progress.columns:
            found["epochs_trained"] = float(progress["epoch"].max())
        checkpoints = progress[progress.get("is_checkpoint", 0) == 1]["dp_eps"].dropna()
        if len(checkpoints):
            # the engine keeps the best checkpoint within max_epsilon, or the first one if the
            # budget ran out before any was saved
            kept = checkpoints[checkpoints <= epsilon + 1e-9]
            released = float(kept.iloc[-1] if len(kept) else checkpoints.iloc[0])
            found["dp_eps_of_released_model_upper"] = released
            found["over_budget"] = released > epsilon + 1e-9
        found["progress_last_rows"] = progress.tail(3).to_dict(orient="records")
    return found


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def worker_fit(options: argparse.Namespace) -> None:
    """Child: fit one synthesizer at one epsilon, sample len(train) rows, save parquet + JSON."""
    train, _ = load_dataset(DATASET)
    info: dict[str, Any] = {"n_train": len(train), "epsilon": options.epsilon, "delta": DELTA}
    started = time.perf_counter()
    try:
        if options.synth in SMARTNOISE:
            kind, _, sampler = options.synth.partition("_")
            model = _smartnoise_fit(kind, train, options.epsilon)

            def sample(model: Any, n: int, method: str = sampler or "sample") -> Any:
                return _smartnoise_sample(model, n, method)

            info["rows_generated_by"] = f"mbi synthetic_data(method={sampler or 'sample'!r})"
            info["version"] = f"smartnoise-synth {_version('smartnoise-synth')}"
        elif options.synth in ("lookalike_dp", "lookalike_dp_public"):
            model = _lookalike_fit(
                train, options.epsilon, public_domain=options.synth == "lookalike_dp_public"
            )
            sample = _lookalike_sample
            info["version"] = f"lookalike {_version('lookalike')}"
        elif options.synth in ("mostlyai_dp", "mostlyai_dp_default"):
            if options.synth == "mostlyai_dp_default":
                noise = 1.5  # the engine's default
            else:
                noise = mostlyai_noise_multiplier(options.epsilon, len(train))
            info["noise_multiplier"] = noise
            model = _mostlyai_fit(train, options.epsilon, options.time_limit, noise)
            sample = _mostlyai_sample
            info["version"] = f"mostlyai-engine {_version('mostlyai-engine')}"
        else:
            raise SystemExit(f"unknown synth {options.synth!r}")
    except Unavailable as exc:
        info.update(status="unavailable", error=str(exc))
        Path(options.info).write_text(json.dumps(info, indent=2))
        print(f"unavailable: {exc}", flush=True)
        sys.exit(UNAVAILABLE_EXIT)
    info["fit_s"] = round(time.perf_counter() - started, 3)
    print(f"fit done in {info['fit_s']} s", flush=True)
    started = time.perf_counter()
    synthetic = sample(model, len(train)).reset_index(drop=True)
    info["sample_s"] = round(time.perf_counter() - started, 3)
    info["n_synthetic"] = len(synthetic)
    if options.synth.startswith("mostlyai_dp"):
        try:
            info.update(_mostlyai_spent(model, options.epsilon))
        except Exception as exc:  # a diagnostics read must not lose the run
            info["dp_eps_read_error"] = str(exc)[:200]
    if options.synth.startswith("lookalike_dp"):
        try:  # the model's own account of how the budget was spent
            privacy = model.describe().get("privacy")
            info["privacy"] = json.loads(json.dumps(privacy, default=str))
        except Exception as exc:  # diagnostics must not lose the run
            info["privacy_read_error"] = str(exc)[:200]
    Path(options.parquet).parent.mkdir(parents=True, exist_ok=True)
    synthetic.to_parquet(options.parquet, index=False)
    Path(options.info).write_text(json.dumps(info, indent=2, default=str))


# --------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------
def _thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    ):
        env[name] = str(threads)
    # jax (private-pgm's backend) sizes its own thread pools
    env["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}"
    )
    env["JAX_PLATFORMS"] = "cpu"
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONWARNINGS"] = "ignore"
    env["PYTHONUNBUFFERED"] = "1"  # so a killed child's log shows how far it got
    return env


def _run_child(command: list[str], threads: int, timeout: float, log: Path) -> dict[str, Any]:
    """Run a command in its own process group; exit status, wall time, peak RSS (MB)."""
    started = time.perf_counter()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command,
            env=_thread_env(threads),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.5)
    return {
        "returncode": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "wall_s": round(time.perf_counter() - started, 2),
        "peak_mb": round(usage.ru_maxrss / 1024.0, 1),  # Linux: KiB
        # CPU seconds of the child and its descendants: less sensitive than wall time to other
        # jobs on a shared machine
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
    }


def _log_tail(log: Path, n: int = 3, chars: int = 400) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " / ".join(lines[-n:])[-chars:]


def _aim_progress(log: Path) -> float | None:
    """AIM prints 'Budget Used <share>' after each round; the last one says how far it got."""
    share = None
    for line in log.read_text(errors="replace").splitlines():
        if "Budget Used" in line:
            with contextlib.suppress(IndexError, ValueError):
                share = float(line.rsplit("Budget Used", 1)[1].split()[0])
    return share


def _python_for(synth: str, options: argparse.Namespace) -> str:
    return options.dp_python if synth in SMARTNOISE else sys.executable


def _machine_info(dp_python: str) -> dict[str, Any]:
    info: dict[str, Any] = machine_info(PACKAGES_BENCH)
    info["packages (.venv-bench)"] = info.pop("packages")
    script = (
        "import json\nfrom importlib.metadata import version\nout={}\n"
        f"for n in {PACKAGES_DP!r}:\n"
        "    try: out[n]=version(n)\n    except Exception: out[n]='not installed'\n"
        "print(json.dumps(out))"
    )
    try:
        dp = json.loads(
            subprocess.run(
                [dp_python, "-c", script], capture_output=True, text=True, check=True
            ).stdout
        )
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError) as exc:
        dp = {"error": str(exc)[:200]}
    info["packages (.venv-dp)"] = dp
    return info


def _key(synth: str, epsilon: float) -> str:
    return f"{DATASET}/{synth}/eps{epsilon:g}"


def _save(path: Path, update: dict[str, Any], key: str | None, record: dict | None) -> dict:
    """Merge this run's row and metadata into the JSON on disk (under a lock), return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".dp_results.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged.setdefault("runs", {})
        merged.setdefault("commands", [])
        for name, value in update.items():
            if name == "commands":
                merged["commands"] = list(dict.fromkeys([*merged["commands"], *value]))
            else:
                merged[name] = value
        if key is not None and record is not None:
            merged["runs"][key] = record
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(merged, indent=2, default=str))
        tmp.replace(path)
    return merged


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(results: dict[str, Any]) -> str:
    """One row per (synth, epsilon), every metric; status says timeouts and failures."""
    header = (
        "| synth | ε | status | fit s | fit+sample CPU s | sample s | peak MB | qa accuracy | qa uni / bi / tri | "
        "SDMetrics quality | TSTR AUC | DCR share (qa) | DCR share (la) | detection AUC | "
        "exact copies |\n" + "|---" * 15 + "|\n"
    )
    rows = []
    order = {name: i for i, name in enumerate([*SYNTHS, "holdout"])}
    runs = sorted(
        results.get("runs", {}).values(),
        key=lambda r: (order.get(r["synth"], 99), r.get("epsilon") or 0),
    )
    for r in runs:
        status = r.get("status", "?")
        if status == "timeout":
            status = f"timed out after {r.get('fit_wall_s', 0):.0f} s"
            if r.get("aim_budget_used") is not None:
                status += f" ({r['aim_budget_used']:.0%} of budget spent)"
        elif status in ("failed", "unavailable"):
            status = f"{status}: {str(r.get('error', ''))[:80]}"
        copies = r.get("bench_exact_copy_share")
        rows.append(
            "| "
            + " | ".join(
                [
                    "real holdout (ceiling)" if r["synth"] == "holdout" else r["synth"],
                    "–" if r.get("epsilon") is None else f"{r['epsilon']:g}",
                    status.replace("|", "/"),
                    _fmt(r.get("fit_s"), 1),
                    _fmt(r.get("fit_cpu_s"), 0),
                    _fmt(r.get("sample_s"), 1),
                    _fmt(r.get("peak_mb"), 0),
                    _fmt(r.get("qa_accuracy")),
                    " / ".join(
                        _fmt(r.get(k)) for k in ("qa_univariate", "qa_bivariate", "qa_trivariate")
                    ),
                    _fmt(r.get("sdm_quality")),
                    _fmt(r.get("bench_tstr")),
                    _fmt(r.get("qa_dcr_share")),
                    _fmt(r.get("la_dcr_share")),
                    _fmt(r.get("bench_detection_auc")),
                    "–" if copies is None else f"{copies:.2%}",
                ]
            )
            + " |"
        )
    return header + "\n".join(rows) + "\n"


def _fit_and_score(options: argparse.Namespace, synth: str, epsilon: float | None) -> dict:
    out = Path(options.out) / "dp"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / (f"{synth}.eps{epsilon:g}" if epsilon is not None else synth)
    parquet = Path(f"{stem}.parquet")
    record: dict[str, Any] = {
        "dataset": DATASET,
        "synth": synth,
        "epsilon": epsilon,
        "delta": DELTA if epsilon is not None else None,
        "threads": options.threads,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    limit = options.time_limit
    previous = _previous_record(options, synth, epsilon)
    if options.skip_fit and previous is not None and parquet.exists():
        record = {k: v for k, v in previous.items() if not _is_score_key(k)}
        record["rescored"] = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"[{time.strftime('%H:%M:%S')}] re-score {synth} eps {epsilon:g}", flush=True)
    elif synth != "holdout":
        record["time_limit_s"] = limit
        print(f"[{time.strftime('%H:%M:%S')}] fit {synth} eps {epsilon:g} ...", flush=True)
        command = [
            _python_for(synth, options),
            str(Path(__file__).resolve()),
            "worker-fit",
            "--synth",
            synth,
            "--epsilon",
            repr(epsilon),
            "--time-limit",
            str(limit),
            "--parquet",
            str(parquet),
            "--info",
            f"{stem}.fit.json",
        ]
        log = Path(f"{stem}.fit.log")
        Path(f"{stem}.fit.json").unlink(missing_ok=True)
        child = _run_child(command, options.threads, limit, log)
        record.update(
            fit_wall_s=child["wall_s"], fit_cpu_s=child["cpu_s"], peak_mb=child["peak_mb"]
        )
        if synth.startswith("aim"):
            record["aim_budget_used"] = _aim_progress(log)
        if child["timed_out"]:
            record.update(
                status="timeout",
                error=f"timed out after {limit:g} s; log: {_log_tail(log)}",
            )
        elif child["returncode"] == UNAVAILABLE_EXIT:
            record.update(status="unavailable", error=_log_tail(log, 1))
        elif child["returncode"] != 0:
            record.update(status="failed", error=_log_tail(log))
        else:
            record.update(json.loads(Path(f"{stem}.fit.json").read_text()))
            record["status"] = "ok"
        print(
            f"    -> {record['status']} fit {record.get('fit_s')} s, sample "
            f"{record.get('sample_s')} s, peak {record.get('peak_mb')} MB "
            f"{record.get('error', '')}",
            flush=True,
        )
    else:
        record["status"] = "ok"
    if record["status"] == "ok" and not options.skip_score:
        print(f"[{time.strftime('%H:%M:%S')}] score {synth} ...", flush=True)
        command = [
            options.bench_python,
            str(BENCH_DIR / "run.py"),
            "worker-score",
            "--dataset",
            DATASET,
            "--synth",
            "holdout" if synth == "holdout" else f"{synth}.eps{epsilon:g}",
            "--parquet",
            str(parquet),
            "--info",
            f"{stem}.score.json",
        ]
        child = _run_child(
            command, options.threads, options.score_time_limit, Path(f"{stem}.score.log")
        )
        record["score_wall_s"] = child["wall_s"]
        if child["returncode"] == 0:
            scores = json.loads(Path(f"{stem}.score.json").read_text())
            scores.pop("qa_raw", None)
            record.update(scores)
            tstr = record.get("bench_tstr")
            failed = "bench_tstr_error" in record or (isinstance(tstr, float) and math.isnan(tstr))
            if failed and synth != "holdout":
                record["bench_tstr_first_try"] = record.pop("bench_tstr_error", tstr)
                record.update(_tstr_on_known_labels(parquet))
        else:
            record["score_error"] = _log_tail(Path(f"{stem}.score.log"))
        print(
            f"    -> qa {record.get('qa_accuracy')} sdm {record.get('sdm_quality')} "
            f"tstr {record.get('bench_tstr')} dcr {record.get('qa_dcr_share')}",
            flush=True,
        )
    record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return record


def _is_score_key(key: str) -> bool:
    prefixes = ("qa_", "sdm_", "la_", "bench_", "score_")
    return key.startswith(prefixes) or key in ("qa_seconds", "sdm_seconds", "la_seconds")


def _previous_record(
    options: argparse.Namespace, synth: str, epsilon: float | None
) -> dict[str, Any] | None:
    path = Path(options.out) / "dp_results.json"
    if not path.exists():
        return None
    key = f"{DATASET}/holdout" if synth == "holdout" else _key(synth, epsilon or 0.0)
    return json.loads(path.read_text()).get("runs", {}).get(key)


def _tstr_on_known_labels(parquet: Path) -> dict[str, Any]:
    """TSTR on the synthetic rows whose target is one of the two real labels.

    A DP model can emit a few rows with a missing target (the public domain gives every
    categorical column a "missing" code) or a catch-all category; _scores.bench_tstr then fails
    (NaN labels) or returns NaN (a class absent from the test set). Used only when it does.
    """
    import pandas as pd

    from _data import align_to
    from _scores import bench_tstr

    train, holdout = load_dataset(DATASET)
    synthetic = align_to(pd.read_parquet(parquet), train)
    keep = synthetic[TARGET].isin(set(holdout[TARGET].dropna()))
    try:
        value = bench_tstr(synthetic[keep].reset_index(drop=True), holdout, TARGET)
    except Exception as exc:  # recorded, like every other scorer failure
        return {"bench_tstr_retry_error": str(exc)[:300]}
    return {
        "bench_tstr": value,
        "bench_tstr_note": (
            f"{int((~keep).sum())} synthetic rows with a missing or unknown {TARGET} left out"
        ),
    }


def fix_tstr(options: argparse.Namespace) -> None:
    """Apply the TSTR fallback to rows of dp_results.json scored before it existed."""
    results_path = Path(options.out) / "dp_results.json"
    merged = json.loads(results_path.read_text())
    for key, record in merged["runs"].items():
        tstr = record.get("bench_tstr")
        failed = "bench_tstr_error" in record or (isinstance(tstr, float) and math.isnan(tstr))
        failed = failed or (tstr is None and "qa_accuracy" in record)
        if not failed or record.get("synth") == "holdout":
            continue
        stem = Path(options.out) / "dp" / f"{record['synth']}.eps{record['epsilon']:g}"
        record["bench_tstr_first_try"] = record.pop("bench_tstr_error", tstr)
        record.update(_tstr_on_known_labels(Path(f"{stem}.parquet")))
        print(key, record.get("bench_tstr"), record.get("bench_tstr_note"), flush=True)
        merged = _save(results_path, {}, key, record)
    (Path(options.out) / "dp_results.md").write_text(markdown_table(merged))


def orchestrate(options: argparse.Namespace) -> None:
    results_path = Path(options.out) / "dp_results.json"
    markdown_path = Path(options.out) / "dp_results.md"
    synths = [s for s in options.synths.split(",") if s]
    for synth in synths:
        if synth not in SYNTHS:
            raise SystemExit(f"unknown synth {synth!r}; choose from {', '.join(SYNTHS)}")
    epsilons = [float(e) for e in options.epsilons.split(",") if e]
    if any(s in SMARTNOISE for s in synths) and not Path(options.dp_python).exists():
        raise SystemExit(f"{options.dp_python} missing: run `bash benchmarks/setup.sh` first")
    command = "python benchmarks/dp.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    meta = {
        "machine": _machine_info(options.dp_python),
        "commands": [command],
        "delta": DELTA,
        "dataset": DATASET,
        "target": TARGET,
    }
    _save(results_path, meta, None, None)
    plan: list[tuple[str, float | None]] = [(s, e) for e in epsilons for s in synths]
    if options.by_synth:
        plan = [(s, e) for s in synths for e in epsilons]
    if options.ceiling:
        plan.append(("holdout", None))
    for synth, epsilon in plan:
        try:
            record = _fit_and_score(options, synth, epsilon)
        except Exception:  # one broken row must not lose the rest of the run
            record = {
                "synth": synth,
                "epsilon": epsilon,
                "status": "failed",
                "error": traceback.format_exc()[-400:],
            }
        key = f"{DATASET}/holdout" if synth == "holdout" else _key(synth, epsilon or 0.0)
        merged = _save(results_path, {}, key, record)
        markdown_path.write_text(markdown_table(merged))
    print(f"wrote {results_path} and {markdown_path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", title="internal (child processes)")
    fit = sub.add_parser("worker-fit")
    fit.add_argument("--synth", required=True)
    fit.add_argument("--epsilon", type=float, required=True)
    fit.add_argument("--time-limit", type=float, default=3600.0)
    fit.add_argument("--parquet", required=True)
    fit.add_argument("--info", required=True)

    parser.add_argument("--synths", default=",".join(SYNTHS), help="comma-separated")
    parser.add_argument("--epsilons", default="0.3,1,4", help="comma-separated")
    parser.add_argument(
        "--time-limit", type=float, default=1200.0, help="wall-clock seconds per fit (1200)"
    )
    parser.add_argument("--score-time-limit", type=float, default=1800.0)
    parser.add_argument("--threads", type=int, default=1, help="OMP/MKL/XLA threads per child")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "out"))
    parser.add_argument("--dp-python", default=str(REPO_ROOT / ".venv-dp" / "bin" / "python"))
    parser.add_argument("--bench-python", default=sys.executable)
    parser.add_argument("--skip-score", action="store_true")
    parser.add_argument(
        "--skip-fit", action="store_true", help="re-score the parquet of an earlier run"
    )
    parser.add_argument(
        "--fix-tstr",
        action="store_true",
        help="only redo TSTR, on known labels, for rows whose TSTR failed or is NaN",
    )
    parser.add_argument("--ceiling", action="store_true", help="also score the real holdout")
    parser.add_argument(
        "--by-synth", action="store_true", help="loop synths outside epsilons (default: inside)"
    )
    options = parser.parse_args()
    if options.command == "worker-fit":
        worker_fit(options)
    elif options.fix_tstr:
        fix_tstr(options)
    else:
        orchestrate(options)


if __name__ == "__main__":
    main()
