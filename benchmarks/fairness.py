"""Fairness on adult: per-group fidelity and privacy, downstream parity, and the parity option.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/fairness.py

Trains the default Synthesizer on adult.csv (32,561 rows), tests on adult_test.csv (16,281 rows),
with ``sex`` and ``race`` as the sensitive columns, and writes the numbers as markdown to
benchmarks/out/fairness.md (plus the raw numbers as JSON beside it; the tables are copied into RESULTS.md):

1. the fairness section of ``lookalike.evaluate`` for the default synthetic data, next to a fresh
   real sample scored the same way (half the test file as "synthetic", the other half as the
   holdout) - the reference for per-group fidelity, DCR shares and parity;
2. ``sample(parity=...)``: the demographic parity difference of the synthetic target itself
   (share of ``income == ">50K"`` per group), and its accuracy cost: TSTR ROC AUC on the real
   test rows with and without the option;
3. a small ``lookalike.experiment`` run (sizes, real + synthetic mixes, rebalancing, parity), timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import lookalike as la  # noqa: E402
from _data import load_dataset  # noqa: E402
from lookalike.evaluate._fairness import demographic_parity_difference, measure_fairness  # noqa: E402
from lookalike.evaluate._prepare import prepare_tables  # noqa: E402
from lookalike.evaluate._result import FairnessResult  # noqa: E402
from lookalike.evaluate._utility import utility_scores  # noqa: E402

SENSITIVE = ("sex", "race")
TARGET = "income"
POSITIVE = ">50K"
SEED = 0
MAX_ROWS = 50_000
COMMAND = "OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/fairness.py"


def fairness(
    real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame
) -> tuple[FairnessResult, float]:
    """The fairness section exactly as ``evaluate(..., sensitive=SENSITIVE)`` computes it."""
    started = time.perf_counter()
    tables = prepare_tables(real, synthetic, holdout)
    rng = np.random.default_rng(SEED)
    result = measure_fairness(tables, SENSITIVE, TARGET, rng, MAX_ROWS)
    return result, time.perf_counter() - started


def tstr_auc(real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame) -> float | None:
    """ROC AUC on the real test rows of evaluate's utility model trained on ``synthetic``."""
    tables = prepare_tables(real, synthetic, holdout)
    scores = utility_scores(
        tables.real,
        tables.synthetic,
        tables.holdout,
        TARGET,
        tables.names,
        tables.kinds,
        np.random.default_rng(SEED),
        MAX_ROWS,
    )
    return scores.synthetic_score


def target_parity(table: pd.DataFrame) -> dict[str, float]:
    """Demographic parity difference of the target itself, by each sensitive column."""
    positive = (table[TARGET].astype(str) == POSITIVE).to_numpy()
    return {
        column: demographic_parity_difference(
            positive, positive, sensitive_features=table[column].astype(str).to_numpy()
        )
        for column in SENSITIVE
    }


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def groups_table(result: FairnessResult, reference: FairnessResult) -> list[str]:
    lines = [
        "| column | group | real rows | real % | synthetic % | single cols synth / holdout | "
        "pairs synth / holdout | fresh real sample: pairs / holdout | DCR share (fresh real) | "
        "concerns |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for g in result.groups:
        r = next(x for x in reference.groups if (x.column, x.group) == (g.column, g.group))
        lines.append(
            f"| {g.column} | {g.group} | {g.n_real_rows:,} | {pct(g.real_share)} | "
            f"{pct(g.synthetic_share)} | {pct(g.univariate)} / {pct(g.holdout_univariate)} | "
            f"{pct(g.bivariate)} / {pct(g.holdout_bivariate)} | "
            f"{pct(r.bivariate)} / {pct(r.holdout_bivariate)} | "
            f"{num(g.dcr_share)} ({num(r.dcr_share)}) | {'; '.join(g.concerns) or '–'} |"
        )
    return lines


def parity_table(rows: dict[str, FairnessResult]) -> list[str]:
    lines = [
        "| training data | column | DPD (model trained on it) | DPD (trained on real) | "
        "EOD (trained on it) | EOD (trained on real) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, result in rows.items():
        for p in result.parity:
            lines.append(
                f"| {label} | {p.column} | {num(p.demographic_parity_difference)} | "
                f"{num(p.real_demographic_parity_difference)} | "
                f"{num(p.equalized_odds_difference)} | {num(p.real_equalized_odds_difference)} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(BENCH_DIR / "out" / "fairness.md"))
    parser.add_argument("--n-jobs", type=int, default=2, help="workers for the experiment demo")
    args = parser.parse_args()
    numbers: dict[str, Any] = {}
    load = os.getloadavg()[0]
    numbers["load_average"] = load
    started = time.perf_counter()
    train, test = load_dataset("adult")
    print(f"adult: train {train.shape}, test {test.shape}", flush=True)

    clock = time.perf_counter()
    model = la.Synthesizer(random_state=SEED).fit(train)
    numbers["fit_seconds"] = time.perf_counter() - clock
    clock = time.perf_counter()
    synthetic = model.sample(len(train))
    numbers["sample_seconds"] = time.perf_counter() - clock

    default, seconds = fairness(train, synthetic, test)
    numbers["fairness_seconds"] = seconds
    half = len(test) // 2
    fresh, _ = fairness(train, test.iloc[:half], test.iloc[half:])
    print(default.verdict, flush=True)

    # The parity option, on one column at a time and on both.
    parity_runs: dict[str, dict[str, Any]] = {}
    parity_fairness: dict[str, FairnessResult] = {"default synthetic": default, "fresh real": fresh}
    options = {"none": None, "sex": ["sex"], "race": ["race"], "sex + race": ["sex", "race"]}
    for label, columns in options.items():
        clock = time.perf_counter()
        rows = (
            synthetic
            if columns is None
            else model.sample(len(train), parity={"target": TARGET, "sensitive": columns})
        )
        sample_seconds = (
            numbers["sample_seconds"] if columns is None else time.perf_counter() - clock
        )
        parity_runs[label] = {
            "target_dpd": target_parity(rows),
            "tstr_auc": tstr_auc(train, rows, test),
            "sample_seconds": sample_seconds,
            "positive_share": float((rows[TARGET].astype(str) == POSITIVE).mean()),
        }
        if columns is not None:
            parity_fairness[f"parity on {label}"], _ = fairness(train, rows, test)
        print(label, parity_runs[label], flush=True)
    real_dpd = target_parity(train)
    real_auc = tstr_auc(train, train, test)

    # A small experiment: which training set makes the best model?
    variants: list[dict[str, Any]] = [
        *la.variant_grid(n=[5_000, len(train)], real=[0.0, 0.5]),
        {"name": "rebalanced to 50% >50K", "rebalance": {TARGET: {POSITIVE: 0.5}}},
        {"name": "parity on sex", "parity": {"target": TARGET, "sensitive": ["sex"]}},
    ]
    clock = time.perf_counter()
    board = la.experiment(
        train, model, variants, TARGET, test, n_jobs=args.n_jobs, progress=False, random_state=SEED
    )
    numbers["experiment_seconds"] = time.perf_counter() - clock
    print(board.to_frame().to_string(), flush=True)
    if (BENCH_DIR / "out").is_dir():
        board.to_html(BENCH_DIR / "out" / "fairness_experiment.html")

    numbers.update(
        {
            "default_fairness": default.verdict.explanation,
            "parity": parity_runs,
            "real_target_dpd": real_dpd,
            "real_tstr_auc": real_auc,
            "experiment": board.to_dict(),
            "total_seconds": time.perf_counter() - started,
        }
    )
    lines = [
        "## Fairness (adult; sensitive columns sex and race)",
        "",
        f"Command: `{COMMAND}` (writes this file). Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs (load average {load:.1f} at the start; "
        "the seconds below grow with it), "
        f"Python {platform.python_version()}, "
        f"lookalike {la.__version__}. Default `Synthesizer(random_state={SEED})` trained on "
        f"adult.csv ({len(train):,} rows; fit {numbers['fit_seconds']:.1f} s, sampling "
        f"{len(train):,} rows {numbers['sample_seconds']:.1f} s); the holdout is adult_test.csv "
        f"({len(test):,} rows). The fairness section took {numbers['fairness_seconds']:.1f} s. "
        "The *fresh real sample* scores half of adult_test as if it were synthetic data (with the "
        "other half as its holdout): what a perfect generator would get.",
        "",
        f"**Verdict ({default.verdict.rating}):** {default.verdict.explanation}",
        "",
        "### Representation, fidelity and privacy by group (percent; 1 − TVD)",
        "",
        *groups_table(default, fresh),
        "",
        "### Downstream parity (model trained on the data, tested on adult_test)",
        "",
        "DPD: demographic parity difference, EOD: equalized-odds difference (fairlearn's "
        "definitions, between groups, worst case). The real-trained model's numbers are the "
        "data's own.",
        "",
        *parity_table(parity_fairness),
        "",
        "### The parity option of `sample`: the synthetic target's own parity, and its cost",
        "",
        'DPD of the target itself (largest minus smallest group share of `income == ">50K"`); '
        "TSTR ROC AUC on adult_test of evaluate's utility model (trained on real data: "
        f"{num(real_auc, 4)}).",
        "",
        "| synthetic data | DPD by sex | DPD by race | share >50K | TSTR AUC | AUC cost | sampling s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| real training data | {num(real_dpd['sex'], 4)} | {num(real_dpd['race'], 4)} | "
        f"{pct(float((train[TARGET] == POSITIVE).mean()))}% | {num(real_auc, 4)} | | |",
    ]
    base_auc = parity_runs["none"]["tstr_auc"]
    for label, run in parity_runs.items():
        cost = None if run["tstr_auc"] is None or base_auc is None else base_auc - run["tstr_auc"]
        lines.append(
            f"| {'default (no parity)' if label == 'none' else f'parity on {label}'} | "
            f"{num(run['target_dpd']['sex'], 4)} | {num(run['target_dpd']['race'], 4)} | "
            f"{pct(run['positive_share'])}% | {num(run['tstr_auc'], 4)} | "
            f"{'' if label == 'none' else num(cost, 4)} | {run['sample_seconds']:.1f} |"
        )
    frame = board.to_frame()
    lines += [
        "",
        f"### Experiment demo ({len(board.variants)} variants, n_jobs={args.n_jobs} threads, "
        f"{numbers['experiment_seconds']:.1f} s in all)",
        "",
        "Default model (gradient-boosted trees, 100 rounds) trained on each variant, ROC AUC on "
        "adult_test.",
        "",
        "| rank | variant | ROC AUC | synthetic rows | real rows | seconds |",
        "|---:|---|---:|---:|---:|---:|",
        *(
            f"| {r.rank} | {r.variant} | {r.roc_auc:.4f} | {r.n_synthetic_rows:,} | "
            f"{r.n_real_rows:,} | {r.seconds:.1f} |"
            for r in frame.itertuples()
        ),
        "",
        f"Total run time: {numbers['total_seconds']:.0f} s.",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(
        json.dumps(numbers, indent=1, default=str), encoding="utf-8"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
