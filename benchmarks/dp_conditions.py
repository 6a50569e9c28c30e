"""Conditions and rebalancing on the differentially private model (adult).

For each epsilon and fit seed, the private model is fitted on adult's training table (no public
codebook) and asked for rows under a few conditions. Each column that is not conditioned is
compared with the real training rows of the same subgroup (mean total variation distance over
the columns; numbers on the real deciles), for:

* the conditioned draw (``sample(conditions=...)``, importance resampling);
* rejection from the same model's plain rows (what the conditioned draw must equal);
* the plain rows without any condition (how far the subgroup is from everybody);
* optionally, rejection from another generator's table (``--peer name=path.parquet``, e.g. the
  MST output of ``benchmarks/dp.py``), which is the only way to condition such a generator.

It also times a 1,000,000-row draw with and without a condition, 5,000 seed rows, and a
rebalanced draw, and reports the rebalanced shares. Sampling is post-processing: none of this
spends privacy budget.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dp_conditions.py [--peer mst=/tmp/dp/mst.eps4.parquet]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lookalike as la
from _data import load_dataset

CONDITIONS = (
    {"income": ">50K"},
    {"sex": "Female", "marital_status": "Never-married"},
    {"race": "Black", "income": ">50K"},
)
ROWS = 20_000


def _binned(values: pd.Series, real: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(real):
        edges = np.unique(np.nanquantile(real.astype(float), np.linspace(0, 1, 11)))
        cuts = np.r_[-np.inf, edges[1:-1], np.inf]
        return pd.cut(values.astype(float), cuts).astype(str)
    return values.astype(str)


def _tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * pa.sub(pb, fill_value=0).abs().sum())


def _subgroup(frame: pd.DataFrame, condition: dict[str, str]) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    for column, value in condition.items():
        keep &= (frame[column].astype(str) == value).to_numpy()
    return frame[keep]


def mean_tvd(frame: pd.DataFrame, real: pd.DataFrame, train: pd.DataFrame, skip: set[str]) -> float:
    columns = [c for c in train.columns if c not in skip]
    return float(
        np.mean([_tvd(_binned(frame[c], train[c]), _binned(real[c], train[c])) for c in columns])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", default="1,4")
    parser.add_argument("--fit-seeds", default="0,1")
    parser.add_argument("--peer", action="append", default=[], help="name=path.parquet")
    args = parser.parse_args()
    train, _ = load_dataset("adult")
    lines = [
        "| ε | fit seed | condition | real rows | conditioned | rejection, same model | "
        "plain rows | conditioned draw s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    timing_model = None
    for epsilon in (float(e) for e in args.epsilons.split(",")):
        for fit_seed in (int(s) for s in args.fit_seeds.split(",")):
            model = la.Synthesizer(epsilon=epsilon, random_state=fit_seed).fit(train)
            timing_model = model
            plain = model.sample(400_000, random_state=1)
            for condition in CONDITIONS:
                real = _subgroup(train, condition)
                started = time.perf_counter()
                drawn = model.sample(ROWS, conditions=condition, random_state=2)
                seconds = time.perf_counter() - started
                rejected = _subgroup(plain, condition).iloc[:ROWS]
                skip = set(condition)
                cells = [
                    mean_tvd(frame, real, train, skip)
                    for frame in (drawn, rejected, plain.iloc[:ROWS])
                ]
                lines.append(
                    f"| {epsilon:g} | {fit_seed} | {condition} | {len(real):,} | "
                    + " | ".join(f"{c:.4f}" for c in cells)
                    + f" | {seconds:.2f} |"
                )
                print(lines[-1], flush=True)
    for peer in args.peer:
        name, path = peer.split("=", 1)
        table = pd.read_parquet(path)
        for condition in CONDITIONS:
            real = _subgroup(train, condition)
            rejected = _subgroup(table, condition)
            tvd = mean_tvd(rejected, real, train, set(condition))
            lines.append(
                f"| peer {name}: rejection from {len(table):,} rows | | {condition} | "
                f"{len(real):,} | | {tvd:.4f} ({len(rejected):,} rows) | | |"
            )
            print(lines[-1], flush=True)
    assert timing_model is not None
    lines += ["", "| draw (last model) | rows | seconds |", "|---|---|---|"]
    seeds = train[["age", "sex", "race", "hours_per_week"]].sample(5_000, random_state=0)
    seeds = seeds.reset_index(drop=True)
    plain_age = float(timing_model.sample(200_000, random_state=4)["age"].mean())
    for label, kwargs in (
        ("plain", {"n": 1_000_000}),
        (
            "sex = Female, income = >50K",
            {"n": 1_000_000, "conditions": {"sex": "Female", "income": ">50K"}},
        ),
        ("5,000 seed rows (age, sex, race, hours_per_week)", {"conditions": seeds}),
        ("rebalance income >50K to 0.5", {"n": 1_000_000, "rebalance": {"income": {">50K": 0.5}}}),
        (
            "shift age mean +10, rebalance income >50K to 0.5",
            {
                "n": 1_000_000,
                "shift": {"age": {"mean": "+10"}},
                "rebalance": {"income": {">50K": 0.5}},
            },
        ),
        (
            "parity of income by sex",
            {"n": 1_000_000, "parity": {"target": "income", "sensitive": ["sex"]}},
        ),
    ):
        started = time.perf_counter()
        out = timing_model.sample(random_state=3, **kwargs)  # type: ignore[arg-type]
        lines.append(f"| {label} | {len(out):,} | {time.perf_counter() - started:.1f} |")
        print(lines[-1], flush=True)
        if "rebalance" in kwargs:
            lines.append(f"| (share of >50K achieved) | | {(out['income'] == '>50K').mean():.4f} |")
        if "shift" in kwargs:
            lines.append(
                f"| (mean age achieved; plain rows {plain_age:.2f}) | | {out['age'].mean():.2f} |"
            )
        if "parity" in kwargs:
            rates = pd.crosstab(out["sex"], out["income"], normalize="index")[">50K"]
            lines.append(f"| (share >50K by sex achieved) | | {rates.round(4).to_dict()} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
