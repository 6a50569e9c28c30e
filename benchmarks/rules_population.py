"""Rules that pick a population: is the sample the model's rows where the rule holds?

Run from the repository root (needs ../shared/datasets/nycflights13):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rules_population.py

A rule such as ``air_time > 100`` holds in every sampled row either way; the question is what
the other columns look like. The rows of the training set where the rule holds are the answer
the data gives. The model's own answer is a large plain sample's rows where it holds (the exact
conditional, up to the model's error), and so is the same range given as a condition. Each rule's
sample is compared with both: the mean distance and the air time x distance correlation, the
share of flights delayed over five hours, the share of flights whose distance is not their
route's (the lookup link), total variation distances of origin, carrier and hour, whole-row
duplicates, and the sampling time. A missing value satisfies every rule, so only the sample
under the rule can hold missing values in the rule's column (the data's and the model's rows
where the rule holds have a value).

Writes benchmarks/out/rules_population.md.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import lookalike as la

FLIGHTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "nycflights13"
OUT = Path(__file__).parent / "out" / "rules_population.md"
TRAIN_ROWS = 40_000
SAMPLE_ROWS = 40_000
RULES = {
    "air_time > 100": lambda t: t["air_time"] > 100,
    "dep_time <= 600": lambda t: t["dep_time"] <= 600,
    "distance <= 1000": lambda t: t["distance"] <= 1000,
    "sched_dep_time <= 1259": lambda t: t["sched_dep_time"] <= 1259,
    "arr_delay >= 100": lambda t: t["arr_delay"] >= 100,
}


def _tvd(a: pd.Series, b: pd.Series) -> float:
    p, q = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * p.subtract(q, fill_value=0).abs().sum())


def _measures(rows: pd.DataFrame, reference: pd.DataFrame, routes: pd.Series) -> dict[str, float]:
    key = pd.MultiIndex.from_frame(rows[["origin", "dest"]])
    known = key.isin(routes.index)
    distance = rows["distance"].to_numpy()[known]
    return {
        "mean distance": float(rows["distance"].mean()),
        "corr air_time x distance": float(rows[["air_time", "distance"]].corr().iloc[0, 1]),
        "delay > 5 h": float((rows["dep_delay"] > 300).mean()),
        "arr_delay missing": float(rows["arr_delay"].isna().mean()),
        "distance not the route's": float(np.mean(distance != routes.reindex(key[known]))),
        "TVD origin": _tvd(rows["origin"], reference["origin"]),
        "TVD carrier": _tvd(rows["carrier"], reference["carrier"]),
        "TVD hour": _tvd(rows["hour"], reference["hour"]),
        "duplicate rows": float(rows.duplicated().mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    flights = pd.read_csv(FLIGHTS / "flights.csv.gz")
    train = flights.sample(TRAIN_ROWS, random_state=1)
    model = la.Synthesizer(random_state=0).fit(train)
    free = model.sample(10 * SAMPLE_ROWS, random_state=9)
    routes = train.groupby(["origin", "dest"])["distance"].agg(lambda v: v.mode()[0])
    lines = [
        "## Rules that pick a population (nycflights13)",
        "",
        f"{TRAIN_ROWS:,} flights for training (`flights.sample({TRAIN_ROWS}, random_state=1)`), "
        f"fit seed 0; {SAMPLE_ROWS:,} rows under each rule, seed 1. *data*: the training rows "
        "where the rule holds; *model*: a plain sample's rows where it holds (10 x "
        f"{SAMPLE_ROWS:,} rows drawn); *rule*: the sample under the rule. TVDs are against the "
        "data's rows. lookalike " + la.__version__ + ".",
        "",
    ]
    for rule, holds in RULES.items():
        data = train[holds(train)]
        exact = free[holds(free)]
        began = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ruled = model.sample(SAMPLE_ROWS, rules=[rule], random_state=1)
        seconds = time.perf_counter() - began
        assert la.check_rules(ruled, [rule]).all_hold
        table = {
            "data": _measures(data, data, routes),
            "model": _measures(exact, data, routes),
            "rule": _measures(ruled, data, routes),
        }
        lines += [
            f"### `{rule}` ({len(data):,} training rows, {seconds:.1f} s to sample, "
            f"{len(caught)} warnings)",
            "",
            "| | data | model | rule |",
            "|---|---:|---:|---:|",
        ]
        for measure in table["data"]:
            cells = " | ".join(f"{table[k][measure]:.4f}" for k in ("data", "model", "rule"))
            lines.append(f"| {measure} | {cells} |")
        lines.append("")
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
