"""Empirical privacy audit: a statistical lower bound on a generator's epsilon from canary records.

Differential privacy promises that adding one row changes the probability of any output by at most
a factor ``e^epsilon`` (plus ``delta``). So for *any* membership test run on the output,
``TPR <= e^epsilon * FPR + delta`` (and the same with TPR/FPR replaced by TNR/FNR). Measuring a
test's TPR and FPR over many fits therefore gives a lower bound on the epsilon the generator really
has (Jagielski et al. 2020, "Auditing differentially private machine learning"; Nasr et al. 2021,
"Adversary instantiation"). For a DP model the bound must stay at or below the claimed epsilon;
for a non-DP model it shows how much one row leaks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from lookalike._randomness import seed_sequence
from lookalike.errors import DataError
from lookalike.evaluate._models import limited_threads
from lookalike.evaluate._prepare import ColumnKind, _canonical, load_table, prepare_tables
from lookalike.evaluate._privacy import _DistanceEncoding
from lookalike.evaluate._result import Verdict, dump_json
from lookalike.evaluate._verdicts import audit_verdict

#: Default number of fits (half with the canary, half without).
DEFAULT_RUNS = 100


class _Fittable(Protocol):
    def fit(self, data: pd.DataFrame) -> Any: ...

    def sample(self, n: int) -> pd.DataFrame: ...


@dataclass(frozen=True)
class PrivacyAudit:
    """What :func:`audit_privacy` found: the epsilon lower bound and the counts behind it.

    ``epsilon_lower_bound`` holds with probability at least ``confidence`` over the randomness of
    the fits (Clopper-Pearson intervals); 0.0 means the audit found no evidence of leakage, not
    that there is none.
    """

    epsilon_lower_bound: float
    confidence: float
    delta: float
    n_runs: int
    n_with_canary: int
    n_without_canary: int
    true_positives: int
    false_positives: int
    true_positive_rate: float
    false_positive_rate: float
    false_negative_rate_upper: float
    false_positive_rate_upper: float
    threshold: float
    canary: tuple[tuple[str, Any], ...]
    scores_with_canary: tuple[float, ...]
    scores_without_canary: tuple[float, ...]
    n_training_rows: int
    n_synthetic_rows: int
    seconds: float
    procedure: str
    claimed_epsilon: float | None = None  # the audited model's own epsilon (None: not DP)

    @property
    def verdict(self) -> Verdict:
        """The bound against the model's claim (or, for a model without one, against 0)."""
        return audit_verdict(
            self.epsilon_lower_bound, self.claimed_epsilon, self.confidence, self.n_runs
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (canary values as strings or numbers)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["canary"] = {name: _jsonable(value) for name, value in self.canary}
        for key in ("scores_with_canary", "scores_without_canary"):
            out[key] = [None if math.isinf(v) else v for v in out[key]]
        return out

    def to_json(self, path: str | Path | None = None, *, force: bool = False) -> str:
        """The audit as JSON text; also written (atomically) to ``path`` if given. For
        ``lookalike report ... --audit FILE``, or :meth:`from_dict` after ``json.loads``.
        An existing file at ``path`` is replaced only if ``force`` is true."""
        return dump_json(self.to_dict(), path, force=force)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivacyAudit:
        """The audit back from :meth:`to_dict` (e.g. a JSON file written earlier)."""
        if not isinstance(data, Mapping):
            raise DataError(f"A privacy audit must be an object. Got {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            values["canary"] = tuple((str(k), v) for k, v in dict(values["canary"]).items())
            for key in ("scores_with_canary", "scores_without_canary"):
                values[key] = tuple(math.inf if v is None else float(v) for v in values[key])
            return cls(**values)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"Not a privacy audit (from PrivacyAudit.to_json): {exc}.") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def clopper_pearson_upper(k: int, n: int, alpha: float) -> float:
    """One-sided upper confidence bound, at level ``1 - alpha``, of a binomial proportion.

    >>> round(clopper_pearson_upper(0, 10, 0.05), 4)  # 1 - 0.05 ** (1 / 10)
    0.2589
    """
    if n <= 0 or not 0 <= k <= n:
        raise DataError(f"Clopper-Pearson needs 0 <= k <= n and n > 0. Got k={k}, n={n}.")
    if k == n:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(1.0 - alpha, k + 1, n - k))


def epsilon_lower_bound(
    true_positives: int,
    n_positive: int,
    false_positives: int,
    n_negative: int,
    *,
    delta: float = 0.0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Lower bound on epsilon from a membership test's counts; returns (bound, FNR_up, FPR_up).

    Upper Clopper-Pearson bounds of the false-negative and false-positive rates are taken at level
    ``1 - (1 - confidence) / 2`` each, so that both hold together with probability ``confidence``
    (union bound). Then ``eps >= ln((1 - delta - FNR_up) / FPR_up)`` and, for the test read the
    other way round, ``eps >= ln((1 - delta - FPR_up) / FNR_up)``; the larger of the two (at least 0)
    is returned.

    >>> bound, fnr_up, fpr_up = epsilon_lower_bound(50, 50, 0, 50)
    >>> round(fpr_up, 4), round(bound, 3)  # fpr_up = 1 - 0.025 ** (1 / 50)
    (0.0711, 2.57)
    """
    if not 0 < confidence < 1:
        raise DataError(
            f"The 'confidence' parameter must be in (0, 1). Got {confidence!r} instead."
        )
    if not 0 <= delta < 1:
        raise DataError(f"The 'delta' parameter must be in [0, 1). Got {delta!r} instead.")
    alpha = (1.0 - confidence) / 2.0
    fnr_upper = clopper_pearson_upper(n_positive - true_positives, n_positive, alpha)
    fpr_upper = clopper_pearson_upper(false_positives, n_negative, alpha)
    bounds = [0.0]
    for miss, alarm in ((fnr_upper, fpr_upper), (fpr_upper, fnr_upper)):
        if 1.0 - delta - miss > 0 and alarm > 0:
            bounds.append(math.log((1.0 - delta - miss) / alarm))
    return max(bounds), fnr_upper, fpr_upper


def make_canary(data: pd.DataFrame) -> pd.DataFrame:
    """A rare, extreme row built from the table's own columns, as a one-row DataFrame.

    Numbers and datetimes take the observed extreme on the side of the longer tail (further from
    the median), categories their rarest value (ties by name), booleans the rarer value. Together
    these make a row that sits far from every real row.

    >>> table = pd.DataFrame({"age": [20, 30, 31, 32, 90], "job": ["a", "a", "b", "a", "b"]})
    >>> canary = make_canary(table)
    >>> int(canary["age"].iloc[0]), canary["job"].iloc[0]
    (90, 'b')
    """
    values: dict[str, Any] = {}
    for name in data.columns:
        column = data[name].dropna()
        if column.empty:
            raise DataError(f"Column {name!r} has no values to build a canary from.")
        if pd.api.types.is_bool_dtype(column.dtype) or not (
            pd.api.types.is_numeric_dtype(column.dtype)
            or pd.api.types.is_datetime64_any_dtype(column.dtype)
        ):
            counts = column.astype(str).value_counts()
            rarest = min(counts.items(), key=lambda item: (int(item[1]), str(item[0])))[0]
            values[name] = column[column.astype(str) == rarest].iloc[0]
            continue
        low, high, middle = column.min(), column.max(), column.median()
        values[name] = high if (high - middle) >= (middle - low) else low
    canary = pd.DataFrame({name: [value] for name, value in values.items()})
    return canary.astype(data.dtypes.to_dict())


def audit_privacy(
    make_synthesizer: Callable[[int], _Fittable],
    data: pd.DataFrame | Any,
    *,
    n_runs: int = DEFAULT_RUNS,
    n_synthetic_rows: int | None = None,
    delta: float = 0.0,
    confidence: float = 0.95,
    threshold: float = 1.0,
    canary: pd.DataFrame | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> PrivacyAudit:
    """Audit a generator: a lower bound on its epsilon, from fits with and without a canary row.

    ``make_synthesizer(seed)`` must return a new, unfitted synthesizer with ``fit(table)`` and
    ``sample(n)``, e.g. ``lambda seed: lookalike.Synthesizer(random_state=seed)``.

    Procedure:

    1. A canary is built (:func:`make_canary`: the rarest category and the longer-tail extreme of
       every column), unless given as a one-row ``canary`` table.
    2. ``n_runs`` fits, half of them (chosen at random) on ``data`` plus the canary, half on
       ``data`` alone, each with its own seed; each fit samples ``n_synthetic_rows`` rows
       (default: as many as ``data`` has).
    3. The membership attack: the canary's Gower-like distance (see ``evaluate``) to its closest
       synthetic row, divided by its distance to the closest row of ``data``. A score below
       ``threshold`` (default 1: "the synthetic data holds a row closer to the canary than any
       real row is") says "the canary was in training". The threshold is fixed before the runs,
       so the counts are honest binomial samples; do not tune it on the same runs.
    4. The true- and false-positive counts give Clopper-Pearson upper bounds on the false-negative
       and false-positive rates (each at level ``1 - (1 - confidence) / 2``, so both hold together
       with probability ``confidence``), and ``epsilon >= ln((1 - delta - FNR_up) / FPR_up)``
       (or the same read the other way round) -- see :func:`epsilon_lower_bound`.

    Statistical confidence: with probability at least ``confidence`` over the fits' randomness,
    the generator's true epsilon (at this ``delta``) is at least the returned bound. The bound is
    limited by the number of runs: with ``n`` runs per side and a perfect attack it is
    ``ln((1 - FNR_up) / FPR_up)`` with ``FPR_up = 1 - ((1 - confidence) / 2) ** (1 / n)``, about
    2.6 for 50 + 50 runs at 95 %. Pass the ``delta`` the model claims.

    >>> import lookalike as la
    >>> table = la.datasets.load_adult().head(300)
    >>> audit = audit_privacy(lambda seed: la.Synthesizer(random_state=seed), table, n_runs=4)
    >>> audit.n_with_canary, audit.n_without_canary
    (2, 2)
    """
    started = time.perf_counter()
    if not isinstance(n_runs, int) or isinstance(n_runs, bool) or n_runs < 2:
        raise DataError(f"The 'n_runs' parameter must be an int >= 2. Got {n_runs!r} instead.")
    if not callable(make_synthesizer):
        raise DataError(
            "The 'make_synthesizer' parameter must be a callable that takes a seed and returns a "
            f"synthesizer. Got {type(make_synthesizer).__name__} instead."
        )
    if not isinstance(threshold, int | float) or threshold <= 0:
        raise DataError(f"The 'threshold' parameter must be a number > 0. Got {threshold!r}.")
    table = load_table(data, "data").reset_index(drop=True)
    if canary is None:
        canary = make_canary(table)
    if not isinstance(canary, pd.DataFrame) or canary.shape[0] != 1:
        raise DataError("The 'canary' parameter must be a DataFrame with exactly one row.")
    if list(canary.columns) != list(table.columns):
        raise DataError(
            f"The canary must have the columns of the data {list(table.columns)}. "
            f"Got {list(canary.columns)} instead."
        )
    n_sample = table.shape[0] if n_synthetic_rows is None else n_synthetic_rows
    if not isinstance(n_sample, int) or isinstance(n_sample, bool) or n_sample < 1:
        raise DataError(
            f"The 'n_synthetic_rows' parameter must be an int >= 1. Got {n_synthetic_rows!r}."
        )
    epsilon_lower_bound(0, 1, 0, 1, delta=delta, confidence=confidence)  # validates both
    seed = seed_sequence(random_state, owner="audit_privacy")
    with_canary = pd.concat([table, canary], ignore_index=True)
    prepared = prepare_tables(table, canary, None)
    kinds: tuple[ColumnKind, ...] = prepared.kinds
    encoder = _DistanceEncoding.fit(prepared.real, kinds)
    canary_x = encoder.transform(prepared.synthetic)
    real_x = encoder.transform(prepared.real)
    reference = float(np.sqrt(((real_x - canary_x) ** 2).sum(axis=1)).min()) / encoder.scale
    if reference == 0:
        raise DataError("The canary is identical to a row of the data; it must be a new record.")

    assignment_rng = np.random.default_rng(seed.spawn(1)[0])
    included = np.zeros(n_runs, dtype=bool)
    included[assignment_rng.permutation(n_runs)[: n_runs // 2]] = True
    run_seeds = seed.spawn(n_runs)
    scores = np.empty(n_runs, dtype=np.float64)
    claimed: float | None = None
    for i in range(n_runs):
        run_seed = int(run_seeds[i].generate_state(1)[0] & 0x7FFFFFFF)
        synthesizer = make_synthesizer(run_seed)
        if i == 0:
            epsilon = getattr(synthesizer, "epsilon", None)
            claimed = float(epsilon) if isinstance(epsilon, int | float) else None
        synthesizer.fit(with_canary if included[i] else table)
        synthetic = load_table(synthesizer.sample(n_sample), "synthetic")
        missing = [name for name in prepared.names if name not in synthetic.columns]
        if missing:
            raise DataError(f"The synthesizer's output lacks the columns {missing}.")
        synthetic_x = encoder.transform(
            _canonical(synthetic, prepared.names, kinds, "synthetic", prepared.formats)
        )
        with limited_threads():
            closest = float(np.sqrt(((synthetic_x - canary_x) ** 2).sum(axis=1)).min())
        scores[i] = closest / encoder.scale / reference

    said_in = scores < threshold
    n_in, n_out = int(included.sum()), int((~included).sum())
    true_positives = int((said_in & included).sum())
    false_positives = int((said_in & ~included).sum())
    bound, fnr_upper, fpr_upper = epsilon_lower_bound(
        true_positives, n_in, false_positives, n_out, delta=delta, confidence=confidence
    )
    procedure = (
        f"{n_runs} fits ({n_in} with the canary, {n_out} without), {n_sample} synthetic rows each; "
        f"attack: canary's distance to the closest synthetic row / its distance to the closest of "
        f"{table.shape[0]} real rows < {threshold:g}; Clopper-Pearson upper bounds on FNR and FPR "
        f"at {confidence:.0%} joint confidence; eps >= ln((1 - delta - FNR_up) / FPR_up) with "
        f"delta = {delta:g}"
    )
    return PrivacyAudit(
        epsilon_lower_bound=bound,
        confidence=confidence,
        delta=delta,
        n_runs=n_runs,
        n_with_canary=n_in,
        n_without_canary=n_out,
        true_positives=true_positives,
        false_positives=false_positives,
        true_positive_rate=true_positives / n_in,
        false_positive_rate=false_positives / n_out,
        false_negative_rate_upper=fnr_upper,
        false_positive_rate_upper=fpr_upper,
        threshold=float(threshold),
        canary=tuple((str(name), _jsonable(canary.iloc[0][name])) for name in canary.columns),
        scores_with_canary=tuple(round(float(v), 6) for v in scores[included]),
        scores_without_canary=tuple(round(float(v), 6) for v in scores[~included]),
        n_training_rows=int(table.shape[0]),
        n_synthetic_rows=n_sample,
        seconds=round(time.perf_counter() - started, 3),
        procedure=procedure,
        claimed_epsilon=claimed,
    )
