"""Business rules: a small declarative language, parsed without ever executing the text.

A rule is one line::

    end_date >= start_date              comparison between columns
    age >= 18                           comparison with a constant
    0 <= discount <= 1                  range
    status in ("open", "closed")        allowed values (also ``not in``)
    city within country                 allowed combinations
    total == price * quantity           formula: + - * / and parentheses
    if pregnant == "yes" then sex == "F"

Column names that are not plain identifiers go in backticks (```hours-per-week` <= 60``);
constants are numbers, quoted strings (dates too: ``start >= "2020-01-01"``), ``true``/``false``.

The text is read by a tokenizer and a recursive-descent parser of this grammar only; nothing is
ever evaluated as Python. Rules are checked with SQL ``CHECK`` semantics: a row whose rule
involves a missing value is not checked (it neither holds nor breaks the rule).

>>> import pandas as pd
>>> df = pd.DataFrame({"start": [1, 2, 3], "end": [2, 2, 1], "kind": ["a", "b", "a"]})
>>> report = check_rules(df, ["end >= start", 'if kind == "b" then end == 2'])
>>> [(r.rule, r.n_checked, r.n_violations) for r in report]
[('end >= start', 3, 1), ('if kind == "b" then end == 2', 3, 0)]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from lookalike.encode import value_label
from lookalike.errors import ConditionError, warn_data
from lookalike.schema import ColumnKind, ColumnSpec, Schema
from lookalike.schema._datetimes import datetimes_to_seconds
from lookalike.schema._infer import compact_date

__all__ = [
    "Comparison",
    "Formula",
    "Membership",
    "Rule",
    "RuleReport",
    "RuleResult",
    "Within",
    "check_rules",
    "parse_rule",
    "parse_rules",
]

COMPARISON_OPERATORS = ("<=", ">=", "==", "!=", "<", ">")
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_KEYWORDS = {"if", "then", "within", "in", "not", "true", "false"}

Constant = float | str | bool
RuleSpec = str | Mapping[str, Any]


# ---------------------------------------------------------------------------------------------
# The rule values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A reference to a column."""

    name: str


@dataclass(frozen=True)
class Value:
    """A constant (number, string or bool)."""

    value: Constant


@dataclass(frozen=True)
class Arithmetic:
    """``left op right`` with op one of + - * /."""

    op: str
    left: Expression
    right: Expression


Expression = Column | Value | Arithmetic
Operand = Column | Value


@dataclass(frozen=True)
class Comparison:
    """``left op right``; at least one side is a column, and a single constant is on the right."""

    left: Operand
    op: str
    right: Operand

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(o.name for o in (self.left, self.right) if isinstance(o, Column))

    def negated(self) -> Comparison:
        return Comparison(self.left, _NEGATED[self.op], self.right)

    def __str__(self) -> str:
        return f"{_show(self.left)} {self.op} {_show(self.right)}"


@dataclass(frozen=True)
class Membership:
    """``column in (v1, v2, ...)``, or ``not in``."""

    column: str
    values: tuple[Constant, ...]
    negated: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def negation(self) -> Membership:
        return Membership(self.column, self.values, not self.negated)

    def __str__(self) -> str:
        shown = ", ".join(_show(Value(v)) for v in self.values)
        return f"{_quote(self.column)} {'not in' if self.negated else 'in'} ({shown})"


@dataclass(frozen=True)
class Within:
    """``child within parent``: only the allowed (child, parent) label pairs may occur.

    ``pairs`` is None until they are learned (at fit time) or given; ``negated`` is the
    complement, which conditionals need.
    """

    child: str
    parent: str
    pairs: frozenset[tuple[str, str]] | None = None
    negated: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.child, self.parent)

    def negation(self) -> Within:
        return Within(self.child, self.parent, self.pairs, not self.negated)

    def __str__(self) -> str:
        word = "not within" if self.negated else "within"
        return f"{_quote(self.child)} {word} {_quote(self.parent)}"


Atom = Comparison | Membership | Within


def negate(atom: Atom) -> Atom:
    """The atom that holds exactly where ``atom`` does not (on rows where both are checked)."""
    return atom.negated() if isinstance(atom, Comparison) else atom.negation()


@dataclass(frozen=True)
class Formula:
    """``target == expression``: the target is derived from the other columns."""

    target: str
    expression: Expression

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.target, *_expression_columns(self.expression))

    @property
    def inputs(self) -> tuple[str, ...]:
        return _expression_columns(self.expression)


RuleKind = Literal["comparison", "range", "membership", "within", "formula", "conditional"]


@dataclass(frozen=True)
class Rule:
    """One parsed rule: its text, its kind and its parts.

    ``atoms`` must all hold (a range has two); a conditional's ``condition`` is its ``if`` part,
    and ``atoms`` its ``then`` part; a formula has ``formula`` and no atoms.

    >>> parse_rule("0 <= discount <= 1").atoms
    (Comparison(left=Column(name='discount'), op='>=', right=Value(value=0.0)), Comparison(left=Column(name='discount'), op='<=', right=Value(value=1.0)))
    """

    text: str
    kind: RuleKind
    atoms: tuple[Atom, ...] = ()
    condition: Atom | None = None
    formula: Formula | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the rule names, each once, in order of appearance."""
        names: list[str] = []
        parts: list[Any] = [self.condition, *self.atoms, self.formula]
        for part in parts:
            if part is not None:
                names.extend(n for n in part.columns if n not in names)
        return tuple(names)

    def with_pairs(self, pairs: frozenset[tuple[str, str]]) -> Rule:
        """The same rule with the allowed pairs of its ``within`` part set."""

        def fill(atom: Atom | None) -> Any:
            if isinstance(atom, Within):
                return Within(atom.child, atom.parent, pairs, atom.negated)
            return atom

        return Rule(
            self.text,
            self.kind,
            tuple(fill(a) for a in self.atoms),
            fill(self.condition),
            self.formula,
        )

    @property
    def within(self) -> Within | None:
        """The rule's ``within`` part, if it has one."""
        for atom in (self.condition, *self.atoms):
            if isinstance(atom, Within):
                return atom
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the text, plus the allowed pairs of a ``within`` part as parent -> children."""
        out: dict[str, Any] = {"rule": self.text}
        within = self.within
        if within is not None and within.pairs is not None:
            allowed: dict[str, list[str]] = {}
            for child, parent in sorted(within.pairs):
                allowed.setdefault(parent, []).append(child)
            out["allowed"] = allowed
        return out


# ---------------------------------------------------------------------------------------------
# Tokenizer and parser
# ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_MAX_RULE_LENGTH = 2_000
_MAX_DEPTH = 50


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, end
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _ParseError(f"unexpected character {text[position]!r}", position)
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "quoted":
            tokens.append(_Token("name", value[1:-1], position))
        elif kind == "name" and value.lower() in _KEYWORDS:
            tokens.append(_Token("keyword", value.lower(), position))
        elif kind != "space":
            tokens.append(_Token(kind, value, position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _ParseError(Exception):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class _Parser:
    """Recursive descent over the token list; builds rule values, never code."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.at = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            return self.take()
        return None

    def expect(self, kind: str, text: str, what: str) -> _Token:
        token = self.accept(kind, text)
        if token is None:
            raise _ParseError(f"expected {what}", self.current.position)
        return token

    def rule(self) -> Rule:
        if self.accept("keyword", "if"):
            condition = self.simple()
            self.expect("keyword", "then", "'then'")
            then = self.simple()
            self.end()
            if isinstance(condition, Formula) or isinstance(then, Formula):
                raise _ParseError("a conditional's parts cannot be formulas", 0)
            if len(condition) != 1 or len(then) != 1:
                raise _ParseError(
                    "a conditional's 'if' and 'then' parts must each be one comparison, "
                    "membership or within (write a range as two rules)",
                    0,
                )
            shared = set(condition[0].columns) & set(then[0].columns)
            if shared:
                raise _ParseError(
                    f"a conditional's 'if' and 'then' parts must name different columns; "
                    f"both name {sorted(shared)}",
                    0,
                )
            return Rule(self.text, "conditional", atoms=then, condition=condition[0])
        parts = self.simple()
        self.end()
        if isinstance(parts, Formula):
            return Rule(self.text, "formula", formula=parts)
        atom = parts[0]
        if len(parts) == 2:
            return Rule(self.text, "range", atoms=parts)
        kind: RuleKind = (
            "within"
            if isinstance(atom, Within)
            else "membership"
            if isinstance(atom, Membership)
            else "comparison"
        )
        return Rule(self.text, kind, atoms=parts)

    def end(self) -> None:
        if self.current.kind != "end":
            raise _ParseError(f"unexpected {self.current.text!r}", self.current.position)

    def simple(self) -> tuple[Atom, ...] | Formula:
        start = self.current.position
        left = self.sum()
        if self.accept("keyword", "within"):
            parent = self.sum()
            if not (isinstance(left, Column) and isinstance(parent, Column)):
                raise _ParseError("'within' needs a column on each side", start)
            return (Within(left.name, parent.name),)
        negated = False
        if self.current.kind == "keyword" and self.current.text == "not":
            self.take()
            negated = True
            if self.current.text != "in":
                raise _ParseError("expected 'in' after 'not'", self.current.position)
        if self.accept("keyword", "in"):
            if not isinstance(left, Column):
                raise _ParseError("'in' needs a column on its left", start)
            return (Membership(left.name, self.constant_list(), negated),)
        operands: list[Expression] = [left]
        operators: list[str] = []
        while self.current.kind == "op" and self.current.text in COMPARISON_OPERATORS:
            operators.append(self.take().text)
            operands.append(self.sum())
        if not operators:
            raise _ParseError(
                "expected a comparison (<, <=, >, >=, ==, !=), 'in' or 'within'",
                self.current.position,
            )
        if len(operators) > 2:
            raise _ParseError("a range has at most two comparisons", start)
        arithmetic = [isinstance(o, Arithmetic) for o in operands]
        if any(arithmetic):
            if len(operators) != 1 or operators[0] != "==" or not isinstance(left, Column):
                raise _ParseError(
                    "arithmetic is only allowed in a formula: 'column == expression'", start
                )
            return Formula(left.name, operands[1])
        atoms = []
        for op, a, b in zip(operators, operands, operands[1:], strict=False):
            atoms.append(_comparison(a, op, b, start))  # type: ignore[arg-type]
        if len(atoms) == 2:
            columns = [set(a.columns) for a in atoms]
            if (
                not (
                    isinstance(operands[0], Value)
                    and isinstance(operands[2], Value)
                    and isinstance(operands[1], Column)
                )
                or operators[0] not in ("<", "<=", ">", ">=")
                or operators[1]
                not in (
                    "<",
                    "<=",
                    ">",
                    ">=",
                )
                or (operators[0][0] != operators[1][0])
                or columns[0] != columns[1]
            ):
                raise _ParseError("a range reads 'low <= column <= high' (or with > and >=)", start)
        return tuple(atoms)

    def constant_list(self) -> tuple[Constant, ...]:
        closing = ")" if self.accept("op", "(") else "]" if self.accept("op", "[") else None
        if closing is None:
            raise _ParseError("expected '(' or '[' after 'in'", self.current.position)
        values: list[Constant] = []
        while True:
            item = self.factor()
            if not isinstance(item, Value):
                raise _ParseError("'in' lists hold constants only", self.current.position)
            values.append(item.value)
            if self.accept("op", ","):
                if self.current.text == closing:
                    break
                continue
            break
        self.expect("op", closing, f"{closing!r}")
        return tuple(values)

    def sum(self) -> Expression:
        left = self.product()
        while self.current.kind == "op" and self.current.text in ("+", "-"):
            op = self.take().text
            left = _arithmetic(op, left, self.product())
        return left

    def product(self) -> Expression:
        left = self.factor()
        while self.current.kind == "op" and self.current.text in ("*", "/"):
            op = self.take().text
            left = _arithmetic(op, left, self.factor())
        return left

    def factor(self) -> Expression:
        token = self.current
        if token.kind == "op" and token.text == "-":
            self.take()
            inner = self.factor()
            if isinstance(inner, Value) and isinstance(inner.value, float):
                return Value(-inner.value)
            return Arithmetic("-", Value(0.0), inner)
        if token.kind == "op" and token.text == "(":
            self.take()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise _ParseError("too deeply nested", token.position)
            inner = self.sum()
            self.depth -= 1
            self.expect("op", ")", "')'")
            return inner
        if token.kind == "number":
            self.take()
            return Value(float(token.text))
        if token.kind == "string":
            self.take()
            return Value(_unescape(token.text[1:-1]))
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.take()
            return Value(token.text == "true")
        if token.kind == "name":
            self.take()
            return Column(token.text)
        shown = "the end of the rule" if token.kind == "end" else repr(token.text)
        raise _ParseError(f"expected a column or a constant, got {shown}", token.position)


def _arithmetic(op: str, left: Expression, right: Expression) -> Expression:
    if (isinstance(left, Value) and isinstance(left.value, str)) or (
        isinstance(right, Value) and isinstance(right.value, str)
    ):
        raise _ParseError("arithmetic on a string constant", 0)
    return Arithmetic(op, left, right)


def _comparison(left: Operand, op: str, right: Operand, start: int) -> Comparison:
    if isinstance(left, Value) and isinstance(right, Value):
        raise _ParseError("a comparison needs at least one column", start)
    if isinstance(left, Value):
        # Constants go on the right: ``18 <= age`` is ``age >= 18``.
        return Comparison(right, _MIRRORED[op], left)
    return Comparison(left, op, right)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _quote(name: str) -> str:
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) and name.lower() not in _KEYWORDS
    return name if plain else f"`{name}`"


def _show(operand: Expression) -> str:
    if isinstance(operand, Column):
        return _quote(operand.name)
    if isinstance(operand, Arithmetic):
        return f"({_show(operand.left)} {operand.op} {_show(operand.right)})"
    value = operand.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{value:g}"


def _expression_columns(expression: Expression) -> tuple[str, ...]:
    if isinstance(expression, Column):
        return (expression.name,)
    if isinstance(expression, Value):
        return ()
    names = list(_expression_columns(expression.left))
    names.extend(n for n in _expression_columns(expression.right) if n not in names)
    return tuple(names)


def parse_rule(rule: RuleSpec) -> Rule:
    """Parse one rule: a string, or a mapping ``{"rule": text, "allowed": {parent: [children]}}``.

    ``allowed`` gives a ``within`` rule's combinations explicitly; without it they are learned
    from the training data at fit time. Invalid text raises :class:`ConditionError` naming the
    rule and the position of the problem.

    >>> parse_rule("total == price * quantity").kind
    'formula'
    >>> parse_rule("if pregnant == 'yes' then sex == 'F'").condition
    Comparison(left=Column(name='pregnant'), op='==', right=Value(value='yes'))
    >>> parse_rule("__import__('os')")
    Traceback (most recent call last):
    ...
    lookalike.errors.ConditionError: Rule "__import__('os')" is not valid: expected a comparison (<, <=, >, >=, ==, !=), 'in' or 'within' (at character 10).
    """
    allowed: Any = None
    if isinstance(rule, Mapping):
        unknown = sorted(set(map(str, rule)) - {"rule", "allowed"})
        if "rule" not in rule or unknown:
            raise ConditionError(
                "A rule given as a mapping needs a 'rule' text and optionally 'allowed'. "
                f"Got keys {sorted(map(str, rule))} instead."
            )
        allowed = rule.get("allowed")
        rule = rule["rule"]
    if not isinstance(rule, str):
        raise ConditionError(
            f"A rule must be a string or a mapping with a 'rule' text. Got {rule!r} instead."
        )
    text = rule.strip()
    if not text or len(text) > _MAX_RULE_LENGTH:
        raise ConditionError(
            f"A rule must be a non-empty string of at most {_MAX_RULE_LENGTH} characters. "
            f"Got {rule[:80]!r} instead."
        )
    try:
        parsed = _Parser(text).rule()
    except _ParseError as exc:
        raise ConditionError(
            f"Rule {text!r} is not valid: {exc.message} (at character {exc.position})."
        ) from None
    except RecursionError:
        raise ConditionError(f"Rule {text[:80]!r} is not valid: too deeply nested.") from None
    if allowed is not None:
        within = parsed.within
        if within is None:
            raise ConditionError(f"Rule {text!r}: 'allowed' is only for 'within' rules.")
        parsed = parsed.with_pairs(_pairs_from_mapping(allowed, text))
    return parsed


def parse_rules(rules: RuleSpec | Sequence[RuleSpec] | None) -> list[Rule]:
    """Parse a list of rules (a single string counts as a list of one)."""
    if rules is None:
        return []
    if isinstance(rules, str | Mapping):
        rules = [rules]
    if not isinstance(rules, Sequence):
        raise ConditionError(
            f"rules must be a list of strings. Got {type(rules).__name__} instead."
        )
    return [r if isinstance(r, Rule) else parse_rule(r) for r in rules]


def _pairs_from_mapping(allowed: Any, text: str) -> frozenset[tuple[str, str]]:
    if not isinstance(allowed, Mapping) or not all(
        isinstance(children, Sequence) and not isinstance(children, str)
        for children in allowed.values()
    ):
        raise ConditionError(
            f"Rule {text!r}: 'allowed' must map each parent value to a list of child values."
        )
    return frozenset(
        (str(value_label(child)), str(value_label(parent)))
        for parent, children in allowed.items()
        for child in children
    )


# ---------------------------------------------------------------------------------------------
# Checking rules on a table
# ---------------------------------------------------------------------------------------------

Domain = Literal["number", "time", "label"]


def column_domain(spec: ColumnSpec) -> Domain:
    """How a column's values compare: as numbers, as instants (seconds) or as labels."""
    if spec.kind is ColumnKind.DATETIME:
        return "time"
    if spec.kind in (ColumnKind.CONTINUOUS, ColumnKind.DISCRETE):
        return "number"
    if spec.kind in (ColumnKind.CATEGORICAL, ColumnKind.TEXT) and _numeric_dtype(spec.dtype):
        return "number"
    return "label"


def _numeric_dtype(dtype: str) -> bool:
    try:
        resolved = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return False
    return bool(
        pd.api.types.is_numeric_dtype(resolved) and not pd.api.types.is_bool_dtype(resolved)
    )


def constant_number(value: Constant, domain: Domain, rule: str) -> float:
    """A constant as a number (seconds since the epoch, UTC, for times)."""
    if domain == "time":
        try:
            # A number is a date written as one (20130601), never nanoseconds since 1970.
            parsed = (
                compact_date(value)
                if isinstance(value, int | float) and not isinstance(value, bool)
                else pd.Timestamp(value)
            )
        except (TypeError, ValueError):
            parsed = None
        if not isinstance(parsed, pd.Timestamp) or isinstance(value, bool):
            raise ConditionError(
                f"Rule {rule!r}: {value!r} is not a date or time; write one as text "
                "('2013-06-01') or as a whole number of its digits (20130601, 20130601143000)."
            )
        return float(datetimes_to_seconds(pd.Series([parsed]))[0])
    if isinstance(value, bool) or not isinstance(value, float | int):
        raise ConditionError(f"Rule {rule!r}: {value!r} is not a number.")
    return float(value)


def constant_label(value: Constant) -> str:
    return str(value_label(value))


class TableValues:
    """Column values of a table for checking rules: numbers (float, NaN missing) or labels."""

    def __init__(self, table: pd.DataFrame, schema: Schema | None) -> None:
        self.table = table
        self.schema = schema
        self._cache: dict[tuple[str, Domain], np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def domain(self, name: str, rule: str) -> Domain:
        if name not in self.table.columns:
            raise ConditionError(
                f"Rule {rule!r} names the unknown column {name!r}; the table has "
                f"{[str(c) for c in self.table.columns]}."
            )
        if self.schema is not None and name in self.schema:
            return column_domain(self.schema[name])
        series = self.table[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            return "time"
        if pd.api.types.is_bool_dtype(series):
            return "label"
        if pd.api.types.is_numeric_dtype(series):
            return "number"
        return "label"

    def numbers(self, name: str, domain: Domain) -> np.ndarray:
        key = (name, domain)
        if key not in self._cache:
            series = self.table[name]
            if domain == "time":
                from lookalike.schema._infer import parse_datetimes

                fmt = None
                if self.schema is not None and name in self.schema:
                    fmt = self.schema[name].datetime_format
                # In the column's own unit: years beyond 1677-2262 do not fit in nanoseconds.
                self._cache[key] = datetimes_to_seconds(parse_datetimes(series, fmt))
            elif (
                self.schema is not None and name in self.schema and self.schema[name].number_format
            ):
                from lookalike.schema._numbers import parse_formatted

                self._cache[key] = parse_formatted(series, str(self.schema[name].number_format))
            else:
                values = pd.to_numeric(series, errors="coerce").astype("float64")
                self._cache[key] = values.to_numpy(dtype=float, na_value=np.nan)
        return self._cache[key]

    def labels(self, name: str) -> np.ndarray:
        """Each row's label (None where missing)."""
        codes, lookup = self.coded_labels(name)
        labels: np.ndarray = lookup[codes]
        return labels

    def coded_labels(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, lookup)``: row i's label is ``lookup[codes[i]]``; the last entry is None.

        Tables repeat few values, so rules compare the short lookup and index it by the codes
        rather than compare a string per row.
        """
        if name not in self._codes:
            # Factorizing the column as it is stored (no cast to objects) keeps arrow strings
            # and categoricals fast; value_label reads NumPy scalars as their Python values.
            codes, uniques = pd.factorize(self.table[name], use_na_sentinel=True)
            lookup = np.array([*(value_label(u) for u in uniques), None], dtype=object)
            # Values labelled None (NaN in an object column) join the missing code.
            codes = np.where(codes < 0, len(lookup) - 1, codes)
            self._codes[name] = (codes, lookup)
        return self._codes[name]


def _ordering_domain(values: TableValues, name: str, rule: str) -> Domain:
    """The domain of a column used with < or >: labels are read as dates when they all parse."""
    domain = values.domain(name, rule)
    if domain == "label":
        series = values.table[name].dropna()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(series.astype(str), errors="coerce", format="mixed")
        if len(series) and parsed.notna().all():
            return "time"
        raise ConditionError(
            f"Rule {rule!r}: column {name!r} holds labels, which can only be compared with "
            "== and != (or 'in')."
        )
    return domain


def evaluate_atom(atom: Atom, values: TableValues, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """``(holds, checked)`` per row; rows with a missing value involved are not checked."""
    n = len(values.table)
    if isinstance(atom, Within):
        values.domain(atom.child, rule)
        values.domain(atom.parent, rule)
        if atom.pairs is None:
            raise ConditionError(
                f"Rule {rule!r}: its allowed combinations are unknown; give them as "
                "{'rule': ..., 'allowed': {parent: [children]}} or declare the rule at fit time."
            )
        child_codes, child_labels = values.coded_labels(atom.child)
        parent_codes, parent_labels = values.coded_labels(atom.parent)
        checked = _present(child_codes, child_labels) & _present(parent_codes, parent_labels)
        table = np.array(
            [[(c, p) in atom.pairs for p in parent_labels] for c in child_labels], dtype=bool
        ).reshape(len(child_labels), len(parent_labels))
        holds = table[child_codes, parent_codes] & checked
        return (~holds if atom.negated else holds) | ~checked, checked
    if isinstance(atom, Membership):
        domain = values.domain(atom.column, rule)
        if domain == "label":
            codes, labels = values.coded_labels(atom.column)
            checked = _present(codes, labels)
            allowed = {constant_label(v) for v in atom.values}
            member = np.array([label in allowed for label in labels], dtype=bool)[codes]
        else:
            numbers = values.numbers(atom.column, domain)
            checked = ~np.isnan(numbers)
            member = np.isin(numbers, [constant_number(v, domain, rule) for v in atom.values])
        holds = ~member if atom.negated else member
        return holds | ~checked, checked
    left, right = atom.left, atom.right
    assert isinstance(left, Column)
    ordering = atom.op not in ("==", "!=")
    domain = (
        _ordering_domain(values, left.name, rule) if ordering else values.domain(left.name, rule)
    )
    if isinstance(right, Column):
        other = (
            _ordering_domain(values, right.name, rule)
            if ordering
            else values.domain(right.name, rule)
        )
        if (domain == "label") != (other == "label") or {domain, other} == {"number", "time"}:
            raise ConditionError(
                f"Rule {rule!r}: columns {left.name!r} ({domain}) and {right.name!r} ({other}) "
                "cannot be compared."
            )
    if domain == "label":
        codes, labels = values.coded_labels(left.name)
        checked = _present(codes, labels)
        if isinstance(right, Column):
            other_codes, other_labels = values.coded_labels(right.name)
            checked = checked & _present(other_codes, other_labels)
            equal = labels[codes] == other_labels[other_codes]
        else:
            constant = constant_label(right.value)
            equal = np.array([label == constant for label in labels], dtype=bool)[codes]
        equal = np.asarray(equal, dtype=bool) & checked
        holds = equal if atom.op == "==" else ~equal
        return holds | ~checked, checked
    x = values.numbers(left.name, domain)
    y: Any = (
        values.numbers(right.name, domain)
        if isinstance(right, Column)
        else constant_number(right.value, domain, rule)
    )
    checked = ~np.isnan(x) & ~np.isnan(y)
    with np.errstate(invalid="ignore"):
        holds = compare(x, atom.op, y)
    return holds | ~checked, np.asarray(checked, dtype=bool) & np.ones(n, dtype=bool)


def _present(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows whose label is not missing."""
    present: np.ndarray = np.array([label is not None for label in labels], dtype=bool)[codes]
    return present


def compare(x: Any, op: str, y: Any) -> np.ndarray:
    """``x op y`` element-wise for one of the comparison operators."""
    if op == "<":
        return np.asarray(x < y)
    if op == "<=":
        return np.asarray(x <= y)
    if op == ">":
        return np.asarray(x > y)
    if op == ">=":
        return np.asarray(x >= y)
    if op == "==":
        return np.asarray(x == y)
    return np.asarray(x != y)


def evaluate_expression(expression: Expression, values: TableValues, rule: str) -> np.ndarray:
    """A formula's right side, in floats (NaN where an input is missing or a division fails)."""
    if isinstance(expression, Value):
        return np.full(len(values.table), constant_number(expression.value, "number", rule))
    if isinstance(expression, Column):
        domain = values.domain(expression.name, rule)
        if domain != "number":
            raise ConditionError(
                f"Rule {rule!r}: formulas use numeric columns; {expression.name!r} is not one."
            )
        return values.numbers(expression.name, domain)
    left = evaluate_expression(expression.left, values, rule)
    right = evaluate_expression(expression.right, values, rule)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if expression.op == "+":
            out = left + right
        elif expression.op == "-":
            out = left - right
        elif expression.op == "*":
            out = left * right
        else:
            out = left / right
    out[~np.isfinite(out)] = np.nan
    return np.asarray(out)


def formula_tolerance(values: np.ndarray, decimals: int | None) -> np.ndarray:
    """How far a stored result may be from the exact formula: half its last decimal, or 1e-9."""
    step = 0.0 if decimals is None or decimals >= 6 else 0.5 * 10.0 ** (-decimals)
    return np.asarray(step + 1e-9 * np.maximum(1.0, np.abs(values)))


def evaluate_rule(
    rule: Rule, values: TableValues, decimals: Mapping[str, int | None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(holds, checked)`` per row of the table."""
    text = rule.text
    if rule.formula is not None:
        target_domain = values.domain(rule.formula.target, text)
        if target_domain != "number":
            raise ConditionError(
                f"Rule {text!r}: formulas derive numeric columns; {rule.formula.target!r} is not one."
            )
        target = values.numbers(rule.formula.target, "number")
        computed = evaluate_expression(rule.formula.expression, values, text)
        places = (decimals or {}).get(rule.formula.target, _observed_decimals(target))
        checked = ~np.isnan(target) & ~np.isnan(computed)
        with np.errstate(invalid="ignore"):
            holds = np.abs(target - computed) <= formula_tolerance(computed, places)
        return holds | ~checked, checked
    holds = np.ones(len(values.table), dtype=bool)
    checked = np.ones(len(values.table), dtype=bool)
    for atom in rule.atoms:
        atom_holds, atom_checked = evaluate_atom(atom, values, text)
        holds &= atom_holds
        checked &= atom_checked
    if rule.condition is None:
        return holds, checked
    condition_holds, condition_checked = evaluate_atom(rule.condition, values, text)
    condition_true = condition_holds & condition_checked
    condition_false = ~condition_holds & condition_checked
    # Checked when the 'if' part is false, or true with the 'then' part known.
    checked_rows = condition_false | (condition_true & checked)
    return condition_false | holds | ~checked_rows, checked_rows


def _observed_decimals(values: np.ndarray) -> int:
    finite = values[np.isfinite(values)]
    for places in range(6):
        scaled = finite * 10.0**places
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return places
    return 6


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    """How one rule fared on a table."""

    rule: str
    kind: str
    n_checked: int
    n_violations: int

    @property
    def share_held(self) -> float:
        """Share of checked rows where the rule held (1.0 when no row was checked)."""
        if self.n_checked == 0:
            return 1.0
        return 1.0 - self.n_violations / self.n_checked

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "n_checked": self.n_checked,
            "n_violations": self.n_violations,
            "share_held": self.share_held,
        }


@dataclass(frozen=True)
class RuleReport:
    """Per rule: rows checked, violations and the share of checked rows where it held.

    >>> report = check_rules(pd.DataFrame({"x": [1, 2, -1]}), ["x >= 0"])
    >>> report.n_violations, round(report["x >= 0"].share_held, 3)
    (1, 0.667)
    """

    results: tuple[RuleResult, ...]
    n_rows: int
    violations: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[RuleResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, rule: str) -> RuleResult:
        for result in self.results:
            if result.rule == rule:
                return result
        raise KeyError(rule)

    @property
    def n_violations(self) -> int:
        """Violations summed over all rules."""
        return sum(r.n_violations for r in self.results)

    @property
    def all_hold(self) -> bool:
        return self.n_violations == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"n_rows": self.n_rows, "rules": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleReport:
        """The report back from :meth:`to_dict` (as stored in a model file)."""
        results = tuple(
            RuleResult(str(r["rule"]), str(r["kind"]), int(r["n_checked"]), int(r["n_violations"]))
            for r in data["rules"]
        )
        return cls(results, int(data["n_rows"]))

    def to_frame(self) -> pd.DataFrame:
        """One row per rule."""
        return pd.DataFrame(
            [r.to_dict() for r in self.results],
            columns=["rule", "kind", "n_checked", "n_violations", "share_held"],
        )


def check_rules(
    table: pd.DataFrame,
    rules: RuleSpec | Sequence[RuleSpec | Rule],
    *,
    schema: Schema | None = None,
    warn: bool = False,
) -> RuleReport:
    """How often each rule holds in ``table`` (real or synthetic).

    ``schema`` says how to read the columns (dates stored as text, numeric codes); without it
    the table's dtypes decide. With ``warn=True`` a :class:`~lookalike.errors.DataWarning` names
    the rules the table breaks (used on real data: the rule is still enforced when sampling).
    A ``within`` rule needs its allowed combinations (learned at fit time or given).

    >>> df = pd.DataFrame({"price": [2.0, 3.0], "quantity": [2, 1], "total": [4.0, 3.5]})
    >>> check_rules(df, ["total == price * quantity"]).to_frame()[["n_checked", "n_violations"]]
       n_checked  n_violations
    0          2             1
    """
    if not isinstance(table, pd.DataFrame):
        raise ConditionError(
            f"check_rules expects a pandas DataFrame. Got {type(table).__name__} instead."
        )
    parsed = parse_rules(rules)  # type: ignore[arg-type]
    if not all(isinstance(c, str) for c in table.columns):
        # Rules name columns by text; a table labelled 0, 1, 2 (pd.DataFrame(array)) too.
        table = table.rename(columns=str)
    values = TableValues(table, schema)
    decimals = {spec.name: spec.decimals for spec in schema} if schema is not None else None
    results = []
    masks = {}
    for rule in parsed:
        holds, checked = evaluate_rule(rule, values, decimals)
        broken = ~holds
        masks[rule.text] = broken
        results.append(RuleResult(rule.text, rule.kind, int(checked.sum()), int(broken.sum())))
    report = RuleReport(tuple(results), len(table), masks)
    if warn:
        broken_rules = [
            f"{r.rule!r} ({r.n_violations} of {r.n_checked} rows)"
            for r in results
            if r.n_violations
        ]
        if broken_rules:
            warn_data(
                "The data breaks rule(s) "
                + ", ".join(broken_rules)
                + "; synthetic rows will obey them all the same."
            )
    return report
