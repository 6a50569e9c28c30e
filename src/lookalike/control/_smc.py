"""Sequential importance resampling over the model's own column order: the engine of every control.

A fitted model defines its joint distribution as a chain, ``P(x) = prod_j P(x_j | x_<j)``, drawn
in the model's column order. A control asks for that joint reweighted by a function of some
tokens: ``P'(x) ∝ P(x) * R(x)``, where R is an indicator for conditions (a set, a range), a ratio
of target to model shares for rebalancing, a raking factor for a population shift, or the factor
that makes a target independent of sensitive columns for parity.

The engine draws particles column by column in the model's order. At a column that R depends on,
each particle's token distribution ``P(k | x_<j)`` is multiplied by that column's factor ``m(k)``
and the particle's weight by the mass it kept, ``sum_k P(k | x_<j) m(k)``; the token is then drawn
from the product, renormalised. Particles are resampled (systematically) when the weights grow
uneven, and after the last controlled column the output rows are selected from the particles by
their weights; the columns after it are drawn fresh for each output row. The weighted particles
represent ``P'`` exactly (importance sampling with the optimal proposal at each controlled
column), so the rows are draws from the model's conditional distributions, not from an
approximation of them, and no step can stall: a condition is never checked and retried, it is
imposed on every draw. With ``m`` particles the selection is unbiased per row and the remaining
error is the usual O(1/m) of self-normalised importance sampling (m >= 4,096 per batch).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from lookalike.errors import ConditionError
from lookalike.models._trees import (
    MASKED,
    ColumnModel,
    LeafSampler,
    TokenFilter,
    _draw_ensemble,
    leaf_probabilities,
)

#: Rows of one batch; each batch is its own particle system.
BATCH_ROWS = 65_536
#: At least this many particles per batch, so small requests are still exact draws.
MIN_PARTICLES = 4_096
#: Resample when the effective number of particles drops below this share of them.
_RESAMPLE_SHARE = 0.5

ColumnFactor = Callable[[np.ndarray], np.ndarray]
"""``features (rows, d) -> factor (rows, n_tokens)``: the multiplier of a column's token
distribution for each particle, given the tokens drawn so far (``MASKED`` where not yet)."""

CellCorrection = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]
"""``(cells, weights) -> factor``: a final reweighting of the particles by their controlled
cells (flat indices), computed on the particles themselves so targets hold on the batch; None
when the batch cannot meet the targets (the pilot's factors then stand alone)."""


class ParticleRows(Protocol):
    """Per-row state that an ``allowed`` filter keeps and that must follow the particles.

    Business rules keep, per row, the exact values drawn within bins (see
    :class:`lookalike.control._rule_sampling.RuleSampler`). The filter is called with row ids
    ``start + particle`` where ``start`` is the number of rows already selected; the engine adds
    each batch's particles and, whenever it resamples or selects particles, keeps the state of the
    rows it picked, so a row's state always belongs to that row's tokens.
    """

    def add_rows(self, n_new: int) -> None:
        """Append ``n_new`` rows on which nothing is drawn yet."""

    def select(self, indices: np.ndarray) -> None:
        """Keep the rows ``indices`` in that order (a repeated index copies its row)."""


@dataclass(frozen=True)
class TiltPlan:
    """What to multiply at which model column, and how particles are grouped at the end.

    ``factors`` maps a model column (in the model's order) to its :data:`ColumnFactor`.
    ``cell_of`` maps the particles' tokens to a flat cell index (the joint of the target columns),
    used to stratify the final selection (each cell gets its exact share, +-1 row) and by
    ``correct``; ``names`` labels the factors for messages.
    """

    factors: Mapping[int, ColumnFactor]
    cell_of: Callable[[np.ndarray], np.ndarray] | None = None
    correct: CellCorrection | None = None
    names: Mapping[int, str] = field(default_factory=dict)

    @property
    def last_column(self) -> int:
        return max(self.factors, default=-1)


@dataclass
class Diagnostics:
    """How the particles fared: mass of the constraints, effective sizes, fallbacks."""

    n_particles: int = 0
    n_rows: int = 0
    log_mass: list[float] = field(default_factory=list)
    ess_shares: list[float] = field(default_factory=list)
    distinct_shares: list[float] = field(default_factory=list)
    n_resamples: int = 0
    fallbacks: set[str] = field(default_factory=set)
    corrections_failed: int = 0

    def to_dict(self) -> dict[str, object]:
        mass = float(np.exp(np.mean(self.log_mass))) if self.log_mass else 1.0
        return {
            "n_particles": self.n_particles,
            "model_probability": mass,
            "effective_sample_share": float(np.mean(self.ess_shares)) if self.ess_shares else 1.0,
            "distinct_ancestor_share": (
                float(np.mean(self.distinct_shares)) if self.distinct_shares else 1.0
            ),
            "n_resamples": self.n_resamples,
            "fallbacks": sorted(self.fallbacks),
        }


def sample_tilted_tokens(
    models: list[ColumnModel],
    n_rows: int,
    rng: np.random.Generator,
    plan: TiltPlan,
    *,
    allowed: TokenFilter | None = None,
    particle_rows: ParticleRows | None = None,
    min_particles: int = MIN_PARTICLES,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, Diagnostics]:
    """Draw ``n_rows`` token rows (model order) from ``P(x) * prod factors``, renormalised.

    ``allowed`` (business rules) restricts draws exactly as in :func:`sample_tokens`: the allowed
    tokens' distribution is renormalised before any factor applies; a particle the filter leaves
    no token that a factor keeps weighs 0. ``particle_rows`` is the filter's per-row state,
    which follows the particles (see :class:`ParticleRows`); it ends with one row per output row.
    """
    d = len(models)
    samplers = [[LeafSampler(t.leaf_counts) for t in m.ordered] for m in models]
    overall = [
        _normalise(sum(t.leaf_counts.sum(axis=0, dtype=np.float64) for t in m.ordered)[None, :])
        for m in models
    ]
    out = np.empty((n_rows, d), dtype=np.int32)
    diagnostics = Diagnostics()
    last = plan.last_column
    for start in range(0, n_rows, BATCH_ROWS):
        stop = min(start + BATCH_ROWS, n_rows)
        n_out = stop - start
        m = max(n_out, min_particles)
        diagnostics.n_particles += m
        features = np.full((m, d), MASKED, dtype=np.float32)
        weights = np.ones(m)
        ancestors = np.arange(m)
        log_mass = 0.0
        if particle_rows is not None:
            particle_rows.add_rows(m)
            earlier = np.arange(start)
        for j, model in enumerate(models):
            factor = plan.factors.get(j)
            rows = np.arange(len(features))
            # Particles of weight 0 are never selected; the filter sees only the others, as
            # rules need not (and may not be able to) extend a row the controls already ruled out.
            live = weights > 0
            if factor is None:
                draw = functools.partial(
                    _draw_ensemble,
                    features,
                    j=j,
                    trees=model.ordered,
                    samplers=samplers[j],
                    rng=rng,
                    offset=start,
                )
                if allowed is None or live.all():
                    draw(rows, allowed=allowed)
                else:
                    draw(rows[live], allowed=allowed)
                    draw(rows[~live])
            else:
                probs = leaf_probabilities(model.ordered, features)
                restriction = _live_restriction(allowed, j, features, rows + start, live)
                if restriction is not None:
                    probs = _restrict(probs, restriction, overall[j])
                tilted = probs * factor(features)
                kept = tilted.sum(axis=1)
                if not np.any(weights * kept > 0):
                    # No particle's leaf leaves any mass to the allowed tokens: the constraint has
                    # (almost) no probability given the columns before it. Draw from the column's
                    # overall distribution instead, so sampling never stalls, and say so.
                    diagnostics.fallbacks.add(plan.names.get(j, f"model column {j}"))
                    base = overall[j] if restriction is None else overall[j] * restriction
                    tilted = np.broadcast_to(base, probs.shape) * factor(features)
                    kept = tilted.sum(axis=1)
                    if allowed is not None:
                        # Dead particles were drawn without the filter: they stay dead.
                        kept = np.where(live, kept, 0.0)
                    if not np.any(kept > 0):
                        rules = "" if allowed is None else " together with the rules"
                        raise ConditionError(
                            f"The controls{rules} leave no possible value for "
                            f"{plan.names.get(j, f'model column {j}')}."
                        )
                    weights = np.where(kept > 0, 1.0, 0.0)
                else:
                    weights = weights * kept
                top = float(weights.max())
                log_mass += float(np.log(top))
                weights /= top
                if j < last and _ess_share(weights) < _RESAMPLE_SHARE:
                    pick = _systematic(weights, m, rng)
                    log_mass += float(np.log(weights.mean()))
                    features, tilted, ancestors = features[pick], tilted[pick], ancestors[pick]
                    if particle_rows is not None:
                        particle_rows.select(np.concatenate([earlier, start + pick]))
                    weights = np.ones(m)
                    diagnostics.n_resamples += 1
                features[:, j] = _draw_rows(tilted, rng)
            if j == last:
                if plan.correct is not None and plan.cell_of is not None:
                    cells = plan.cell_of(features)
                    correction = plan.correct(cells, weights)
                    if correction is None:
                        diagnostics.corrections_failed += 1
                    else:
                        weights = weights * correction
                diagnostics.ess_shares.append(_ess_share(weights))
                diagnostics.log_mass.append(log_mass + float(np.log(max(weights.mean(), 1e-300))))
                order = (
                    np.argsort(plan.cell_of(features), kind="stable")
                    if plan.cell_of is not None
                    else np.arange(m)
                )
                pick = order[_systematic(weights[order], n_out, rng)]
                pick = pick[rng.permutation(n_out)]
                features, ancestors = features[pick], ancestors[pick]
                weights = np.ones(n_out)
                if particle_rows is not None:
                    particle_rows.select(np.concatenate([earlier, start + pick]))
                diagnostics.distinct_shares.append(len(np.unique(ancestors)) / n_out)
        out[start:stop] = features.astype(np.int32)
        diagnostics.n_rows += n_out
        if on_batch is not None:
            on_batch(n_out)
    return out, diagnostics


def _live_restriction(
    allowed: TokenFilter | None, j: int, features: np.ndarray, rows: np.ndarray, live: np.ndarray
) -> np.ndarray | None:
    """The filter's restriction of column ``j`` on the live particles (dead ones: none)."""
    if allowed is None or not live.any():
        return None
    if live.all():
        return allowed(j, features, rows)
    part = allowed(j, features[live], rows[live])
    if part is None:
        return None
    restriction = np.ones((len(rows), part.shape[1]), dtype=bool)
    restriction[live] = part
    return restriction


def _normalise(weights: np.ndarray) -> np.ndarray:
    total = weights.sum(axis=1, keepdims=True)
    return np.asarray(weights / np.where(total > 0, total, 1.0))


def _restrict(probs: np.ndarray, restriction: np.ndarray, overall: np.ndarray) -> np.ndarray:
    """Rules' restriction: renormalise over the allowed tokens, as ``_draw_restricted`` does."""
    restricted = probs * restriction
    empty = restricted.sum(axis=1) <= 0
    if empty.any():
        restricted[empty] = overall * restriction[empty]
    return _normalise(restricted)


def _ess_share(weights: np.ndarray) -> float:
    total = float(weights.sum())
    if total <= 0:
        return 0.0
    return total**2 / float((weights**2).sum()) / len(weights)


def _systematic(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` indices drawn with probability proportional to ``weights``, with minimal variance.

    Each index appears ``floor`` or ``ceil`` of its expected count ``k * w_i / sum(w)``, which
    is unbiased and keeps as many distinct particles as the weights allow.
    """
    cumulative = np.cumsum(weights, dtype=np.float64)
    if cumulative[-1] <= 0:
        raise ConditionError("The controls leave no possible row.")
    points = (rng.random() + np.arange(k)) * (cumulative[-1] / k)
    picked: np.ndarray = np.minimum(
        np.searchsorted(cumulative, points, side="right"), len(weights) - 1
    )
    return picked


def _draw_rows(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row with probability proportional to that row's weights (zero rows: 0)."""
    cumulative = np.cumsum(weights, axis=1)
    rank = rng.random(len(weights)) * cumulative[:, -1]
    tokens: np.ndarray = np.minimum((cumulative <= rank[:, None]).sum(axis=1), weights.shape[1] - 1)
    return tokens
