"""Control: conditions, rebalancing, population shift, parity and rules as constraints on sampling.

Every control is a reweighting of the model's own joint distribution, drawn exactly by
sequential importance resampling in the model's column order (:mod:`._smc`): conditions (fixed
values, sets, ranges) restrict draws; rebalancing, shift and parity rake the joint of their target
columns to the targets (:mod:`._targets`) while every other column keeps its learned conditional
distribution. ``Synthesizer.sample_with_report`` returns a :class:`ControlReport` of asked against
achieved; a :class:`Scenario` holds the controls of one draw, as read from YAML or JSON.
"""

from lookalike.control._filters import combine_filters
from lookalike.control._report import ControlReport, TargetResult
from lookalike.control._rules import RuleReport, RuleResult, check_rules
from lookalike.control._scenario import Scenario

__all__ = [
    "ControlReport",
    "RuleReport",
    "RuleResult",
    "Scenario",
    "TargetResult",
    "check_rules",
    "combine_filters",
]
