"""Render benchmarks/out/results.json as the tables in benchmarks/RESULTS.md."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN GENERATED TABLES (benchmarks/run.py rewrites this block) -->"
END = "<!-- END GENERATED TABLES -->"
CEILING = "holdout"
REFERENCE = "lookalike"
FALLBACK_MARK = "†"


def _median(values: list[Any]) -> float | None:
    numbers = [float(v) for v in values if isinstance(v, int | float) and v == v]
    return statistics.median(numbers) if numbers else None


def _fmt(value: float | None, digits: int = 3, scale: float = 1.0, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value * scale:.{digits}f}{suffix}"


def _summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over repeats of every numeric field; text fields from the first record."""
    ok = [r for r in records if r.get("status") == "ok"] or records
    summary: dict[str, Any] = {"n_repeats": len(ok), "status": ok[0].get("status")}
    keys = {key for record in ok for key in record}
    for key in keys:
        values = [record.get(key) for record in ok]
        if any(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            summary[key] = _median(values)
        else:
            summary[key] = values[0]
    return summary


def _pick(summary: dict[str, Any], primary: str, fallback: str) -> tuple[float | None, bool]:
    value = summary.get(primary)
    if isinstance(value, int | float):
        return float(value), False
    value = summary.get(fallback)
    if isinstance(value, int | float):
        return float(value), True
    return None, False


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or reference is None or reference == 0:
        return "n/a"
    return f"{value / reference:.2f}×"


def _draws_mean(summary: dict[str, Any]) -> str:
    """qa's DCR share averaged over its draws, with their count: "0.519 (5)"."""
    draws = summary.get("qa_dcr_share_draws")
    mean = summary.get("qa_dcr_share_mean")
    if not isinstance(mean, int | float) or not isinstance(draws, list):
        return "n/a"
    return f"{mean:.3f} ({len(draws)})"


def _order(synth: str, requested: list[str]) -> tuple[int, str]:
    if synth == CEILING:
        return (len(requested) + 1, synth)
    return (requested.index(synth) if synth in requested else len(requested), synth)


def render_tables(results: dict[str, Any], synth_order: list[str]) -> str:
    runs: dict[str, dict[str, Any]] = results.get("runs", {})
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in runs.values():
        grouped.setdefault(record["dataset"], {}).setdefault(record["synth"], []).append(record)

    lines: list[str] = [BEGIN, ""]
    machine = results.get("machine", {})
    if machine:
        lines += ["### Machine and versions", ""]
        lines += [f"- {key}: {value}" for key, value in machine.items() if key != "packages"]
        packages = machine.get("packages", {})
        if packages:
            lines.append(
                "- packages: "
                + ", ".join(f"{name} {version}" for name, version in packages.items())
            )
        lines.append("")
    commands = results.get("commands", [])
    if commands:
        lines += ["### Commands that produced these numbers", "", "```"]
        lines += commands
        lines += ["```", ""]

    used_fallback = False
    for dataset in sorted(grouped):
        by_synth = {synth: _summarise(recs) for synth, recs in grouped[dataset].items()}
        reference = by_synth.get(REFERENCE, {})
        ref_ok = reference.get("status") == "ok"
        n_train = next(
            (s.get("n_train") for s in by_synth.values() if s.get("n_train") is not None), None
        )
        lines += [f"### {dataset}", ""]
        if n_train:
            lines += [f"Training rows: {int(n_train):,}; every synthesizer samples as many.", ""]
        lines.append(
            "| synth | import s | fit s | sample s | peak MB | qa accuracy | SDMetrics quality | detection AUC "
            "| TSTR AUC | DCR share | DCR share, mean of draws | exact copies | fit × lookalike "
            "| peak × lookalike | qa acc × lookalike |"
        )
        lines.append("|" + "---|" * 15)
        for synth in sorted(by_synth, key=lambda s: _order(s, synth_order)):
            s = by_synth[synth]
            label = "real holdout (ceiling)" if synth == CEILING else synth
            if s.get("status") != "ok":
                reason = (s.get("error") or s.get("status") or "").replace("|", "/")[:120]
                lines.append(f"| {label} | {s.get('status')}: {reason} |" + " |" * 13)
                continue
            detection, det_fb = _pick(s, "la_detection_auc", "bench_detection_auc")
            tstr, tstr_fb = _pick(s, "la_tstr", "bench_tstr")
            copies, copy_fb = _pick(s, "la_exact_copy_share", "bench_exact_copy_share")
            used_fallback |= det_fb or tstr_fb or copy_fb
            mark = {True: FALLBACK_MARK, False: ""}
            fit_s = s.get("fit_s")
            peak = s.get("peak_mb")
            acc = s.get("qa_accuracy")
            ref = reference if ref_ok and synth != CEILING else {}
            lines.append(
                "| "
                + " | ".join(
                    [
                        label,
                        _fmt(s.get("import_s"), 1) if synth != CEILING else "–",
                        _fmt(fit_s, 1) if synth != CEILING else "–",
                        _fmt(s.get("sample_s"), 1) if synth != CEILING else "–",
                        _fmt(peak, 0) if synth != CEILING else "–",
                        _fmt(acc, 3),
                        _fmt(s.get("sdm_quality"), 3),
                        _fmt(detection, 3) + mark[det_fb],
                        _fmt(tstr, 3) + mark[tstr_fb],
                        _fmt(s.get("qa_dcr_share"), 3),
                        _draws_mean(s),
                        _fmt(copies, 2, 100.0, " %") + mark[copy_fb],
                        _ratio(fit_s, ref.get("fit_s")),
                        _ratio(peak, ref.get("peak_mb")),
                        _ratio(acc, ref.get("qa_accuracy")),
                    ]
                )
                + " |"
            )
        lines.append("")
        lines.append(
            "| synth | qa univariate | qa bivariate | qa trivariate | qa discriminator AUC "
            "| SDM column shapes | SDM pair trends | SDM quality, real-data bins "
            "| bench TSTR | TRTR (lookalike) | epochs |"
        )
        lines.append("|" + "---|" * 11)
        for synth in sorted(by_synth, key=lambda s: _order(s, synth_order)):
            s = by_synth[synth]
            if s.get("status") != "ok":
                continue
            label = "real holdout (ceiling)" if synth == CEILING else synth
            lines.append(
                "| "
                + " | ".join(
                    [
                        label,
                        _fmt(s.get("qa_univariate")),
                        _fmt(s.get("qa_bivariate")),
                        _fmt(s.get("qa_trivariate")),
                        _fmt(s.get("qa_discriminator_auc")),
                        _fmt(s.get("sdm_column_shapes")),
                        _fmt(s.get("sdm_column_pair_trends")),
                        _fmt(s.get("sdm_quality_real_bins")),
                        _fmt(s.get("bench_tstr")),
                        _fmt(s.get("la_trtr")),
                        str(s.get("epochs") or "–"),
                    ]
                )
                + " |"
            )
        lines.append("")

    scaling = results.get("scaling", {})
    if scaling:
        lines += [
            "### Scaling: fit time against training rows",
            "",
            "| dataset | synth | share | rows | fit s | sample s | peak MB | fit s per 10k rows |",
            "|---|---|---|---|---|---|---|---|",
        ]
        grouped_scaling: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
        for record in scaling.values():
            key = (record["dataset"], record["synth"], record["share"])
            grouped_scaling.setdefault(key, []).append(record)
        for (dataset, synth, share), records in sorted(grouped_scaling.items()):
            s = _summarise(records)
            if s.get("status") != "ok":
                lines.append(
                    f"| {dataset} | {synth} | {share:.0%} | – | {s.get('status')}: "
                    f"{(s.get('error') or '')[:80]} | | | |"
                )
                continue
            rows = s.get("n_train") or 0
            per_10k = (s["fit_s"] / rows * 10_000) if rows and s.get("fit_s") is not None else None
            lines.append(
                f"| {dataset} | {synth} | {share:.0%} | {int(rows):,} | {_fmt(s.get('fit_s'), 1)} "
                f"| {_fmt(s.get('sample_s'), 1)} | {_fmt(s.get('peak_mb'), 0)} | {_fmt(per_10k, 2)} |"
            )
        lines.append("")

    lines += [
        "Notes on the columns:",
        "",
        "- import s: importing the library and what its fit loads lazily, timed before the fit "
        "(before 2026-11-29 it was inside fit s). "
        "fit s / sample s: wall-clock seconds inside the child process, imports excluded; "
        "sample = as many rows as the training table. peak MB: `ru_maxrss` of that child "
        "(includes the interpreter and the library's imports, e.g. torch).",
        "- qa accuracy: `mostlyai-qa` overall accuracy (100 % − total variation distance, averaged "
        "over univariate, bivariate and trivariate binned distributions). DCR share: `mostlyai-qa`'s "
        "share of synthetic rows closer to a training row than to a holdout row (≈ 0.5 is ideal).",
        "- SDMetrics quality: `sdmetrics` `QualityReport` score (column shapes + column pair trends).",
        "- detection AUC, TSTR AUC, exact copies: from `lookalike.evaluate` (target column as "
        "listed in `_data.py`; detection sets the synthetic rows against the real holdout, "
        "against the training rows before 2026-11-27; TSTR = train on synthetic, test on the real holdout, ROC AUC, macro "
        f"one-vs-rest for 3 classes). {FALLBACK_MARK} marks a cell where `lookalike.evaluate` was "
        "unavailable or failed and the benchmark's own plain fallback was used (gradient-boosted "
        "trees; `_scores.py`).",
        "- real holdout (ceiling): the real holdout scored as if it were synthetic (no holdout of "
        "its own, so no DCR share; its TSTR is train-on-holdout, test-on-training).",
        "- × lookalike: peer ÷ lookalike from the same run (fit time, peak memory, qa accuracy).",
        "",
    ]
    if used_fallback:
        lines += [f"{FALLBACK_MARK} benchmark fallback metric (see above).", ""]
    lines.append(END)
    return "\n".join(lines)


DEFAULT_PREAMBLE = """# Benchmark results

Side-by-side runs of lookalike and open-source peers on the same machine, in one run, scored by
evaluators we did not write (`mostlyai-qa`, `sdmetrics`) and by `lookalike.evaluate`. Produced by
`benchmarks/run.py`; everything between the markers below is regenerated on every run. Absolute
times on shared machines are noisy: compare the ratios measured in the same run.

"""


def _table_rows(block: str) -> set[tuple[str, str]]:
    """(dataset, synth) of every row in a generated block's per-dataset tables."""
    rows: set[tuple[str, str]] = set()
    dataset = ""
    for line in block.splitlines():
        if line.startswith("### "):
            dataset = line[4:].strip()
        elif line.startswith("| ") and not line.startswith("| synth |"):
            rows.add((dataset, line.split("|")[1].strip()))
    return rows


def write_results_markdown(path: Path, results: dict[str, Any], synth_order: list[str]) -> None:
    """Replace the generated block of RESULTS.md, keeping any hand-written text around it.

    The block is rendered from results.json alone, which is not committed: on a fresh clone a
    partial run would drop every peer row measured elsewhere. So when the new block lacks rows the
    old one has, the old block stays and the new one goes next to it, in ``<name>.generated.md``.
    """
    tables = render_tables(results, synth_order)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            old_block, after = rest.split(END, 1)
            dropped = _table_rows(old_block) - _table_rows(tables)
            if dropped:
                aside = path.with_suffix(".generated.md")
                aside.write_text(tables + "\n", encoding="utf-8")
                names = ", ".join(f"{d}/{s}" for d, s in sorted(dropped))
                print(f"kept {path}: the new tables lack rows it has ({names}); wrote {aside}")
                return
            path.write_text(before + tables + after, encoding="utf-8")
            return
        path.write_text(text.rstrip() + "\n\n" + tables + "\n", encoding="utf-8")
        return
    path.write_text(DEFAULT_PREAMBLE + tables + "\n", encoding="utf-8")
