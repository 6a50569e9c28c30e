"""The same-size privacy comparison of privacy.py, repeated over seeds.

privacy.py compares the default Synthesizer's output with real holdout rows used as if they were
synthetic, at the same size (half of adult_test each, the other half as the attacks' control),
once. Each risk there comes from one draw; this repeats the comparison with a new model seed, a
new split of adult_test and new attack streams per seed, and counts how often the synthetic
data is no riskier (same rule as privacy.py: a risk's point estimate within the real data's
95 % interval or below it; MIA AUC and DCR share at most 0.01 above).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/privacy_seeds.py --seeds 5 [--params JSON]
    ... --seeds 40 --first-seed 21 --pool seeds-1-20.json   # add seeds to an earlier run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import lookalike as la  # noqa: E402
from _data import load_dataset  # noqa: E402
from privacy import privacy_numbers  # noqa: E402

RISKS = ("singling_out", "linkability", "attribute_inference")


def no_riskier(synthetic: dict[str, Any], real: dict[str, Any]) -> dict[str, bool]:
    out = {
        "mia_auc": synthetic["mia"]["auc"] <= real["mia"]["auc"] + 0.01,
        "dcr_share": synthetic["dcr_share"] <= real["dcr_share"] + 0.01,
    }
    for name in RISKS:
        out[name] = synthetic[name]["risk"] <= real[name]["risk_ci"][1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=1, help="seeds run from here (1)")
    parser.add_argument(
        "--pool",
        type=Path,
        nargs="*",
        default=[],
        help="--json files of earlier runs (other seeds, same parameters) to pool with this one",
    )
    parser.add_argument("--json", type=Path, help="also write every seed's numbers here")
    parser.add_argument(
        "--params", default="{}", help="Synthesizer parameters as JSON, e.g. '{\"n_trees\": 5}'"
    )
    args = parser.parse_args()
    params = json.loads(args.params)
    started = time.perf_counter()
    train, test = load_dataset("adult")
    half = test.shape[0] // 2
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        model = la.Synthesizer(random_state=seed, **params).fit(train)
        synthetic = model.sample(half, random_state=seed)
        order = np.random.default_rng(100 + seed).permutation(test.shape[0])
        as_synthetic = test.iloc[np.sort(order[:half])].reset_index(drop=True)
        control = test.iloc[np.sort(order[half:])].reset_index(drop=True)
        numbers = {
            name: privacy_numbers(la.evaluate(train, table, holdout=control, random_state=seed))
            for name, table in (("synthetic", synthetic), ("real", as_synthetic))
        }
        verdict = no_riskier(numbers["synthetic"], numbers["real"])
        rows.append((seed, numbers, verdict))
        print(seed, verdict, flush=True)
    lines = [
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/privacy_seeds.py --seeds "
        f"{args.seeds} --first-seed {args.first_seed} --params '{args.params}'"
        + "".join(f" --pool {p}" for p in args.pool)
        + f"` ({time.perf_counter() - started:.0f} s; "
        f"{half:,} rows per side).",
        "",
        "| seed | MIA AUC synth / real | DCR share synth / real | singling out synth / real CI "
        "| linkability synth / real CI | attribute inference synth / real CI | no riskier |",
        "|---|---|---|---|---|---|---|",
    ]
    for seed, numbers, verdict in rows:
        s, r = numbers["synthetic"], numbers["real"]
        cells = [
            f"{s['mia']['auc']:.3f} / {r['mia']['auc']:.3f}",
            f"{s['dcr_share']:.3f} / {r['dcr_share']:.3f}",
        ]
        for name in RISKS:
            cells.append(
                f"{s[name]['risk']:.3f} / [{r[name]['risk_ci'][0]:.3f}, {r[name]['risk_ci'][1]:.3f}]"
            )
        failed = [k for k, ok in verdict.items() if not ok]
        cells.append("all" if not failed else "not: " + ", ".join(failed))
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    counts = {k: sum(v[k] for _, _, v in rows) for k in rows[0][2]}
    lines += [
        "",
        "Seeds where the synthetic data is no riskier: "
        + ", ".join(f"{k} {n}/{len(rows)}" for k, n in counts.items())
        + ".",
    ]
    if args.json:
        args.json.write_text(json.dumps([{"seed": s, **n} for s, n, _ in rows], indent=1))
    pooled = list(rows)
    for path in args.pool:
        for entry in json.loads(path.read_text()):
            numbers = {"synthetic": entry["synthetic"], "real": entry["real"]}
            pooled.append(
                (entry["seed"], numbers, no_riskier(numbers["synthetic"], numbers["real"]))
            )
    seeds = [seed for seed, _, _ in pooled]
    if len(set(seeds)) < len(seeds):
        raise SystemExit("--pool repeats a seed of this run or of another file.")
    if args.pool:
        lines += ["", f"Pooled with {', '.join(map(str, args.pool))}: {len(pooled)} seeds."]
    lines += ["", *pooled_lines(pooled)]
    print("\n".join(lines))


def _risk(numbers: dict[str, Any], name: str) -> float:
    if name == "mia_auc":
        return float(numbers["mia"]["auc"])
    if name == "dcr_share":
        return float(numbers["dcr_share"])
    return float(numbers[name]["risk"])


def pooled_lines(rows: list[tuple[int, dict[str, Any], dict[str, bool]]]) -> list[str]:
    """Synthetic minus real, paired by seed: mean, 95 % t interval and how many seeds are above.

    One seed's verdict compares a noisy synthetic estimate with the real one's interval, so two
    tables drawn the same way fail it on about one seed in twelve by chance. Pooling the paired
    differences over seeds asks the question with the power of all of them.
    """
    from scipy import stats

    out = [
        "Paired over seeds (synthetic minus real): mean difference [95 % t interval]; seeds "
        "where the synthetic risk is higher.",
        "",
        "| risk | mean synthetic | mean real | difference [95 % CI] | seeds higher |",
        "|---|---|---|---|---|",
    ]
    for name in ("mia_auc", "dcr_share", *RISKS):
        synth = np.array([_risk(n["synthetic"], name) for _, n, _ in rows])
        real = np.array([_risk(n["real"], name) for _, n, _ in rows])
        diff = synth - real
        half = (
            stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
            if len(diff) > 1
            else np.nan
        )
        out.append(
            f"| {name.replace('_', ' ')} | {synth.mean():.4f} | {real.mean():.4f} | "
            f"{diff.mean():+.4f} [{diff.mean() - half:+.4f}, {diff.mean() + half:+.4f}] | "
            f"{int((diff > 0).sum())}/{len(diff)} |"
        )
    return out


if __name__ == "__main__":
    main()
