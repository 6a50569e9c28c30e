"""The fairness section of the report: tables per sensitive column and their figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from lookalike.evaluate._result import FairnessResult, GroupFairness, ParityResult
from lookalike.report._plots import (
    HOLDOUT_COLOUR,
    REAL_COLOUR,
    SYNTHETIC_COLOUR,
    _shorten,
    _style,
    _to_data_uri,
)
from lookalike.report._sections import render


def fairness_section(result: FairnessResult) -> Markup:
    """HTML of the fairness section, figures embedded."""
    columns = []
    for column in result.sensitive:
        groups = [g for g in result.groups if g.column == column]
        parity = next((p for p in result.parity if p.column == column), None)
        columns.append(
            {
                "name": column,
                "groups": groups,
                "groups_image": groups_figure(groups) if groups else None,
                "parity": parity,
                "parity_image": None if parity is None else parity_figure(parity),
            }
        )
    return render("fairness.html.j2", fairness=result, columns=columns)


def _labels(groups: Sequence[GroupFairness]) -> list[str]:
    return [f"{_shorten(g.group)} ({g.n_real_rows:,})" for g in groups]


def groups_figure(groups: Sequence[GroupFairness]) -> str:
    """Representation (share of rows) and fidelity within each group, real vs synthetic."""
    labels = _labels(groups)
    positions = np.arange(len(groups))
    has_holdout = any(g.holdout_share is not None for g in groups)
    figure = Figure(figsize=(11.0, max(2.0, 0.34 * len(groups) + 1.1)), layout="constrained")
    share_ax, single_ax, pair_ax = figure.subplots(1, 3, sharey=True)
    width = 0.8 / (3 if has_holdout else 2)
    share_ax.barh(
        positions - width, [g.real_share for g in groups], width, color=REAL_COLOUR, label="real"
    )
    share_ax.barh(
        positions,
        [g.synthetic_share for g in groups],
        width,
        color=SYNTHETIC_COLOUR,
        label="synthetic",
    )
    if has_holdout:
        share_ax.barh(
            positions + width,
            [g.holdout_share or 0.0 for g in groups],
            width,
            color=HOLDOUT_COLOUR,
            alpha=0.6,
            label="holdout",
        )
    share_ax.set_yticks(positions, labels)
    share_ax.invert_yaxis()
    shares = [v for g in groups for v in (g.real_share, g.synthetic_share) if v > 0]
    if shares and min(shares) < 0.05 * max(shares):
        # Minorities of 1 % next to a majority of 85 %: only a log scale shows both.
        share_ax.set_xscale("log")
    share_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.3g}%"))
    share_ax.set_title("share of rows (real rows in brackets)", fontsize=9)
    _style(share_ax)
    for ax, attribute, title in (
        (single_ax, "univariate", "single columns within the group"),
        (pair_ax, "bivariate", "pairs of columns within the group"),
    ):
        _accuracy_panel(ax, groups, attribute, title)
    figure.legend(
        *_unique_legend(share_ax, pair_ax),
        loc="outside lower center",
        ncols=4,
        fontsize=8,
        frameon=False,
    )
    return _to_data_uri(figure)


def _unique_legend(*axes: Axes) -> tuple[list[Any], list[str]]:
    handles: list[Any] = []
    labels: list[str] = []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    return handles, labels


def _accuracy_panel(ax: Axes, groups: Sequence[GroupFairness], attribute: str, title: str) -> None:
    positions = np.arange(len(groups))
    scores = [getattr(g, attribute) for g in groups]
    ceilings = [getattr(g, f"holdout_{attribute}") for g in groups]
    present = [s for s in scores + ceilings if s is not None]
    ax.barh(
        positions,
        [np.nan if s is None else s for s in scores],
        0.5,
        color=SYNTHETIC_COLOUR,
        label="synthetic",
    )
    if any(c is not None for c in ceilings):
        ax.scatter(
            [np.nan if c is None else c for c in ceilings],
            positions,
            marker="|",
            s=260,
            linewidths=2.5,
            color="#222",
            label="holdout (ceiling)",
            zorder=3,
        )
    low = min(present) if present else 0.0
    ax.set_xlim(max(0.0, low - 0.05), 1.0)
    ax.set_title(f"{title}: 1 − TVD", fontsize=9)
    _style(ax)


def parity_figure(parity: ParityResult) -> str:
    """Selection, true-positive and false-positive rates per group, models trained on each data."""
    groups = parity.groups
    positions = np.arange(len(groups))
    labels = [f"{_shorten(g.group)} ({g.n_rows:,})" for g in groups]
    figure = Figure(figsize=(11.0, max(2.0, 0.34 * len(groups) + 1.1)), layout="constrained")
    axes = figure.subplots(1, 3, sharey=True)
    panels = (
        ("selection_rate", "selection rate (predicted positive)"),
        ("true_positive_rate", "true-positive rate"),
        ("false_positive_rate", "false-positive rate"),
    )
    for ax, (attribute, title) in zip(axes, panels, strict=True):
        real = [getattr(g, f"real_{attribute}") for g in groups]
        synthetic = [getattr(g, attribute) for g in groups]
        ax.barh(
            positions - 0.2,
            [np.nan if v is None else v for v in real],
            0.4,
            color=REAL_COLOUR,
            label="model trained on real",
        )
        ax.barh(
            positions + 0.2,
            [np.nan if v is None else v for v in synthetic],
            0.4,
            color=SYNTHETIC_COLOUR,
            label="model trained on synthetic",
        )
        ax.set_title(title, fontsize=9)
        ax.set_xlim(0, 1)
        _style(ax)
    axes[0].set_yticks(positions, labels)
    axes[0].invert_yaxis()
    figure.legend(
        *_unique_legend(axes[0]), loc="outside lower center", ncols=2, fontsize=8, frameon=False
    )
    return _to_data_uri(figure)
