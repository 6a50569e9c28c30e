"""Fit time on one thread against several: the wall-clock gain of ``fit(n_jobs=...)``.

Run from the repository root on an otherwise idle machine (it needs ../shared/datasets):

    .venv/bin/python benchmarks/threads.py --jobs 2 --rounds 3

Each dataset's training table is fitted with ``n_jobs=1`` and with ``n_jobs=--jobs``,
alternating, ``--rounds`` times; the medians are compared. Threads change only the time: the
script also checks that every fit gives the same rows (a hash of 5,000 sampled rows) and
fails if not. Writes benchmarks/out/threads.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import time
from pathlib import Path

import pandas as pd

import lookalike as la
from _data import load_dataset

OUT = Path(__file__).parent / "out" / "threads.md"
DATASETS = ("adult", "default_credit", "diabetes_brfss")


def _digest(model: la.Synthesizer) -> str:
    rows = model.sample(5_000)
    return hashlib.sha1(pd.util.hash_pandas_object(rows).to_numpy().tobytes()).hexdigest()[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="threads to compare with one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    lines = [
        "| dataset | rows | 1 thread, s | "
        f"{args.jobs} threads, s | speed-up | rounds (1 / {args.jobs}) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in args.datasets.split(","):
        train, _ = load_dataset(name)
        times: dict[int, list[float]] = {1: [], args.jobs: []}
        digests = set()
        for _ in range(args.rounds):
            for jobs in (1, args.jobs):
                started = time.perf_counter()
                model = la.Synthesizer(random_state=0).fit(train, n_jobs=jobs)
                times[jobs].append(time.perf_counter() - started)
                digests.add(_digest(model))
        if len(digests) != 1:
            raise SystemExit(f"{name}: fits with different thread counts differ: {digests}")
        one, many = statistics.median(times[1]), statistics.median(times[args.jobs])
        rounds = " / ".join(", ".join(f"{t:.2f}" for t in times[jobs]) for jobs in (1, args.jobs))
        lines.append(
            f"| {name} | {len(train):,} | {one:.2f} | {many:.2f} | {one / many:.2f}x | {rounds} |"
        )
        print(lines[-1], flush=True)
    header = (
        f"Fit wall time, medians of {args.rounds} alternating rounds ({platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, lookalike "
        f"{la.__version__}); every fit sampled the same rows.\n\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + "\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
