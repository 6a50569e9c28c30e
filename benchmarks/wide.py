"""Wide tables: fit and sample time and fidelity of lookalike and CART on a generated table.

The real benchmark datasets have 15-25 columns. This generates a seeded table of any width (a
third each categorical, decimal and skewed integer columns, all driven by 8 shared latent
factors so that columns depend on each other), plus a holdout of the same size from the same
process, and scores every synthesizer with mostlyai-qa's own report against that holdout.

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/wide.py --rows 2000 --columns 150
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from _scores import score_mostlyai_qa  # noqa: E402
from _synths import ADAPTERS, FitConfig  # noqa: E402

N_FACTORS = 8


def wide_table(n_rows: int, n_columns: int, seed: int = 0) -> pd.DataFrame:
    """``n_rows`` rows of ``n_columns`` related columns of three kinds (seeded)."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, N_FACTORS))
    columns: dict[str, object] = {}
    for j in range(n_columns):
        # Each column loads on a random ~40 % of the factors, so some pairs are unrelated.
        loadings = rng.normal(size=N_FACTORS) * (rng.random(N_FACTORS) < 0.4)
        x = factors @ loadings + 0.7 * rng.normal(size=n_rows)
        if j % 3 == 0:
            columns[f"c{j}"] = pd.cut(x, 5, labels=list("abcde")).astype(str)
        elif j % 3 == 1:
            columns[f"n{j}"] = np.round(x * 100, 2)
        else:
            columns[f"i{j}"] = np.round(np.exp(x / 3) * 10).astype(int)
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="training rows (and holdout rows)")
    parser.add_argument("--columns", type=int, default=150)
    parser.add_argument("--synths", default="lookalike,cart")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    table = wide_table(2 * args.rows, args.columns)
    train = table.iloc[: args.rows].reset_index(drop=True)
    holdout = table.iloc[args.rows :].reset_index(drop=True)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.synths.split(","):
            adapter = ADAPTERS[name]
            clock = time.perf_counter()
            model = adapter.fit(train, FitConfig(threads=1))
            fit_s = time.perf_counter() - clock
            clock = time.perf_counter()
            synthetic = adapter.sample(model, len(train))
            sample_s = time.perf_counter() - clock
            scores = score_mostlyai_qa(train, holdout, synthetic, Path(scratch) / f"{name}.html")
            row = {
                "synth": name,
                "rows": args.rows,
                "columns": args.columns,
                "fit_s": round(fit_s, 2),
                "sample_s": round(sample_s, 2),
                **{k: v for k, v in scores.items() if k != "qa_raw"},
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
