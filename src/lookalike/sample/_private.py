"""Sampling a differentially private model under conditions and targets.

Everything here is post-processing of the released model, so none of it spends privacy budget.
Conditions become fixed tokens (values, seed rows) or factors (sets, ranges) that the model's
importance-resampled draw honours (:func:`lookalike.models._dp.sample_private_model`).
Rebalance, shift and parity go through the default model's raking
(:mod:`lookalike.control._targets`) on the joint of the columns named, taken from a pilot draw:
every row is given a cell of the raked joint and then drawn given it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lookalike._progress import progress_bar
from lookalike.control import TargetResult
from lookalike.control._conditions import parse_conditions
from lookalike.control._rule_sampling import listed_values
from lookalike.control._rules import Comparison, Membership, Rule, Value, check_rules, parse_rules
from lookalike.control._targets import (
    Constraint,
    TargetColumn,
    category_shares,
    marginal,
    mean_constraint,
    parity_constraint,
    quantile_constraint,
    rake,
    read_parity,
)
from lookalike.encode import value_label
from lookalike.errors import ConditionError, warn_data
from lookalike.models._dp import (
    RARE_LABEL,
    allocate_rows,
    category_label,
    condition_factors,
    condition_tokens,
    countable,
    draw_pilot,
    entry_of,
    node_marginals,
    sample_private_model,
    target_axis,
)
from lookalike.sample._controlled import measure_targets
from lookalike.schema import ColumnKind

if TYPE_CHECKING:
    from lookalike.sample._synthesizer import Conditions, Synthesizer

#: Rows of the pilot draw whose joint of the target columns is raked.
_PILOT_ROWS = 50_000
#: The most combinations of target values (a number's fine cells) that are raked.
_MAX_CELLS = 2_000_000


def sample_private(
    model: Synthesizer,
    n: int,
    rng: np.random.Generator,
    conditions: Conditions,
    rebalance: Mapping[str, Any] | None,
    shift: Any,
    parity: Any,
    rules: Any,
    progress: bool,
) -> tuple[pd.DataFrame, list[TargetResult]]:
    """Rows of ``model``'s private model under conditions (a dict or seed rows) and targets,
    and what each target achieved."""
    rule_sets, rule_ranges, parsed_rules = _one_column_rules(model, rules)
    controls = any(x is not None for x in (rebalance, shift, parity))
    if controls and isinstance(conditions, pd.DataFrame):
        raise ConditionError(
            "Seed rows (a DataFrame of conditions) cannot be combined with rebalance, shift "
            "or parity; give conditions as a dict."
        )
    dp, schema = model.dp_model_, model.schema_
    sets: dict[str, tuple[Any, ...]] = {}
    ranges: dict[str, tuple[float | None, float | None]] = {}
    if isinstance(conditions, Mapping) and conditions:
        specs = {spec.name: spec for spec in schema}
        parsed = parse_conditions(schema.names, specs, conditions)
        sets = {c.column: c.values for c in parsed if c.kind == "set"}
        ranges = {c.column: (c.low, c.high) for c in parsed if c.kind == "range"}
        conditions = {c.column: c.values[0] for c in parsed if c.kind == "value"}
    # A rule's range on a column a condition already ranges narrows that range (a bin's share
    # of the intersection is not the product of its shares of the two).
    for name in [c for c in rule_ranges if c in ranges]:
        ranges[name] = _intersection(ranges[name], rule_ranges.pop(name))
    factors = condition_factors(dp, schema, sets, ranges)
    # Rules do not check missing values, which keep their share of the column (as under the
    # default model): with a factor of 1, they took all the mass a rule removed.
    rule_factors = condition_factors(dp, schema, rule_sets, rule_ranges)
    marginals = node_marginals(dp) if rule_factors else []
    for node, factor in rule_factors.items():
        missing = dp.columns[dp.nodes[node]].missing_token
        factor[missing] = _missing_share_kept(marginals[node], factor, missing)
        factors[node] = factors[node] * factor if node in factors else factor
    ranges.update(rule_ranges)
    table = model._condition_table(conditions, n)
    d = len(dp.nodes)
    fixed, mask = np.zeros((n, d), dtype=np.int64), np.zeros((n, d), dtype=bool)
    if table is not None:
        fixed, mask = condition_tokens(
            dp, schema, table, from_dict=bool(table.attrs.get("from_dict", False))
        )

    def describe(row: int) -> str:
        values: dict[str, Any] = {**sets, **ranges}
        if table is not None:
            values.update({str(c): v for c, v in table.iloc[row].dropna().items()})
        return f"the conditions {values}"

    plan = None
    if controls:
        plan = _PrivateTargets.read(model, rebalance, shift, parity)
        plan.fix_rows(model, n, rng, fixed, mask, factors, describe)
    with progress_bar(progress) as bar:
        task = bar.add_task("Sampling rows", total=n)
        out = sample_private_model(
            dp,
            schema,
            n,
            rng,
            fixed=fixed,
            mask=mask,
            factors=factors,
            ranges=ranges,
            cells=None if plan is None else plan.cells,
            describe=describe,
            on_rows=lambda k: bar.advance(task, k),
        )
    out = model._apply_exact_conditions(out, table)
    if parsed_rules:
        broken = [r.rule for r in check_rules(out, parsed_rules, schema=schema) if r.n_violations]
        if broken:  # never expected: each rule restricted every draw
            raise ConditionError(f"Rule(s) {broken} failed on the rows drawn; nothing written.")
    return out, [] if plan is None else plan.measure(model, out)


def _missing_share_kept(marginal: np.ndarray, factor: np.ndarray, missing: int) -> float:
    """The factor on a column's missing token that keeps its share under a rule's ``factor``
    on the other tokens: the share of the present values the rule allows."""
    present = 1.0 - float(marginal[missing])
    if present <= 0:
        return 1.0
    allowed = float(np.delete(marginal * factor, missing).sum())
    return min(allowed / present, 1.0)


def _one_column_rules(
    model: Synthesizer, rules: Any
) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[float | None, float | None]], list[Rule]]:
    """A private model's rules as the sets of categories and number ranges they allow.

    Rules on one column (ranges, comparisons with a constant, allowed or forbidden categories)
    restrict that column in every draw, like conditions that let missing values through (a rule
    does not check them). Rules between columns, conditionals and formulas need the default
    model's rule sampler: ConditionError.
    """
    parsed = parse_rules(rules)
    schema, dp = model.schema_, model.dp_model_
    sets: dict[str, tuple[Any, ...]] = {}
    ranges: dict[str, tuple[float | None, float | None]] = {}
    for rule in parsed:
        columns = rule.columns
        unknown = [c for c in columns if c not in schema]
        if unknown:
            raise ConditionError(f"Rule {rule.text!r} names unknown column(s) {unknown}.")
        if rule.condition is not None or rule.formula is not None or len(columns) != 1:
            raise ConditionError(
                f"Rule {rule.text!r}: a differentially private model enforces rules on one "
                "column so far (ranges, comparisons with a constant, allowed categories); "
                "rules between columns, conditionals and formulas need the default model."
            )
        name = columns[0]
        column = dp.columns[list(schema.names).index(name)]
        for atom in rule.atoms:
            labels = [*column.categories, *([RARE_LABEL] if column.has_rare else [])]
            if isinstance(atom, Membership) and column.kind == "categorical":
                named = {str(value_label(v)) for v in atom.values}
                _check_named(rule, name, named, labels)
                allowed = [label for label in labels if (label in named) != atom.negated]
                sets[name] = _allowed(rule, allowed, sets.get(name))
            elif (
                isinstance(atom, Comparison)
                and isinstance(atom.right, Value)
                and column.kind == "categorical"
                and atom.op in ("==", "!=")
            ):
                named = {str(value_label(atom.right.value))}
                _check_named(rule, name, named, labels)
                allowed = [label for label in labels if (label in named) == (atom.op == "==")]
                sets[name] = _allowed(rule, allowed, sets.get(name))
            elif (
                isinstance(atom, Comparison)
                and isinstance(atom.right, Value)
                and isinstance(atom.right.value, int | float)
                and not isinstance(atom.right.value, bool)
                and column.kind == "numeric"
                and schema[name].kind is not ColumnKind.DATETIME
                and atom.op in ("<", "<=", ">", ">=")
            ):
                bound = float(atom.right.value)
                if atom.op in ("<", "<="):
                    high = bound if atom.op == "<=" else float(np.nextafter(bound, -np.inf))
                    ranges[name] = _intersection(ranges.get(name, (None, None)), (None, high))
                else:
                    low = bound if atom.op == ">=" else float(np.nextafter(bound, np.inf))
                    ranges[name] = _intersection(ranges.get(name, (None, None)), (low, None))
            else:
                raise ConditionError(
                    f"Rule {rule.text!r}: on a differentially private model a rule on a number "
                    "compares it with a number (<, <=, >, >=) and a rule on categories names "
                    "them (==, !=, in, not in); dates and sets of numbers are not supported yet."
                )
    return sets, ranges, parsed


def _check_named(rule: Rule, name: str, named: set[str], labels: list[str]) -> None:
    """Warn where the private model never draws a category a rule names (a misspelt one made
    ``c != "B"`` hold everywhere, silently); the rule takes it for a value never drawn."""
    unknown = sorted(named - set(labels))
    if unknown:
        listed = listed_values(labels)
        warn_data(
            f"Rule {rule.text!r}: {unknown[0]!r} is not a category the private model draws in "
            f"{name!r} (it draws {listed}); the rule takes it for a value never drawn. "
            "A misspelling?"
        )


def _allowed(rule: Rule, allowed: list[str], before: tuple[Any, ...] | None) -> tuple[str, ...]:
    """The categories a rule allows, within those earlier rules allowed; none is an error."""
    kept = tuple(label for label in allowed if before is None or label in before)
    if not kept:
        raise ConditionError(
            f"Rule {rule.text!r} allows none of the categories the private model draws."
        )
    return kept


def _intersection(
    a: tuple[float | None, float | None], b: tuple[float | None, float | None]
) -> tuple[float | None, float | None]:
    lows = [x for x in (a[0], b[0]) if x is not None]
    highs = [x for x in (a[1], b[1]) if x is not None]
    return (max(lows) if lows else None, min(highs) if highs else None)


@dataclass
class _PrivateTargets:
    """Rebalance, shift and parity on a private model, through the default model's raking.

    A pilot draw under the conditions gives the model's joint of the columns named; a number's
    axis is its fine cells (the pilot's bins spread by the cells' decoding weights), so a mean
    or quantile can split a bin. The joint is raked to every target at once
    (:func:`lookalike.control._targets.rake`), every row is given a cell of the result, and the
    rows are drawn given their cell: within a cell, the model's own distribution.
    """

    requests: list[tuple[str, str, Any]]  # (source, column, request)
    parity: tuple[str, list[str]] | None
    columns: list[str]
    constraints: list[Constraint] = field(default_factory=list)
    pilot_joint: np.ndarray = field(default_factory=lambda: np.zeros(0))
    drawn_joint: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cells: dict[str, np.ndarray] = field(default_factory=dict)  # a number's fine cell per row

    @classmethod
    def read(cls, model: Synthesizer, rebalance: Any, shift: Any, parity: Any) -> _PrivateTargets:
        names = model.schema_.names
        requests: list[tuple[str, str, Any]] = []
        for source, request in (("rebalance", rebalance), ("shift", shift)):
            if request is None:
                continue
            if not isinstance(request, Mapping):
                raise ConditionError(
                    f"{source} must be a dict of column -> targets. Got {type(request).__name__}."
                )
            unknown = [str(c) for c in request if c not in names]
            if unknown:
                raise ConditionError(
                    f"{source} names unknown column(s) {unknown}; the model has {names}."
                )
            requests += [(source, name, wanted) for name, wanted in request.items()]
        named = [c for _, c, _ in requests]
        both = sorted({c for c in named if named.count(c) > 1})
        if both:
            raise ConditionError(f"Column(s) {both} appear in both rebalance and shift; use one.")
        read = read_parity(parity, names) if parity is not None else None
        columns = list(dict.fromkeys(named + ([read[0], *read[1]] if read else [])))
        return cls(requests, read, columns)

    def fix_rows(
        self,
        model: Synthesizer,
        n: int,
        rng: np.random.Generator,
        fixed: np.ndarray,
        mask: np.ndarray,
        factors: dict[int, np.ndarray],
        describe: Callable[[int], str],
    ) -> None:
        """Give every row a cell of the target columns (in ``fixed`` and ``mask``)."""
        dp, schema = model.dp_model_, model.schema_
        axes = [target_axis(dp, schema, name) for name in self.columns]
        nodes = [a.node for a in axes]
        clash = [c for c, k in zip(self.columns, nodes, strict=True) if k in factors or mask[0, k]]
        if clash:
            raise ConditionError(
                f"Column(s) {clash} appear both in conditions and in rebalance, shift or parity; "
                "use one."
            )
        shape = tuple(len(a.values) for a in axes)
        if int(np.prod(shape)) > _MAX_CELLS:
            raise ConditionError(
                f"The targets on {self.columns} span {int(np.prod(shape)):,} combinations of "
                f"values; at most {_MAX_CELLS:,} are supported. Target fewer columns."
            )
        pilot = draw_pilot(dp, _PILOT_ROWS, rng.spawn(1)[0], fixed[:1], mask[:1], factors, describe)
        sizes = tuple(dp.columns[dp.nodes[k]].n_tokens for k in nodes)
        cells = np.ravel_multi_index(tuple(pilot[:, nodes].T), sizes)
        joint = np.bincount(cells, minlength=int(np.prod(sizes))).reshape(sizes) / len(pilot)
        for axis, target in enumerate(axes):
            joint = target.refine(joint, axis)
        columns = {
            name: TargetColumn(name, (axis,), (len(a.values),), a.values)
            for axis, (name, a) in enumerate(zip(self.columns, axes, strict=True))
        }
        for source, name, wanted in self.requests:
            margin = marginal(joint, columns[name].axes)
            self.constraints.append(
                _private_constraint(model, columns[name], source, wanted, margin)
            )
        if self.parity is not None:
            outcome, sensitive = self.parity
            for column in [outcome, *sensitive]:
                countable(dp, schema, column)
            self.constraints.append(
                parity_constraint(columns[outcome], [columns[c] for c in sensitive], joint)
            )
        raked, _ = rake(joint, self.constraints)
        rows = allocate_rows(raked, n, rng.spawn(1)[0])
        for axis, (name, entries) in enumerate(zip(self.columns, axes, strict=True)):
            fixed[:, entries.node] = entries.token[rows[:, axis]]
            mask[:, entries.node] = True
            if entries.cells:
                missing = rows[:, axis] == len(entries.values) - 1
                self.cells[name] = np.where(missing, -1, rows[:, axis])
        # The target columns of the rows are their cells: their joint is known now.
        drawn = np.bincount(np.ravel_multi_index(tuple(rows.T), shape), minlength=joint.size)
        self.pilot_joint, self.drawn_joint = joint, drawn.reshape(shape) / n

    def measure(self, model: Synthesizer, out: pd.DataFrame) -> list[TargetResult]:
        """Each target, asked against what the rows achieved."""
        dp, schema = model.dp_model_, model.schema_
        return measure_targets(
            model,
            self.constraints,
            out,
            self.drawn_joint,
            self.pilot_joint,
            lambda name, key: entry_of(dp, schema, name, key),
            lambda name, token: category_label(dp, schema, name, token),
        )


def _private_constraint(
    model: Synthesizer, column: TargetColumn, source: str, wanted: Any, model_shares: np.ndarray
) -> Constraint:
    """One rebalance or shift request on a private model's column, as a raking constraint."""
    name = column.name
    kind = model.schema_[name].kind
    special = isinstance(wanted, Mapping) and bool(
        {"mean", "quantiles", "distribution"} & set(wanted)
    )
    if special and len(wanted) > 1:
        raise ConditionError(
            f"Shift of {name!r}: give one of 'mean', 'quantiles', 'distribution' or category "
            f"shares, not several. Got keys {list(wanted)}."
        )
    if source == "shift" and special and "mean" in wanted:
        return mean_constraint(column, kind, wanted["mean"], model_shares)
    if source == "shift" and special and "quantiles" in wanted:
        return quantile_constraint(column, kind, wanted["quantiles"], model_shares)
    complete = source == "shift" and special
    shares = wanted["distribution"] if complete else wanted
    dp = model.dp_model_
    countable(dp, model.schema_, name)

    def token_of(key: Any) -> int:
        return entry_of(dp, model.schema_, name, key)

    return category_shares(column, token_of, shares, model_shares, source=source, complete=complete)
