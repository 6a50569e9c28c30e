"""Business rules on the real and on the synthetic table, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from lookalike.control._rules import Rule, TableValues, Within, check_rules, parse_rules
from lookalike.evaluate import _verdicts
from lookalike.evaluate._result import RulesResult
from lookalike.schema import Schema


def measure_rules(
    real: pd.DataFrame, synthetic: pd.DataFrame, rules: Sequence[Any], schema: Schema
) -> RulesResult:
    """Check every rule on both tables; the real table is the reference, not a pass mark.

    A ``within`` rule given without its ``allowed`` combinations is checked against the
    combinations the real table holds (so the real table keeps it by construction, and the
    synthetic table breaks it exactly where it invents a combination); its note says so.

    >>> real = pd.DataFrame({"x": [1, 2, -1, 3], "city": list("aabb"), "land": list("uuvv")})
    >>> synthetic = real.assign(land=list("uvvv"))
    >>> result = measure_rules(real, synthetic, ["x >= 0", "city within land"], None)
    >>> [(r.rule, r.n_violations) for r in result.synthetic]
    [('x >= 0', 1), ('city within land', 1)]
    >>> result.warnings
    ("The real data breaks 'x >= 0' in 1 of 4 checked rows (25.0%); the synthetic data is compared with that, not with zero.",)
    """
    parsed = parse_rules(rules)
    notes: list[str | None] = []
    checked: list[Rule] = []
    for rule in parsed:
        within = rule.within
        if within is not None and within.pairs is None:
            pairs = _seen_pairs(within, real, schema)
            rule = rule.with_pairs(pairs)
            notes.append(
                f"allowed combinations not given: the {len(pairs)} seen in the real table are "
                "used, so the real table keeps this rule by construction"
            )
        else:
            notes.append(None)
        checked.append(rule)
    real_report = check_rules(real, checked, schema=schema)
    synthetic_report = check_rules(synthetic, checked, schema=schema)
    warnings = tuple(
        f"The real data breaks {r.rule!r} in {r.n_violations:,} of {r.n_checked:,} checked rows "
        f"({100 * r.n_violations / r.n_checked:.1f}%); the synthetic data is compared with "
        "that, not with zero."
        for r in real_report
        if r.n_violations
    )
    return RulesResult(
        real=real_report.results,
        synthetic=synthetic_report.results,
        n_real_rows=real_report.n_rows,
        n_synthetic_rows=synthetic_report.n_rows,
        notes=tuple(notes),
        warnings=warnings,
        verdict=_verdicts.rules_verdict(real_report.results, synthetic_report.results),
    )


def _seen_pairs(within: Within, table: pd.DataFrame, schema: Schema | None) -> frozenset[Any]:
    """The (child, parent) label pairs present in ``table``, read as the rules read labels."""
    values = TableValues(table, schema)
    pairs = pd.DataFrame(
        {"child": values.labels(within.child), "parent": values.labels(within.parent)}
    ).dropna()
    return frozenset(
        (str(child), str(parent)) for child, parent in pairs.drop_duplicates().itertuples(False)
    )
