"""Side-by-side benchmark of lookalike against open-source peers (run with .venv-bench's python).

Every synthesizer fits and samples in its own child process, so its peak memory is that child's
`ru_maxrss` and a crash or a time-out costs only that row. Scoring runs in a second child.

    .venv-bench/bin/python benchmarks/run.py --datasets adult --synths cart,gaussian_copula
    .venv-bench/bin/python benchmarks/run.py --scaling

Results accumulate in <out>/results.json (keyed by dataset/synth/repeat, so partial runs add up)
and the tables in benchmarks/RESULTS.md are regenerated from all of it after every row.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from _data import (  # noqa: E402
    DATASETS,
    REPO_ROOT,
    align_to,
    load_dataset,
    machine_info,
    subsample,
)
from _report import CEILING, write_results_markdown  # noqa: E402
from _synths import ADAPTERS, DEFAULT_EPOCHS, FitConfig  # noqa: E402

DEFAULT_SYNTHS = "lookalike,cart,gaussian_copula,tabularargn,tvae,ctgan"
DEFAULT_DATASETS = "adult,default_credit,diabetes_brfss"
# qa's DCR share is the largest over random samples and column subsets: one report is one draw
# (see _scores.qa_dcr_share_draws), so the tables also show the mean of this many draws.
DCR_DRAWS = 5
PACKAGES = [
    "lookalike",
    "numpy",
    "pandas",
    "scikit-learn",
    "torch",
    "sdv",
    "ctgan",
    "rdt",
    "sdmetrics",
    "mostlyai-engine",
    "mostlyai-qa",
    "synthpop-py",
]


# --------------------------------------------------------------------------------------------
# child processes
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
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _run_child(args: list[str], threads: int, timeout: float, log: Path) -> dict[str, Any]:
    """Run `run.py <args>` in a child; return its exit status, wall time and peak RSS (MB)."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    started = time.perf_counter()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command,
            env=_thread_env(threads),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a time-out ends its helpers too
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
        process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": process.returncode,
        "timed_out": timed_out,
        "wall_s": round(time.perf_counter() - started, 2),
        "peak_mb": round(usage.ru_maxrss / 1024.0, 1),  # Linux reports KiB
    }


def _log_tail(log: Path, n: int = 3) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " / ".join(lines[-n:])[-400:]


def worker_fit(options: argparse.Namespace) -> None:
    """Child: fit one synthesizer, sample len(train) rows, save parquet + timing JSON."""
    if options.synth in ("tvae", "ctgan", "tabularargn"):
        import torch

        torch.set_num_threads(options.threads)
    adapter = ADAPTERS[options.synth]
    train, _ = load_dataset(options.dataset)
    train = subsample(train, options.share)
    config = FitConfig(
        threads=options.threads,
        epochs=json.loads(options.epochs),
        argn_max_epochs=options.argn_max_epochs,
    )
    started = time.perf_counter()
    for module in adapter.modules:
        importlib.import_module(module)
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    model = adapter.fit(train, config)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = adapter.sample(model, len(train))
    sample_s = time.perf_counter() - started
    Path(options.parquet).parent.mkdir(parents=True, exist_ok=True)
    synthetic = synthetic.reset_index(drop=True)
    synthetic.to_parquet(options.parquet, index=False)
    info = {
        "import_s": round(import_s, 3),
        "fit_s": round(fit_s, 3),
        "sample_s": round(sample_s, 3),
        "n_train": len(train),
        "n_synthetic": len(synthetic),
        "version": adapter.version(),
        "notes": adapter.notes,
    }
    Path(options.info).write_text(json.dumps(info, indent=2))


def worker_score(options: argparse.Namespace) -> None:
    """Child: score a synthetic parquet (or the real holdout, for the ceiling row)."""
    import pandas as pd

    from _scores import score_all

    train, holdout = load_dataset(options.dataset)
    if options.synth == CEILING:
        synthetic, scored_holdout = holdout, None
    else:
        synthetic = align_to(pd.read_parquet(options.parquet), train)
        scored_holdout = holdout
    results = score_all(
        train,
        scored_holdout,
        synthetic,
        DATASETS[options.dataset].target,
        Path(options.info).parent,
        options.synth,
        dcr_draws=options.dcr_draws,
    )
    Path(options.info).write_text(json.dumps(results, indent=2, default=str))


# --------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------
def _machine_info() -> dict[str, Any]:
    return machine_info(PACKAGES)


def _load_results(path: Path, fresh: bool) -> dict[str, Any]:
    if fresh:
        path.unlink(missing_ok=True)
    if path.exists():
        return json.loads(path.read_text())
    return {"runs": {}, "scaling": {}, "commands": []}


def _save(
    results: dict[str, Any],
    path: Path,
    markdown: Path,
    synth_order: list[str],
    section: str | None = None,
    key: str | None = None,
) -> None:
    """Write results.json and RESULTS.md; merge with what is on disk, so parallel runs add up.

    Another run may have saved rows since this one started: re-read the file under a lock and
    put only this run's new row (section/key) and metadata on top of it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".results.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged.setdefault("runs", {})
        merged.setdefault("scaling", {})
        merged["machine"] = results.get("machine", {})
        merged["commands"] = list(
            dict.fromkeys([*merged.get("commands", []), *results.get("commands", [])])
        )
        if section is not None and key is not None:
            merged[section][key] = results[section][key]
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(merged, indent=2, default=str))
        tmp.replace(path)
        write_results_markdown(markdown, merged, synth_order)


def _parse_epochs(text: str | None) -> dict[str, int]:
    """`300` (CTGAN and TVAE) or `tvae=300,ctgan=50`."""
    epochs = dict(DEFAULT_EPOCHS)
    if not text:
        return epochs
    if "=" not in text:
        return {name: int(text) for name in epochs}
    for part in text.split(","):
        name, value = part.split("=")
        if name.strip() not in epochs:
            raise SystemExit(f"--epochs: unknown synthesizer {name!r}; use ctgan or tvae")
        epochs[name.strip()] = int(value)
    return epochs


def _fit_and_score(
    options: argparse.Namespace,
    dataset: str,
    synth: str,
    repeat: int,
    share: float,
    score: bool,
) -> dict[str, Any]:
    out = Path(options.out) / dataset
    out.mkdir(parents=True, exist_ok=True)
    suffix = f".r{repeat}" if share >= 1.0 else f".share{round(share * 100)}.r{repeat}"
    stem = out / f"{synth}{suffix}"
    record: dict[str, Any] = {
        "dataset": dataset,
        "synth": synth,
        "repeat": repeat,
        "share": share,
        "threads": options.threads,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    epochs = _parse_epochs(options.epochs)
    if synth in epochs:
        record["epochs"] = epochs[synth]
    if synth == "tabularargn":
        record["epochs"] = (
            f"max {options.argn_max_epochs:g}" if options.argn_max_epochs else "default (max 100)"
        )
    parquet = stem.with_suffix(stem.suffix + ".parquet")
    if synth != CEILING:
        if options.skip_fit and parquet.exists() and Path(f"{stem}.fit.json").exists():
            record.update(json.loads(Path(f"{stem}.fit.json").read_text()))
            record["status"] = "ok"
        else:
            print(
                f"[{time.strftime('%H:%M:%S')}] fit {dataset}/{synth} (share {share:.0%}, "
                f"repeat {repeat}) ...",
                flush=True,
            )
            child = _run_child(
                [
                    "worker-fit",
                    "--dataset",
                    dataset,
                    "--synth",
                    synth,
                    "--share",
                    str(share),
                    "--threads",
                    str(options.threads),
                    "--epochs",
                    json.dumps(epochs),
                    *(
                        ["--argn-max-epochs", str(options.argn_max_epochs)]
                        if options.argn_max_epochs
                        else []
                    ),
                    "--parquet",
                    str(parquet),
                    "--info",
                    f"{stem}.fit.json",
                ],
                options.threads,
                options.timeout,
                Path(f"{stem}.fit.log"),
            )
            record.update({"fit_wall_s": child["wall_s"], "peak_mb": child["peak_mb"]})
            if child["timed_out"]:
                record.update(status="timeout", error=f"no result within {options.timeout:g} s")
            elif child["returncode"] != 0:
                tail = _log_tail(Path(f"{stem}.fit.log"))
                unavailable = synth == "lookalike" and (
                    "ImportError" in tail or "AttributeError" in tail
                )
                record.update(status="unavailable" if unavailable else "failed", error=tail)
            else:
                record.update(json.loads(Path(f"{stem}.fit.json").read_text()))
                record["status"] = "ok"
            print(
                f"    -> {record['status']} import {record.get('import_s')} s, fit "
                f"{record.get('fit_s')} s, sample "
                f"{record.get('sample_s')} s, peak {record.get('peak_mb')} MB "
                f"{record.get('error', '')}",
                flush=True,
            )
    else:
        record["status"] = "ok"
    if score and record["status"] == "ok":
        print(f"[{time.strftime('%H:%M:%S')}] score {dataset}/{synth} ...", flush=True)
        child = _run_child(
            [
                "worker-score",
                "--dataset",
                dataset,
                "--synth",
                synth,
                "--parquet",
                str(parquet),
                "--info",
                f"{stem}.score.json",
                "--dcr-draws",
                str(options.dcr_draws),
            ],
            options.threads,
            options.timeout,
            Path(f"{stem}.score.log"),
        )
        record["score_wall_s"] = child["wall_s"]
        if child["returncode"] == 0:
            record.update(json.loads(Path(f"{stem}.score.json").read_text()))
        else:
            record["score_error"] = _log_tail(Path(f"{stem}.score.log"))
        errors = {k: v for k, v in record.items() if k.endswith("_error")}
        print(
            f"    -> qa {record.get('qa_accuracy')} sdm {record.get('sdm_quality')} "
            f"la-det {record.get('la_detection_auc')} la-tstr {record.get('la_tstr')} "
            f"{errors or ''}",
            flush=True,
        )
    record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return record


def orchestrate(options: argparse.Namespace) -> None:
    results_path = Path(options.out) / "results.json"
    markdown = Path(options.markdown)
    results = _load_results(results_path, options.fresh)
    results["machine"] = _machine_info()
    command = "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if command not in results.setdefault("commands", []):
        results["commands"].append(command)
    synths = [s for s in options.synths.split(",") if s]
    for synth in synths:
        if synth not in ADAPTERS:
            raise SystemExit(f"unknown synth {synth!r}; choose from {sorted(ADAPTERS)}")
    order = [*synths, *[s for s in DEFAULT_SYNTHS.split(",") if s not in synths]]

    if options.scaling:
        scaling_synths = synths if options.synths != DEFAULT_SYNTHS else ["lookalike"]
        shares = [float(s) for s in options.scaling_shares.split(",")]
        for synth in scaling_synths:
            for share in shares:
                for repeat in range(options.repeats):
                    record = _fit_and_score(
                        options, options.scaling_dataset, synth, repeat, share, score=False
                    )
                    key = f"{options.scaling_dataset}/{synth}/{share}/{repeat}"
                    results.setdefault("scaling", {})[key] = record
                    _save(results, results_path, markdown, order, "scaling", key)
        return

    for dataset in [d for d in options.datasets.split(",") if d]:
        if dataset not in DATASETS:
            raise SystemExit(f"unknown dataset {dataset!r}; choose from {sorted(DATASETS)}")
        plan = list(synths) + ([] if options.no_ceiling else [CEILING])
        for synth in plan:
            repeats = 1 if synth == CEILING else options.repeats
            for repeat in range(repeats):
                record = _fit_and_score(
                    options, dataset, synth, repeat, 1.0, score=not options.skip_score
                )
                key = f"{dataset}/{synth}/{repeat}"
                results["runs"][key] = record
                _save(results, results_path, markdown, order, "runs", key)
    print(f"wrote {results_path} and {markdown}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", title="internal (child processes)")

    fit = sub.add_parser("worker-fit")
    fit.add_argument("--dataset", required=True)
    fit.add_argument("--synth", required=True)
    fit.add_argument("--share", type=float, default=1.0)
    fit.add_argument("--threads", type=int, default=2)
    fit.add_argument("--epochs", default=json.dumps(DEFAULT_EPOCHS))
    fit.add_argument("--argn-max-epochs", type=float, default=None)
    fit.add_argument("--parquet", required=True)
    fit.add_argument("--info", required=True)

    score = sub.add_parser("worker-score")
    score.add_argument("--dataset", required=True)
    score.add_argument("--synth", required=True)
    score.add_argument("--parquet", required=True)
    score.add_argument("--info", required=True)
    score.add_argument("--dcr-draws", type=int, default=DCR_DRAWS)

    parser.add_argument("--datasets", default=DEFAULT_DATASETS, help=f"default {DEFAULT_DATASETS}")
    parser.add_argument("--synths", default=DEFAULT_SYNTHS, help=f"default {DEFAULT_SYNTHS}")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "out"))
    parser.add_argument("--markdown", default=str(REPO_ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--repeats", type=int, default=1, help="tables show medians over repeats")
    parser.add_argument("--threads", type=int, default=2, help="OMP/MKL/torch threads per child")
    parser.add_argument(
        "--epochs", default=None, help="CTGAN/TVAE epochs: '300' or 'tvae=300,ctgan=50' (300)"
    )
    parser.add_argument(
        "--argn-max-epochs", type=float, default=None, help="TabularARGN max_epochs (its default)"
    )
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per child")
    parser.add_argument(
        "--dcr-draws",
        type=int,
        default=DCR_DRAWS,
        help=f"also average qa's DCR share over this many draws ({DCR_DRAWS}; 0: off)",
    )
    parser.add_argument("--skip-fit", action="store_true", help="re-score existing parquet files")
    parser.add_argument("--skip-score", action="store_true")
    parser.add_argument("--no-ceiling", action="store_true", help="don't score the real holdout")
    parser.add_argument("--fresh", action="store_true", help="discard earlier results.json")
    parser.add_argument("--scaling", action="store_true", help="fit time vs rows (lookalike)")
    parser.add_argument("--scaling-dataset", default="diabetes_brfss")
    parser.add_argument("--scaling-shares", default="0.25,0.5,1.0")
    options = parser.parse_args()

    if options.command == "worker-fit":
        worker_fit(options)
    elif options.command == "worker-score":
        worker_score(options)
    else:
        orchestrate(options)


if __name__ == "__main__":
    main()
