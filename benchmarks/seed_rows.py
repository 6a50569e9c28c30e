"""Seed rows on adult: how close the completed rows are to the real rows they stand for, and
how long they take.

Each seed table has 5,000 rows taken from adult_test (with replacement) with some columns
kept; one table fixes ``education`` to Masters in every row. Each is completed three times
(random states 0, 1, 2) by a model fitted on adult with seed 0. The score is the mean, over
the columns the seeds leave free, of the total variation distance between the completed rows
and real training rows with the same fixed values (drawn to the seeds' mix of values; numeric
columns in 20 quantile bins of the training data); lower is better. Seconds are the median
of the three draws.

Run from the repository root (``PYTHONPATH=<older src>`` scores an older version the same way):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/seed_rows.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

import lookalike as la

SEED_SETS = (
    ("education",),
    ("income",),
    ("sex", "race"),
    ("occupation", "income"),
    ("age", "sex"),
    ("age", "occupation"),
)
N_SEEDS = 5_000


def _tvd(a: pd.Series, b: pd.Series, edges: np.ndarray | None) -> float:
    if edges is not None:
        a = pd.cut(a.astype(float), edges, include_lowest=True)
        b = pd.cut(b.astype(float), edges, include_lowest=True)
    p = a.value_counts(normalize=True, dropna=False)
    q = b.value_counts(normalize=True, dropna=False)
    return float(0.5 * p.subtract(q, fill_value=0).abs().sum())


def _real_rows(real: pd.DataFrame, seeds: pd.DataFrame, fixed: list[str]) -> pd.DataFrame:
    """Training rows with the seeds' fixed values, as many of each as the seeds hold."""
    parts = []
    for values, rows in seeds.groupby(fixed, sort=False).indices.items():
        key = values if isinstance(values, tuple) else (values,)
        same = real.loc[(real[fixed] == pd.Series(dict(zip(fixed, key, strict=True)))).all(axis=1)]
        if len(same):
            parts.append(same.sample(len(rows), replace=True, random_state=2))
    return pd.concat(parts)


def main() -> None:
    warnings.simplefilter("ignore")
    real, holdout = la.datasets.load_adult(), la.datasets.load_adult("test")
    model = la.Synthesizer(random_state=0).fit(real)
    print("| fixed columns | groups | mean TVD of the free columns | seconds (median of 3) |")
    print("|---|---:|---:|---:|")
    for fixed_columns in SEED_SETS:
        fixed = list(fixed_columns)
        if fixed == ["education"]:
            seeds = pd.DataFrame({"education": ["Masters"] * N_SEEDS})
        else:
            seeds = holdout[fixed].dropna().sample(N_SEEDS, replace=True, random_state=0)
            seeds = seeds.reset_index(drop=True)
        reference = _real_rows(real, seeds, fixed)
        free = [c for c in real.columns if c not in fixed]
        edges = {
            c: np.unique(np.nanquantile(real[c], np.linspace(0, 1, 21)))
            if real[c].dtype.kind in "if" and real[c].nunique() > 20
            else None
            for c in free
        }
        scores, seconds = [], []
        for state in range(3):
            start = time.perf_counter()
            out = model.sample(conditions=seeds, random_state=state)
            seconds.append(time.perf_counter() - start)
            scores.append(np.mean([_tvd(out[c], reference[c], edges[c]) for c in free]))
        n_groups = seeds.groupby(fixed).ngroups
        name = "education = Masters" if fixed == ["education"] else " + ".join(fixed)
        print(f"| {name} | {n_groups} | {np.mean(scores):.4f} | {np.median(seconds):.2f} |")


if __name__ == "__main__":
    main()
