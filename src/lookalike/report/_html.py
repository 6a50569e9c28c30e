"""Render an :class:`~lookalike.evaluate.EvaluationResult` as one self-contained HTML page."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2

from lookalike.errors import DataError
from lookalike.evaluate._audit import PrivacyAudit
from lookalike.evaluate._result import EvaluationResult
from lookalike.report import _plots
from lookalike.report._audit import audit_section
from lookalike.report._controls import controls_section, rules_section
from lookalike.report._fairness import fairness_section
from lookalike.report._scenarios import scenario_section, scenario_title
from lookalike.scenarios._result import ScenarioResult

#: Per-column figures are drawn for at most this many columns (the least faithful ones first
#: when there are more); every column stays in the tables.
MAX_COLUMN_PLOTS = 40
#: The pair table lists this many of the least faithful column pairs.
N_WORST_PAIRS = 15
TEMPLATE_NAME = "report.html.j2"


def render_html(result: EvaluationResult | Mapping[str, Any], *, extra: Sequence[Any] = ()) -> str:
    """Return the report as HTML text: images embedded, no external resources, works offline.

    ``result`` is an :class:`EvaluationResult` or its :meth:`~EvaluationResult.to_dict` form
    (e.g. loaded back from the JSON file). ``extra`` are stress-test and experiment results
    (:class:`~lookalike.StressTestResult`, :class:`~lookalike.ExperimentResult`) and privacy
    audits (:class:`~lookalike.PrivacyAudit`), each shown as a section after the evaluation's
    own, with its verdict among the summary cards.
    """
    sections = _extra_sections(extra)
    if isinstance(result, Mapping):
        result = EvaluationResult.from_dict(dict(result))
    if not isinstance(result, EvaluationResult):
        raise DataError(
            f"render_html expects an EvaluationResult or its dict. Got {type(result).__name__}."
        )
    columns = list(result.fidelity.columns)
    plotted = columns
    if len(columns) > MAX_COLUMN_PLOTS:
        worst = sorted(columns, key=lambda c: c.accuracy)[:MAX_COLUMN_PLOTS]
        plotted = [c for c in columns if c in worst]
    column_images = {c.name: _plots.column_figure(c) for c in plotted}
    association_image = (
        _plots.association_figure(result.associations)
        if len(result.associations.columns) > 1
        else None
    )
    worst_pairs = sorted(result.fidelity.pairs, key=lambda p: p.accuracy)[:N_WORST_PAIRS]
    settings = dict(result.settings)
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(
        result=result,
        settings=settings,
        columns=columns,
        column_images=column_images,
        n_plotted=len(plotted),
        association_image=association_image,
        distance_image=_plots.distance_figure(result.privacy.dcr_histogram),
        membership_image=(
            None
            if result.privacy.membership_inference is None
            else _plots.membership_figure(result.privacy.membership_inference)
        ),
        worst_pairs=worst_pairs,
        fairness_section="" if result.fairness is None else fairness_section(result.fairness),
        rules_section="" if result.rules is None else rules_section(result.rules),
        controls_section="" if result.controls is None else controls_section(result.controls),
        extra_sections=sections,
        extra_cards=[(x["title"], x["verdict"]) for x in sections],
        json_text=json.dumps(result.to_dict(), indent=1, ensure_ascii=False),
    )


def _extra_sections(extra: Sequence[Any]) -> list[dict[str, Any]]:
    """Title, anchor, verdict and HTML of each extra section, anchors unique in the page."""
    if isinstance(extra, ScenarioResult) or not isinstance(extra, Sequence):
        raise DataError(
            "The 'extra' parameter must be a list of stress-test or experiment results. "
            f"Got {type(extra).__name__} instead."
        )
    sections = []
    counts: dict[str, int] = {}
    for item in extra:
        if not isinstance(item, ScenarioResult | PrivacyAudit):
            raise DataError(
                "Each of 'extra' must be a StressTestResult (from lookalike.stress_test), an "
                "ExperimentResult (from lookalike.experiment) or a PrivacyAudit (from "
                f"lookalike.audit_privacy). Got {type(item).__name__} instead."
            )
        title = "Privacy audit" if isinstance(item, PrivacyAudit) else scenario_title(item)
        slug = title.lower().replace(" ", "-")
        counts[slug] = counts.get(slug, 0) + 1
        anchor = slug if counts[slug] == 1 else f"{slug}-{counts[slug]}"
        html = (
            audit_section(item, anchor)
            if isinstance(item, PrivacyAudit)
            else scenario_section(item, anchor)
        )
        sections.append(
            {
                "title": title if counts[slug] == 1 else f"{title} {counts[slug]}",
                "anchor": anchor,
                "verdict": item.verdict,
                "html": html,
            }
        )
    return sections


def _environment() -> jinja2.Environment:
    templates = resources.files("lookalike.report") / "templates"
    source = {TEMPLATE_NAME: (templates / TEMPLATE_NAME).read_text(encoding="utf-8")}
    environment = jinja2.Environment(
        loader=jinja2.DictLoader(source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = _percent
    environment.filters["num"] = _number
    return environment


def _percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
