"""The rules and controls sections of the report: tables and their figures."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure

from lookalike.control._report import ControlReport, TargetResult
from lookalike.evaluate._result import RulesResult
from lookalike.report._plots import (
    HOLDOUT_COLOUR,
    REAL_COLOUR,
    SYNTHETIC_COLOUR,
    _shorten,
    _style,
    _to_data_uri,
)
from lookalike.report._sections import render

#: The controls figure shows the other columns whose conditionals moved most, at most this many.
N_MOVED_COLUMNS = 15
#: Rule texts longer than this are shortened in the figure (the table shows them whole).
MAX_RULE_CHARS = 40


def rules_section(result: RulesResult) -> Markup:
    """HTML of the rules section: one row per rule, and the share held in each table."""
    rows = [
        {"real": real, "synthetic": synthetic, "note": note}
        for real, synthetic, note in zip(result.real, result.synthetic, result.notes, strict=True)
    ]
    image = rules_figure(result) if rows else None
    return render("rules.html.j2", rules=result, rows=rows, image=image)


def rules_figure(result: RulesResult) -> str:
    """Share of checked rows where each rule holds, real next to synthetic."""
    n = len(result.real)
    positions = np.arange(n)
    figure = Figure(figsize=(8.0, max(1.8, 0.4 * n + 1.0)), layout="constrained")
    ax = figure.subplots()
    width = 0.38
    ax.barh(
        positions - width / 2,
        [r.share_held for r in result.real],
        width,
        color=REAL_COLOUR,
        label="real",
    )
    ax.barh(
        positions + width / 2,
        [r.share_held for r in result.synthetic],
        width,
        color=SYNTHETIC_COLOUR,
        label="synthetic",
    )
    ax.set_yticks(positions, [_rule_label(r.rule) for r in result.real])
    ax.invert_yaxis()
    low = min([r.share_held for r in (*result.real, *result.synthetic)], default=1.0)
    ax.set_xlim(max(0.0, low - 0.05) if low > 0.5 else 0.0, 1.0)
    ax.set_xlabel("share of checked rows where the rule holds", fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _style(ax)
    return _to_data_uri(figure)


def _rule_label(text: str) -> str:
    return text if len(text) <= MAX_RULE_CHARS else text[: MAX_RULE_CHARS - 1] + "…"


def _share_like(target: TargetResult) -> bool:
    # As ControlReport.max_abs_difference: means and quantiles are in the column's own units.
    return not target.quantity.startswith(("mean", "quantile"))


def controls_section(report: ControlReport) -> Markup:
    """HTML of the controls section: asked against achieved, and how far other columns moved."""
    targets = [
        {
            "target": t,
            "difference": (
                None
                if t.asked is None or t.achieved is None or not math.isfinite(t.difference)
                else t.difference
            ),
        }
        for t in report.targets
    ]
    # The controlled columns themselves do not move given themselves: only the others are shown.
    controlled = {t.column for t in report.targets}
    moved = sorted(
        ((name, tvd) for name, tvd in report.conditional_tvd.items() if name not in controlled),
        key=lambda item: -(item[1] or 0.0),
    )
    noise = report.diagnostics.get("conditional_tvd_noise")
    shares = [t for t in report.targets if _share_like(t)]
    image = controls_figure(shares, moved[:N_MOVED_COLUMNS], noise) if shares or moved else None
    return render(
        "controls.html.j2",
        controls=report,
        targets=targets,
        moved=moved,
        noise=noise if isinstance(noise, float) else None,
        image=image,
    )


def controls_figure(
    targets: Sequence[TargetResult], moved: Sequence[tuple[str, float]], noise: object
) -> str:
    """Asked, achieved (and the model's value) per share-like target; TVD moved per column."""
    panels = int(bool(targets)) + int(bool(moved))
    height = max(2.0, 0.4 * max(len(targets), len(moved)) + 1.1)
    figure = Figure(figsize=(5.5 * panels, height), layout="constrained")
    axes = list(figure.subplots(1, panels, squeeze=False)[0])
    if targets:
        ax = axes.pop(0)
        positions = np.arange(len(targets))
        width = 0.27

        def values(name: str) -> list[float]:
            got = [getattr(t, name) for t in targets]
            return [np.nan if v is None else float(v) for v in got]

        ax.barh(positions - width, values("asked"), width, color=HOLDOUT_COLOUR, label="asked")
        ax.barh(positions, values("achieved"), width, color=SYNTHETIC_COLOUR, label="achieved")
        if any(t.model is not None for t in targets):
            ax.barh(positions + width, values("model"), width, color=REAL_COLOUR, label="model")
        ax.set_yticks(positions, [_shorten(f"{t.column}: {t.quantity}") for t in targets])
        ax.invert_yaxis()
        ax.set_xlabel("share or probability", fontsize=8)
        ax.set_title("asked against achieved", fontsize=9)
        ax.legend(fontsize=8, frameon=False, loc="lower right")
        _style(ax)
    if moved:
        ax = axes.pop(0)
        positions = np.arange(len(moved))
        ax.barh(
            positions,
            [np.nan if v is None else v for _, v in moved],
            0.6,
            color=SYNTHETIC_COLOUR,
        )
        if isinstance(noise, float):
            ax.axvline(noise, color=HOLDOUT_COLOUR, linestyle="--", linewidth=1)
            ax.text(noise, -0.6, " sampling noise", fontsize=7, color=HOLDOUT_COLOUR)
        ax.set_yticks(positions, [_shorten(name) for name, _ in moved])
        ax.invert_yaxis()
        ax.set_xlabel("TVD of the column given the controlled ones", fontsize=8)
        ax.set_title("how far the other columns moved", fontsize=9)
        _style(ax)
    return _to_data_uri(figure)
