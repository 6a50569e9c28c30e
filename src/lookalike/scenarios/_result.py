"""What stress-test and experiment results share: JSON both ways, a figure, an HTML page, a verdict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from lookalike.errors import DataError
from lookalike.evaluate._result import (
    Verdict,
    dump_json,
    from_jsonable,
    write_text_atomically,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Metrics on a fixed scale (0 to 1, or at most 1 for R²): a loss is measured in points.
BOUNDED_METRICS = frozenset({"roc_auc", "accuracy", "balanced_accuracy", "f1", "r2"})
#: The largest loss against the reference that is "good" / "fair": in points for bounded metrics,
#: as a share of the reference for the others (errors such as MAE, and custom metrics). Rules of
#: thumb, as the evaluation verdicts: an AUC 0.02 lower is within the noise of a few thousand rows.
LOSS_GOOD = 0.02
LOSS_FAIR = 0.05
RELATIVE_LOSS_GOOD = 0.10
RELATIVE_LOSS_FAIR = 0.25


class ScenarioResult(ABC):
    """Base of :class:`StressTestResult` and :class:`ExperimentResult` (both frozen dataclasses).

    Each gives :meth:`to_dict` and :attr:`verdict`; this class turns them into JSON, a figure, an
    HTML page, or a section of the evaluation report (``evaluation.to_html(extra=[result])``).
    """

    metric: str
    higher_is_better: bool

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict; :meth:`from_dict` reverses it."""

    @property
    @abstractmethod
    def verdict(self) -> Verdict:
        """A rating and one plain sentence saying why."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a result from :meth:`to_dict` output (e.g. a JSON file written earlier)."""
        name = cls.__name__
        if not isinstance(data, dict):
            raise DataError(f"A {name} must be a dict. Got {type(data).__name__} instead.")
        built = from_jsonable(cls, data, name)
        if not isinstance(built, cls):  # pragma: no cover - from_jsonable builds the class
            raise DataError(f"The {name} could not be rebuilt.")
        return built

    def to_json(self, path: str | Path | None = None, *, force: bool = False) -> str:
        """The result as JSON text; also written (atomically) to ``path`` if given.

        An existing file at ``path`` is replaced only if ``force`` is true.
        """
        return dump_json(self.to_dict(), path, force=force)

    def plot(self) -> Figure:
        """A matplotlib figure of the result."""
        # Imported here: report renders results, so it comes after scenarios in the data flow.
        from lookalike.report._scenarios import scenario_figure

        return scenario_figure(self)

    def to_html(self, path: str | Path | None = None, *, force: bool = False) -> str:
        """A self-contained HTML page (figure embedded); also written to ``path`` if given.

        An existing file at ``path`` is replaced only if ``force`` is true.
        """
        from lookalike.report._scenarios import scenario_page

        html = scenario_page(self)
        if path is not None:
            write_text_atomically(path, html, force=force)
        return html

    def loss(self, reference: float, value: float) -> float:
        """How much worse ``value`` is than ``reference``: in points, or relative for errors."""
        worse = reference - value if self.higher_is_better else value - reference
        if self.metric in BOUNDED_METRICS:
            return worse
        return worse / abs(reference) if reference else (0.0 if worse <= 0 else float("inf"))

    def rate_loss(self, loss: float) -> str:
        """ "good", "fair" or "poor" for a loss from :meth:`loss`."""
        good, fair = (
            (LOSS_GOOD, LOSS_FAIR)
            if self.metric in BOUNDED_METRICS
            else (RELATIVE_LOSS_GOOD, RELATIVE_LOSS_FAIR)
        )
        return "good" if loss <= good else "fair" if loss <= fair else "poor"

    def format_loss(self, loss: float) -> str:
        """A loss as the reader should see it: points, or a percentage for relative losses."""
        if self.metric in BOUNDED_METRICS:
            return f"{loss:.3f}"
        return f"{100 * loss:.1f}%"


def check_unique_names(names: Sequence[str], what: str) -> None:
    """Raise a :class:`~lookalike.errors.DataError` naming every repeated name.

    >>> check_unique_names(["a", "b", "a"], "Variant")
    Traceback (most recent call last):
    ...
    lookalike.errors.DataError: Variant names must be unique; repeated: ['a'].
    """
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"{what} names must be unique; repeated: {repeated}.")
