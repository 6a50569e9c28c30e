"""The frozen values :func:`lookalike.evaluate` returns, and their JSON form."""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from lookalike.control._report import ControlReport
from lookalike.control._rules import RuleReport, RuleResult
from lookalike.errors import DataError
from lookalike.io._files import check_output_path, write_text

#: Version of the JSON layout of :class:`EvaluationResult`.
RESULT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Verdict:
    """A rating ("good", "fair", "poor" or "not measured") and one plain sentence saying why."""

    rating: str
    explanation: str


@dataclass(frozen=True)
class Histogram:
    """Shares of rows per bin (``len(edges) - 1`` bins) of a column in each table."""

    edges: tuple[float, ...]
    real: tuple[float, ...]
    synthetic: tuple[float, ...]


@dataclass(frozen=True)
class ColumnFidelity:
    """How well one column's binned distribution is reproduced."""

    name: str
    kind: str
    accuracy: float
    holdout_accuracy: float | None
    labels: tuple[str, ...]
    real_shares: tuple[float, ...]
    synthetic_shares: tuple[float, ...]
    holdout_shares: tuple[float, ...] | None
    histogram: Histogram | None


@dataclass(frozen=True)
class PairFidelity:
    """How well the joint binned distribution of two columns is reproduced."""

    columns: tuple[str, str]
    accuracy: float
    holdout_accuracy: float | None


@dataclass(frozen=True)
class FidelityResult:
    """Mean accuracies (``1 - TVD``) of one, two and three columns at a time."""

    univariate: float
    bivariate: float | None
    trivariate: float | None
    holdout_univariate: float | None
    holdout_bivariate: float | None
    holdout_trivariate: float | None
    n_real_rows: int
    n_rows_compared: int
    n_pairs: int
    n_triples: int
    columns: tuple[ColumnFidelity, ...]
    pairs: tuple[PairFidelity, ...]
    verdict: Verdict


@dataclass(frozen=True)
class AssociationResult:
    """Pairwise association matrices (None where a column is constant)."""

    measure: str
    columns: tuple[str, ...]
    real: tuple[tuple[float | None, ...], ...]
    synthetic: tuple[tuple[float | None, ...], ...]
    mean_absolute_difference: float | None
    holdout_mean_absolute_difference: float | None


@dataclass(frozen=True)
class DetectionResult:
    """ROC AUC of a classifier separating real from synthetic rows (0.5 = indistinguishable)."""

    auc: float | None
    n_rows_per_table: int
    n_folds: int
    verdict: Verdict
    #: Which real rows the synthetic ones were set against: ``"holdout"`` when one was given
    #: (rows the generator never saw), else ``"training"``.
    real_rows: str = "training"


@dataclass(frozen=True)
class UtilityResult:
    """Scores on the same test rows of a model trained on real and one trained on synthetic."""

    target: str
    task: str
    metric: str
    real_score: float | None
    synthetic_score: float | None
    ratio: float | None
    test_set: str
    n_train_rows: int
    n_synthetic_rows: int
    n_test_rows: int
    verdict: Verdict


@dataclass(frozen=True)
class DistanceHistogram:
    """Shares of synthetic and holdout rows per distance bin."""

    edges: tuple[float, ...]
    synthetic: tuple[float, ...]
    holdout: tuple[float, ...] | None


@dataclass(frozen=True)
class MembershipAttack:
    """One membership-inference score: its ROC AUC and true-positive rates at low false-positive rates."""

    name: str
    auc: float
    tpr_at_1_percent_fpr: float
    tpr_at_0_1_percent_fpr: float


@dataclass(frozen=True)
class MembershipInferenceResult:
    """Can an attacker who sees only the synthetic data tell training members from non-members?

    The headline numbers are those of the strongest attack (highest AUC) in ``attacks``; the ROC
    curve of that attack is kept (on a reduced grid) for the report.
    """

    attack: str
    auc: float
    tpr_at_1_percent_fpr: float
    tpr_at_0_1_percent_fpr: float
    attacks: tuple[MembershipAttack, ...]
    n_members: int
    n_non_members: int
    n_reference_rows: int
    n_synthetic_rows: int
    roc_fpr: tuple[float, ...]
    roc_tpr: tuple[float, ...]
    verdict: Verdict


@dataclass(frozen=True)
class ColumnRisk:
    """Attribute-inference risk when one column is the secret."""

    column: str
    risk: float
    risk_ci: tuple[float, float]
    main_rate: float
    control_rate: float
    baseline_rate: float


@dataclass(frozen=True)
class AttackRisk:
    """An Anonymeter-style risk (Giomi et al. 2023): an attack's success on training records in
    excess of its success on control records (real rows not used for training).

    ``risk = (main_rate - control_rate) / (1 - control_rate)``, clipped to [0, 1]; the rates are
    Wilson-score estimates and ``risk_ci`` propagates their Wilson intervals. ``baseline_rate`` is
    a random-guessing attack: a main rate not above it means the attack itself is too weak to
    say anything.
    """

    attack: str
    risk: float
    risk_ci: tuple[float, float]
    main_rate: float
    control_rate: float
    baseline_rate: float
    n_main: int
    n_control: int
    n_baseline: int
    confidence: float
    details: str
    verdict: Verdict
    columns: tuple[ColumnRisk, ...] = ()


@dataclass(frozen=True)
class PrivacyResult:
    """Exact copies, distances to closest training record and their ratios, vs the holdout; with
    a holdout also the attacks (membership inference and the Anonymeter-style risks)."""

    exact_copy_share: float
    holdout_exact_copy_share: float | None
    training_duplicate_share: float
    dcr_share: float | None
    synthetic_dcr_median: float
    holdout_dcr_median: float | None
    synthetic_dcr_5th_percentile: float
    holdout_dcr_5th_percentile: float | None
    synthetic_nndr_median: float
    holdout_nndr_median: float | None
    n_rows_compared: int
    dcr_histogram: DistanceHistogram
    verdict: Verdict
    membership_inference: MembershipInferenceResult | None = None
    singling_out: AttackRisk | None = None
    linkability: AttackRisk | None = None
    attribute_inference: AttackRisk | None = None


@dataclass(frozen=True)
class GroupFairness:
    """One group (a value of a sensitive column): its representation, fidelity and privacy.

    Fidelity is 1 - TVD between the group's real and synthetic rows (holdout: the ceiling a fresh
    real sample of the group reaches at the same size); ``dcr_share`` is the share of the
    group's synthetic rows closer to a training row than to a holdout row (0.5 is ideal).
    ``concerns`` says in words what looks worse for this group than for the largest one.
    """

    column: str
    group: str
    n_real_rows: int
    n_synthetic_rows: int
    n_holdout_rows: int | None
    real_share: float
    synthetic_share: float
    holdout_share: float | None
    n_rows_compared: int
    univariate: float | None
    bivariate: float | None
    holdout_univariate: float | None
    holdout_bivariate: float | None
    least_faithful_column: str | None
    exact_copy_share: float | None
    holdout_exact_copy_share: float | None
    dcr_share: float | None
    n_dcr_rows: int
    concerns: tuple[str, ...]
    severe: bool = False


@dataclass(frozen=True)
class GroupRates:
    """Rates of positive predictions in one group, for models trained on synthetic and on real."""

    group: str
    n_rows: int
    base_rate: float
    selection_rate: float
    true_positive_rate: float | None
    false_positive_rate: float | None
    real_selection_rate: float
    real_true_positive_rate: float | None
    real_false_positive_rate: float | None


@dataclass(frozen=True)
class ParityResult:
    """Demographic parity and equalized-odds differences (fairlearn's definitions) by one column."""

    column: str
    demographic_parity_difference: float
    equalized_odds_difference: float | None
    real_demographic_parity_difference: float
    real_equalized_odds_difference: float | None
    groups: tuple[GroupRates, ...]


@dataclass(frozen=True)
class FairnessResult:
    """Per-group representation, fidelity and privacy, and downstream parity by sensitive column."""

    sensitive: tuple[str, ...]
    groups: tuple[GroupFairness, ...]
    target: str | None
    positive_label: str | None
    test_set: str | None
    parity: tuple[ParityResult, ...]
    verdict: Verdict


@dataclass(frozen=True)
class LedgerEntry:
    """One step of a differentially private fit: what touched the data, how, and its cost."""

    step: str
    mechanism: str
    rho: float
    delta: float
    noise: str  # the mechanism's parameters, e.g. "sigma=12.3"


@dataclass(frozen=True)
class GuaranteeResult:
    """What the generator promises, read from its model (a claim, where the attacks measure).

    With differential privacy: ``epsilon`` and ``delta`` for adding or removing one row, the zCDP
    budget and what was spent, and every step of the ledger. Without it (the default model):
    ``epsilon`` is None and ``protections`` lists what the model does by default.
    """

    model: str
    epsilon: float | None
    delta: float | None
    rho_budget: float | None
    rho_spent: float | None
    accounting: str | None
    steps: tuple[LedgerEntry, ...]
    protections: tuple[str, ...]
    void: bool  # noise was fixed by the test-only switch: no guarantee at all
    verdict: Verdict


@dataclass(frozen=True)
class RulesResult:
    """How often each business rule holds in the real and in the synthetic table.

    ``real`` and ``synthetic`` are the per-rule results of :func:`lookalike.check_rules` on each
    table (:meth:`real_report` and :meth:`synthetic_report` give them back as reports).
    ``notes`` explains, per rule (None for most), how a rule was checked when it needed more than its text
    (a ``within`` rule without ``allowed`` combinations uses those of the real table);
    ``warnings`` names the rules the real data itself breaks.
    """

    real: tuple[RuleResult, ...]
    synthetic: tuple[RuleResult, ...]
    n_real_rows: int
    n_synthetic_rows: int
    notes: tuple[str | None, ...]
    warnings: tuple[str, ...]
    verdict: Verdict

    def real_report(self) -> RuleReport:
        """The rules on the real table, as :func:`lookalike.check_rules` reports them."""
        return RuleReport(self.real, self.n_real_rows)

    def synthetic_report(self) -> RuleReport:
        """The rules on the synthetic table, as :func:`lookalike.check_rules` reports them."""
        return RuleReport(self.synthetic, self.n_synthetic_rows)


@dataclass(frozen=True)
class EvaluationResult:
    """Everything :func:`lookalike.evaluate` measured; read it, save it as JSON, or render HTML.

    ``summary`` is the overall verdict; every section carries its own. ``settings`` records the
    table sizes, column kinds, seed and library version the numbers were measured with.
    ``excluded_columns`` maps the columns no metric compared (keys and PII, which lookalike
    regenerates) to the reason, e.g. ``{"email": "PII, replaced with fakes"}``; results saved
    before it existed read back with none. ``rules`` (from ``evaluate(..., rules=...)``) and
    ``controls`` (the :class:`~lookalike.ControlReport` of the draw, from
    ``evaluate(..., controls=...)``) are None when not asked for, and in older results; so is
    ``guarantee``, the privacy the generator's model claims (from ``evaluate(..., model=...)``).
    """

    summary: Verdict
    fidelity: FidelityResult
    associations: AssociationResult
    detection: DetectionResult
    utility: UtilityResult | None
    privacy: PrivacyResult
    settings: tuple[tuple[str, Any], ...]
    fairness: FairnessResult | None = None
    excluded_columns: dict[str, str] = field(default_factory=dict)
    rules: RulesResult | None = None
    controls: ControlReport | None = None
    guarantee: GuaranteeResult | None = None
    format_version: int = RESULT_FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (lists, not tuples; no NaN); ``from_dict`` reverses it."""
        out = _to_jsonable(self)
        out["settings"] = {key: _to_jsonable(value) for key, value in self.settings}
        return dict(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. a JSON file written earlier)."""
        if not isinstance(data, dict):
            raise DataError(
                f"An evaluation result must be a dict. Got {type(data).__name__} instead."
            )
        version = data.get("format_version")
        if version != RESULT_FORMAT_VERSION:
            raise DataError(
                f"Evaluation result format_version must be {RESULT_FORMAT_VERSION}. Got {version!r}."
            )
        data = dict(data)
        settings = data.get("settings", {})
        data["settings"] = [[key, value] for key, value in settings.items()]
        built = from_jsonable(cls, data, "result")
        if not isinstance(built, cls):  # pragma: no cover - from_jsonable returns the class
            raise DataError("Evaluation result could not be rebuilt.")
        return built

    def to_json(self, path: str | Path | None = None, *, force: bool = False) -> str:
        """The result as JSON text; also written (atomically) to ``path`` if given.

        An existing file at ``path`` is replaced only if ``force`` is true, as for
        :meth:`Synthesizer.save <lookalike.Synthesizer.save>`.
        """
        return dump_json(self.to_dict(), path, force=force)

    def to_html(
        self, path: str | Path | None = None, *, extra: Sequence[Any] = (), force: bool = False
    ) -> str:
        """A self-contained HTML report; also written (atomically) to ``path`` if given.

        An existing file at ``path`` is replaced only if ``force`` is true. ``extra`` adds sections after the evaluation's own: results of
        :func:`lookalike.stress_test`, :func:`lookalike.experiment` and
        :func:`lookalike.audit_privacy` (each with its verdict, figure and table). They stay
        separate values: evaluation needs no model.
        """
        # Imported here: report renders results, so it comes after evaluate in the data flow.
        from lookalike.report import render_html

        if path is not None:
            # Fail before the (slow) rendering if the file could not be written anyway.
            _check_directory(path)
            check_output_path(path, force=force)
        html = render_html(self, extra=extra)
        if path is not None:
            write_text_atomically(path, html, force=force)
        return html

    def __repr__(self) -> str:
        parts = [f"overall={self.summary.rating}", f"fidelity={self.fidelity.verdict.rating}"]
        parts.append(f"detection={self.detection.verdict.rating}")
        if self.utility is not None:
            parts.append(f"utility={self.utility.verdict.rating}")
        parts.append(f"privacy={self.privacy.verdict.rating}")
        return f"EvaluationResult({', '.join(parts)})"


def _check_directory(path: str | Path) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise DataError(
            f"Cannot write {str(target)!r}: directory {str(target.parent)!r} does not exist."
        )
    return target


def dump_json(data: dict[str, Any], path: str | Path | None = None, *, force: bool = False) -> str:
    """``data`` as indented JSON text (NaN refused); also written (atomically) to ``path``."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    if path is not None:
        write_text_atomically(path, text, force=force)
    return text


def write_text_atomically(path: str | Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` through a temporary file; an existing file only if ``force``.

    The same writer as for models and tables, so every output refuses to overwrite and gets
    the permissions the umask gives (not the 0600 of a private temporary file).
    """
    _check_directory(path)
    return write_text(text, path, force=force)


def _to_jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def from_jsonable(annotation: Any, value: Any, where: str) -> Any:
    """Rebuild ``value`` (JSON data) as ``annotation`` says: frozen dataclasses, tuples, dicts.

    ``where`` names the field in error messages. Keys that the dataclass does not have are
    ignored, so results written by a newer version (with more fields) still read back.
    """
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        return from_jsonable(next(a for a in options if a is not type(None)), value, where)
    if is_dataclass(annotation) and isinstance(annotation, type):
        if not isinstance(value, dict):
            raise DataError(f"Result field {where!r} must be an object. Got {value!r}.")
        hints = typing.get_type_hints(annotation)
        kwargs = {}
        for f in fields(annotation):
            if f.name in value:
                kwargs[f.name] = from_jsonable(hints[f.name], value[f.name], f"{where}.{f.name}")
        try:
            return annotation(**kwargs)
        except TypeError as exc:
            raise DataError(f"Result field {where!r} is incomplete: {exc}.") from None
    if origin is dict:
        key_type, value_type = typing.get_args(annotation)
        if not isinstance(value, dict):
            raise DataError(f"Result field {where!r} must be an object. Got {value!r}.")
        return {
            from_jsonable(key_type, k, where): from_jsonable(value_type, v, f"{where}[{k!r}]")
            for k, v in value.items()
        }
    if origin is tuple:
        args = typing.get_args(annotation)
        if not isinstance(value, list):
            raise DataError(f"Result field {where!r} must be a list. Got {value!r}.")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_jsonable(args[0], v, f"{where}[]") for v in value)
        return tuple(from_jsonable(a, v, f"{where}[]") for a, v in zip(args, value, strict=False))
    if annotation is float and isinstance(value, int | float):
        return float(value)
    return value
