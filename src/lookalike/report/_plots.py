"""Figures for the report, drawn on :class:`matplotlib.figure.Figure` objects (never pyplot, so no
global state is touched) and returned as ``data:`` URIs of PNG images."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from lookalike.evaluate._result import (
    AssociationResult,
    ColumnFidelity,
    DistanceHistogram,
    MembershipInferenceResult,
)

REAL_COLOUR = "#3b6ea8"
SYNTHETIC_COLOUR = "#e07b39"
HOLDOUT_COLOUR = "#6b6b6b"
#: Resolution of the embedded images: sharp enough on screen, small enough to embed.
DPI = 96
#: Category labels longer than this are shortened in plots.
MAX_LABEL_CHARS = 22


def _to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _compact(value: float, _position: object = None) -> str:
    """Tick labels such as 250k or 1.5M, so long numbers do not collide."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _style(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=8)


def column_figure(column: ColumnFidelity) -> str:
    """Binned shares (bars), plus for numbers an overlaid histogram, real vs synthetic."""
    # Bins empty in both tables (e.g. no missing values) are left out of the picture.
    keep = [
        k
        for k in range(len(column.labels))
        if column.real_shares[k] > 0 or column.synthetic_shares[k] > 0
    ] or [0]
    labels = [_shorten(column.labels[k]) for k in keep]
    real = np.array([column.real_shares[k] for k in keep])
    synthetic = np.array([column.synthetic_shares[k] for k in keep])
    has_histogram = column.histogram is not None
    height = max(2.2, 0.26 * len(keep) + 0.8)
    figure = Figure(figsize=(10.0 if has_histogram else 4.8, height), layout="constrained")
    axes = figure.subplots(1, 2 if has_histogram else 1, squeeze=False)[0]
    ax = axes[-1]
    positions = np.arange(len(keep))
    ax.barh(positions - 0.2, real, height=0.4, color=REAL_COLOUR, label="real")
    ax.barh(positions + 0.2, synthetic, height=0.4, color=SYNTHETIC_COLOUR, label="synthetic")
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlabel("share of rows", fontsize=8)
    ax.set_title("binned shares", fontsize=9)
    _style(ax)
    if column.histogram is not None:
        hist_ax = axes[0]
        edges = np.asarray(column.histogram.edges)
        widths = np.diff(edges)
        hist_ax.bar(
            edges[:-1],
            column.histogram.real,
            width=widths,
            align="edge",
            color=REAL_COLOUR,
            alpha=0.45,
            label="real",
        )
        hist_ax.stairs(
            column.histogram.synthetic,
            edges,
            color=SYNTHETIC_COLOUR,
            linewidth=1.8,
            label="synthetic",
        )
        hist_ax.set_ylabel("share of rows", fontsize=8)
        hist_ax.set_title(
            "histogram (bars: real, line: synthetic; tails in the end bins)", fontsize=9
        )
        hist_ax.xaxis.set_major_locator(MaxNLocator(6))
        hist_ax.xaxis.set_major_formatter(FuncFormatter(_compact))
        if column.kind == "datetime":
            ticks = np.linspace(edges[0], edges[-1], 4)
            hist_ax.set_xticks(
                ticks, [np.datetime_as_string(np.datetime64(int(t), "s"), unit="D") for t in ticks]
            )
        _style(hist_ax)
    return _to_data_uri(figure)


def association_figure(associations: AssociationResult) -> str:
    """Heatmaps of the real and synthetic association matrices and their absolute difference."""
    n = len(associations.columns)
    real = _matrix(associations.real)
    synthetic = _matrix(associations.synthetic)
    difference = np.abs(real - synthetic)
    side = min(5.0, max(2.6, 0.22 * n + 1.2))
    figure = Figure(figsize=(3 * side + 1.0, side + 0.9), layout="constrained")
    axes = figure.subplots(1, 3)
    labels = [_shorten(c) for c in associations.columns]
    image = None
    for ax, matrix, title in zip(
        axes,
        (real, synthetic, difference),
        ("real", "synthetic", "|real − synthetic|"),
        strict=True,
    ):
        image = ax.imshow(np.ma.masked_invalid(matrix), vmin=0, vmax=1, cmap="Blues")
        ax.set_title(title, fontsize=10)
        font = 8 if n <= 20 else 6 if n <= 30 else 5
        ax.set_xticks(range(n), labels, rotation=90, fontsize=font)
        ax.set_yticks(range(n), labels if ax is axes[0] else [""] * n, fontsize=font)
        ax.tick_params(length=0)
    if image is not None:
        figure.colorbar(
            image, ax=list(axes), shrink=0.8, label="association (0 = none, 1 = perfect)"
        )
    return _to_data_uri(figure)


def _matrix(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)


def distance_figure(histogram: DistanceHistogram) -> str:
    """Distributions of the distance to the closest training record, synthetic vs holdout."""
    edges = np.asarray(histogram.edges)
    figure = Figure(figsize=(7.0, 2.8), layout="constrained")
    ax = figure.subplots()
    if histogram.holdout is not None:
        ax.bar(
            edges[:-1],
            histogram.holdout,
            width=np.diff(edges),
            align="edge",
            color=HOLDOUT_COLOUR,
            alpha=0.4,
            label="holdout (real rows never trained on)",
        )
    ax.stairs(histogram.synthetic, edges, color=SYNTHETIC_COLOUR, linewidth=2, label="synthetic")
    ax.set_xlabel("distance to the closest training row (0 = identical)", fontsize=8)
    ax.set_ylabel("share of rows", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    return _to_data_uri(figure)


def membership_figure(result: MembershipInferenceResult) -> str:
    """ROC curve of the strongest membership attack, on linear and on log axes."""
    fpr = np.asarray(result.roc_fpr)
    tpr = np.asarray(result.roc_tpr)
    figure = Figure(figsize=(8.0, 3.0), layout="constrained")
    linear, logarithmic = figure.subplots(1, 2)
    linear.plot(
        [0, 1], [0, 1], color=HOLDOUT_COLOUR, linestyle="--", linewidth=1, label="coin flip"
    )
    linear.plot(fpr, tpr, color=SYNTHETIC_COLOUR, linewidth=2, label="attack")
    linear.set_xlim(0, 1)
    linear.set_ylim(0, 1)
    linear.set_title(f"ROC curve (AUC {result.auc:.3f})", fontsize=9)
    linear.legend(fontsize=8, frameon=False, loc="lower right")
    # Low false-positive rates are what matters for an attacker: show them on log axes.
    low = 1.0 / max(result.n_non_members, 1)
    keep = fpr >= low
    grid = np.geomspace(low, 1.0, 50)
    logarithmic.plot(grid, grid, color=HOLDOUT_COLOUR, linestyle="--", linewidth=1)
    logarithmic.plot(fpr[keep], np.maximum(tpr[keep], low / 2), color=SYNTHETIC_COLOUR, linewidth=2)
    logarithmic.set_xscale("log")
    logarithmic.set_yscale("log")
    logarithmic.set_xlim(low, 1)
    logarithmic.set_ylim(low / 2, 1)
    logarithmic.set_title("the same at low false-positive rates", fontsize=9)
    for ax in (linear, logarithmic):
        ax.set_xlabel("false-positive rate (non-members flagged)", fontsize=8)
        ax.set_ylabel("true-positive rate (members found)", fontsize=8)
        _style(ax)
    return _to_data_uri(figure)
