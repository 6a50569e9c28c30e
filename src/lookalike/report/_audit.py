"""The privacy audit's section of the report: the epsilon lower bound, its counts and scores."""

from __future__ import annotations

import math

import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure

from lookalike.evaluate._audit import PrivacyAudit
from lookalike.report._plots import HOLDOUT_COLOUR, SYNTHETIC_COLOUR, _style, _to_data_uri
from lookalike.report._sections import render


def audit_figure(audit: PrivacyAudit) -> str:
    """Each fit's attack score, with and without the canary in training, and the threshold."""
    figure = Figure(figsize=(7.0, 2.4), layout="constrained")
    ax = figure.add_subplot()
    rows = (
        ("without the canary", audit.scores_without_canary, HOLDOUT_COLOUR),
        ("with the canary", audit.scores_with_canary, SYNTHETIC_COLOUR),
    )
    finite = [v for _, scores, _ in rows for v in scores if math.isfinite(v)]
    ceiling = max([audit.threshold * 2, *finite]) * 1.05
    rng = np.random.default_rng(0)  # vertical jitter only, so overlapping points show
    for y, (label, scores, colour) in enumerate(rows):
        values = np.minimum(np.asarray(scores, dtype=float), ceiling)
        jitter = y + rng.uniform(-0.15, 0.15, len(values))
        ax.scatter(values, jitter, s=18, color=colour, alpha=0.7, label=label)
    ax.axvline(audit.threshold, color="#222222", linestyle="--", linewidth=1)
    ax.set_yticks([0, 1], [label for label, _, _ in rows])
    ax.set_xlabel(
        "distance from the canary to its closest synthetic row ÷ to its closest real row",
        fontsize=8,
    )
    ax.text(
        audit.threshold, 1.45, "guessed 'was in training' ", fontsize=7, va="center", ha="right"
    )
    ax.set_xlim(0, ceiling)
    ax.set_ylim(-0.5, 1.6)
    _style(ax)
    return _to_data_uri(figure)


def audit_section(audit: PrivacyAudit, anchor: str) -> Markup:
    """HTML of the audit: verdict, what was done, the counts and the bound, and the figure."""
    return render(
        "audit.html.j2",
        audit=audit,
        verdict=audit.verdict,
        image=audit_figure(audit),
        anchor=anchor,
    )
