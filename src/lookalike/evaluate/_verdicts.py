"""Plain-language verdicts, and the thresholds behind them.

Each section is rated "good", "fair" or "poor" (or "not measured"). The thresholds are rules of
thumb from running the metrics on real data against real data (a fresh sample scores "good"
everywhere) and on deliberately broken synthetic data; they are not statistical tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lookalike.control._rules import RuleResult
from lookalike.evaluate._result import UtilityResult, Verdict
from lookalike.evaluate._utility import MIN_TRAINING_ROWS

GOOD, FAIR, POOR, NOT_MEASURED = "good", "fair", "poor", "not measured"
_ORDER = {GOOD: 0, FAIR: 1, POOR: 2}

#: Fidelity is judged on two scores: single columns (mean 1-TVD of columns) and dependence (the
#: mean of the pair and triple scores). With a holdout, each is compared with what the holdout
#: scores (the ceiling): the shortfall must be at most the first number for "good", the second for
#: "fair". Without a holdout, the score itself must reach the absolute thresholds.
#: (On adult, a fresh real sample scores 0.99 / 0.98; the same rows with every column shuffled
#: independently score 0.99 / 0.88: perfect columns, broken relationships. On 1,000-row slices
#: sampling noise lowers both: 0.97 / 0.88 for a fresh sample, 0.97 / 0.82 shuffled.)
FIDELITY_SHORTFALL = {"columns": (0.02, 0.05), "dependence": (0.025, 0.05)}
FIDELITY_ABSOLUTE = {"columns": (0.95, 0.90), "dependence": (0.93, 0.88)}
#: Detection ROC AUC at or below which the tables count as hard / fairly hard to tell apart.
DETECTION_GOOD = 0.60
DETECTION_FAIR = 0.80
#: Utility: synthetic score / real score needed for "good" / "fair".
UTILITY_GOOD = 0.95
UTILITY_FAIR = 0.85
#: Utility is rated only when the real-data model beats chance (ROC AUC 0.5, R² 0) by this much.
UTILITY_MIN_SKILL = 0.05
#: Privacy: DCR share above which synthetic rows sit suspiciously close to training rows.
DCR_SHARE_FAIR = 0.55
DCR_SHARE_POOR = 0.60
#: Privacy: exact-copy share above the holdout's (the chance level) that is "fair" / "poor".
EXCESS_COPIES_FAIR = 0.001
EXCESS_COPIES_POOR = 0.01
#: Privacy: membership-inference ROC AUC above which the attack counts as "fair" / "poor" (a
#: fresh real sample scores 0.50 +- 0.01 with 3,000 people per side).
MIA_AUC_FAIR = 0.55
MIA_AUC_POOR = 0.60
#: Privacy: Anonymeter-style risks are rated by the lower end of their confidence interval, so a
#: rating only drops when the data show the risk: above the first number "fair", the second "poor".
RISK_FAIR = 0.05
RISK_POOR = 0.20
CONFIDENCE_LABEL = "95%"
#: Rules: the largest shortfall of a rule's share of checked rows held in the synthetic table,
#: below that share in the real table, that is "fair" (none at all is "good").
RULE_SHORTFALL_FAIR = 0.01
#: Privacy audit of a model without a claimed epsilon: a lower bound up to this is "fair".
AUDIT_EPSILON_FAIR = 1.0
#: Fewer rows than this in the real, synthetic or holdout table, and every section is shown but
#: not rated: at 200 rows a detection AUC's chance spread is already +-0.06 (3 standard
#: errors), and a single row once rated fidelity "good" and privacy "poor".
MIN_ROWS_RATED = 200


#: The normal quantile of a two-sided 95 % interval (CONFIDENCE_LABEL).
_Z_95 = 1.959964


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def dependence_score(bivariate: float | None, trivariate: float | None) -> float | None:
    """Mean of the pair and triple accuracies that exist."""
    present = [v for v in (bivariate, trivariate) if v is not None]
    return sum(present) / len(present) if present else None


def fidelity_verdict(
    univariate: float,
    bivariate: float | None,
    trivariate: float | None,
    holdout_univariate: float | None,
    holdout_bivariate: float | None,
    holdout_trivariate: float | None,
) -> Verdict:
    scores = {"columns": univariate, "dependence": dependence_score(bivariate, trivariate)}
    ceilings = {
        "columns": holdout_univariate,
        "dependence": dependence_score(holdout_bivariate, holdout_trivariate),
    }
    ratings = []
    for aspect, score in scores.items():
        if score is None:
            continue
        ceiling = ceilings[aspect]
        if ceiling is not None:
            good, fair = FIDELITY_SHORTFALL[aspect]
            shortfall = ceiling - score
            ratings.append(GOOD if shortfall <= good else FAIR if shortfall <= fair else POOR)
        else:
            good, fair = FIDELITY_ABSOLUTE[aspect]
            ratings.append(GOOD if score >= good else FAIR if score >= fair else POOR)
    rating = max(ratings, key=_ORDER.__getitem__)
    text = f"Single columns match the real data to {_pct(univariate)}"
    if bivariate is not None:
        text += f", pairs of columns to {_pct(bivariate)}"
    if trivariate is not None:
        text += f", triples to {_pct(trivariate)}"
    if holdout_univariate is not None:
        ceiling_values = [holdout_univariate, holdout_bivariate, holdout_trivariate]
        text += "; a fresh real sample scores " + " / ".join(
            _pct(v) for v in ceiling_values if v is not None
        )
    return Verdict(rating, text + ".")


def detection_verdict(auc: float | None, n_rows: int = 0, real_rows: str = "training") -> Verdict:
    """``n_rows``: rows per table the classifier saw (for how far below 0.5 chance can reach);
    ``real_rows``: ``"training"`` or ``"holdout"``, the real rows it saw."""
    if auc is None:
        return Verdict(NOT_MEASURED, "Too few rows to train a classifier.")
    if auc <= DETECTION_GOOD:
        rating, how = GOOD, "can hardly tell"
    elif auc <= DETECTION_FAIR:
        rating, how = FAIR, "can partly tell"
    else:
        rating, how = POOR, "can easily tell"
    real = "real ones" if real_rows == "training" else "real holdout rows"
    text = (
        f"A classifier {how} synthetic rows from {real} (ROC AUC {auc:.2f}; 0.50 means "
        "indistinguishable, 1.00 means always told apart)."
    )
    # The AUC's standard error between two equal tables of n rows is sqrt((2n + 1) / (12 n^2)).
    below_chance = n_rows > 0 and auc < 0.5 - 3 * math.sqrt((2 * n_rows + 1) / (12 * n_rows**2))
    if below_chance and real_rows == "training":
        # Cross-validation scores below chance when the synthetic rows follow the training rows'
        # own frequencies: leaving a real row out leaves its twins mostly on the synthetic side.
        # Resampled training rows do this (0.36-0.44 on 600 rows); a fresh sample scores 0.50.
        text += (
            " It scores below chance: the synthetic rows follow the training rows' own "
            "frequencies more closely than a fresh sample would, as copies or close "
            "resamples do. See the privacy section."
        )
    return Verdict(rating, text)


def utility_verdict(
    metric: str,
    ratio: float | None,
    real_score: float | None = None,
    n_synthetic_rows: int | None = None,
) -> Verdict:
    """The synthetic model's share of the real model's score; ``n_synthetic_rows`` counts the
    synthetic rows with a target value.

    >>> utility_verdict("roc_auc", None, 0.9, n_synthetic_rows=0).rating
    'poor'
    """
    if n_synthetic_rows is not None and n_synthetic_rows < MIN_TRAINING_ROWS:
        # No score to compare, but the reason is the synthetic data's own: it is of no use here.
        return Verdict(
            POOR,
            f"The synthetic table has {n_synthetic_rows} row(s) with a value of the target, too "
            "few to train a model on.",
        )
    if ratio is None:
        return Verdict(NOT_MEASURED, "The prediction scores could not be compared.")
    name = "R²" if metric == "r2" else "ROC AUC"
    chance = 0.0 if metric == "r2" else 0.5
    if real_score is not None and real_score < chance + UTILITY_MIN_SKILL:
        # A share of a score near chance is noise over noise (a random target gave 157%).
        return Verdict(
            NOT_MEASURED,
            f"Even a model trained on real data barely predicts the target ({name} "
            f"{real_score:.2f}; chance is {chance:.2f}), so the comparison says nothing.",
        )
    rating = GOOD if ratio >= UTILITY_GOOD else FAIR if ratio >= UTILITY_FAIR else POOR
    return Verdict(
        rating,
        f"A model trained on synthetic data reaches {_pct(ratio)} of the {name} of the same model "
        "trained on real data.",
    )


def privacy_verdict(
    exact: float,
    holdout_exact: float | None,
    training_duplicates: float,
    dcr_share: float | None,
    n_synthetic: int | None = None,
    n_baseline: int | None = None,
) -> Verdict:
    """Copies above their chance level, and the DCR share.

    With the row counts (``n_synthetic``; ``n_baseline`` of the holdout, or of the training
    table without one) the excess of copies is rated by the lower end of its confidence
    interval, as the attacks' risks are: on diabetes_brfss (5 % of rows repeat), disjoint real
    samples of 10,000 rows scored 4.7-5.1 % copies, so a fixed margin of 0.1 point rated a
    model "fair" or "good" by the draw alone.

    >>> privacy_verdict(0.0526, 0.0489, 0.047, None, 30_000, 10_000).rating
    'good'
    >>> privacy_verdict(0.0526, 0.0489, 0.047, None).rating
    'fair'
    >>> verdict = privacy_verdict(0.0526, 0.0489, 0.047, None, 10**6, 10**6)
    >>> verdict.rating, verdict.explanation.split("), ")[1][:38]
    ('fair', '+0.4 points (95% interval +0.3 to +0.4')
    """
    # The chance level of copies: the holdout's share, or without a holdout the share of training
    # rows that have an identical twin among the other training rows.
    baseline = holdout_exact if holdout_exact is not None else training_duplicates
    excess = exact - baseline
    copies = f"{_pct(exact)} of synthetic rows are exact copies of training rows"
    if holdout_exact is not None:
        copies += f" (a fresh real sample: {_pct(holdout_exact)})"
    else:
        copies += (
            f" (training rows duplicated within the training data: {_pct(training_duplicates)})"
        )
    rated = excess
    if n_synthetic and n_baseline:
        spread = _Z_95 * math.sqrt(
            exact * (1 - exact) / n_synthetic + baseline * (1 - baseline) / n_baseline
        )
        rated = excess - spread
        if abs(excess) >= 0.0005 or spread >= 0.0005:
            copies += (
                f", {100 * excess:+.1f} points ({CONFIDENCE_LABEL} interval "
                f"{100 * (excess - spread):+.1f} to {100 * (excess + spread):+.1f})"
            )
    rating = POOR if rated > EXCESS_COPIES_POOR else FAIR if rated > EXCESS_COPIES_FAIR else GOOD
    if dcr_share is None:
        return Verdict(
            rating,
            copies + "; give a holdout table to test whether synthetic rows sit closer to "
            "training rows than fresh real rows do.",
        )
    dcr_rating = (
        POOR if dcr_share > DCR_SHARE_POOR else FAIR if dcr_share > DCR_SHARE_FAIR else GOOD
    )
    rating = max(rating, dcr_rating, key=_ORDER.__getitem__)
    return Verdict(
        rating,
        copies + f"; {_pct(dcr_share)} of synthetic rows are closer to a training row than to a "
        "holdout row (about 50% is ideal).",
    )


def unrated(verdict: Verdict, n_rows: int) -> Verdict:
    """``verdict``'s sentence, not rated: the tables have ``n_rows`` (< MIN_ROWS_RATED) rows."""
    if verdict.rating == NOT_MEASURED:
        return verdict
    return Verdict(
        NOT_MEASURED,
        f"{verdict.explanation} Not rated: {n_rows} rows are too few to rate reliably (each "
        f"table needs at least {MIN_ROWS_RATED}).",
    )


def overall_verdict(
    fidelity: Verdict,
    detection: Verdict,
    utility: UtilityResult | None,
    privacy: Verdict,
    fairness: Verdict | None = None,
    guarantee: Verdict | None = None,
) -> Verdict:
    """The weakest rated section's rating: every section with a verdict counts (fairness and a
    private model's guarantee too), so a poor one is never summed up as "good"."""
    named = {"fidelity": fidelity, "detection": detection, "privacy": privacy}
    if utility is not None:
        named["utility"] = utility.verdict
    if fairness is not None:
        named["fairness"] = fairness
    if guarantee is not None:
        named["guarantee"] = guarantee
    rated = {k: v.rating for k, v in named.items() if v.rating in _ORDER}
    if not rated:
        return Verdict(NOT_MEASURED, "No section could be rated.")
    worst = max(rated.values(), key=_ORDER.__getitem__)
    if worst == GOOD:
        return Verdict(GOOD, "Every measured aspect looks good.")
    weak = [k for k, r in rated.items() if r == worst]
    listed = weak[0] if len(weak) == 1 else ", ".join(weak[:-1]) + " and " + weak[-1]
    verb = "is" if len(weak) == 1 else "are"
    return Verdict(worst, f"The weakest aspect sets the overall rating: {listed} {verb} {worst}.")


def _interval(ci: tuple[float, float]) -> str:
    return f"{ci[0]:.2f}–{ci[1]:.2f}"


def membership_verdict(
    auc: float, tpr_at_1_percent: float, n_members: int, n_non_members: int
) -> Verdict:
    if auc <= MIA_AUC_FAIR:
        rating, how = GOOD, "no better than a coin flip"
        if auc > 0.52:
            how = "hardly better than a coin flip"
    elif auc <= MIA_AUC_POOR:
        rating, how = FAIR, "somewhat better than a coin flip"
    else:
        rating, how = POOR, "clearly better than a coin flip"
    return Verdict(
        rating,
        f"An attacker who sees the synthetic data guesses whether a person was in the training "
        f"data {how} (ROC AUC {auc:.2f} on {n_members:,} training and {n_non_members:,} other "
        f"people; at 1% false alarms it recognises {_pct(tpr_at_1_percent)} of training people).",
    )


_RISK_SENTENCES = {
    "singling out": (
        "Descriptions built from the synthetic data pick out exactly one training person",
        "than they pick out one person the generator never saw",
    ),
    "linkability": (
        "Linking two halves of a person's record through the synthetic data works",
        "for training people than for people the generator never saw",
    ),
}


def attack_risk_verdict(
    attack: str,
    risk: float,
    ci: tuple[float, float],
    main_rate: float,
    baseline_rate: float,
    details: str,
) -> Verdict:
    rating = GOOD if ci[0] <= RISK_FAIR else FAIR if ci[0] <= RISK_POOR else POOR
    # Good with an interval above 0: some extra risk, but not clearly more than RISK_FAIR. It
    # read "works not clearly better" beside an interval of 0.03-0.51, which says it does.
    hedge = "no " if rating == GOOD and ci[0] <= 0 else ""
    how = f"{hedge}more often"
    if attack in _RISK_SENTENCES:
        start, end = _RISK_SENTENCES[attack]
        if attack == "linkability":
            how = f"{hedge}better"
        text = f"{start} {how} {end}"
    else:
        column = details.split("'")[1] if "'" in details else details
        how = f"{hedge}better"
        text = (
            f"Guessing a person's {column} from their other columns with the synthetic data works "
            f"{how} for training people than for people the generator never saw"
        )
    text += f" (risk {risk:.2f}, {CONFIDENCE_LABEL} interval {_interval(ci)}; 0 = no extra risk)"
    if rating == GOOD and ci[0] > 0:
        text += f", though not clearly by more than {RISK_FAIR:.2f}, past which it would rate fair"
    text += "."
    if main_rate <= baseline_rate:
        text += " The attack did no better than random guessing, so this number says little."
    return Verdict(rating, text)


def with_attacks(base: Verdict, attacks: list[Verdict]) -> Verdict:
    """The privacy verdict: the worst of the distance checks and the attacks."""
    rated = [v for v in attacks if v.rating in _ORDER]
    if not rated or base.rating not in _ORDER:
        return base
    worst = max(rated, key=lambda v: _ORDER[v.rating])
    if _ORDER[worst.rating] <= _ORDER[base.rating]:
        return base
    return Verdict(worst.rating, f"{base.explanation} {worst.explanation}")


def rules_verdict(real: Sequence[RuleResult], synthetic: Sequence[RuleResult]) -> Verdict:
    """Does the synthetic table keep each rule at least as often as the real table does?"""
    if not real:
        return Verdict(NOT_MEASURED, "No rules were given.")
    shortfalls = [
        (r.share_held - s.share_held, s)
        for r, s in zip(real, synthetic, strict=True)
        if s.share_held < r.share_held
    ]
    if not shortfalls:
        return Verdict(
            GOOD,
            f"The synthetic rows keep all {len(real)} rule(s) at least as often as the real rows.",
        )
    worst, rule = max(shortfalls, key=lambda item: item[0])
    rating = FAIR if worst <= RULE_SHORTFALL_FAIR else POOR
    return Verdict(
        rating,
        f"The synthetic rows keep {len(shortfalls)} of {len(real)} rule(s) less often than the "
        f"real rows; the worst, {rule.rule!r}, holds in {_pct(rule.share_held)} of checked "
        f"synthetic rows ({100 * worst:.1f} percentage points below the real rows).",
    )


def guarantee_verdict(
    epsilon: float | None, delta: float | None, void: bool, protections: Sequence[str]
) -> Verdict:
    """What the generator's model promises: a claim read from the model, not a measurement."""
    if epsilon is None or delta is None:
        return Verdict(
            NOT_MEASURED,
            "No formal guarantee: the model is not differentially private"
            + (
                ". By default it protects rare values, extremes and small groups"
                if protections
                else ""
            )
            + "; the measurements and attacks show what the synthetic rows leak.",
        )
    if void:
        return Verdict(
            POOR,
            "No guarantee: the model's noise was fixed by the test-only switch, so its privacy "
            "ledger does not hold.",
        )
    return Verdict(
        GOOD,
        f"The model is ({epsilon:.3g}, {delta:.3g})-differentially private: adding or removing "
        "any one person's row changes the chance of any output by at most a factor "
        f"e^{epsilon:.3g} (plus {delta:.3g}). Every step that read the data is in the ledger.",
    )


def audit_verdict(bound: float, claimed: float | None, confidence: float, n_runs: int) -> Verdict:
    """An audit's epsilon lower bound against the model's claim.

    Without a claim (a model that is not DP) the bound itself is rated: 0 means the canary
    attack found no evidence that one row changes the output, up to 1 "fair", above "poor".
    """
    found = (
        f"With {confidence:.0%} confidence over {n_runs} fits, the canary attack shows the "
        f"generator's epsilon is at least {bound:.2f}"
    )
    if claimed is not None:
        if bound <= claimed:
            return Verdict(
                GOOD,
                f"{found}, at or below the {claimed:.3g} the model claims: the audit does not "
                "contradict the guarantee.",
            )
        return Verdict(
            POOR,
            f"{found}, above the {claimed:.3g} the model claims: the guarantee does not hold "
            "for this attack.",
        )
    if bound <= 0:
        return Verdict(
            GOOD,
            f"With {n_runs} fits, the canary attack found no evidence that one row changes the "
            "output (a bound of 0: more runs can only find more).",
        )
    rating = FAIR if bound <= AUDIT_EPSILON_FAIR else POOR
    return Verdict(rating, f"{found}: one unusual row measurably changes the output.")
