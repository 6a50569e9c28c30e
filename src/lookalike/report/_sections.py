"""Shared machinery of the report sections rendered outside the main template.

Each such section (fairness, stress tests, experiments) has its own small template in
``templates/`` and returns HTML that the main report embeds, or that a standalone page wraps.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup


@cache
def environment() -> jinja2.Environment:
    """A Jinja environment over the section templates, with the report's number filters."""
    templates = resources.files("lookalike.report") / "templates"

    def load(name: str) -> str:
        return (templates / name).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = percent
    env.filters["num"] = number
    return env


def render(template: str, block: str | None = None, **context: Any) -> Markup:
    """Render ``template`` (or one of its blocks) to HTML that a template may embed as is."""
    loaded = environment().get_template(template)
    if block is None:
        return Markup(loaded.render(**context))
    rendered = loaded.blocks[block](loaded.new_context(context))
    return Markup("".join(rendered))


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
