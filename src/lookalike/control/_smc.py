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
uneven, and at the last controlled column the output rows are selected from the particles by
their weights; the columns after it are drawn fresh for each output row. The weighted particles
represent ``P'`` exactly (importance sampling with the optimal proposal at each controlled
column), so the rows are draws from the model's conditional distributions, not from an
approximation of them, and no step can stall: a condition is never checked and retried, it is
imposed on every draw. With ``m`` particles the selection is unbiased per row and the remaining
error is the usual O(1/m) of self-normalised importance sampling (m >= 4,096 per batch).

Distinct rows. Selecting ``n`` rows from ``n`` particles copies every particle whose weight is
above the mean: when the controlled column comes late in the order (a condition on adult's
``income``, its last column), about half the rows repeated another row's every token. So a batch
draws a pool of ``k * n`` particles, ``k`` chosen by a small pilot such that a particle's
expected number of copies, ``n w_i / sum(w)``, stays below one for all but about 0.5 % of the
rows (``k`` is about the largest weight over the mean weight, at most 8). Systematic resampling
then gives each particle its expected count rounded up or down, so a pool that large selects
almost every row from a different particle. The pool changes only how many particles represent
``P'``, not what they represent: every row is still a draw from ``P'`` (the pilot only sets
``k``, a tuning choice made before the batch is drawn, and its particles are not used). Without
cells to stratify by, the rows are also selected just before the last controlled column is
drawn (a particle's weight depends only on the columns before it), so copies still differ there.
Pools cost time in proportion: on adult, conditioning on ``income`` draws about 4 particles per
row, on ``sex`` about 3.5. Look-ahead factors on single earlier columns (the pilot's mean weight
per token) were tried and dropped: they moved the weights' spread to the kept mass of the
twisted column and never made the pool smaller. So were proposals from the any-order trees
given the condition (for ``relationship`` and ``marital_status`` under ``sex``, mixed with the
model's own draw): the effective sample grew from 39 % to 50 % of the particles, but the
ratios of the model's to the proposal's probabilities have a long upper tail, and the pool,
which the largest weights set, grew from 3.5 to 5 to 8 particles per row. With the model's own
draws the pool is already about the smallest a distinct selection allows: ``sex`` given the
columns before it is almost always either ~0 or ~1, so the weights are 0 or near their maximum.

Cost. Each particle costs what an unconditional row costs up to the last controlled column, so
both draw with the same primitives, which change no distribution: tokens come from alias tables
(:class:`~lookalike.models._trees.AliasSampler`, a constant-time draw, where the binary search
over every leaf's weights took a third of a free column's time); rows are gathered with
``np.take``; the first columns, whose trees split on a few tokens only, are drawn from a table
of their trees' mixture per combination of those tokens
(:class:`~lookalike.models._trees.PrefixTable`), without traversing anything. Conditioning
1,000,000 adult rows on age, workclass and sex
(benchmarks/control.py) took 2.3 to 2.8 times the unconditional draw's CPU time over six seeds
(median 2.6); with these draws on the conditioned path alone, 1.1 to 1.4 times, and with them on
both paths 1.6 times (medians of three alternating rounds on an idle machine; the plain draw
got faster too). A quarter of the conditioned path's gain is the report, which checked each
row's category in Python. Under rules, free columns draw through
:func:`~lookalike.models._trees.draw_allowed`, as plain sampling under rules does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from lookalike.control._filters import combine_filters
from lookalike.errors import ConditionError
from lookalike.models._trees import (
    MASKED,
    AliasSampler,
    ColumnModel,
    Patterns,
    PrefixTable,
    TokenFilter,
    TokenTree,
    alias_sampler,
    allowed_mass,
    as_patterns,
    draw_allowed,
    leaf_probabilities,
    pick_trees,
    prefix_table,
    take_rows,
)

#: Rows of one batch; each batch is its own particle system.
BATCH_ROWS = 65_536
#: At least this many particles per batch, so small requests are still exact draws.
MIN_PARTICLES = 4_096
#: Resample when the effective number of particles drops below this share of them.
_RESAMPLE_SHARE = 0.5
#: At most this many particles per output row (the pool the rows are selected from).
MAX_POOL = 8.0
#: The pool is sized so that at most about this share of rows copy another row's particle.
_DUPLICATE_SHARE = 0.005
#: Particles of the pilot that sizes the pool.
PILOT_PARTICLES = 4_096
#: Particles of one batch at most: a pool of k per row makes batches of fewer rows.
MAX_BATCH_PARTICLES = 4 * BATCH_ROWS

ColumnFactor = Callable[[np.ndarray], np.ndarray]
"""``features (rows, d) -> factor (rows, n_tokens)``: the multiplier of a column's token
distribution for each particle, given the tokens drawn so far (``MASKED`` where not yet)."""

CellCorrection = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]
"""``(cells, weights) -> factor``: a final reweighting of the particles by their controlled
cells (flat indices), computed on the particles themselves so targets hold on the batch; None
when the batch cannot meet the targets (the pilot's factors then stand alone)."""


@dataclass(frozen=True)
class TokenMask:
    """A :data:`ColumnFactor` that is the same for every particle: a condition's allowed tokens.

    The engine draws such a column from the trees' masked leaves directly, without building
    every particle's whole token distribution.
    """

    weights: np.ndarray  # (n_tokens,): 1 for allowed tokens, 0 for the others

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return self.weights[None, :]


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


@dataclass(frozen=True)
class RuleWeights:
    """Business rules that condition the draw: ``P'(x) ∝ P(x) * [x obeys the rules]``.

    ``allowed`` restricts the columns as any filter does. At the model columns in ``columns``
    each particle is also weighed by the share of its leaf's mass the rules keep there
    (:func:`~lookalike.models._trees.allowed_mass`), so the rows are draws from the model given
    the rules, as a condition's are. Restricted without that weight, the columns drawn before
    a rule's were left as if there were no rule: ``air_time > 100`` kept the short routes and
    stretched their flights (air time against distance: correlation 0.26, real 0.92).
    ``rows`` is the rules' per-row state (:class:`ParticleRows`). ``waived(j, features)``
    marks the particles on which a rule on column ``j`` does not bind because another of its
    columns is missing (a missing value satisfies every rule): they lose, on average, the share
    the particles it binds lose (see :func:`_waived_like_the_rest`). ``given`` restricts a
    column as ``allowed`` does, but its mass is not weighed: what a link leaves a column it
    recomputes anyway (the particles keep the share of it the rules keep).
    """

    allowed: TokenFilter
    columns: frozenset[int]
    rows: ParticleRows | None = None
    waived: Callable[[int, np.ndarray], np.ndarray | None] | None = None
    given: TokenFilter | None = None


@dataclass
class Diagnostics:
    """How the particles fared: mass of the constraints, effective sizes, fallbacks."""

    n_particles: int = 0
    n_rows: int = 0
    log_mass: list[float] = field(default_factory=list)
    ess_shares: list[float] = field(default_factory=list)
    distinct_shares: list[float] = field(default_factory=list)
    distinct_ancestor_shares: list[float] = field(default_factory=list)
    pool_factor: float = 1.0
    n_resamples: int = 0
    fallbacks: set[str] = field(default_factory=set)
    corrections_failed: int = 0
    pilot_weights: np.ndarray = field(default_factory=lambda: np.empty(0))

    def to_dict(self) -> dict[str, object]:
        mass = float(np.exp(np.mean(self.log_mass))) if self.log_mass else 1.0
        if self.fallbacks:
            # A fallback column was drawn outside the model: the mass the particles kept after
            # it describes the fallback draw, not the model, which gave the constraints none.
            mass = 0.0
        return {
            "n_particles": self.n_particles,
            "model_probability": mass,
            "effective_sample_share": float(np.mean(self.ess_shares)) if self.ess_shares else 1.0,
            "pool_factor": self.pool_factor,
            "distinct_particle_share": (
                float(np.mean(self.distinct_shares)) if self.distinct_shares else 1.0
            ),
            "distinct_ancestor_share": (
                float(np.mean(self.distinct_ancestor_shares))
                if self.distinct_ancestor_shares
                else 1.0
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
    rules: RuleWeights | None = None,
    pilot_rules: RuleWeights | None = None,
    min_particles: int = MIN_PARTICLES,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, Diagnostics]:
    """Draw ``n_rows`` token rows (model order) from ``P(x) * prod factors``, renormalised.

    ``allowed`` restricts draws exactly as in :func:`sample_tokens`: the allowed tokens'
    distribution is renormalised before any factor applies; a particle the filter leaves
    no token that a factor keeps weighs 0. ``particle_rows`` is the filter's per-row state,
    which follows the particles (see :class:`ParticleRows`); it ends with one row per output row.
    ``rules`` also weigh the particles (:class:`RuleWeights`): ``P(x) * prod factors`` given
    the rules; ``pilot_rules`` are the same rules with their own state, for the pilot that sizes
    the pool.
    """
    engine = _Engine(models, plan, rng, rules)
    diagnostics = Diagnostics()
    out = np.empty((n_rows, len(models)), dtype=np.int32)
    weighed = bool(plan.factors) or rules is not None
    pool = engine.pool_factor(n_rows, min_particles, pilot_rules) if weighed else 1.0
    diagnostics.pool_factor = pool
    batch_rows = max(1, min(BATCH_ROWS, int(MAX_BATCH_PARTICLES / pool)))
    if rules is not None:
        particle_rows = rules.rows
    for start in range(0, n_rows, batch_rows):
        stop = min(start + batch_rows, n_rows)
        n_out = stop - start
        m = max(int(np.ceil(pool * n_out)), min_particles) if weighed else n_out
        out[start:stop] = engine.draw_batch(
            n_out,
            m,
            start,
            allowed=allowed,
            rules=rules,
            particle_rows=particle_rows,
            diagnostics=diagnostics,
        )
        diagnostics.n_rows += n_out
        if on_batch is not None:
            on_batch(n_out)
    return out, diagnostics


class _Engine:
    """The particle system of one call: the columns' samplers and the plan's factors."""

    def __init__(
        self,
        models: list[ColumnModel],
        plan: TiltPlan,
        rng: np.random.Generator,
        rules: RuleWeights | None = None,
    ) -> None:
        self.models = models
        self.plan = plan
        self.rng = rng
        # The column at which the output rows are selected from the particles.
        self.last = max(plan.last_column, max(rules.columns, default=-1) if rules else -1)
        n_tokens = [m.ordered[0].leaf_counts.shape[1] for m in models]
        self.prefix = [prefix_table(m.ordered, j, n_tokens) for j, m in enumerate(models)]
        self.samplers = [
            [alias_sampler(t) for t in m.ordered] if table is None else [table.sampler]
            for m, table in zip(models, self.prefix, strict=True)
        ]
        self.overall = [
            _normalise(sum(t.leaf_counts.sum(axis=0, dtype=np.float64) for t in m.ordered)[None, :])
            for m in models
        ]
        self.masked = {
            j: _MaskedColumn(models[j].ordered, factor.weights, self.prefix[j])
            for j, factor in plan.factors.items()
            if isinstance(factor, TokenMask)
        }

    def pool_factor(
        self, n_rows: int, min_particles: int, rules: RuleWeights | None = None
    ) -> float:
        """Particles per output row such that few rows repeat another's constrained prefix.

        A pilot (what it decides is a tuning choice, never a change of distribution; under
        ``rules``, their own state's) gives the weights ``w`` at the last controlled column,
        scaled to mean 1.
        Selecting ``n`` rows from ``k * n``
        particles gives particle ``i`` about ``w_i / k`` copies (systematic resampling: the
        floor or the ceiling), so the share of rows that copy another is about ``E[(w - k)+]``;
        ``k`` is the smallest pool that keeps it under ``_DUPLICATE_SHARE``, at most
        ``MAX_POOL``. That share is a statistic of the weights' upper tail: a pilot of
        ``PILOT_PARTICLES`` put it anywhere from 0.4 % to 1.1 % on adult (conditions on age,
        workclass and sex), so large requests, for which the pilot costs little, use up to
        four times as many particles (0.4 % to 0.8 %).
        """
        if min_particles >= MAX_POOL * n_rows:
            return 1.0
        size = int(np.clip(n_rows // 16, PILOT_PARTICLES, 4 * PILOT_PARTICLES))
        weights = self.pilot_weights(size, rules)
        return _pool_for(weights / weights.mean()) if weights.any() else 1.0

    def pilot_weights(
        self, size: int = PILOT_PARTICLES, rules: RuleWeights | None = None
    ) -> np.ndarray:
        """The weights of ``size`` particles at the last controlled column."""
        diagnostics = Diagnostics()
        particle_rows = None if rules is None else rules.rows
        self.draw_batch(
            size,
            size,
            0,
            diagnostics=diagnostics,
            rules=rules,
            particle_rows=particle_rows,
            pilot=True,
        )
        return diagnostics.pilot_weights

    def draw_batch(
        self,
        n_out: int,
        m: int,
        start: int,
        *,
        diagnostics: Diagnostics,
        allowed: TokenFilter | None = None,
        rules: RuleWeights | None = None,
        particle_rows: ParticleRows | None = None,
        pilot: bool = False,
    ) -> np.ndarray:
        """``n_out`` token rows drawn through ``m`` particles.

        A ``pilot`` stops at the last controlled column and leaves its particles and their
        weights in ``diagnostics``.
        """
        models, plan, rng = self.models, self.plan, self.rng
        d = len(models)
        last = self.last
        # Without cells to stratify or correct by, the rows are selected before the last
        # controlled column is drawn (its weight depends only on the columns before it), so
        # copies of one particle still differ there.
        select_early = plan.cell_of is None
        diagnostics.n_particles += m
        state = _Particles(
            features=np.full((m, d), MASKED, dtype=np.float32),
            weights=np.ones(m),
            ancestors=np.arange(m),
            start=start,
            rows=particle_rows,
        )
        if particle_rows is not None:
            particle_rows.add_rows(m)
        restricting = combine_filters(allowed, None if rules is None else rules.allowed)
        for j, model in enumerate(models):
            factor = plan.factors.get(j)
            weighed = rules is not None and j in rules.columns
            if factor is None and not weighed:
                restriction = _live_restriction(
                    restricting, j, state.features, state.row_ids(), state.weights > 0
                )
                draw_allowed(
                    state.features,
                    j,
                    model.ordered,
                    self.samplers[j],
                    self.prefix[j],
                    rng,
                    restriction,
                )
                if pilot and j == last:  # a pilot without the rules that end the selection
                    diagnostics.pilot_weights = state.weights
                    return state.features
                continue
            if factor is None:
                assert rules is not None
                if self._draw_ruled(j, state, allowed, rules, n_out, diagnostics, pilot):
                    return state.features
                continue
            tilted: _Tilted
            masked = self.masked.get(j)
            fast = (
                masked.tilt(state.features) if masked is not None and restricting is None else None
            )
            if fast is not None and np.any(state.weights * fast.kept > 0):
                tilted, state.weights = fast, state.weights * fast.kept
            else:
                tilted, state.weights = self._dense_tilt(
                    j, factor, state, allowed, rules if weighed else None, restricting, diagnostics
                )
            state.normalise()
            if pilot and j == last:
                diagnostics.pilot_weights = state.weights
                return state.features
            if j < last and _ess_share(state.weights) < _RESAMPLE_SHARE:
                tilted = tilted.take(state.resample(m, rng, diagnostics))
            if j == last and select_early:
                tilted = tilted.take(state.select(n_out, rng, diagnostics))
            state.features[:, j] = tilted.draw(rng)
            if j == last and not select_early:
                state.select_by_cells(plan, n_out, rng, diagnostics)
        return state.features.astype(np.int32)

    def _draw_ruled(
        self,
        j: int,
        state: _Particles,
        allowed: TokenFilter | None,
        rules: RuleWeights,
        n_out: int,
        diagnostics: Diagnostics,
        pilot: bool,
    ) -> bool:
        """Draw column ``j`` under the rules, weighing each particle by the mass they keep
        (see :class:`RuleWeights`); True when a ``pilot`` stops here."""
        trees = self.models[j].ordered
        rng = self.rng

        def restrictions() -> tuple[Patterns | None, Patterns | None]:
            live, ids = state.weights > 0, state.row_ids()
            base = _live_restriction(allowed, j, state.features, ids, live)
            ruled = _live_restriction(rules.allowed, j, state.features, ids, live)
            return base, ruled

        base, ruled = restrictions()
        pick = pick_trees(len(trees), len(state.features), rng)
        leaves = np.full(len(state.features), -1, dtype=np.int64)  # walked once, drawn from
        both = ruled if base is None or ruled is None else ruled & base
        if ruled is not None:
            assert both is not None
            kept = allowed_mass(trees, state.features, both, pick, leaves)
            open_filter = _with_given(base, rules, j, state)
            if open_filter is not None:
                # The share of what the other filters leave (they restrict, never weigh).
                open_mass = allowed_mass(trees, state.features, open_filter, pick, leaves)
                kept = np.where(open_mass > 0, kept / np.maximum(open_mass, 1e-300), 0.0)
            if rules.waived is not None:
                kept = _waived_like_the_rest(kept, rules.waived(j, state.features), state.weights)
            weighed = state.weights * kept
            if weighed.any():
                state.weights = weighed
                state.normalise()
            # Else the rules leave every row no mass under the model (they contradict it, or a
            # link): the rows are drawn from the column's overall distribution within the rules
            # (see draw_allowed), unweighed, as they were before rules weighed rows.
        if pilot and j == self.last:
            diagnostics.pilot_weights = state.weights
            return True
        chosen = None
        if j < self.last and _ess_share(state.weights) < _RESAMPLE_SHARE:
            chosen = state.resample(len(state.weights), rng, diagnostics)
        elif j == self.last and self.plan.cell_of is None:
            chosen = state.select(n_out, rng, diagnostics)
        if chosen is not None:
            pick, leaves = pick[chosen], leaves[chosen]
            base, ruled = restrictions()
            both = ruled if base is None or ruled is None else ruled & base
        restriction = base if ruled is None else both
        draw_allowed(
            state.features,
            j,
            trees,
            self.samplers[j],
            self.prefix[j],
            rng,
            restriction,
            pick,
            leaves,
        )
        if j == self.last and self.plan.cell_of is not None:
            state.select_by_cells(self.plan, n_out, rng, diagnostics)
        return False

    def _dense_tilt(
        self,
        j: int,
        factor: ColumnFactor,
        state: _Particles,
        allowed: TokenFilter | None,
        rules: RuleWeights | None,
        restricting: TokenFilter | None,
        diagnostics: Diagnostics,
    ) -> tuple[_Tilted, np.ndarray]:
        """Column ``j``'s tilted distributions of every particle, and the updated weights.

        The restriction of ``restricting`` is renormalised over; where ``rules`` weigh this
        column, only that of ``allowed`` is, and the rules' share of the mass stays in the weight.
        """
        plan = self.plan
        features, weights = state.features, state.weights
        live, rows = weights > 0, state.row_ids()
        table = self.prefix[j]
        probs = (
            table.mixture[table.key(features)]
            if table is not None
            else leaf_probabilities(self.models[j].ordered, features)
        )
        if rules is None:
            patterns = _live_restriction(restricting, j, features, rows, live)
        else:
            patterns = _with_given(
                _live_restriction(allowed, j, features, rows, live), rules, j, state
            )
        restriction = None if patterns is None else patterns.dense_weights()
        if restriction is not None:
            probs = _restrict(probs, restriction, self.overall[j])
        ruled = None if rules is None else _live_restriction(rules.allowed, j, features, rows, live)
        rule_weights = None if ruled is None else ruled.dense_weights()
        tilted = probs * factor(features)
        if rule_weights is not None:
            assert rules is not None
            free = tilted.sum(axis=1)
            tilted = tilted * rule_weights
            waived = None if rules.waived is None else rules.waived(j, features)
            if waived is not None:
                # The rules' share of each particle's mass, scaled as in _draw_ruled.
                share = np.divide(tilted.sum(axis=1), free, out=np.zeros(len(free)), where=free > 0)
                scaled = _waived_like_the_rest(share, waived, weights * free)
                ratio = np.divide(scaled, share, out=np.ones(len(share)), where=share > 0)
                tilted = tilted * ratio[:, None]
        kept = tilted.sum(axis=1)
        if np.any(weights * kept > 0):
            return _DenseTilted(tilted), weights * kept
        # No particle's leaf leaves any mass to the allowed tokens: the constraint has (almost)
        # no probability given the columns before it. Draw from the column's overall
        # distribution instead, so sampling never stalls, and say so.
        diagnostics.fallbacks.add(plan.names.get(j, f"model column {j}"))
        base = self.overall[j] if restriction is None else self.overall[j] * restriction
        if rule_weights is not None:
            base = base * rule_weights
        tilted = np.broadcast_to(base, probs.shape) * factor(features)
        kept = tilted.sum(axis=1)
        if restricting is not None:
            # Dead particles were drawn without the filter: they stay dead.
            kept = np.where(live, kept, 0.0)
        if not np.any(kept > 0):
            with_rules = "" if restricting is None else " together with the rules"
            raise ConditionError(
                f"The controls{with_rules} leave no possible value for "
                f"{plan.names.get(j, f'model column {j}')}."
            )
        return _DenseTilted(tilted), np.where(kept > 0, 1.0, 0.0)


def _record_distinct(
    diagnostics: Diagnostics, pick: np.ndarray, ancestors: np.ndarray, n_out: int
) -> None:
    diagnostics.distinct_shares.append(_n_distinct(pick) / n_out)
    diagnostics.distinct_ancestor_shares.append(_n_distinct(ancestors) / n_out)


def _n_distinct(indices: np.ndarray) -> int:
    """How many different values ``indices`` (particle numbers, >= 0) hold."""
    return int(np.count_nonzero(np.bincount(indices))) if len(indices) else 0


def _pool_for(scaled: np.ndarray) -> float:
    """The smallest pool factor whose selection copies at most ``_DUPLICATE_SHARE`` of rows."""
    low, high = 1.0, MAX_POOL
    if _copy_share(scaled, low) <= _DUPLICATE_SHARE:
        return low
    if _copy_share(scaled, high) > _DUPLICATE_SHARE:
        return high
    for _ in range(20):
        middle = (low + high) / 2
        if _copy_share(scaled, middle) > _DUPLICATE_SHARE:
            low = middle
        else:
            high = middle
    return high


def _copy_share(scaled: np.ndarray, k: float) -> float:
    """Share of rows that copy another when ``n`` are selected from ``k * n`` particles."""
    return float(np.maximum(scaled - k, 0.0).mean())


class _Tilted(Protocol):
    """A controlled column's tilted token distribution per particle, ready to draw from."""

    def take(self, pick: np.ndarray) -> _Tilted: ...

    def draw(self, rng: np.random.Generator) -> np.ndarray: ...


@dataclass(frozen=True)
class _DenseTilted:
    weights: np.ndarray  # (particles, n_tokens), unnormalised

    def take(self, pick: np.ndarray) -> _DenseTilted:
        return _DenseTilted(self.weights[pick])

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return _draw_rows(self.weights, rng)


@dataclass(frozen=True)
class _MaskedTilted:
    column: _MaskedColumn
    leaves: np.ndarray  # (n_trees, particles): each tree's leaf
    masses: np.ndarray  # (n_trees, particles): the mass each tree's leaf keeps

    @property
    def kept(self) -> np.ndarray:
        kept: np.ndarray = self.masses.mean(axis=0)
        return kept

    def take(self, pick: np.ndarray) -> _MaskedTilted:
        return _MaskedTilted(
            self.column, np.take(self.leaves, pick, axis=1), np.take(self.masses, pick, axis=1)
        )

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return self.column.draw(self.leaves, self.masses, rng)


class _MaskedColumn:
    """A column whose factor is a fixed mask: the tilted draw without dense distributions.

    The ensemble's distribution is the average of its trees' leaves, so the masked mixture
    picks a tree with probability proportional to the mass its leaf keeps, then a token from
    that leaf's masked counts: the same draw as the dense product, in a fraction of the time.
    When the column has a :class:`PrefixTable`, the masked mixture of every combination of the
    tokens its trees split on is tabulated instead, and a particle looks its combination up.
    """

    def __init__(
        self, trees: tuple[TokenTree, ...], mask: np.ndarray, prefix: PrefixTable | None = None
    ) -> None:
        self.trees = trees
        self.fallback = int(np.argmax(mask))
        self.prefix = prefix
        if prefix is not None:
            masked_mixture = prefix.mixture * mask[None, :]
            self.kept_by_key = masked_mixture.sum(axis=1)
            self.keyed_sampler = AliasSampler(masked_mixture)
            return
        masked = [t.leaf_counts.astype(np.float64) * mask[None, :] for t in trees]
        self.leaf_mass = [
            m.sum(axis=1) / np.maximum(t.leaf_counts.sum(axis=1, dtype=np.float64), 1e-300)
            for m, t in zip(masked, trees, strict=True)
        ]
        self.samplers = [AliasSampler(m) for m in masked]

    def tilt(self, features: np.ndarray) -> _MaskedTilted | _KeyedTilted:
        if self.prefix is not None:
            key = self.prefix.key(features)
            return _KeyedTilted(self, key, self.kept_by_key[key])
        leaves = np.stack([t.leaves(features) for t in self.trees])
        masses = np.stack([mass[leaf] for mass, leaf in zip(self.leaf_mass, leaves, strict=True)])
        return _MaskedTilted(self, leaves, masses)

    def draw(self, leaves: np.ndarray, masses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = leaves.shape[1]
        tokens = np.full(n, self.fallback, dtype=np.int64)
        if len(self.trees) == 1:
            tree = np.zeros(n, dtype=np.intp)
        else:
            cumulative = np.cumsum(masses, axis=0)
            rank = rng.random(n) * cumulative[-1]
            tree = np.minimum((cumulative <= rank[None, :]).sum(axis=0), len(self.trees) - 1)
        alive = masses[tree, np.arange(n)] > 0
        for t, sampler in enumerate(self.samplers):
            rows = np.flatnonzero((tree == t) & alive)
            if len(rows):
                tokens[rows] = sampler.draw(leaves[t, rows], rng)
        return tokens

    def draw_keyed(self, key: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        tokens = self.keyed_sampler.draw(key, rng)
        # A combination that keeps no mass has weight 0 and is never selected.
        return np.where(self.kept_by_key[key] > 0, tokens, self.fallback)


@dataclass(frozen=True)
class _KeyedTilted:
    column: _MaskedColumn
    key: np.ndarray  # (particles,): the combination of the tokens the trees split on
    kept: np.ndarray  # (particles,): the mass the mask keeps

    def take(self, pick: np.ndarray) -> _KeyedTilted:
        return _KeyedTilted(self.column, self.key[pick], self.kept[pick])

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return self.column.draw_keyed(self.key, rng)


def _live_restriction(
    allowed: TokenFilter | None, j: int, features: np.ndarray, rows: np.ndarray, live: np.ndarray
) -> Patterns | None:
    """The filter's restriction of column ``j`` on the live particles (dead ones: none)."""
    if allowed is None or not live.any():
        return None
    if live.all():
        return as_patterns(allowed(j, features, rows))
    part = as_patterns(allowed(j, features[live], rows[live]))
    if part is None:
        return None
    part = part.eager()  # its cut shares are the live rows'
    # The dead particles take an extra pattern that allows every token.
    width = part.allowed.shape[1]
    index = np.full(len(rows), len(part.allowed), dtype=np.intp)
    index[live] = part.index
    share = None if part.share is None else np.vstack([part.share, np.ones((1, width))])
    return Patterns(np.vstack([part.allowed, np.ones((1, width), dtype=bool)]), index, share)


def _with_given(
    base: Patterns | None, rules: RuleWeights, j: int, state: _Particles
) -> Patterns | None:
    """``base`` and what the links alone leave column ``j`` (``rules.given``): the restriction
    the particles are renormalised over, not weighed by."""
    if rules.given is None:
        return base
    live = state.weights > 0
    given = _live_restriction(rules.given, j, state.features, state.row_ids(), live)
    return given if base is None else base if given is None else base & given


def _waived_like_the_rest(
    kept: np.ndarray, waived: np.ndarray | None, weights: np.ndarray
) -> np.ndarray:
    """``kept`` with the waived particles' shares scaled so that, weighed, each group of them
    (``waived``: which rules each waives, 0 for none) keeps on average what the particles
    the rules all bind keep.

    A missing value satisfies every rule, and the rules leave the model's share of missing
    values as it was: unweighed by ``y > x``, the rows whose ``x`` was missing kept all their
    mass while the others kept half, and 27 % of the rows came out without ``x`` (15 % in the
    model). Under ``y > x`` and ``y > z`` a row missing ``x`` keeps what ``y > z`` leaves it;
    scaled with the rows missing both, by one factor, those came out 14.5 % (8.3 %). Within a
    group the rows' own restrictions still tell them apart: only the scale is shared.

    >>> _waived_like_the_rest(np.array([0.5, 0.3, 1.0, 0.5]),
    ...                       np.array([0, 0, 1, 1]), np.ones(4)).tolist()
    [0.5, 0.3, 0.5333333333333333, 0.26666666666666666]
    """
    if waived is None:
        return kept
    live = weights > 0
    bound = live & (waived == 0)
    if not bound.any():
        return kept
    rest = float(np.dot(kept[bound], weights[bound]) / weights[bound].sum())
    scaled = kept.copy()
    for code in np.unique(waived[live & (waived != 0)]):
        free = live & (waived == code)
        own = float(np.dot(kept[free], weights[free]) / weights[free].sum())
        if own > 0:
            scaled[free] *= rest / own
    return scaled


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


@dataclass
class _Particles:
    """One batch's particles: their tokens so far, weights, first ancestors, and the rows of
    the filters' per-row state (``start`` rows of earlier batches come first)."""

    features: np.ndarray
    weights: np.ndarray
    ancestors: np.ndarray
    start: int
    rows: ParticleRows | None
    log_mass: float = 0.0

    def row_ids(self) -> np.ndarray:
        return np.arange(len(self.features)) + self.start

    def normalise(self) -> float:
        """Scale the weights to a largest of 1; the log of the scale (the constraints' mass)."""
        top = float(self.weights.max())
        self.weights = self.weights / top
        self.log_mass += float(np.log(top))
        return top

    def take(self, pick: np.ndarray) -> np.ndarray:
        self.features = take_rows(self.features, pick)
        self.ancestors = self.ancestors[pick]
        self.weights = np.ones(len(pick))
        if self.rows is not None:
            self.rows.select(np.concatenate([np.arange(self.start), self.start + pick]))
        return pick

    def resample(self, m: int, rng: np.random.Generator, diagnostics: Diagnostics) -> np.ndarray:
        """Systematic resampling of ``m`` particles (their weights grew uneven)."""
        pick = _systematic(self.weights, m, rng)
        self.log_mass += float(np.log(self.weights.mean()))
        diagnostics.n_resamples += 1
        return self.take(pick)

    def select(self, n_out: int, rng: np.random.Generator, diagnostics: Diagnostics) -> np.ndarray:
        """The output rows, selected by weight in random order."""
        self._record_mass(diagnostics)
        pick = _systematic(self.weights, n_out, rng)
        pick = pick[rng.permutation(n_out)]
        self.take(pick)
        _record_distinct(diagnostics, pick, self.ancestors, n_out)
        return pick

    def select_by_cells(
        self, plan: TiltPlan, n_out: int, rng: np.random.Generator, diagnostics: Diagnostics
    ) -> None:
        """The output rows, selected by weight within the targets' cells (each its share)."""
        assert plan.cell_of is not None
        if plan.correct is not None:
            correction = plan.correct(plan.cell_of(self.features), self.weights)
            if correction is None:
                diagnostics.corrections_failed += 1
            else:
                self.weights = self.weights * correction
        self._record_mass(diagnostics)
        order = np.argsort(plan.cell_of(self.features), kind="stable")
        pick = order[_systematic(self.weights[order], n_out, rng)]
        pick = pick[rng.permutation(n_out)]
        self.take(pick)
        _record_distinct(diagnostics, pick, self.ancestors, n_out)

    def _record_mass(self, diagnostics: Diagnostics) -> None:
        diagnostics.ess_shares.append(_ess_share(self.weights))
        mean = max(float(self.weights.mean()), 1e-300)
        diagnostics.log_mass.append(self.log_mass + float(np.log(mean)))
