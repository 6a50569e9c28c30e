"""Stress tests and experiments: their figures, report sections and standalone pages."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure

from lookalike.errors import DataError
from lookalike.report._plots import (
    HOLDOUT_COLOUR,
    REAL_COLOUR,
    SYNTHETIC_COLOUR,
    _shorten,
    _style,
    _to_data_uri,
)
from lookalike.report._sections import render
from lookalike.scenarios import ExperimentResult, StressTestResult
from lookalike.scenarios._result import ScenarioResult

#: Scenario and variant names longer than this are shortened in figures.
MAX_NAME_CHARS = 40


def _name(text: str) -> str:
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"


def stress_test_figure(result: StressTestResult) -> Figure:
    """The metric per scenario (bars) and, with groups, per scenario and group (heat map)."""
    scenarios = result.scenarios
    columns = [(g.column, g.group) for g in scenarios[0].groups] if scenarios else []
    for s in scenarios[1:]:
        columns += [(g.column, g.group) for g in s.groups if (g.column, g.group) not in columns]
    height = max(2.2, 0.42 * len(scenarios) + 1.2)
    width = 5.5 + (0.55 * len(columns) + 1.5 if columns else 0.0)
    figure = Figure(figsize=(min(width, 16.0), height), layout="constrained")
    axes = figure.subplots(
        1,
        2 if columns else 1,
        squeeze=False,
        width_ratios=[5.5, 0.55 * len(columns) + 1.5] if columns else None,
    )[0]
    ax = axes[0]
    positions = np.arange(len(scenarios))
    scores = np.array([np.nan if s.score is None else s.score for s in scenarios])
    colours = [REAL_COLOUR if s.name == "baseline" else SYNTHETIC_COLOUR for s in scenarios]
    ax.barh(positions, scores, color=colours, height=0.6)
    for y, value in enumerate(scores):
        if np.isfinite(value):
            ax.text(value, y, f" {value:.3f}", va="center", fontsize=8)
    ax.set_yticks(positions, [_name(s.name) for s in scenarios])
    ax.invert_yaxis()
    finite = scores[np.isfinite(scores)]
    if finite.size and result.metric in {"roc_auc", "accuracy", "balanced_accuracy", "f1"}:
        ax.set_xlim(max(0.0, float(finite.min()) - 0.1), 1.08)
    ax.set_xlabel(
        result.metric
        + (" (higher is better)" if result.higher_is_better else " (lower is better)"),
        fontsize=8,
    )
    ax.set_title(f"{result.target}: {result.metric} per scenario", fontsize=9)
    _style(ax)
    if columns:
        heat = axes[1]
        matrix = np.full((len(scenarios), len(columns)), np.nan)
        for i, s in enumerate(scenarios):
            for g in s.groups:
                if g.score is not None:
                    matrix[i, columns.index((g.column, g.group))] = g.score
        cmap = "RdYlGn" if result.higher_is_better else "RdYlGn_r"
        image = heat.imshow(np.ma.masked_invalid(matrix), aspect="auto", cmap=cmap)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                if np.isfinite(matrix[i, j]):
                    heat.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7)
        heat.set_xticks(
            range(len(columns)),
            [_shorten(f"{c}={g}") for c, g in columns],
            rotation=60,
            ha="right",
            fontsize=7,
        )
        heat.set_yticks(range(len(scenarios)), [""] * len(scenarios))
        heat.set_title("per group", fontsize=9)
        figure.colorbar(image, ax=heat, shrink=0.8)
    return figure


def experiment_figure(result: ExperimentResult) -> Figure:
    """The leaderboard: each variant's score on the real holdout, best at the top."""
    variants = result.variants
    figure = Figure(figsize=(8.0, max(2.2, 0.36 * len(variants) + 1.0)), layout="constrained")
    ax = figure.subplots()
    positions = np.arange(len(variants))
    scores = np.array([np.nan if v.score is None else v.score for v in variants])
    colours = [
        REAL_COLOUR
        if v.n_synthetic_rows == 0
        else HOLDOUT_COLOUR
        if v.n_real_rows
        else SYNTHETIC_COLOUR
        for v in variants
    ]
    ax.barh(positions, scores, color=colours, height=0.6)
    for y, value in enumerate(scores):
        if np.isfinite(value):
            ax.text(value, y, f" {value:.4f}", va="center", fontsize=8)
    ax.set_yticks(
        positions,
        [f"{v.rank}. {_name(v.name)}{' (failed)' if v.error else ''}" for v in variants],
    )
    ax.invert_yaxis()
    finite = scores[np.isfinite(scores)]
    if finite.size:
        span = float(finite.max() - finite.min())
        low = float(finite.min()) - max(span, 0.01)
        high = float(finite.max()) + 0.35 * max(span, 0.01)
        if result.metric in {"roc_auc", "accuracy", "balanced_accuracy", "f1", "r2"}:
            low = max(low, 0.0 if result.metric != "r2" else low)
        ax.set_xlim(low, high)
    ax.set_xlabel(
        f"{result.metric} on {result.n_holdout_rows:,} real holdout rows "
        f"({'higher' if result.higher_is_better else 'lower'} is better)",
        fontsize=8,
    )
    ax.set_title("blue: real rows only, orange: synthetic, grey: real + synthetic", fontsize=9)
    _style(ax)
    return figure


def scenario_figure(result: ScenarioResult) -> Figure:
    """The figure of a stress test or an experiment."""
    if isinstance(result, StressTestResult):
        return stress_test_figure(result)
    if isinstance(result, ExperimentResult):
        return experiment_figure(result)
    raise DataError(
        "Expected a StressTestResult (from lookalike.stress_test) or an ExperimentResult (from "
        f"lookalike.experiment). Got {type(result).__name__} instead."
    )


def scenario_section(result: ScenarioResult, anchor: str, *, standalone: bool = False) -> Markup:
    """HTML of a stress-test or experiment section: verdict, sentence, figure and table.

    ``anchor`` is the section's id in the page; ``standalone`` makes its heading the page's title.
    """
    image = _to_data_uri(scenario_figure(result))
    stress = isinstance(result, StressTestResult)
    has_groups = isinstance(result, StressTestResult) and any(s.groups for s in result.scenarios)
    return render(
        "stress.html.j2" if stress else "experiment.html.j2",
        result=result,
        verdict=result.verdict,
        image=image,
        anchor=anchor,
        standalone=standalone,
        has_groups=has_groups,
    )


def scenario_title(result: ScenarioResult) -> str:
    """The section's name in the report's navigation and summary cards."""
    return "Stress test" if isinstance(result, StressTestResult) else "Experiment"


def scenario_page(result: ScenarioResult) -> str:
    """A self-contained HTML page of a stress test or an experiment's leaderboard."""
    section = scenario_section(result, "result", standalone=True)
    title = scenario_title(result).lower()
    return str(render("scenario_page.html.j2", title=title, section=section))
