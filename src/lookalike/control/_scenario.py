"""A scenario: the controls of one draw as a value, readable from a small YAML or JSON file.

.. code-block:: yaml

    name: older, more diabetes
    conditions:
      Sex: 1                      # a fixed value
      Income: [6, 7, 8]           # a set of values
      BMI: {min: 25, max: 40}     # a range (or "25..40"); either end may be left out
    shift:
      Age: {mean: "+2"}
      Diabetes_012: {"2": 0.25}
    rebalance:
      HighBP: {"1": 0.5}
    parity: {target: Diabetes_012, sensitive: [Sex]}
    rules: ["BMI >= 12"]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lookalike.errors import ConditionError
from lookalike.io import check_input_file

_KEYS = ("name", "conditions", "rebalance", "shift", "parity", "rules")


@dataclass(frozen=True)
class Scenario:
    """The controls of one draw: pass ``**scenario.sample_kwargs()`` to ``sample``.

    >>> s = Scenario.from_dict({"conditions": {"age": {"min": 60}, "sex": "Female"},
    ...                         "rebalance": {"income": {">50K": 0.5}}})
    >>> s.sample_kwargs()["conditions"]
    {'age': (60, None), 'sex': 'Female'}
    >>> Scenario.from_dict(s.to_dict()) == s
    True
    """

    name: str | None = None
    conditions: Mapping[str, Any] | None = None
    rebalance: Mapping[str, Any] | None = None
    shift: Mapping[str, Any] | None = None
    parity: Mapping[str, Any] | None = None
    rules: tuple[Any, ...] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """Read a scenario; ConditionError names an unknown key or a malformed entry."""
        if not isinstance(data, Mapping):
            raise ConditionError(
                f"A scenario must be a mapping with keys {list(_KEYS)}. Got {type(data).__name__}."
            )
        unknown = sorted(str(k) for k in data if k not in _KEYS)
        if unknown:
            raise ConditionError(
                f"Unknown scenario key(s) {unknown}; a scenario has {list(_KEYS)}."
            )
        for key in ("conditions", "rebalance", "shift", "parity"):
            value = data.get(key)
            if value is not None and not isinstance(value, Mapping):
                raise ConditionError(
                    f"The scenario's {key!r} must be a mapping. Got {type(value).__name__}."
                )
        rules = data.get("rules")
        if isinstance(rules, str | Mapping):
            rules = [rules]
        if rules is not None and not isinstance(rules, list | tuple):
            raise ConditionError(f"The scenario's 'rules' must be a list. Got {rules!r}.")
        conditions = data.get("conditions")
        name = data.get("name")
        return cls(
            name=None if name is None else str(name),
            conditions=None if conditions is None else _read_conditions(conditions),
            rebalance=data.get("rebalance"),
            shift=data.get("shift"),
            parity=data.get("parity"),
            rules=None if rules is None else tuple(rules),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Read a scenario from a ``.yaml``/``.yml`` or ``.json`` file."""
        import yaml

        path = Path(path)
        check_input_file(path, "Scenario file", ConditionError)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            # Parsers explain over several lines: the problem, then where it is.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ConditionError(f"Cannot read the scenario file {str(path)!r}: {reason}") from None
        if data is None or data == {}:
            raise ConditionError(
                f"The scenario file {str(path)!r} is empty; give at least one of conditions, "
                "rebalance, shift, parity or rules."
            )
        return cls.from_dict(data)

    def sample_kwargs(self) -> dict[str, Any]:
        """The given controls as keyword arguments of ``Synthesizer.sample``."""
        out: dict[str, Any] = {}
        for key in ("conditions", "rebalance", "shift", "parity"):
            value = getattr(self, key)
            if value is not None:
                out[key] = dict(value)
        if self.rules is not None:
            out["rules"] = list(self.rules)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (ranges as ``{"min": .., "max": ..}``, sets as lists)."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        if self.conditions is not None:
            out["conditions"] = {k: _write_condition(v) for k, v in self.conditions.items()}
        for key in ("rebalance", "shift", "parity"):
            value = getattr(self, key)
            if value is not None:
                out[key] = dict(value)
        if self.rules is not None:
            out["rules"] = list(self.rules)
        return out


def _read_conditions(conditions: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in conditions.items():
        if isinstance(value, Mapping):
            extra = set(value) - {"min", "max"}
            if extra or not value:
                raise ConditionError(
                    f"The condition on {column!r} is a range {{min: .., max: ..}}; got keys "
                    f"{sorted(map(str, value))}."
                )
            out[str(column)] = (value.get("min"), value.get("max"))
        elif isinstance(value, list | tuple | set | frozenset):
            out[str(column)] = list(value)
        else:
            out[str(column)] = value
    return out


def _write_condition(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"min": value[0], "max": value[1]}
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return value
