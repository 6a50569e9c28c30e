"""Business rules: 0 violations in 1,000,000 sampled rows per rule type, and the cost in time.

Run from the repository root (OMP_NUM_THREADS=1 keeps the shared machine fair):

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/rules.py

Writes benchmarks/out/rules.md (copied into RESULTS.md). Tables: adult (bundled) and a generated orders table
(start/end dates, price/quantity/total, city/country, seeded). Sampling times with and without
rules are measured in the same run, alternating, and the medians of ``REPEATS`` rounds compared.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import lookalike as la
from lookalike.errors import DataWarning

N_ROWS = 1_000_000
REPEATS = 3
OUT = Path(__file__).parent / "out" / "rules.md"

CITIES = {
    "US": ["New York", "Los Angeles", "Chicago", "Houston"],
    "FR": ["Paris", "Lyon", "Marseille"],
    "DE": ["Berlin", "Munich", "Hamburg"],
    "JP": ["Tokyo", "Osaka"],
}

ADULT_RULES = {
    "comparison (columns)": "capital_gain >= capital_loss",
    "comparison (constant)": "age >= 21",
    "range": "20 <= hours_per_week <= 60",
    "within": "relationship within sex",
    "conditional (labels)": 'if relationship == "Husband" then marital_status == "Married-civ-spouse"',
    "conditional (numbers)": "if age < 25 then hours_per_week <= 45",
}

ORDER_RULES = {
    "comparison (dates)": "end_date >= start_date",
    "comparison (constant)": "age >= 18",
    "range": "0 <= discount <= 0.5",
    "within": "city within country",
    "formula": "total == price * quantity",
    "conditional (labels)": 'if express == "yes" then country != "JP"',
    "conditional (numbers)": "if quantity >= 5 then discount >= 0.05",
}


def make_orders(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Orders that mostly obey ORDER_RULES (a few percent of rows break each)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    days = rng.integers(0, 45, n)
    days[rng.random(n) < 0.03] = -2
    country = rng.choice(list(CITIES), n, p=[0.45, 0.25, 0.2, 0.1])
    city = np.array([rng.choice(CITIES[c]) for c in country], dtype=object)
    wrong = rng.random(n) < 0.01
    city[wrong] = rng.choice(["Paris", "Tokyo", "Berlin"], int(wrong.sum()))
    price = np.round(rng.lognormal(3.2, 0.9, n), 2)
    quantity = rng.integers(1, 10, n)
    total = np.round(price * quantity, 2)
    total[rng.random(n) < 0.02] += 0.5
    discount = np.round(np.clip(rng.normal(0.12, 0.1, n) + 0.02 * quantity, -0.05, 0.8), 3)
    express = np.where(rng.random(n) < 0.3, "yes", "no")
    express[(country == "JP") & (rng.random(n) < 0.9)] = "no"
    return pd.DataFrame(
        {
            "start_date": start,
            "end_date": start + pd.to_timedelta(days, unit="D"),
            "country": country,
            "city": city,
            "age": rng.integers(15, 85, n),
            "price": price,
            "quantity": quantity,
            "discount": discount,
            "total": total,
            "express": express,
        }
    )


def run_table(name: str, frame: pd.DataFrame, rules: dict[str, str], n_rows: int) -> dict[str, Any]:
    print(f"[{name}] fitting on {len(frame):,} rows", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        start = time.perf_counter()
        model = la.Synthesizer(random_state=0).fit(frame, rules=list(rules.values()))
        fit_seconds = time.perf_counter() - start
    plain = la.Synthesizer(random_state=0).fit(frame)
    # The training rows against the rules as stored (a 'within' rule keeps only combinations
    # seen at least rare_threshold times).
    real = la.check_rules(frame, model.rules_, schema=model.schema_)
    times: dict[str, list[float]] = {"without": [], "with": []}
    synthetic = None
    for _ in range(REPEATS):
        start = time.perf_counter()
        plain.sample(n_rows)
        times["without"].append(time.perf_counter() - start)
        print(f"[{name}] without rules: {times['without'][-1]:.1f} s", flush=True)
        start = time.perf_counter()
        synthetic = model.sample(n_rows)
        times["with"].append(time.perf_counter() - start)
        print(f"[{name}] with rules: {times['with'][-1]:.1f} s", flush=True)
    assert synthetic is not None
    checked = la.check_rules(synthetic, model.rules_, schema=model.schema_)
    plain_rows = plain.sample(min(n_rows, 200_000))
    unruled = la.check_rules(plain_rows, model.rules_, schema=model.schema_)
    rows = []
    for kind, text in rules.items():
        rows.append(
            {
                "kind": kind,
                "rule": text,
                "real_share": real[text].share_held,
                "unruled_share": unruled[text].share_held,
                "checked": checked[text].n_checked,
                "violations": checked[text].n_violations,
            }
        )
    return {
        "name": name,
        "n_train": len(frame),
        "fit_seconds": fit_seconds,
        "without": float(np.median(times["without"])),
        "with": float(np.median(times["with"])),
        "rounds": [w / wo for w, wo in zip(times["with"], times["without"], strict=True)],
        "rows": rows,
    }


def to_markdown(results: list[dict[str, Any]], n_rows: int, seconds: float) -> str:
    lines = [
        "## Business rules (issue 4)",
        "",
        "Command: `OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/rules.py` "
        f"({platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}; shared 2-core machine, total {seconds / 60:.1f} min).",
        "",
        f"Each table's model is fitted with all its rules; {n_rows:,} rows are sampled and every "
        "rule is checked on them with `lookalike.check_rules`. *Real* is the share of the "
        "training rows where the rule held; *no rules* the share in rows sampled from the same "
        "model fitted without rules (what enforcement corrects).",
        "",
    ]
    for result in results:
        lines += [
            f"### {result['name']} ({result['n_train']:,} training rows)",
            "",
            "| rule type | rule | real | no rules | rows checked | violations |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for row in result["rows"]:
            rule = row["rule"].replace("|", "\\|").replace("`", "")
            lines.append(
                f"| {row['kind']} | `{rule}` | {row['real_share']:.4f} | "
                f"{row['unruled_share']:.4f} | {row['checked']:,} | **{row['violations']}** |"
            )
        ratio = result["with"] / result["without"]
        lines += [
            "",
            f"Sampling {n_rows:,} rows: {result['without']:.1f} s without rules, "
            f"{result['with']:.1f} s with them (enforcement and verification included): "
            f"**{ratio:.2f}x** (target: at most 2x). Medians of {REPEATS} alternating rounds; "
            "the rounds' own ratios: " + ", ".join(f"{r:.2f}x" for r in result["rounds"]) + ".",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=N_ROWS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    began = time.perf_counter()
    results = [
        run_table("adult", la.datasets.load_adult(), ADULT_RULES, args.rows),
        run_table("orders (generated, seed 0)", make_orders(), ORDER_RULES, args.rows),
    ]
    text = to_markdown(results, args.rows, time.perf_counter() - began)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
