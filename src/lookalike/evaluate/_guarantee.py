"""The privacy a generator claims, read from its model: the DP ledger, or the default protections.

The attacks in :mod:`lookalike.evaluate._attacks` measure what the synthetic rows leak; this says
what the model promised. The model is read through its ``describe()`` summary only, so any
generator that writes the same summary can be shown, and evaluation never depends on sampling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lookalike.errors import DataError
from lookalike.evaluate._result import GuaranteeResult, LedgerEntry
from lookalike.evaluate._verdicts import guarantee_verdict

#: The ledger parameters shown for each step (the others are bookkeeping).
_NOISE_PARAMETERS = ("sigma", "epsilon", "threshold", "chosen")


def ledger_entries(ledger: Mapping[str, Any]) -> tuple[LedgerEntry, ...]:
    """The steps of a model's privacy ledger (``describe()["privacy"]``'s form)."""
    entries = []
    for step in ledger.get("steps", []):
        parameters = step.get("parameters", {})
        noise = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in parameters.items()
            if k in _NOISE_PARAMETERS
        )
        entries.append(
            LedgerEntry(
                step=str(step.get("step")),
                mechanism=str(step.get("mechanism")),
                rho=float(step.get("rho", 0.0)),
                delta=float(step.get("delta", 0.0)),
                noise=noise,
            )
        )
    return tuple(entries)


def describe_guarantee(model: Any) -> GuaranteeResult:
    """The guarantee of a fitted model (anything with lookalike's ``describe()`` summary)."""
    describe = getattr(model, "describe", None)
    if not callable(describe):
        raise DataError(
            "The 'model' parameter must be a fitted lookalike Synthesizer (or another model "
            f"with its describe() summary). Got {type(model).__name__} instead."
        )
    description = describe()
    privacy = description.get("privacy") if isinstance(description, Mapping) else None
    if not isinstance(privacy, Mapping):
        raise DataError("The 'model' parameter's describe() has no 'privacy' section.")
    name = f"{description.get('class', 'model')} (lookalike {description.get('library_version')})"
    private = privacy.get("differential_privacy")
    if isinstance(private, Mapping) and isinstance(private.get("ledger"), Mapping):
        ledger = private["ledger"]
        budget = ledger.get("budget", {})
        epsilon, delta = float(private["epsilon"]), float(private["delta"])
        void = bool(private.get("guarantee_void_test_only_fixed_noise", False))
        return GuaranteeResult(
            model=name,
            epsilon=epsilon,
            delta=delta,
            rho_budget=float(budget.get("rho", 0.0)),
            rho_spent=float(ledger.get("rho_spent", 0.0)),
            accounting=str(ledger.get("accounting", "")),
            steps=ledger_entries(ledger),
            protections=(),
            void=void,
            verdict=guarantee_verdict(epsilon, delta, void, ()),
        )
    protections = _default_protections(privacy)
    return GuaranteeResult(
        model=name,
        epsilon=None,
        delta=None,
        rho_budget=None,
        rho_spent=None,
        accounting=None,
        steps=(),
        protections=protections,
        void=False,
        verdict=guarantee_verdict(None, None, False, protections),
    )


def _default_protections(privacy: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    threshold = privacy.get("rare_threshold")
    if threshold is not None:
        out.append(
            f"categories seen fewer than {threshold} times are emitted as _RARE_, never as "
            "themselves; numeric values too rare to fill a bin are withheld"
        )
        out.append(
            f"the outermost values come from a tail fitted to released quantiles: nothing "
            f"depends on the {int(threshold) - 1} most extreme rows"
        )
    leaf = privacy.get("min_samples_leaf")
    if leaf is not None:
        out.append(
            f"every distribution the trees release aggregates at least {leaf} training rows "
            f"({privacy.get('min_samples_leaf_continuous', leaf)} for a continuous number's "
            f"bin, {privacy.get('min_samples_leaf_any_order', leaf)} for conditioned draws)"
        )
    return tuple(out)
