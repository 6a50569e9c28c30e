"""Privacy benchmark on adult: attacks on the default Synthesizer's output and an empirical audit.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/privacy.py [--audit-runs 100] [--audit-rows 2000]

Runs with the project's own .venv (lookalike only, no peers). Writes
benchmarks/out/privacy.md (markdown, copied into benchmarks/RESULTS.md) and
benchmarks/out/privacy.json.

1. Fit ``Synthesizer(random_state=0)`` on adult's training file (32,561 rows), sample as many rows.
2. ``evaluate(train, synthetic, holdout=adult_test)``: every privacy number with the full holdout
   (16,281 rows), and the seconds the attacks took.
3. Comparison with real data used as if it were synthetic: adult_test is split in two halves; one
   half (8,140 rows) plays the synthetic data, the other is the holdout (control) for both it and
   an 8,140-row sample of the synthetic data, so both face the same attacks at the same size.
   Targets: synthetic no riskier than real data.
4. ``audit_privacy`` on a random subsample of the training rows: the default Synthesizer, and for
   scale a "synthesizer" that returns its training rows.
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

COMMAND = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/privacy.py"
TARGET_MIA_AUC = 0.55
TARGET_DCR_SHARE = 0.52


class CopyingSynthesizer:
    """Hands out its training rows (shuffled): the worst case, for scale."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, data: pd.DataFrame) -> CopyingSynthesizer:
        self.data_ = data.reset_index(drop=True)
        return self

    def sample(self, n: int) -> pd.DataFrame:
        order = np.random.default_rng(self.seed).permutation(self.data_.shape[0])
        return self.data_.iloc[order[:n]].reset_index(drop=True)


def privacy_numbers(result: la.EvaluationResult) -> dict[str, Any]:
    privacy = result.privacy
    out: dict[str, Any] = {
        "dcr_share": privacy.dcr_share,
        "exact_copy_share": privacy.exact_copy_share,
        "holdout_exact_copy_share": privacy.holdout_exact_copy_share,
        "seconds": dict(result.settings)["seconds"],
    }
    mi = privacy.membership_inference
    if mi is not None:
        out["mia"] = {
            "attack": mi.attack,
            "auc": mi.auc,
            "tpr_at_1_percent_fpr": mi.tpr_at_1_percent_fpr,
            "tpr_at_0_1_percent_fpr": mi.tpr_at_0_1_percent_fpr,
            "attacks": {a.name: a.auc for a in mi.attacks},
            "n_members": mi.n_members,
            "n_non_members": mi.n_non_members,
            "n_synthetic_rows": mi.n_synthetic_rows,
            "n_reference_rows": mi.n_reference_rows,
        }
    for name in ("singling_out", "linkability", "attribute_inference"):
        risk = getattr(privacy, name)
        if risk is not None:
            out[name] = {
                "risk": risk.risk,
                "risk_ci": list(risk.risk_ci),
                "main_rate": risk.main_rate,
                "control_rate": risk.control_rate,
                "baseline_rate": risk.baseline_rate,
                "n": risk.n_main,
                "details": risk.details,
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audit-runs", type=int, default=100)
    parser.add_argument("--audit-rows", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out" / "privacy.json")
    parser.add_argument("--markdown", type=Path, default=BENCH_DIR / "out" / "privacy.md")
    args = parser.parse_args()
    started = time.perf_counter()
    train, test = load_dataset("adult")
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "versions": {
            "lookalike": la.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "command": COMMAND + f" --audit-runs {args.audit_runs} --audit-rows {args.audit_rows}",
    }

    clock = time.perf_counter()
    model = la.Synthesizer(random_state=0).fit(train)
    synthetic = model.sample(train.shape[0])
    results["fit_sample_seconds"] = round(time.perf_counter() - clock, 1)
    print(f"fitted and sampled in {results['fit_sample_seconds']} s", flush=True)

    full = la.evaluate(train, synthetic, holdout=test, target="income", random_state=0)
    results["full_holdout"] = privacy_numbers(full)
    print("full holdout:", json.dumps(results["full_holdout"], default=str)[:400], flush=True)

    order = np.random.default_rng(1).permutation(test.shape[0])
    half = test.shape[0] // 2
    as_synthetic = test.iloc[np.sort(order[:half])].reset_index(drop=True)
    control = test.iloc[np.sort(order[half:])].reset_index(drop=True)
    synthetic_small = synthetic.sample(n=half, random_state=2).reset_index(drop=True)
    comparison = {}
    for name, table in (("synthetic", synthetic_small), ("holdout as synthetic", as_synthetic)):
        result = la.evaluate(train, table, holdout=control, random_state=0)
        comparison[name] = privacy_numbers(result)
        print(name, json.dumps(comparison[name], default=str)[:400], flush=True)
    results["same_size_comparison"] = comparison
    results["n_half"] = half

    audit_rows = train.sample(n=args.audit_rows, random_state=3).reset_index(drop=True)
    audits = {}
    for name, factory in (
        ("Synthesizer (default)", lambda seed: la.Synthesizer(random_state=seed)),
        ("copying 'synthesizer'", CopyingSynthesizer),
    ):
        audit = la.audit_privacy(factory, audit_rows, n_runs=args.audit_runs, random_state=0)
        audits[name] = audit.to_dict()
        print(
            name,
            f"eps_lb={audit.epsilon_lower_bound:.3f} TP={audit.true_positives}/"
            f"{audit.n_with_canary} FP={audit.false_positives}/{audit.n_without_canary} "
            f"in {audit.seconds:.0f} s",
            flush=True,
        )
    results["audits"] = audits
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    args.markdown.write_text(render_markdown(results), encoding="utf-8")
    print(f"wrote {args.markdown} and {args.out} in {results['total_seconds']} s")


def _ci(risk: dict[str, Any]) -> str:
    return f"{risk['risk']:.3f} [{risk['risk_ci'][0]:.3f}, {risk['risk_ci'][1]:.3f}]"


def _check(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render_markdown(results: dict[str, Any]) -> str:
    full = results["full_holdout"]
    mia = full["mia"]
    seconds = full["seconds"]
    comparison = results["same_size_comparison"]
    synth, real = comparison["synthetic"], comparison["holdout as synthetic"]
    lines = [
        "## Privacy of the default Synthesizer on adult (attacks and audit)",
        "",
        f"Command: `{results['command']}` — machine: {results['machine']}; "
        f"lookalike {results['versions']['lookalike']}, numpy {results['versions']['numpy']}, "
        f"pandas {results['versions']['pandas']}. Total {results['total_seconds']:.0f} s.",
        "",
        f"`Synthesizer(random_state=0)` fitted on adult's 32,561 training rows, sampled as many "
        f"(fit + sample {results['fit_sample_seconds']} s); holdout = adult_test (16,281 rows).",
        "",
        "| measure | value | target | met |",
        "|---|---|---|---|",
        f"| membership inference ROC AUC (strongest: {mia['attack']}) | {mia['auc']:.3f} | "
        f"<= {TARGET_MIA_AUC} | {_check(mia['auc'] <= TARGET_MIA_AUC)} |",
        f"| MIA true-positive rate at 1 % / 0.1 % FPR | {mia['tpr_at_1_percent_fpr']:.4f} / "
        f"{mia['tpr_at_0_1_percent_fpr']:.4f} | ≈ 0.01 / 0.001 (chance) | |",
        f"| DCR share (closer to training than to holdout) | {full['dcr_share']:.4f} | "
        f"<= {TARGET_DCR_SHARE} | {_check(full['dcr_share'] <= TARGET_DCR_SHARE)} |",
        f"| exact copies of training rows (holdout: {full['holdout_exact_copy_share']:.4f}) | "
        f"{full['exact_copy_share']:.4f} | | |",
    ]
    for name in ("singling_out", "linkability", "attribute_inference"):
        lines.append(f"| {name.replace('_', ' ')} risk [95 % CI] | {_ci(full[name])} | ≈ 0 | |")
    lines += [
        "",
        f"MIA: {mia['n_members']:,} training members vs {mia['n_non_members']:,} holdout "
        f"non-members against {mia['n_synthetic_rows']:,} synthetic rows; reference sample "
        f"{mia['n_reference_rows']:,} other holdout rows. AUC of each attack: "
        + ", ".join(f"{k}: {v:.3f}" for k, v in mia["attacks"].items())
        + ".",
        "",
        f"Seconds inside `evaluate` (this machine, shared): privacy attacks "
        f"{seconds.get('privacy_attacks', float('nan')):.1f}, DCR/NNDR {seconds['privacy']:.1f}, "
        f"total {seconds['total']:.1f}.",
        "",
        f"### Synthetic vs real data used as if it were synthetic (same size, {results['n_half']:,} "
        "rows, same control half of adult_test)",
        "",
        "| measure | synthetic | holdout as synthetic | synthetic no riskier |",
        "|---|---|---|---|",
        f"| MIA ROC AUC | {synth['mia']['auc']:.3f} | {real['mia']['auc']:.3f} | "
        f"{_check(synth['mia']['auc'] <= real['mia']['auc'] + 0.01)} |",
        f"| DCR share | {synth['dcr_share']:.4f} | {real['dcr_share']:.4f} | "
        f"{_check(synth['dcr_share'] <= real['dcr_share'] + 0.01)} |",
    ]
    for name in ("singling_out", "linkability", "attribute_inference"):
        a, b = synth[name], real[name]
        # "No higher" within the statistical resolution: the synthetic point estimate does not
        # exceed the real data's upper confidence limit.
        lines.append(
            f"| {name.replace('_', ' ')} risk [95 % CI] | {_ci(a)} | {_ci(b)} | "
            f"{_check(a['risk'] <= b['risk_ci'][1])} |"
        )
    lines += [
        "",
        '"No riskier" for the risks means the synthetic point estimate is within the real data\'s '
        "95 % interval or below it; for AUC and DCR share, at most 0.01 above.",
        "",
        "### Empirical privacy audit (`lookalike.audit_privacy`)",
        "",
        "| generator | epsilon lower bound (95 %) | canary found when in training | "
        "canary 'found' when not | seconds |",
        "|---|---|---|---|---|",
    ]
    for name, audit in results["audits"].items():
        lines.append(
            f"| {name} | {audit['epsilon_lower_bound']:.3f} | {audit['true_positives']}/"
            f"{audit['n_with_canary']} | {audit['false_positives']}/{audit['n_without_canary']} | "
            f"{audit['seconds']:.0f} |"
        )
    audit = next(iter(results["audits"].values()))
    lines += [
        "",
        f"Procedure: {audit['procedure']}. Fits on {audit['n_training_rows']:,} random training "
        "rows. The canary (rarest category and longer-tail extreme of every column): "
        + ", ".join(f"{k}={v}" for k, v in audit["canary"].items())
        + ". With this many runs the largest bound any generator can reach is that of the "
        "copying one; the default Synthesizer is not differentially private, so its bound is a "
        "measurement of leakage, not a guarantee.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
