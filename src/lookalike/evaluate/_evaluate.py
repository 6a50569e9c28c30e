"""``evaluate``: fidelity, associations, detection, utility and privacy of a synthetic table."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

import lookalike
from lookalike._progress import progress_bar
from lookalike._randomness import seed_sequence
from lookalike.control._report import ControlReport
from lookalike.control._rules import parse_rules
from lookalike.errors import DataError
from lookalike.evaluate import _verdicts
from lookalike.evaluate._attacks import (
    linkability_and_inference,
    membership_inference,
    singling_out,
)
from lookalike.evaluate._detection import detection_auc
from lookalike.evaluate._fairness import check_sensitive, measure_fairness
from lookalike.evaluate._fidelity import (
    BinnedTables,
    choose_pairs,
    choose_triples,
    cramers_v,
    subset_accuracy,
)
from lookalike.evaluate._guarantee import describe_guarantee
from lookalike.evaluate._prepare import (
    ColumnBins,
    FloatArray,
    PreparedTables,
    bin_table,
    excluded_columns,
    load_table,
    prepare_tables,
    table_schema,
)
from lookalike.evaluate._privacy import (
    N_DISTANCE_BINS,
    measure_privacy,
    repeated_share,
    row_hashes,
)
from lookalike.evaluate._result import (
    AssociationResult,
    ColumnFidelity,
    DetectionResult,
    DistanceHistogram,
    EvaluationResult,
    FairnessResult,
    FidelityResult,
    Histogram,
    PairFidelity,
    PrivacyResult,
    UtilityResult,
)
from lookalike.evaluate._rules import measure_rules
from lookalike.evaluate._utility import utility_scores
from lookalike.schema import ColumnKind, Schema

#: Default cap on the rows per table used for fidelity and utility.
DEFAULT_MAX_ROWS = 50_000
#: Association matrices cover at most this many columns (the first ones), to stay readable.
MAX_MATRIX_COLUMNS = 40
#: Numeric histograms in the report have this many equal-width bins.
N_HISTOGRAM_BINS = 30
#: A holdout sharing more of its rows with the training table than this (and than twice the
#: training table's own share of repeated rows) is refused.
MAX_HOLDOUT_OVERLAP = 0.2
#: A result section: it has a verdict.
_Section = TypeVar(
    "_Section", FidelityResult, DetectionResult, UtilityResult, PrivacyResult, FairnessResult
)
#: Spawn key of the fairness section's random stream (far from the spawned section streams).
_FAIRNESS_STREAM = 1000


def evaluate(
    real: pd.DataFrame | Any,
    synthetic: pd.DataFrame | Any,
    holdout: pd.DataFrame | Any | None = None,
    target: str | None = None,
    *,
    random_state: int | np.random.Generator | None = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
    sensitive: Sequence[str] | str | None = None,
    schema: Schema | Mapping[str, Any] | None = None,
    rules: Sequence[Any] | str | None = None,
    controls: ControlReport | None = None,
    model: Any = None,
    progress: bool = False,
) -> EvaluationResult:
    """Measure how faithful, useful and private ``synthetic`` is with respect to ``real``.

    ``real`` is the table the synthetic data was generated from (the training data), ``holdout``
    real rows of the same population that the generator never saw; it gives every metric a
    reference ("what does a fresh real sample score?") and is needed for the distance-based
    privacy test and the attacks (membership inference, singling out, linkability, attribute
    inference: see :mod:`lookalike.evaluate._attacks` for what they do and how many rows they use;
    on adult they take about 10 s). ``target`` names a column to predict for the utility test
    (rows where it is missing, or for a number infinite, are left out). ``sensitive`` names
    columns (e.g. ``["sex", "race"]``) whose groups get their own representation, fidelity and
    privacy numbers and, with a yes/no ``target``, the parity of a model trained on the synthetic
    data (see :mod:`lookalike.evaluate._fairness`). Tables are pandas or polars DataFrames,
    pyarrow Tables or paths to files :func:`lookalike.read_table` can read.

    Columns that lookalike regenerates by design are not compared by any metric: identifier
    columns (unique keys, replaced with new keys) and PII columns (replaced with fakes), as the
    real table's schema says. ``schema`` is that schema (a :class:`~lookalike.schema.Schema`) or
    overrides for :func:`~lookalike.schema.infer_schema` (``{"code": "categorical"}``,
    ``{"notes": {"pii": None}}``) to decide which columns these are; by default it is inferred.
    ``result.excluded_columns`` names them with the reason. ``target`` and ``sensitive`` must
    be compared columns.

    ``rules`` are business rules in the language of :func:`lookalike.check_rules` (``"age >=
    18"``, ``{"rule": "city within country", "allowed": {...}}``); each is checked on the real and
    on the synthetic table, and ``result.rules`` says how often it holds in each. A rule the real
    data breaks gets a warning, not a failure: the synthetic data is judged against the real
    share. A ``within`` rule without ``allowed`` combinations uses those the real table holds.
    ``controls`` is the :class:`~lookalike.ControlReport` of the draw that made ``synthetic``
    (from ``Synthesizer.sample_with_report``); it is kept in ``result.controls`` and the report
    shows asked against achieved. ``model`` is the fitted :class:`~lookalike.Synthesizer` that
    made ``synthetic``: ``result.guarantee`` then says what it promises (a differentially
    private model's (epsilon, delta) and every step of its privacy ledger, or the default
    model's protections), next to what the attacks measure. ``progress`` shows a bar of the
    sections on stderr, when it is a terminal (on a few hundred thousand rows they take minutes).

    >>> import pandas as pd
    >>> real = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 5, "b": list("xyxy") * 5})
    >>> result = evaluate(real, real.copy())
    >>> result.fidelity.univariate, result.privacy.exact_copy_share
    (1.0, 1.0)
    >>> keyed = real.assign(order_id=range(20))
    >>> evaluate(keyed, keyed.assign(order_id=range(100, 120))).excluded_columns
    {'order_id': 'key, regenerated'}
    """
    started = time.perf_counter()
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 10:
        raise DataError(f"The 'max_rows' parameter must be an int >= 10. Got {max_rows!r} instead.")
    seed = seed_sequence(random_state, owner="evaluate")
    real_frame = load_table(real, "real")
    synthetic_frame = load_table(synthetic, "synthetic")
    holdout_frame = None if holdout is None else load_table(holdout, "holdout")
    real_schema = table_schema(real_frame, schema)
    excluded = excluded_columns(real_schema)
    dates = {
        spec.name: spec.datetime_format for spec in real_schema if spec.kind is ColumnKind.DATETIME
    }
    tables = prepare_tables(real_frame, synthetic_frame, holdout_frame, excluded, dates)
    if tables.holdout is not None:
        _check_holdout_apart(tables.real, tables.holdout)
    _check_compared("target", [target], excluded)
    _check_compared("sensitive", [sensitive] if isinstance(sensitive, str) else sensitive, excluded)
    if target is not None and target not in tables.names:
        raise DataError(
            f"The 'target' parameter must name a column of the tables {list(tables.names)}. "
            f"Got {target!r} instead."
        )
    sensitive_columns = check_sensitive(sensitive, tables.names, target)
    if controls is not None and not isinstance(controls, ControlReport):
        raise DataError(
            "The 'controls' parameter must be a ControlReport (from "
            f"Synthesizer.sample_with_report). Got {type(controls).__name__} instead."
        )
    if model is not None:
        _check_model_columns(model, list(real_frame.columns))
    guarantee = None if model is None else describe_guarantee(model)
    # Rules are read and their columns checked before the slow sections run.
    parsed_rules = None if rules is None else parse_rules(rules)
    for rule in parsed_rules or []:
        unknown = [c for c in rule.columns if c not in real_frame.columns]
        if unknown:
            raise DataError(
                f"The 'rules' parameter: rule {rule.text!r} names column(s) {unknown} that the "
                f"real table does not have; it has {[str(c) for c in real_frame.columns]}."
            )
    # One child stream per section, so adding a section never changes another's numbers.
    streams = [np.random.default_rng(child) for child in seed.spawn(5)]
    timings: dict[str, float] = {}

    names = [
        "fidelity",
        "detection",
        *(["utility"] if target is not None else []),
        "privacy",
        *(["privacy_attacks"] if tables.holdout is not None else []),
        *(["fairness"] if sensitive_columns else []),
        *(["rules"] if parsed_rules is not None else []),
    ]
    with progress_bar(progress) as bar:
        task = bar.add_task("Evaluating", total=len(names))

        @contextlib.contextmanager
        def section(name: str) -> Iterator[None]:
            bar.update(task, description=f"Evaluating {name.replace('_', ' ')}")
            clock = time.perf_counter()
            yield
            timings[name] = time.perf_counter() - clock
            bar.advance(task)

        with section("fidelity"):
            fidelity, associations = _measure_fidelity(tables, streams[0], max_rows)

        with section("detection"):
            # Against rows the generator never saw when there are any: against its own training
            # rows, a model that follows their frequencies scores below chance (see
            # detection_verdict).
            real_rows = "training" if tables.holdout is None else "holdout"
            auc, n_detection, n_folds = detection_auc(
                tables.real if tables.holdout is None else tables.holdout,
                tables.synthetic,
                tables.names,
                tables.kinds,
                streams[1],
                max_rows,
            )
            detection = DetectionResult(
                auc,
                n_detection,
                n_folds,
                _verdicts.detection_verdict(auc, n_detection, real_rows),
                real_rows,
            )

        utility = None
        if target is not None:
            with section("utility"):
                utility = _measure_utility(tables, target, streams[2], max_rows)

        with section("privacy"):
            privacy = _measure_privacy(tables, streams[3])
        if tables.holdout is not None:
            with section("privacy_attacks"):
                privacy = _run_attacks(privacy, tables, tables.holdout, streams[4])

        fairness = None
        if sensitive_columns:
            with section("fairness"):
                # A stream keyed apart from the spawned ones above, so sections added there
                # never move it.
                fairness_seed = np.random.SeedSequence(
                    seed.entropy, spawn_key=(*seed.spawn_key, _FAIRNESS_STREAM)
                )
                fairness = measure_fairness(
                    tables,
                    sensitive_columns,
                    target,
                    np.random.default_rng(fairness_seed),
                    max_rows,
                )

        rule_result = None
        if parsed_rules is not None:
            with section("rules"):
                rule_result = measure_rules(real_frame, synthetic_frame, parsed_rules, real_schema)

    sizes = [real_frame.shape[0], synthetic_frame.shape[0]]
    if holdout_frame is not None:
        sizes.append(holdout_frame.shape[0])  # the reference of every section, and privacy's rows
    n_rated = min(sizes)
    if n_rated < _verdicts.MIN_ROWS_RATED:

        def unrated(section: _Section) -> _Section:
            return dataclasses.replace(section, verdict=_verdicts.unrated(section.verdict, n_rated))

        fidelity, detection, privacy = unrated(fidelity), unrated(detection), unrated(privacy)
        utility = None if utility is None else unrated(utility)
        fairness = None if fairness is None else unrated(fairness)
    sections = [fidelity.verdict, detection.verdict, privacy.verdict]
    if utility is not None:
        sections.append(utility.verdict)
    timings["total"] = time.perf_counter() - started
    settings: dict[str, Any] = {
        "lookalike_version": lookalike.__version__,
        "n_real_rows": int(real_frame.shape[0]),
        "n_synthetic_rows": int(synthetic_frame.shape[0]),
        "n_holdout_rows": None if holdout_frame is None else int(holdout_frame.shape[0]),
        "n_columns": len(tables.names),
        "column_kinds": dict(zip(tables.names, tables.kinds, strict=True)),
        "target": target,
        "sensitive": list(sensitive_columns),
        "random_state": random_state if isinstance(random_state, int) else None,
        "max_rows": max_rows,
        "seconds": {key: round(value, 3) for key, value in timings.items()},
    }
    return EvaluationResult(
        summary=_verdicts.overall_verdict(
            fidelity.verdict,
            detection.verdict,
            utility,
            privacy.verdict,
            fairness=None if fairness is None else fairness.verdict,
            guarantee=None if guarantee is None else guarantee.verdict,
        ),
        fidelity=fidelity,
        associations=associations,
        detection=detection,
        utility=utility,
        privacy=privacy,
        settings=tuple(settings.items()),
        fairness=fairness,
        excluded_columns=dict(excluded),
        rules=rule_result,
        controls=controls,
        guarantee=guarantee,
    )


def _check_model_columns(model: Any, columns: list[Any]) -> None:
    """DataError unless ``model`` was fitted on a table with these columns (any order): its
    guarantee or protections would otherwise be reported for data it never saw."""
    schema = getattr(model, "schema_", None)
    if schema is None:
        return  # not fitted: describe_guarantee names that
    fitted = [str(name) for name in schema.names]
    given = [str(name) for name in columns]
    missing = [c for c in fitted if c not in given]
    extra = [c for c in given if c not in fitted]
    problems = ([f"lacks its column(s) {missing}"] if missing else []) + (
        [f"has column(s) {extra} it never saw"] if extra else []
    )
    if problems:
        raise DataError(
            "The 'model' parameter was fitted on another table: the real table "
            + ", ".join(problems)
            + "."
        )


def _check_holdout_apart(real: pd.DataFrame, holdout: pd.DataFrame) -> None:
    """A holdout must be rows the generator never saw: refuse one made largely of training rows
    (the training table itself, or training and test concatenated), which would make every
    reference number, and the privacy verdict, meaningless."""
    real_hashes, holdout_hashes = row_hashes(real), row_hashes(holdout)
    shared = float(np.isin(holdout_hashes, real_hashes).mean())
    # Tables of few distinct values repeat rows by chance, and a fresh holdout shows it even when
    # the training table was deduplicated: the higher of the two rates is the yardstick.
    twins = max(repeated_share(real_hashes), repeated_share(holdout_hashes))
    if shared > max(MAX_HOLDOUT_OVERLAP, 2 * twins):
        raise DataError(
            f"{shared:.0%} of the holdout's rows are also rows of the real (training) table, "
            f"while each table repeats at most {twins:.1%} of its own rows: a holdout must be "
            "real rows the generator never saw, such as a split made before fitting."
        )


def _check_compared(parameter: str, columns: Any, excluded: Mapping[str, str]) -> None:
    """A column named by ``target`` or ``sensitive`` must be one the metrics compare."""
    if not isinstance(columns, Sequence) or isinstance(columns, str):
        return  # Not a list of names: check_sensitive says what is wrong with it.
    for column in columns:
        if not isinstance(column, str) or column not in excluded:
            continue
        reason = excluded[column]
        raise DataError(
            f"The {parameter!r} parameter names column {column!r}, which is not compared "
            f"({reason}): its synthetic values are new by design. Choose another column, or, "
            f"if {column!r} is neither a key nor PII, say so in the 'schema' parameter, e.g. "
            f"schema={{{column!r}: {{'kind': 'categorical', 'pii': None}}}}."
        )


def _run_attacks(
    privacy: PrivacyResult,
    tables: PreparedTables,
    holdout: pd.DataFrame,
    rng: np.random.Generator,
) -> PrivacyResult:
    """Membership inference and the Anonymeter-style attacks; each gets its own stream."""
    streams = rng.spawn(3)
    membership = membership_inference(
        tables.real, tables.synthetic, holdout, tables.kinds, streams[0]
    )
    singled = singling_out(tables.real, tables.synthetic, holdout, tables.kinds, streams[1])
    linkability, inference = linkability_and_inference(
        tables.real, tables.synthetic, holdout, tables.kinds, streams[2]
    )
    attacks = [a.verdict for a in (membership, singled, linkability, inference) if a is not None]
    return dataclasses.replace(
        privacy,
        membership_inference=membership,
        singling_out=singled,
        linkability=linkability,
        attribute_inference=inference,
        verdict=_verdicts.with_attacks(privacy.verdict, attacks),
    )


def _subsample(table: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if table.shape[0] <= n:
        return table
    return table.iloc[np.sort(rng.choice(table.shape[0], size=n, replace=False))]


def _measure_fidelity(
    tables: PreparedTables, rng: np.random.Generator, max_rows: int
) -> tuple[FidelityResult, AssociationResult]:
    # Synthetic and holdout are compared with the real table at the same size (see _fidelity).
    n_compared = min(max_rows, tables.synthetic.shape[0])
    if tables.holdout is not None:
        n_compared = min(n_compared, tables.holdout.shape[0])
    real = _subsample(tables.real, max_rows, rng)
    synthetic = _subsample(tables.synthetic, n_compared, rng)
    holdout = None if tables.holdout is None else _subsample(tables.holdout, n_compared, rng)
    binned = BinnedTables(
        real=bin_table(real, tables.bins),
        synthetic=bin_table(synthetic, tables.bins),
        holdout=None if holdout is None else bin_table(holdout, tables.bins),
        bins=tables.bins,
    )
    columns = []
    for j, column_bins in enumerate(tables.bins):
        accuracy, holdout_accuracy, p_real, p_synth, p_hold = subset_accuracy(binned, [j])
        histogram = None
        if column_bins.kind != "categorical":
            histogram = _histogram(
                real[column_bins.name].to_numpy(np.float64),
                synthetic[column_bins.name].to_numpy(np.float64),
            )
        # The bins for values the real table lacks are listed only when a table has such values.
        used = p_real + p_synth + (0.0 if p_hold is None else p_hold) > 0
        shown = [k for k in range(column_bins.n_bins) if k not in column_bins.outside or used[k]]
        columns.append(
            ColumnFidelity(
                name=column_bins.name,
                kind=column_bins.kind,
                accuracy=accuracy,
                holdout_accuracy=holdout_accuracy,
                labels=tuple(column_bins.labels[k] for k in shown),
                real_shares=_rounded(p_real[shown]),
                synthetic_shares=_rounded(p_synth[shown]),
                holdout_shares=None if p_hold is None else _rounded(p_hold[shown]),
                histogram=histogram,
            )
        )
    n_columns = len(tables.names)
    pairs = []
    for a, b in choose_pairs(n_columns, rng):
        accuracy, holdout_accuracy, *_ = subset_accuracy(binned, [a, b])
        pairs.append(PairFidelity((tables.names[a], tables.names[b]), accuracy, holdout_accuracy))
    triples = [subset_accuracy(binned, list(t))[:2] for t in choose_triples(n_columns, rng)]

    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return float(np.mean(present)) if present else None

    univariate = float(np.mean([c.accuracy for c in columns]))
    bivariate = mean([p.accuracy for p in pairs])
    trivariate = mean([t[0] for t in triples])
    holdout_univariate = mean([c.holdout_accuracy for c in columns])
    holdout_bivariate = mean([p.holdout_accuracy for p in pairs])
    holdout_trivariate = mean([t[1] for t in triples])
    fidelity = FidelityResult(
        univariate=univariate,
        bivariate=bivariate,
        trivariate=trivariate,
        holdout_univariate=holdout_univariate,
        holdout_bivariate=holdout_bivariate,
        holdout_trivariate=holdout_trivariate,
        n_real_rows=int(real.shape[0]),
        n_rows_compared=int(n_compared),
        n_pairs=len(pairs),
        n_triples=len(triples),
        columns=tuple(columns),
        pairs=tuple(pairs),
        verdict=_verdicts.fidelity_verdict(
            univariate,
            bivariate,
            trivariate,
            holdout_univariate,
            holdout_bivariate,
            holdout_trivariate,
        ),
    )
    return fidelity, _associations(binned, tables.bins)


def _associations(binned: BinnedTables, bins: tuple[ColumnBins, ...]) -> AssociationResult:
    n = min(len(bins), MAX_MATRIX_COLUMNS)
    matrices: dict[str, list[list[float | None]]] = {}
    sources = {"real": binned.real, "synthetic": binned.synthetic}
    if binned.holdout is not None:
        sources["holdout"] = binned.holdout
    for role, codes in sources.items():
        matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
        for a in range(n):
            matrix[a][a] = 1.0 if len(np.unique(codes[:, a])) > 1 else None
            for b in range(a + 1, n):
                value = cramers_v(codes[:, a], codes[:, b], bins[a].n_bins, bins[b].n_bins)
                matrix[a][b] = matrix[b][a] = None if value is None else round(value, 4)
        matrices[role] = matrix

    def mean_difference(other: list[list[float | None]]) -> float | None:
        differences = [
            abs(x - y)
            for a in range(n)
            for b in range(a + 1, n)
            if (x := matrices["real"][a][b]) is not None and (y := other[a][b]) is not None
        ]
        return float(np.mean(differences)) if differences else None

    return AssociationResult(
        measure="bias-corrected Cramér's V between binned columns",
        columns=tuple(b.name for b in bins[:n]),
        real=tuple(tuple(row) for row in matrices["real"]),
        synthetic=tuple(tuple(row) for row in matrices["synthetic"]),
        mean_absolute_difference=mean_difference(matrices["synthetic"]),
        holdout_mean_absolute_difference=(
            mean_difference(matrices["holdout"]) if "holdout" in matrices else None
        ),
    )


def _histogram(real: FloatArray, synthetic: FloatArray) -> Histogram | None:
    """Equal-width bins between the real 0.5th and 99.5th percentiles; tails go to the end bins."""
    finite = real[np.isfinite(real)]
    if finite.size == 0:
        return None
    low, high = (float(v) for v in np.quantile(finite, [0.005, 0.995]))
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, N_HISTOGRAM_BINS + 1)

    def binned_shares(values: FloatArray) -> tuple[float, ...]:
        values = np.clip(values[np.isfinite(values)], low, high)
        counts = np.histogram(values, bins=edges)[0]
        return _rounded(counts / max(values.size, 1))

    return Histogram(tuple(float(e) for e in edges), binned_shares(real), binned_shares(synthetic))


def _rounded(values: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(v), 6) for v in values)


def _measure_utility(
    tables: PreparedTables, target: str, rng: np.random.Generator, max_rows: int
) -> UtilityResult:
    scores = utility_scores(
        tables.real,
        tables.synthetic,
        tables.holdout,
        target,
        tables.names,
        tables.kinds,
        rng,
        max_rows,
    )
    ratio = None
    if (
        scores.real_score is not None
        and scores.synthetic_score is not None
        and scores.real_score > 0
    ):
        ratio = scores.synthetic_score / scores.real_score
    return UtilityResult(
        target=target,
        task=scores.task,
        metric=scores.metric,
        real_score=scores.real_score,
        synthetic_score=scores.synthetic_score,
        ratio=ratio,
        test_set=scores.test_set,
        n_train_rows=scores.n_train_rows,
        n_synthetic_rows=scores.n_synthetic_rows,
        n_test_rows=scores.n_test_rows,
        verdict=_verdicts.utility_verdict(
            scores.metric, ratio, scores.real_score, scores.n_synthetic_rows
        ),
    )


def _measure_privacy(tables: PreparedTables, rng: np.random.Generator) -> PrivacyResult:
    numbers = measure_privacy(tables.real, tables.synthetic, tables.holdout, tables.kinds, rng)
    distances = numbers.synthetic_dcr
    if numbers.holdout_dcr is not None:
        distances = np.concatenate([distances, numbers.holdout_dcr])
    high = float(np.quantile(distances, 0.99)) if distances.size else 1.0
    edges = np.linspace(0.0, high if high > 0 else 1.0, N_DISTANCE_BINS + 1)

    def histogram_shares(values: FloatArray) -> tuple[float, ...]:
        counts = np.histogram(np.clip(values, 0.0, edges[-1]), bins=edges)[0]
        return _rounded(counts / max(values.size, 1))

    def quantile(values: FloatArray, q: float) -> float:
        return round(float(np.quantile(values, q)), 6)

    def holdout_quantile(values: FloatArray | None, q: float) -> float | None:
        return None if values is None else quantile(values, q)

    return PrivacyResult(
        exact_copy_share=numbers.exact_copy_share,
        holdout_exact_copy_share=numbers.holdout_exact_copy_share,
        training_duplicate_share=numbers.training_duplicate_share,
        dcr_share=numbers.dcr_share,
        synthetic_dcr_median=quantile(numbers.synthetic_dcr, 0.5),
        holdout_dcr_median=holdout_quantile(numbers.holdout_dcr, 0.5),
        synthetic_dcr_5th_percentile=quantile(numbers.synthetic_dcr, 0.05),
        holdout_dcr_5th_percentile=holdout_quantile(numbers.holdout_dcr, 0.05),
        synthetic_nndr_median=quantile(numbers.synthetic_nndr, 0.5),
        holdout_nndr_median=holdout_quantile(numbers.holdout_nndr, 0.5),
        n_rows_compared=numbers.n_rows_compared,
        dcr_histogram=DistanceHistogram(
            edges=tuple(float(e) for e in edges),
            synthetic=histogram_shares(numbers.synthetic_dcr),
            holdout=None if numbers.holdout_dcr is None else histogram_shares(numbers.holdout_dcr),
        ),
        verdict=_verdicts.privacy_verdict(
            numbers.exact_copy_share,
            numbers.holdout_exact_copy_share,
            numbers.training_duplicate_share,
            numbers.dcr_share,
            n_synthetic=len(tables.synthetic),
            n_baseline=len(tables.real if tables.holdout is None else tables.holdout),
        ),
    )
