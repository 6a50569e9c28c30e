"""Turn evaluation results into a self-contained HTML report (plots embedded, works offline)."""

from __future__ import annotations

from lookalike.report._html import render_html

__all__ = ["render_html"]
