"""``stress_test``: how does a model hold up on synthetic populations it has not met yet?"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lookalike.errors import DataError, LookalikeError
from lookalike.evaluate._result import Verdict
from lookalike.scenarios._metrics import (
    Metric,
    Predictions,
    as_labels,
    describe,
    detect_task,
    jsonable,
    positive_class,
    resolve_metric,
    score,
)
from lookalike.scenarios._result import ScenarioResult, check_unique_names

if TYPE_CHECKING:
    pass

#: Rows drawn per scenario unless the scenario says otherwise.
DEFAULT_ROWS = 10_000
#: Group columns keep their most frequent categories; numbers are cut into this many quantiles.
MAX_GROUPS = 10
N_NUMERIC_GROUPS = 4
OTHER_GROUP = "(other)"
MISSING_GROUP = "(missing)"
BASELINE = "baseline"


@dataclass(frozen=True)
class GroupScore:
    """The metric on the rows of one group (a value of a ``groups`` column) in one scenario."""

    column: str
    group: str
    n_rows: int
    score: float | None


@dataclass(frozen=True)
class ScenarioScore:
    """The metric on one scenario's synthetic population, overall and per group.

    ``base_rate`` is the share of the positive class in the population (the mean target for
    regression); ``prediction_rate`` the share the model predicts positive (its mean prediction).
    """

    name: str
    settings: dict[str, Any]
    n_rows: int
    score: float | None
    base_rate: float | None
    prediction_rate: float | None
    groups: tuple[GroupScore, ...]
    seconds: float


@dataclass(frozen=True)
class StressTestResult(ScenarioResult):
    """What :func:`stress_test` measured: the metric per scenario and per group.

    Read it as a table with :meth:`to_frame`, as JSON with :meth:`to_dict` / :meth:`to_json`,
    as a figure with :meth:`plot`, or as an HTML page with :meth:`to_html`.
    """

    target: str
    task: str
    metric: str
    higher_is_better: bool
    positive_label: str | None
    scenarios: tuple[ScenarioScore, ...]
    random_state: int | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (with the verdict); :meth:`from_dict` reverses it."""
        return {
            "target": self.target,
            "task": self.task,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "positive_label": self.positive_label,
            "random_state": self.random_state,
            "verdict": {"rating": self.verdict.rating, "explanation": self.verdict.explanation},
            "scenarios": [
                {
                    "name": s.name,
                    "settings": jsonable(s.settings),
                    "n_rows": s.n_rows,
                    "score": jsonable(s.score),
                    "base_rate": jsonable(s.base_rate),
                    "prediction_rate": jsonable(s.prediction_rate),
                    "seconds": round(s.seconds, 3),
                    "groups": [
                        {
                            "column": g.column,
                            "group": g.group,
                            "n_rows": g.n_rows,
                            "score": jsonable(g.score),
                        }
                        for g in s.groups
                    ],
                }
                for s in self.scenarios
            ],
        }

    def to_frame(self, *, by_group: bool = False) -> pd.DataFrame:
        """One row per scenario; or, with ``by_group``, one row per scenario and group."""
        if not by_group:
            return pd.DataFrame(
                {
                    "scenario": [s.name for s in self.scenarios],
                    self.metric: [s.score for s in self.scenarios],
                    "n_rows": [s.n_rows for s in self.scenarios],
                    "base_rate": [s.base_rate for s in self.scenarios],
                    "prediction_rate": [s.prediction_rate for s in self.scenarios],
                }
            )
        rows = [
            (s.name, g.column, g.group, g.score, g.n_rows) for s in self.scenarios for g in s.groups
        ]
        return pd.DataFrame(rows, columns=["scenario", "column", "group", self.metric, "n_rows"])

    @property
    def verdict(self) -> Verdict:
        """How far the metric falls from the reference scenario (the baseline) in the worst one.

        Rated by the largest loss: up to 0.02 of a bounded metric (AUC, accuracy, F1, R²) is
        "good", up to 0.05 "fair" (for errors such as MAE: 10 % and 25 % of the reference).
        """
        scored = [s for s in self.scenarios if s.score is not None]
        reference = next((s for s in self.scenarios if s.name == BASELINE), self.scenarios[0])
        others = [s for s in scored if s is not reference]
        if reference.score is None or not others:
            return Verdict(
                "not measured",
                f"{self.metric} could not be compared: it needs a score on the reference "
                f"scenario {reference.name!r} and on at least one other.",
            )
        worst = max(others, key=lambda s: self.loss(_score(reference), _score(s)))
        loss = self.loss(_score(reference), _score(worst))
        rating = self.rate_loss(loss)
        lead = {"good": "holds up", "fair": "weakens", "poor": "breaks down"}[rating]
        text = (
            f"The model {lead}: {self.metric} is {_format(reference.score)} on "
            f"{reference.name!r} and {_format(worst.score)} on the weakest scenario, "
            f"{worst.name!r} ({_loss_text(self, loss)})."
        )
        groups = [(s, g) for s in self.scenarios for g in s.groups if g.score is not None]
        if groups:
            scenario, group = max(
                groups, key=lambda pair: self.loss(_score(reference), _score(pair[1]))
            )
            text += (
                f" The weakest group is {group.column} = {group.group} in {scenario.name!r}: "
                f"{_format(group.score)} on {group.n_rows:,} rows."
            )
        return Verdict(rating, text)

    def __repr__(self) -> str:
        parts = [f"{s.name}: {_format(s.score)}" for s in self.scenarios]
        return f"StressTestResult({self.metric}; {', '.join(parts)})"


def _format(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _loss_text(result: ScenarioResult, loss: float) -> str:
    return "no loss" if loss <= 0 else f"a loss of {result.format_loss(loss)}"


def _score(scored: ScenarioScore | GroupScore) -> float:
    """The score of a scenario or group known to have one."""
    return float("nan") if scored.score is None else scored.score


def stress_test(
    predict: Callable[[pd.DataFrame], Any],
    synthesizer: Any,
    scenarios: Mapping[str, Any] | Sequence[Any],
    target: str,
    *,
    n: int = DEFAULT_ROWS,
    metric: Metric = "auto",
    groups: Sequence[str] | None = None,
    positive: Any = None,
    baseline: bool = True,
    random_state: int | None = None,
) -> StressTestResult:
    """Score ``predict`` on a synthetic population drawn under each scenario.

    ``predict`` is any callable from a DataFrame (every column but ``target``) to one prediction
    per row: labels, a probability of the positive class, or a row of class probabilities in the
    sorted order of the classes (what scikit-learn's ``predict_proba`` returns). A scenario is a
    dict of keyword arguments for ``synthesizer.sample`` (``conditions``, ``rebalance``,
    ``shift``, ...; ``n`` overrides the number of rows) or a :class:`lookalike.Scenario`;
    ``scenarios`` maps names to them, or is a list of them (named by their settings). With ``baseline``, an unconstrained population comes
    first, for reference. ``metric`` is ``"auto"`` (ROC AUC for probabilities, accuracy for labels,
    R² for numbers), one of ``roc_auc``, ``accuracy``, ``balanced_accuracy``, ``f1``, ``r2``,
    ``mae``, ``rmse``, or a callable ``metric(y_true, y_pred)``. ``groups`` names columns to
    score separately by value (numbers by quartile). ``positive`` is the positive class of a
    yes/no target (default: the last in sorted order, as in ``predict_proba(X)[:, 1]``).

    Every scenario is drawn with the same seed (common random numbers), so differences between
    scenarios come from the scenarios, not from sampling noise.

    >>> import pandas as pd
    >>> import lookalike as la
    >>> df = pd.DataFrame({"age": [20, 30, 40, 50, 60, 70] * 30, "old": ["no"] * 90 + ["yes"] * 90})
    >>> model = la.Synthesizer(random_state=0).fit(df)
    >>> rule = lambda rows: ["yes" if a >= 45 else "no" for a in rows["age"]]
    >>> result = la.stress_test(rule, model, {"older": {"conditions": {"age": (55, 70)}}}, "old", n=200)
    >>> [s.name for s in result.scenarios], result.metric
    (['baseline', 'older'], 'accuracy')
    """
    if not callable(predict):
        raise DataError(
            "The 'predict' parameter must be a callable from a DataFrame to predictions, such as "
            f"model.predict_proba. Got {type(predict).__name__} instead."
        )
    if not callable(getattr(synthesizer, "sample", None)):
        raise DataError(
            "The 'synthesizer' parameter must be a fitted synthesizer with a sample() method. "
            f"Got {type(synthesizer).__name__} instead."
        )
    _check_count(n, "n")
    group_columns = _check_groups(groups)
    named = _named_scenarios(scenarios, baseline)
    accepted = _sample_keywords(synthesizer)
    for name, settings in named:
        unknown = [k for k in settings if accepted is not None and k not in accepted and k != "n"]
        if unknown:
            raise DataError(
                f"Scenario {name!r} has setting(s) {unknown} that {type(synthesizer).__name__}."
                f"sample does not take; it takes {sorted(accepted or ())}."
            )
    seed = np.random.SeedSequence(random_state)
    # One seed for every scenario: common random numbers make the comparison less noisy.
    sample_seed = int(seed.generate_state(1, dtype=np.uint32)[0])
    frames: list[pd.DataFrame] = []
    seconds: list[float] = []
    for name, settings in named:
        clock = time.perf_counter()
        frames.append(_draw(synthesizer, name, settings, n, sample_seed, target))
        seconds.append(time.perf_counter() - clock)
    pooled = pd.concat([f[target] for f in frames], ignore_index=True)
    task = detect_task(pooled)
    classes = [] if task == "regression" else sorted({c for c in as_labels(pooled) if c})
    positive_label = positive_class(classes, positive) if task == "binary" else None
    grouping = {
        c: _Grouping.fit(pd.concat([f[c] for f in frames], ignore_index=True))
        for c in group_columns
    }
    results: list[ScenarioScore] = []
    metric_name: str | None = None
    higher = True
    for (name, settings), frame, spent in zip(named, frames, seconds, strict=True):
        clock = time.perf_counter()
        features = frame.drop(columns=[target])
        predictions = Predictions(predict(features), len(frame), task, classes, positive_label)
        if metric_name is None:
            metric_name, higher = resolve_metric(metric, task, predictions.scores is not None)
        chosen: Metric = metric if callable(metric) else metric_name
        truth = frame[target].to_numpy()
        by_group = []
        for column, grouping_of in grouping.items():
            labels = grouping_of.transform(frame[column])
            for group in grouping_of.labels:
                rows = labels == group
                if rows.any():
                    by_group.append(
                        GroupScore(
                            column,
                            group,
                            int(rows.sum()),
                            _rounded(
                                score(chosen, truth[rows], predictions.subset(rows), positive_label)
                            ),
                        )
                    )
        results.append(
            ScenarioScore(
                name=name,
                settings=dict(settings),
                n_rows=len(frame),
                score=_rounded(score(chosen, truth, predictions, positive_label)),
                base_rate=_base_rate(truth, task, positive_label),
                prediction_rate=_prediction_rate(predictions, task, positive_label),
                groups=tuple(by_group),
                seconds=spent + time.perf_counter() - clock,
            )
        )
    return StressTestResult(
        target=target,
        task=task,
        metric=metric_name or "",
        higher_is_better=higher,
        positive_label=positive_label,
        scenarios=tuple(results),
        random_state=random_state,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise DataError(f"The {name!r} parameter must be an int >= 1. Got {value!r} instead.")
    return int(value)


def _check_groups(groups: Sequence[str] | None) -> list[str]:
    if groups is None:
        return []
    chosen = [groups] if isinstance(groups, str) else list(groups)
    if not all(isinstance(c, str) for c in chosen):
        raise DataError(f"The 'groups' parameter must be a list of column names. Got {groups!r}.")
    return chosen


def _named_scenarios(
    scenarios: Mapping[str, Any] | Sequence[Any], baseline: bool
) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(scenarios, Mapping):
        named = [(str(k), _settings(v)) for k, v in scenarios.items()]
    elif isinstance(scenarios, Sequence) and not isinstance(scenarios, str):
        named = []
        for value in scenarios:
            settings = _settings(value)
            given = getattr(value, "name", None)
            if isinstance(settings, Mapping):
                # A "name" key in a settings dict names the scenario, as in experiment's variants.
                settings = dict(settings)
                given = settings.pop("name", None) or given
                name = str(given or describe(settings))
            else:
                name = str(given or "")
            named.append((name, settings))
    else:
        raise DataError(
            "The 'scenarios' parameter must be a dict of name -> sample settings or a list of "
            f"settings dicts. Got {type(scenarios).__name__} instead."
        )
    out: list[tuple[str, dict[str, Any]]] = []
    for name, settings in named:
        if not isinstance(settings, Mapping):
            raise DataError(
                f"Scenario {name!r} must be a dict of keyword arguments for sample(), such as "
                f"{{'conditions': {{'age': (60, 90)}}}}. Got {type(settings).__name__} instead."
            )
        out.append((name, dict(settings)))
    names = [name for name, _ in out]
    if baseline and BASELINE not in names:
        out.insert(0, (BASELINE, {}))
    check_unique_names(names, "Scenario")
    if not out:
        raise DataError("The 'scenarios' parameter is empty (and baseline=False).")
    return out


def _settings(value: Any) -> Any:
    """A scenario's keyword arguments: a dict as is, or a :class:`lookalike.Scenario`'s."""
    sample_kwargs = getattr(value, "sample_kwargs", None)
    return sample_kwargs() if callable(sample_kwargs) else value


def _sample_keywords(synthesizer: Any) -> set[str] | None:
    """Keyword parameters of ``synthesizer.sample``; None if it takes any (``**kwargs``)."""
    try:
        parameters = inspect.signature(synthesizer.sample).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL}


def _draw(
    synthesizer: Any, name: str, settings: dict[str, Any], n: int, seed: int, target: str
) -> pd.DataFrame:
    keywords = dict(settings)
    rows = _check_count(keywords.pop("n", n), f"n of scenario {name!r}")
    keywords.setdefault("random_state", seed)
    try:
        frame = synthesizer.sample(rows, **keywords)
    except LookalikeError as exc:
        raise type(exc)(f"Scenario {name!r}: {exc}") from exc
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"Scenario {name!r}: sample() returned {type(frame).__name__}, not a DataFrame."
        )
    if target not in frame.columns:
        raise DataError(
            f"The 'target' parameter must name a column of the synthetic rows {list(frame.columns)}. "
            f"Got {target!r} instead."
        )
    return frame.reset_index(drop=True)


def _base_rate(truth: np.ndarray, task: str, positive: str | None) -> float | None:
    if task == "regression":
        values = np.asarray(truth, dtype=np.float64)
        return _rounded(float(np.nanmean(values))) if np.isfinite(values).any() else None
    if positive is None:
        return None
    labels = as_labels(truth)
    present = labels[labels != None]  # noqa: E711 - elementwise comparison with None
    return _rounded(float((present == positive).mean())) if present.size else None


def _prediction_rate(predictions: Predictions, task: str, positive: str | None) -> float | None:
    if task == "regression":
        return _rounded(float(np.mean(predictions.values))) if len(predictions.values) else None
    if positive is None:
        return None
    return _rounded(float((predictions.values == positive).mean()))


@dataclass(frozen=True)
class _Grouping:
    """How a ``groups`` column is cut into groups: top categories, or quantiles of numbers."""

    labels: tuple[str, ...]
    categories: tuple[str, ...] = ()
    cuts: tuple[float, ...] = ()

    @classmethod
    def fit(cls, values: pd.Series) -> _Grouping:
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        )
        present = values.dropna()
        if numeric and present.nunique() > MAX_GROUPS:
            floats = present.to_numpy(dtype=np.float64)
            cuts = np.unique(np.quantile(floats, np.linspace(0, 1, N_NUMERIC_GROUPS + 1)[1:-1]))
            edges = [float(floats.min()), *cuts.tolist(), float(floats.max())]
            labels = [f"{_short(edges[i])} – {_short(edges[i + 1])}" for i in range(len(edges) - 1)]
            return cls((*labels, MISSING_GROUP), cuts=tuple(float(c) for c in cuts))
        counts = pd.Series(as_labels(present)).value_counts(sort=False)
        ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
        top = tuple(str(v) for v, _ in ordered[:MAX_GROUPS])
        extra = (OTHER_GROUP,) if len(ordered) > MAX_GROUPS else ()
        return cls((*top, *extra, MISSING_GROUP), categories=top)

    def transform(self, values: pd.Series) -> np.ndarray:
        missing = values.isna().to_numpy()
        if self.cuts or not self.categories:
            floats = values.to_numpy(dtype=np.float64, na_value=np.nan)
            codes = np.searchsorted(np.asarray(self.cuts), floats, side="left")
            out = np.asarray(self.labels, dtype=object)[np.minimum(codes, len(self.labels) - 2)]
        else:
            labels = as_labels(values.to_numpy())
            out = np.where(np.isin(labels, list(self.categories)), labels, OTHER_GROUP)
        out = out.astype(object)
        out[missing] = MISSING_GROUP
        return out


def _short(value: float) -> str:
    return f"{value:.4g}"
