"""``experiment``: build many training-set variants, train a model on each, rank them on real data."""

from __future__ import annotations

import inspect
import itertools
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lookalike._progress import progress_bar
from lookalike.errors import DataError, LookalikeError, warn_data
from lookalike.evaluate._models import (
    fit_tree_encoding,
    informative_columns,
    make_classifier,
    make_regressor,
)
from lookalike.evaluate._prepare import ColumnKind, _column_kind, _text_number_format
from lookalike.evaluate._result import Verdict
from lookalike.evaluate._verdicts import NOT_MEASURED
from lookalike.scenarios._metrics import (
    Metric,
    Predictions,
    Task,
    as_labels,
    describe,
    detect_task,
    jsonable,
    resolve_metric,
    score,
)
from lookalike.scenarios._result import ScenarioResult, check_unique_names

if TYPE_CHECKING:
    pass

#: Keys of a variant that :func:`experiment` reads itself; every other key goes to ``sample``.
VARIANT_KEYS = ("name", "n", "real", "params")
REAL_ONLY = "real data only"
#: A variant's status: trained and scored, or failed (its error is recorded and it ranks last).
OK = "ok"
FAILED = "failed"


@dataclass(frozen=True)
class VariantScore:
    """One row of the leaderboard: a training-set variant and its model's score on the holdout.

    ``status`` is ``"ok"``, or ``"failed"`` when building or scoring the variant raised; then
    ``error`` says what was raised, ``score`` is None and the variant ranks last.
    """

    rank: int
    name: str
    settings: dict[str, Any]
    score: float | None
    n_train_rows: int
    n_synthetic_rows: int
    n_real_rows: int
    sample_seed: int
    seconds: float
    status: str = OK
    error: str | None = None


@dataclass(frozen=True)
class ExperimentResult(ScenarioResult):
    """The leaderboard of :func:`experiment`, best variant first.

    ``variants[i].sample_seed`` rebuilds variant ``i``'s synthetic rows:
    ``synthesizer.sample(n, random_state=sample_seed, **sample_settings)``.
    """

    target: str
    task: str
    metric: str
    higher_is_better: bool
    n_holdout_rows: int
    variants: tuple[VariantScore, ...]
    seed_entropy: str

    @property
    def best(self) -> VariantScore:
        """The top-ranked variant."""
        return self.variants[0]

    def to_frame(self) -> pd.DataFrame:
        """The leaderboard as a DataFrame, one row per variant, best first."""
        return pd.DataFrame(
            {
                "rank": [v.rank for v in self.variants],
                "variant": [v.name for v in self.variants],
                self.metric: [v.score for v in self.variants],
                "n_train_rows": [v.n_train_rows for v in self.variants],
                "n_synthetic_rows": [v.n_synthetic_rows for v in self.variants],
                "n_real_rows": [v.n_real_rows for v in self.variants],
                "seconds": [round(v.seconds, 3) for v in self.variants],
                "status": [v.status for v in self.variants],
                "error": [v.error for v in self.variants],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (with the verdict); :meth:`from_dict` reverses it."""
        return {
            "target": self.target,
            "task": self.task,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "n_holdout_rows": self.n_holdout_rows,
            "seed_entropy": self.seed_entropy,
            "verdict": {"rating": self.verdict.rating, "explanation": self.verdict.explanation},
            "variants": [
                {
                    "rank": v.rank,
                    "name": v.name,
                    "settings": jsonable(v.settings),
                    "score": jsonable(v.score),
                    "n_train_rows": v.n_train_rows,
                    "n_synthetic_rows": v.n_synthetic_rows,
                    "n_real_rows": v.n_real_rows,
                    "sample_seed": v.sample_seed,
                    "seconds": round(v.seconds, 3),
                    "status": v.status,
                    "error": v.error,
                }
                for v in self.variants
            ],
        }

    @property
    def failed(self) -> tuple[VariantScore, ...]:
        """The variants that raised instead of being scored (they rank last)."""
        return tuple(v for v in self.variants if v.status == FAILED)

    @property
    def verdict(self) -> Verdict:
        """Does the best training set with synthetic rows match training on the real data alone?

        Rated by its loss against the real-data-only model, as :attr:`StressTestResult.verdict`
        rates scenarios against the baseline.
        """
        scored = [v for v in self.variants if v.status == OK and v.score is not None]
        reference = next(
            (v for v in scored if v.name == REAL_ONLY and v.n_synthetic_rows == 0), None
        )
        synthetic = [v for v in scored if v.n_synthetic_rows > 0]
        failures = (
            f" {len(self.failed)} of {len(self.variants)} variants failed (see the table)."
            if self.failed
            else ""
        )
        if not synthetic:
            return Verdict(
                NOT_MEASURED, f"No variant with synthetic rows was scored.{failures}".strip()
            )
        best = synthetic[0]
        if reference is None or reference.score is None or best.score is None:
            return Verdict(
                NOT_MEASURED,
                f"The best variant, {best.name!r}, scores {_format(best.score)}; without a model "
                f"trained on the real data alone (include_real=True) there is nothing to "
                f"compare it with.{failures}",
            )
        loss = self.loss(reference.score, best.score)
        rating = self.rate_loss(loss)
        comparison = (
            "matches or beats"
            if loss <= 0
            else {
                "good": "comes close to",
                "fair": "falls short of",
                "poor": "falls well short of",
            }[rating]
        )
        return Verdict(
            rating,
            f"The best variant with synthetic rows, {best.name!r} ({_format(best.score)}), "
            f"{comparison} the model trained on the real data alone ({_format(reference.score)})."
            f"{failures}",
        )

    def __repr__(self) -> str:
        top = ", ".join(f"{v.rank}. {v.name}: {_format(v.score)}" for v in self.variants[:5])
        more = f", … {len(self.variants) - 5} more" if len(self.variants) > 5 else ""
        return f"ExperimentResult({self.metric}; {top}{more})"


def _format(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def variant_grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Every combination of the given settings, as a list of variants for :func:`experiment`.

    A ``None`` value leaves that setting out of the variant (the default applies).

    >>> variant_grid(n=[1000, 5000], real=[0.0, 0.5])
    [{'n': 1000, 'real': 0.0}, {'n': 1000, 'real': 0.5}, {'n': 5000, 'real': 0.0}, {'n': 5000, 'real': 0.5}]
    >>> variant_grid(n=[1000], rebalance=[None, {"income": {">50K": 0.5}}])
    [{'n': 1000}, {'n': 1000, 'rebalance': {'income': {'>50K': 0.5}}}]
    """
    for key, values in axes.items():
        if isinstance(values, str | Mapping) or not isinstance(values, Sequence) or not values:
            raise DataError(
                f"variant_grid({key}=...) must be a non-empty list of values. Got {values!r}."
            )
    keys = list(axes)
    return [
        {k: v for k, v in zip(keys, combination, strict=True) if v is not None}
        for combination in itertools.product(*(axes[k] for k in keys))
    ]


def experiment(
    data: pd.DataFrame,
    synthesizer: Any,
    variants: Sequence[Mapping[str, Any]],
    target: str,
    holdout: pd.DataFrame,
    *,
    model: Any = None,
    metric: Metric = "auto",
    include_real: bool = True,
    n_jobs: int = 1,
    progress: bool = True,
    random_state: int | None = None,
) -> ExperimentResult:
    """Train a model on each training-set variant and rank the variants by its score on ``holdout``.

    ``data`` is the real training table, ``synthesizer`` a synthesizer fitted on it (an unfitted
    one is fitted on a copy first), ``holdout`` real rows that neither saw. Each variant is a dict:

    * ``n``: synthetic rows (default: as many as ``data`` has; 0 for none);
    * ``real``: real rows of ``data`` mixed in, as a share (``0.5``) or a count (``2000``);
    * ``params``: synthesizer parameters to refit with (e.g. ``{"epsilon": 1.0}`` for a
      differentially private model: ``variant_grid(params=[{"epsilon": e} for e in (0.3, 1, 4)])``);
    * ``name``: a label (default: the settings);
    * anything else (``conditions``, ``rebalance``, ``shift``, ``parity``, ...) goes to
      ``synthesizer.sample``.

    :func:`variant_grid` builds the combinations of several settings. With ``include_real``, a
    variant trained on ``data`` alone is added for reference. ``model`` is a scikit-learn
    estimator (cloned per variant, given the DataFrame without ``target``) or None for a small
    gradient-boosted tree model. ``metric``: ``"auto"`` (ROC AUC for classes, R² for numbers) or
    a name or callable as in :func:`stress_test`. Variants run in parallel on ``n_jobs`` threads (the
    model fitting releases the GIL; threads also keep every object in memory, where worker
    processes would need it pickled); the leaderboard is the same whatever the parallelism.

    A variant that raises (an impossible shift, a model that cannot be fitted) does not stop the
    others: it is recorded with ``status`` "failed" and its ``error``, ranks last, and one
    :class:`~lookalike.errors.DataWarning` lists every failure. Only when every variant fails is
    the first error raised.

    >>> import pandas as pd
    >>> import lookalike as la
    >>> df = pd.DataFrame({"x": list(range(10)) * 20, "y": ["a"] * 100 + ["b"] * 100})
    >>> df["y"] = ["a" if x < 5 else "b" for x in df["x"]]
    >>> model = la.Synthesizer(random_state=0).fit(df)
    >>> board = la.experiment(df, model, [{"n": 50}, {"n": 200}], "y", df, progress=False)
    >>> board.to_frame()["variant"].tolist()[0] in {"n=50", "n=200", "real data only"}
    True
    """
    if not isinstance(data, pd.DataFrame) or not isinstance(holdout, pd.DataFrame):
        raise DataError(
            "The 'data' and 'holdout' parameters must be pandas DataFrames. "
            f"Got {type(data).__name__} and {type(holdout).__name__} instead."
        )
    for role, table in (("data", data), ("holdout", holdout)):
        if target not in table.columns:
            raise DataError(
                f"The 'target' parameter must name a column of {role} {list(table.columns)}. "
                f"Got {target!r} instead."
            )
    missing = [c for c in data.columns if c not in holdout.columns]
    if missing:
        raise DataError(f"The holdout table lacks column(s) {missing} of the training data.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise DataError(f"The 'n_jobs' parameter must be a non-zero int. Got {n_jobs!r} instead.")
    if model is not None and not callable(getattr(model, "fit", None)):
        raise DataError(
            f"The 'model' parameter must be a scikit-learn estimator or None. Got {model!r}."
        )
    specs = _check_variants(variants, include_real, len(data))
    task = detect_task(pd.concat([data[target], holdout[target]], ignore_index=True))
    metric_name, higher = resolve_metric(metric, task, has_scores=True)
    seed = np.random.SeedSequence(random_state)
    children = seed.spawn(len(specs))
    fitted = synthesizer
    if not _is_fitted(synthesizer) and any(v.n != 0 and not v.params for v in specs):
        fitted = _refit(synthesizer, {}, data, seed.spawn(1)[0])
    plan = _Plan(
        data.reset_index(drop=True),
        holdout.reset_index(drop=True),
        target,
        task,
        metric if callable(metric) else metric_name,
        model,
        refit_jobs=None if n_jobs == 1 else 1,
    )

    def run(i: int) -> tuple[int, _Outcome]:
        return i, plan.run(fitted, specs[i], children[i])

    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    outcomes: dict[int, _Outcome] = {}
    with progress_bar(progress) as bar, threadpool_limits(limits=1):
        task_id = bar.add_task("Training on variants", total=len(specs))
        if n_jobs == 1:
            for i in range(len(specs)):
                outcomes[i] = run(i)[1]
                bar.advance(task_id)
        else:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                for done in as_completed([pool.submit(run, i) for i in range(len(specs))]):
                    i, outcome = done.result()
                    outcomes[i] = outcome
                    bar.advance(task_id)
    failed = [i for i in range(len(specs)) if outcomes[i].error is not None]
    if failed:
        _report_failures([(specs[i].name, outcomes[i]) for i in failed], len(specs))
    # Failed variants rank last, after those scored None (a model that could not be scored).
    order = sorted(
        range(len(specs)),
        key=lambda i: (i in failed, _sort_key(outcomes[i].score, higher), i),
    )
    rows = tuple(
        VariantScore(
            rank=rank,
            name=specs[i].name,
            settings=specs[i].settings,
            score=outcomes[i].score,
            n_train_rows=outcomes[i].n_synthetic + outcomes[i].n_real,
            n_synthetic_rows=outcomes[i].n_synthetic,
            n_real_rows=outcomes[i].n_real,
            sample_seed=outcomes[i].sample_seed,
            seconds=outcomes[i].seconds,
            status=OK if outcomes[i].error is None else FAILED,
            error=outcomes[i].message,
        )
        for rank, i in enumerate(order, start=1)
    )
    return ExperimentResult(
        target=target,
        task=task,
        metric=metric_name,
        higher_is_better=higher,
        n_holdout_rows=int(holdout[target].notna().sum()),
        variants=rows,
        seed_entropy=str(seed.entropy),
    )


def _report_failures(failures: list[tuple[str, _Outcome]], n_variants: int) -> None:
    """Raise if every variant failed; otherwise warn once, naming each failure."""
    if len(failures) == n_variants:
        first = failures[0][1].error
        if first is None:  # pragma: no cover - only failures are passed
            raise DataError("Every variant failed.")
        if n_variants > 1:
            first.add_note(
                f"Every one of the {n_variants} variants failed: "
                + "; ".join(f"{name!r}: {outcome.message}" for name, outcome in failures)
            )
        raise first
    listed = "; ".join(f"{name!r}: {outcome.message}" for name, outcome in failures)
    warn_data(
        f"{len(failures)} of {n_variants} variants failed and rank last in the leaderboard "
        f"(status 'failed'): {listed}"
    )


def _sort_key(value: float | None, higher: bool) -> float:
    if value is None:
        return float("inf")
    return -value if higher else value


@dataclass(frozen=True)
class _Variant:
    name: str
    settings: dict[str, Any]
    n: int | None
    real: float | int
    params: dict[str, Any]
    sample_settings: dict[str, Any]


def _check_variants(
    variants: Sequence[Mapping[str, Any]], include_real: bool, n_data: int
) -> list[_Variant]:
    if isinstance(variants, Mapping) or not isinstance(variants, Sequence):
        raise DataError(
            "The 'variants' parameter must be a list of dicts (see variant_grid). "
            f"Got {type(variants).__name__} instead."
        )
    out = []
    for position, variant in enumerate(variants):
        if not isinstance(variant, Mapping):
            raise DataError(
                f"Variant {position} must be a dict of settings. Got {type(variant).__name__}."
            )
        settings = dict(variant)
        name = settings.pop("name", None) or describe(settings)
        n = settings.get("n")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0):
            raise DataError(f"Variant {name!r}: 'n' must be an int >= 0. Got {n!r} instead.")
        real = settings.get("real", 0)
        valid_share = isinstance(real, float) and 0.0 <= real <= 1.0
        valid_count = (
            isinstance(real, int | np.integer) and not isinstance(real, bool) and real >= 0
        )
        if not (valid_share or valid_count):
            raise DataError(
                f"Variant {name!r}: 'real' must be a share in [0, 1] (float) or a row count "
                f"(int >= 0). Got {real!r} instead."
            )
        if valid_count and int(real) > n_data:
            raise DataError(
                f"Variant {name!r}: 'real' asks for {real} real rows; the data has {n_data}."
            )
        params = settings.get("params", {})
        if not isinstance(params, Mapping):
            raise DataError(f"Variant {name!r}: 'params' must be a dict. Got {params!r}.")
        if n == 0 and (real == 0):
            raise DataError(f"Variant {name!r} has no training rows (n=0 and real=0).")
        out.append(
            _Variant(
                name=str(name),
                settings=dict(variant),
                n=None if n is None else int(n),
                real=real,
                params=dict(params),
                sample_settings={k: v for k, v in settings.items() if k not in VARIANT_KEYS},
            )
        )
    if include_real:
        out.insert(0, _Variant(REAL_ONLY, {"n": 0, "real": 1.0}, 0, 1.0, {}, {}))
    names = [v.name for v in out]
    check_unique_names(names, "Variant")
    if not out:
        raise DataError("The 'variants' parameter is empty (and include_real=False).")
    return out


def _is_fitted(estimator: Any) -> bool:
    """scikit-learn's test: a fitted estimator has public attributes ending in an underscore."""
    return any(k.endswith("_") and not k.startswith("_") for k in vars(estimator))


def _refit(
    synthesizer: Any,
    params: Mapping[str, Any],
    data: pd.DataFrame,
    seed: np.random.SeedSequence,
    n_jobs: int | None = None,
) -> Any:
    """A new synthesizer of the same class with ``params`` changed, fitted on ``data``
    (on ``n_jobs`` threads when given and its ``fit`` takes them)."""
    if not callable(getattr(synthesizer, "get_params", None)):
        raise DataError(
            f"{type(synthesizer).__name__} has no get_params(), so it cannot be refitted with "
            "other parameters; pass a fitted synthesizer."
        )
    merged = {**synthesizer.get_params(), **params}
    if not isinstance(merged.get("random_state"), int | None) or merged.get("random_state") is None:
        merged["random_state"] = int(seed.generate_state(1, dtype=np.uint32)[0])
    try:
        fresh = type(synthesizer)(**merged)
    except TypeError as exc:
        raise DataError(f"Cannot build {type(synthesizer).__name__} with {params}: {exc}") from None
    if n_jobs is not None and "n_jobs" in inspect.signature(fresh.fit).parameters:
        return fresh.fit(data, n_jobs=n_jobs)
    return fresh.fit(data)


@dataclass(frozen=True)
class _Outcome:
    score: float | None
    n_synthetic: int
    n_real: int
    sample_seed: int
    seconds: float
    error: Exception | None = None

    @property
    def message(self) -> str | None:
        """What the variant raised, as the leaderboard shows it (without the variant's name)."""
        if self.error is None:
            return None
        cause = self.error.__cause__ if isinstance(self.error.__cause__, Exception) else None
        shown = cause or self.error
        return f"{type(shown).__name__}: {shown}"


@dataclass(frozen=True)
class _Plan:
    """What every variant shares: the tables, the task, the metric and the model."""

    data: pd.DataFrame
    holdout: pd.DataFrame
    target: str
    task: Task
    metric: Metric
    model: Any
    #: Threads of a variant's refit: one while variants run side by side on ``n_jobs`` threads
    #: (else k variants x every CPU), None (the synthesizer's default) when they run one by one.
    refit_jobs: int | None = None

    def run(self, synthesizer: Any, variant: _Variant, seed: np.random.SeedSequence) -> _Outcome:
        started = time.perf_counter()
        sample_seed = int(seed.generate_state(1, dtype=np.uint32)[0])
        rng = np.random.default_rng(seed.spawn(1)[0])
        # A variant that raises is recorded, not fatal: one bad setting (an impossible shift, a
        # model that cannot fit one class) must not throw away the other variants' work.
        try:
            table, n_synthetic, n_real = self._training_table(
                synthesizer, variant, sample_seed, rng
            )
            value = self._score(table, int(rng.integers(2**31)))
        except LookalikeError as exc:
            named = type(exc)(f"Variant {variant.name!r}: {exc}")
            named.__cause__ = exc
            return _Outcome(None, 0, 0, sample_seed, time.perf_counter() - started, named)
        except Exception as exc:
            return _Outcome(None, 0, 0, sample_seed, time.perf_counter() - started, exc)
        return _Outcome(value, n_synthetic, n_real, sample_seed, time.perf_counter() - started)

    def _training_table(
        self, synthesizer: Any, variant: _Variant, sample_seed: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, int, int]:
        parts = []
        n_real = (
            round(variant.real * len(self.data))
            if isinstance(variant.real, float)
            else int(variant.real)
        )
        if n_real:
            rows = np.sort(rng.choice(len(self.data), size=n_real, replace=False))
            parts.append(self.data.iloc[rows])
        n_synthetic = len(self.data) if variant.n is None else variant.n
        if n_synthetic:
            source = synthesizer
            if variant.params:
                source = _refit(
                    synthesizer,
                    variant.params,
                    self.data,
                    np.random.SeedSequence(sample_seed),
                    n_jobs=self.refit_jobs,
                )
            synthetic = source.sample(
                n_synthetic, random_state=sample_seed, **variant.sample_settings
            )
            parts.append(synthetic[list(self.data.columns)])
        table = pd.concat(parts, ignore_index=True)
        return table[table[self.target].notna()], n_synthetic, n_real

    def _score(self, train: pd.DataFrame, seed: int) -> float | None:
        test = self.holdout[self.holdout[self.target].notna()]
        features = [c for c in self.data.columns if c != self.target]
        classes = sorted({c for c in as_labels(test[self.target]) if c is not None})
        if self.model is not None:
            from sklearn.base import clone

            estimator = clone(self.model)
            y = train[self.target].to_numpy()
            estimator.fit(train[features], y)
            raw = self._predict(estimator, test[features], classes)
        else:
            raw = self._default_model(train, test, features, classes, seed)
        if raw is None:
            return None
        positive = classes[-1] if self.task == "binary" and len(classes) == 2 else None
        predictions = Predictions(raw, len(test), self.task, classes, positive)
        value = score(self.metric, test[self.target].to_numpy(), predictions, positive)
        return None if value is None else round(float(value), 6)

    def _predict(self, estimator: Any, features: pd.DataFrame, classes: list[str]) -> Any:
        if self.task == "regression" or not hasattr(estimator, "predict_proba"):
            return estimator.predict(features)
        # Re-order the estimator's probability columns to the holdout's sorted classes.
        probabilities = np.asarray(estimator.predict_proba(features), dtype=np.float64)
        known = list(as_labels(estimator.classes_))
        out = np.zeros((features.shape[0], len(classes)), dtype=np.float64)
        for k, label in enumerate(known):
            if label in classes:
                out[:, classes.index(label)] = probabilities[:, k]
        return out

    def _default_model(
        self,
        train: pd.DataFrame,
        test: pd.DataFrame,
        features: list[str],
        classes: list[str],
        seed: int,
    ) -> Any:
        # Kinds come from the real data: a synthetic column may come back with another dtype.
        kinds: list[ColumnKind] = [
            _column_kind(self.data[c], _text_number_format(self.data[c])) for c in features
        ]
        encoding = fit_tree_encoding([train], features, kinds)
        x_train = encoding.transform(_numeric_view(train, features, kinds))
        usable = informative_columns(x_train)
        if not usable.any() or len(train) < 2:
            return None
        x_test = encoding.transform(_numeric_view(test, features, kinds))[:, usable]
        mask = encoding.categorical_mask[usable]
        if self.task == "regression":
            regressor = make_regressor(mask, seed)
            regressor.fit(x_train[:, usable], train[self.target].to_numpy(dtype=np.float64))
            return regressor.predict(x_test)
        y = as_labels(train[self.target].to_numpy()).astype(str)
        out = np.zeros((len(test), len(classes)), dtype=np.float64)
        if len(set(y)) == 1:
            if y[0] in classes:
                out[:, classes.index(y[0])] = 1.0
            return out
        classifier = make_classifier(mask, seed)
        classifier.fit(x_train[:, usable], y)
        probabilities = classifier.predict_proba(x_test)
        for k, label in enumerate(classifier.classes_):
            if str(label) in classes:
                out[:, classes.index(str(label))] = probabilities[:, k]
        return out


def _numeric_view(
    table: pd.DataFrame, features: list[str], kinds: list[ColumnKind]
) -> pd.DataFrame:
    """Datetimes as seconds (the tree encoding reads them as floats), categories as strings."""
    out: dict[str, np.ndarray] = {}
    for name, kind in zip(features, kinds, strict=True):
        column = table[name]
        if kind == "datetime":
            seconds = (pd.to_datetime(column) - pd.Timestamp("1970-01-01")) / pd.Timedelta(
                seconds=1
            )
            out[name] = seconds.to_numpy(dtype=np.float64, na_value=np.nan)
        elif kind == "categorical":
            out[name] = as_labels(column.to_numpy())
        else:
            out[name] = pd.to_numeric(column, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    return pd.DataFrame(out)
