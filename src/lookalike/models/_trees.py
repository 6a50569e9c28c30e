"""Any-order conditional trees over tokens.

For each column j a classification tree predicts token j from the other columns' tokens, where
columns not yet known are masked (-1). It is trained on two copies of the data: one with the
default column order's mask (columns before j visible), which makes unconditional sampling as
good as a fixed-order sequential model, and one with the mask of a random column order per row,
which teaches every tree to predict from any subset of columns. Sampling any subset of columns
given any other subset is then a sequence of exact draws from the trees' leaf distributions.

Each leaf holds at least ``min_samples_leaf`` training rows, so every released distribution is
an aggregate of several records. Trees are stored as plain arrays (no pickle) and traversed in
numpy, so loading a model never runs code from the file.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from sklearn.tree import DecisionTreeClassifier

MASKED = -1
_BATCH_ROWS = 65_536
#: Rounds of drawing a token and keeping it by its lazily weighed share (see :func:`draw_allowed`)
#: before the rows still turned away draw from their exact weights.
_CUT_ROUNDS = 3


class CutShares(Protocol):
    """The shares of tokens a filter weighs only when drawn (see :attr:`Patterns.cut`)."""

    def __call__(
        self, rows: np.ndarray, tokens: np.ndarray, trees: np.ndarray | None = None
    ) -> np.ndarray:
        """Per row (a position among the filter call's rows), the share of ``tokens`` it keeps,
        where the row draws from tree ``trees`` of the column's (None: from their mixture)."""
        ...


#: The most columns one tree is offered (see :func:`fit_column_models`).
MAX_TREE_FEATURES = 40
#: Rows on which :func:`column_dependence` measures the columns' dependence.
_DEPENDENCE_ROWS = 20_000


@dataclass(frozen=True)
class Patterns:
    """A restriction that groups of rows share: row i may take the tokens ``allowed[index[i]]``.

    Rules give most rows one of a few patterns of allowed tokens (``age >= 21`` is one pattern
    for every row; ``end >= start`` one per token of ``start``), so the sampler works on the
    patterns and never on a (rows, tokens) array.

    ``share`` (optional, same shape as ``allowed``) is the part of an allowed token's mass a row
    may take: a bin that a bound cuts keeps only its values inside the bound, so its probability
    is its model probability times that part (``None``: whole tokens).

    ``cut`` (optional, same shape) marks tokens whose share is a row's own and costly to work
    out; ``cut_shares`` gives it for the rows that draw them, which keep the token with that
    probability and otherwise draw again (:func:`draw_allowed`). That is exact, and rows that
    never draw a cut token never pay for its share.

    >>> p = Patterns(np.array([[True, False], [True, True]]), np.array([1, 0, 0]))
    >>> p.dense().tolist()
    [[True, True], [True, False], [True, False]]
    >>> cut = Patterns(np.array([[True, True]]), np.array([0, 0, 0]), np.array([[1.0, 0.25]]))
    >>> (p & cut).dense_weights().tolist()
    [[1.0, 0.25], [1.0, 0.0], [1.0, 0.0]]
    """

    allowed: np.ndarray  # bool (patterns, tokens)
    index: np.ndarray  # int (rows,): each row's pattern
    share: np.ndarray | None = None  # float (patterns, tokens) in (0, 1] where allowed
    cut: np.ndarray | None = None  # bool (patterns, tokens): shares given by cut_shares
    cut_shares: CutShares | None = None

    def dense(self) -> np.ndarray:
        """The (rows, tokens) array of allowed tokens."""
        dense: np.ndarray = self.allowed[self.index]
        return dense

    def weights(self) -> np.ndarray:
        """Each pattern's multiplier of the tokens' probabilities (0 where not allowed)."""
        weights = self.allowed.astype(np.float64)
        return weights if self.share is None else weights * self.share

    def dense_weights(
        self, rows: np.ndarray | None = None, trees: np.ndarray | None = None
    ) -> np.ndarray:
        """The (rows, tokens) array of :meth:`weights`, cut tokens at each row's share (of
        every row, or of ``rows``, drawing from tree ``trees`` each, see :class:`CutShares`)."""
        rows = np.arange(len(self.index)) if rows is None else rows
        weights: np.ndarray = self.weights()[self.index[rows]]
        if self.cut is not None and self.cut_shares is not None:
            at, token = np.nonzero(self.cut[self.index[rows]])
            if len(at):
                tree = None if trees is None else trees[at]
                weights[at, token] *= self.cut_shares(rows[at], token, tree)
        return weights

    def eager(self) -> Patterns:
        """The same restriction with every share worked out (a pattern per row when cut)."""
        if self.cut is None:
            return self
        weights = self.dense_weights()
        allowed = weights > 0
        return Patterns(allowed, np.arange(len(self.index)), np.where(allowed, weights, 1.0))

    def whole(self) -> np.ndarray:
        """Per pattern: whether it allows every token, each whole (the row is unrestricted)."""
        whole = np.asarray(self.allowed.all(axis=1))
        if self.share is not None:
            whole &= np.asarray((self.share >= 1.0).all(axis=1))
        if self.cut is not None:
            whole &= ~self.cut.any(axis=1)
        return whole

    def __and__(self, other: Patterns) -> Patterns:
        """Tokens both allow, row by row (a pattern for each pair of patterns that occurs)."""
        if self.cut is not None and other.cut is not None:
            return self.eager() & other.eager()
        some, index = group_rows([self.index, other.index], len(self.index))
        mine, theirs = self.index[some], other.index[some]
        both = self.allowed[mine] & other.allowed[theirs]
        lazy = self if self.cut is not None else other
        cut = None
        if lazy.cut is not None:
            cut = lazy.cut[mine if lazy is self else theirs] & both
        if self.share is None and other.share is None:
            return Patterns(both, index, None, cut, lazy.cut_shares)
        share = self.weights()[mine] * other.weights()[theirs]
        return Patterns(both, index, share, cut, lazy.cut_shares)

    @classmethod
    def of(cls, allowed: np.ndarray) -> Patterns:
        """The distinct rows of a (rows, tokens) array of allowed tokens."""
        if len(allowed) == 0:
            return cls(allowed, np.zeros(0, dtype=np.intp))
        words = _pattern_words(allowed)
        # Each row's words as one opaque value: np.unique then groups equal rows exactly.
        rows = np.ascontiguousarray(words).view(np.dtype((np.void, words.shape[1] * 8)))[:, 0]
        _, first, index = np.unique(rows, return_index=True, return_inverse=True)
        return cls(allowed[first], index.reshape(-1))


TokenFilter = Callable[[int, np.ndarray, np.ndarray], "np.ndarray | Patterns | None"]
"""``(j, features, rows) -> allowed``: which tokens column ``j`` may take in each of ``rows``.

``features`` holds the batch's tokens so far (drawn or fixed, ``MASKED`` where not yet known) for
exactly those rows, ``rows`` their positions in the whole sample. The result is a boolean array
(rows, n_tokens of column j) or the same as :class:`Patterns`, or ``None`` when the column is
unrestricted for these rows. The draw is then from the model's distribution restricted to the
allowed tokens (each scaled by its :attr:`Patterns.share`, when given) and renormalised.
"""


def group_rows(keys: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows equal in every key (small integers) form a group: ``(some, index)`` gives one row
    of each group and each row's group.

    >>> some, index = group_rows([np.array([3, 3, 5, 3]), np.array([0, 1, 0, 0])], 4)
    >>> index.tolist(), sorted(index[some].tolist())
    ([0, 1, 2, 0], [0, 1, 2])
    """
    code = np.zeros(n, dtype=np.int64)
    size = 1
    for key in keys:
        key = np.asarray(key, dtype=np.int64)
        if not len(key):
            continue
        lowest = int(key.min())
        span = int(key.max()) - lowest + 1
        if span == 1:
            continue
        if size * span > 1 << 40:
            code, size = _compact(code, size)
        code = code * span + (key - lowest)
        size *= span
    code, size = _compact(code, size)
    some = np.zeros(size, dtype=np.intp)
    some[code] = np.arange(n)  # any row of the group will do
    return some, code


def _compact(code: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Codes renumbered 0..k-1 (the k that occur), and k."""
    # Slots for every possible code where they are few against the rows; else a sort of the
    # rows (4 million slots for 2,000 rows took 12 ms against 0.2 ms).
    if size <= 1 << 22 and size <= 32 * len(code):
        present = np.zeros(size, dtype=bool)
        present[code] = True
        # Numbers written only where a code occurs: a cumulative sum over all ``size`` slots
        # took 4x as long (28 ms a call for 200,000 rows, up to 36 calls a batch under rules).
        occurring = np.flatnonzero(present)
        number = np.empty(size, dtype=np.int64)
        number[occurring] = np.arange(len(occurring))
        return number[code], len(occurring)
    unique, inverse = np.unique(code, return_inverse=True)
    return inverse.reshape(-1), len(unique)


def dense_restriction(restriction: np.ndarray | Patterns | None) -> np.ndarray | None:
    """A filter's result as a (rows, tokens) array of token weights (``None`` stays ``None``):
    1 for a whole allowed token, its share for a cut one, 0 for the others."""
    if isinstance(restriction, Patterns):
        return restriction.dense_weights()
    return restriction


def as_patterns(restriction: np.ndarray | Patterns | None) -> Patterns | None:
    """A filter's result as :class:`Patterns` (``None`` stays ``None``)."""
    if restriction is None or isinstance(restriction, Patterns):
        return restriction
    return Patterns.of(restriction)


@dataclass(frozen=True)
class TokenTree:
    """One column's tree as arrays. Leaves carry token counts; inner nodes carry a split."""

    left: np.ndarray  # int32, -1 at leaves
    right: np.ndarray  # int32
    feature: np.ndarray  # int32, column index of the split
    threshold: np.ndarray  # float32: go left when token <= threshold
    leaf_of_node: np.ndarray  # int32, row of leaf_counts for leaves, -1 inside
    leaf_counts: np.ndarray  # float32 (n_leaves, n_tokens): row counts, smoothed toward the parent

    @property
    def depth(self) -> int:
        depth = np.zeros(len(self.left), dtype=np.int64)
        for node in range(len(self.left)):
            if self.left[node] >= 0:
                depth[self.left[node]] = depth[node] + 1
                depth[self.right[node]] = depth[node] + 1
        return int(depth.max()) if len(depth) else 0

    def leaves(self, features: np.ndarray) -> np.ndarray:
        """Leaf row of each input row."""
        compiled = self._compiled
        if compiled is not None and features.dtype == np.float32 and features.flags.c_contiguous:
            leaves: np.ndarray = self.leaf_of_node[compiled.apply(features)]
            return leaves
        return self.leaves_numpy(features)

    @functools.cached_property
    def _compiled(self) -> Any:
        return _compile_for_sklearn(self)

    def leaves_numpy(self, features: np.ndarray) -> np.ndarray:
        """Leaf row of each input row (vectorised traversal, one step per tree level)."""
        node = np.zeros(len(features), dtype=np.int64)
        flat = features.ravel()
        width = features.shape[1]
        active = np.flatnonzero(self.left[node] >= 0)
        while len(active):
            current = node[active]
            go_left = flat[active * width + self.feature[current]] <= self.threshold[current]
            node[active] = np.where(go_left, self.left[current], self.right[current])
            active = active[self.left[node[active]] >= 0]
        return self.leaf_of_node[node]

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.left": self.left,
            f"{prefix}.right": self.right,
            f"{prefix}.feature": self.feature,
            f"{prefix}.threshold": self.threshold,
            f"{prefix}.leaf_of_node": self.leaf_of_node,
            f"{prefix}.leaf_counts": self.leaf_counts,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> TokenTree:
        return cls(
            left=arrays[f"{prefix}.left"].astype(np.int32),
            right=arrays[f"{prefix}.right"].astype(np.int32),
            feature=arrays[f"{prefix}.feature"].astype(np.int32),
            threshold=arrays[f"{prefix}.threshold"].astype(np.float32),
            leaf_of_node=arrays[f"{prefix}.leaf_of_node"].astype(np.int32),
            leaf_counts=arrays[f"{prefix}.leaf_counts"].astype(np.float32),
        )

    def validate(self, n_columns: int, n_tokens: int) -> str | None:
        """A description of the first inconsistency, or None; guards against tampered files."""
        arrays = (self.left, self.right, self.feature, self.threshold, self.leaf_of_node)
        if any(a.ndim != 1 for a in arrays) or self.leaf_counts.ndim != 2:
            return "arrays have the wrong number of dimensions"
        n_nodes = len(self.left)
        if n_nodes == 0:
            return "empty tree"
        if not (
            len(self.right)
            == len(self.feature)
            == len(self.threshold)
            == len(self.leaf_of_node)
            == n_nodes
        ):
            return "node arrays differ in length"
        inner = self.left >= 0
        # Leaves are marked by -1 exactly: the compiled traversal stops only there.
        if np.any(self.left[~inner] != -1) or np.any(self.right[~inner] != -1):
            return "a leaf has a child"
        children = np.concatenate([self.left[inner], self.right[inner]])
        if children.size and (children.min() <= 0 or children.max() >= n_nodes):
            return "child index out of range"
        # Children always come after their parent in sklearn's layout; this rules out cycles.
        if np.any(self.left[inner] <= np.flatnonzero(inner)) or np.any(
            self.right[inner] <= np.flatnonzero(inner)
        ):
            return "child before parent"
        if inner.any() and (
            self.feature[inner].min() < 0 or self.feature[inner].max() >= n_columns
        ):
            return "split feature out of range"
        leaves = self.leaf_of_node[~inner]
        if leaves.min() < 0 or leaves.max() >= len(self.leaf_counts):
            return "leaf index out of range"
        if self.leaf_counts.ndim != 2 or self.leaf_counts.shape[1] != n_tokens:
            return "leaf counts have the wrong shape"
        if not np.all(np.isfinite(self.leaf_counts)) or np.any(self.leaf_counts < 0):
            return "leaf counts are negative or not finite"
        if np.any(self.leaf_counts.sum(axis=1) <= 0):
            return "a leaf has no counts"
        return None


def _compile_for_sklearn(tree: TokenTree) -> Any:
    """The same tree as a scikit-learn ``Tree``, whose compiled traversal is ~4x faster.

    Built from our arrays (never from a file's bytes); returns None when this scikit-learn's
    node layout is not the one expected, and the numpy traversal is used instead.
    """
    try:
        from sklearn.tree._tree import Tree

        nodes = np.zeros(len(tree.left), dtype=_sklearn_node_dtype())
        inner = tree.left >= 0
        nodes["left_child"] = tree.left
        nodes["right_child"] = tree.right
        nodes["feature"] = np.where(inner, tree.feature, -2)
        nodes["threshold"] = np.where(inner, tree.threshold.astype(np.float64), -2.0)
        n_features = int(tree.feature[inner].max()) + 1 if inner.any() else 1
        compiled = Tree(max(n_features, 1), np.array([1], dtype=np.intp), 1)
        compiled.__setstate__(
            {
                "max_depth": tree.depth,
                "node_count": len(tree.left),
                "nodes": nodes,
                "values": np.zeros((len(tree.left), 1, 1)),
            }
        )
        return compiled
    except (ImportError, KeyError, TypeError, ValueError, AttributeError):
        return None


@functools.cache
def _sklearn_node_dtype() -> np.dtype:
    """The node record of this scikit-learn's trees, read once from a tiny fitted tree (once
    per compiled tree, the probe fit took a tenth of a 2,000-column table's fit)."""
    from sklearn.tree import DecisionTreeClassifier

    probe = DecisionTreeClassifier().fit(np.array([[0.0], [1.0]]), [0, 1])
    dtype: np.dtype = probe.tree_.__getstate__()["nodes"].dtype
    return dtype


def _from_sklearn(
    tree: DecisionTreeClassifier,
    n_tokens: int,
    smoothing: float,
    node_counts: np.ndarray | None = None,
    columns: np.ndarray | None = None,
) -> TokenTree:
    """``node_counts`` (nodes, classes) replaces sklearn's when it grew on weighted rows;
    ``columns`` maps the features the tree saw to the table's columns when it saw only some."""
    t = tree.tree_
    is_leaf = t.children_left < 0
    leaf_of_node = np.full(t.node_count, -1, dtype=np.int32)
    leaf_of_node[is_leaf] = np.arange(int(is_leaf.sum()), dtype=np.int32)
    if node_counts is None:
        # sklearn stores class fractions; times the node's sample count they are the counts.
        fractions = t.value[:, 0, :]
        weights = fractions[is_leaf] * t.n_node_samples[is_leaf, None]
    else:
        fractions = node_counts / np.maximum(node_counts.sum(axis=1, keepdims=True), 1.0)
        weights = node_counts[is_leaf]
    if smoothing > 0:
        # Shrink each leaf toward its parent's distribution: a leaf of a few rows then does not
        # replay exactly those rows' combinations.
        parent = np.zeros(t.node_count, dtype=np.int64)
        inner = np.flatnonzero(~is_leaf)
        parent[t.children_left[inner]] = inner
        parent[t.children_right[inner]] = inner
        weights = weights + smoothing * fractions[parent[is_leaf]]
    full = np.zeros((int(is_leaf.sum()), n_tokens), dtype=np.float32)
    full[:, tree.classes_.astype(np.int64)] = weights
    feature = np.where(is_leaf, 0, t.feature).astype(np.int32)
    if columns is not None:
        feature = np.where(is_leaf, 0, columns[feature]).astype(np.int32)
    return TokenTree(
        left=t.children_left.astype(np.int32),
        right=t.children_right.astype(np.int32),
        feature=feature,
        threshold=t.threshold.astype(np.float32),
        leaf_of_node=leaf_of_node,
        leaf_counts=full,
    )


def _constant_tree(tokens: np.ndarray, n_tokens: int) -> TokenTree:
    counts = np.bincount(tokens, minlength=n_tokens).astype(np.float32)[None, :]
    return TokenTree(
        left=np.array([-1], np.int32),
        right=np.array([-1], np.int32),
        feature=np.array([0], np.int32),
        threshold=np.array([0.0], np.float32),
        leaf_of_node=np.array([0], np.int32),
        leaf_counts=counts.astype(np.float32),
    )


def lookup_tree(
    keys: Mapping[int, np.ndarray], counts: np.ndarray, fallback: np.ndarray
) -> TokenTree:
    """A tree that looks a column's token up: a row whose tokens in the columns of ``keys``
    (a mapping from column index to an array of each key's token) equal key ``i``'s reaches a
    leaf of token counts ``counts[i]``; any other row (a pair never listed, or a column not
    drawn yet) a leaf of ``fallback`` counts. Keys are distinct.

    Tokens are whole numbers, so each listed value ``v`` gets the interval (v - 0.5, v + 0.5].

    >>> tree = lookup_tree({0: np.array([1, 1, 2]), 1: np.array([0, 3, 3])},
    ...                    np.eye(7)[[4, 5, 6]] * 9, np.ones(7))
    >>> rows = np.array([[1, 0], [1, 3], [2, 3], [2, 0], [-1, 3]], dtype=np.float32)
    >>> tree.leaf_counts[tree.leaves(rows)].argmax(axis=1).tolist()
    [4, 5, 6, 0, 0]
    """
    columns = list(keys)
    key_tokens = np.column_stack([keys[c] for c in columns]).astype(np.int64)
    left: list[int] = []
    right: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    leaf_of_node: list[int] = []
    leaves: list[np.ndarray] = []

    def new_node(column: int = 0, at: float = 0.0, leaf: np.ndarray | None = None) -> int:
        left.append(-1)
        right.append(-1)
        feature.append(column)
        threshold.append(at)
        leaf_of_node.append(-1 if leaf is None else len(leaves))
        if leaf is not None:
            leaves.append(leaf)
        return len(left) - 1

    def split(
        node: int, column: int, at: float, below: Callable[[], int], above: Callable[[], int]
    ) -> int:
        feature[node], threshold[node] = columns[column], at
        left[node] = below()
        right[node] = above()
        return node

    def build(rows: np.ndarray, level: int) -> int:
        if level == len(columns):
            return new_node(leaf=np.asarray(counts[rows[0]], dtype=np.float64))
        return between(rows, level, np.unique(key_tokens[rows, level]))

    def between(rows: np.ndarray, level: int, values: np.ndarray) -> int:
        """The subtree of the rows whose token in the level's column is one of ``values``."""
        node = new_node()
        if len(values) > 1:
            cut = values[len(values) // 2 - 1] + 0.5
            low, high = values[values < cut], values[values > cut]
            return split(
                node,
                level,
                cut,
                lambda: between(rows[key_tokens[rows, level] < cut], level, low),
                lambda: between(rows[key_tokens[rows, level] > cut], level, high),
            )
        (value,) = values
        return split(
            node,
            level,
            value - 0.5,
            lambda: new_node(leaf=fallback.astype(np.float64)),
            lambda: split(
                new_node(),
                level,
                value + 0.5,
                lambda: build(rows, level + 1),
                lambda: new_node(leaf=fallback.astype(np.float64)),
            ),
        )

    build(np.arange(len(key_tokens)), 0)
    return TokenTree(
        left=np.asarray(left, dtype=np.int32),
        right=np.asarray(right, dtype=np.int32),
        feature=np.asarray(feature, dtype=np.int32),
        threshold=np.asarray(threshold, dtype=np.float32),
        leaf_of_node=np.asarray(leaf_of_node, dtype=np.int32),
        leaf_counts=np.asarray(leaves, dtype=np.float32),
    )


@dataclass(frozen=True)
class ColumnModel:
    """The trees of one column.

    ``ordered`` trees see exactly the columns before this one in the default order; they draw
    every unconditional row, and conditioned rows whose fixed columns all come earlier. Each was
    grown on a different random part of the rows and a row draws from one picked at random, so the
    column's distribution is their average: smoother than one tree's, and no single small group of
    training rows decides a draw. ``any_order`` sees the earlier columns plus a random subset of
    the later ones, the patterns that conditions on later columns produce. A fine token (a
    number's position inside its bin) has a single tree in both roles (see
    :func:`fit_column_models`).
    """

    ordered: tuple[TokenTree, ...]
    any_order: TokenTree

    @property
    def trees(self) -> tuple[TokenTree, ...]:
        return (*self.ordered, self.any_order)


def fit_column_models(
    tokens: np.ndarray,
    n_tokens: np.ndarray,
    *,
    min_samples_leaf: int,
    min_samples_leaf_any_order: int,
    n_random_orders: int,
    rng: np.random.Generator,
    min_samples_leaf_continuous: int | None = None,
    smoothing_continuous: float | None = None,
    continuous: np.ndarray | None = None,
    min_samples_per_token: float = 0.0,
    n_trees: int = 1,
    row_share: float = 1.0,
    smoothing: float = 0.0,
    min_impurity_decrease: float = 0.0,
    max_rows: int | None = None,
    fine: np.ndarray | None = None,
    missing: np.ndarray | None = None,
    max_features: int = MAX_TREE_FEATURES,
    on_column: Callable[[int], None] | None = None,
    on_dependence: Callable[[int], None] | None = None,
    n_jobs: int = 1,
) -> list[ColumnModel]:
    """Fit the trees of every column of ``tokens`` (rows, columns).

    ``continuous`` (boolean per column) marks the bins of continuous numbers, whose
    default-order trees grow leaves of ``min_samples_leaf_continuous`` rows, shrunk toward their
    parents by ``smoothing_continuous`` pseudo-rows (``None``: the common ``min_samples_leaf``
    and ``smoothing``).

    A category's or discrete number's trees (neither ``continuous`` nor ``fine``) grow leaves
    of at least ``min_samples_per_token`` rows per token of the column, so that a leaf's
    distribution over many values is not a few rows' exact values.

    ``fine`` (boolean per column) marks the columns that refine the column before them (a
    number's position inside its bin). Such a column gets one default-order tree, which also
    serves conditioned rows. Fine tokens are nearly uniform given the earlier columns, so their
    trees grew to full depth on noise: on default_credit (12 of its 36 token columns) their three
    trees each cost as much CPU as all the other default-order trees together. The any-order tree
    learns from the first ensemble tree's rows, not from all of them. Both together cut the fit's
    CPU time by about a third there, for the same qa accuracy and DCR share
    (benchmarks/RESULTS.md).

    A tree offered more than ``max_features`` columns sees only the ``max_features`` that
    :func:`column_dependence` rates highest for its column (a fine token always keeps its own
    bin): on wide tables sklearn's splitter otherwise scans every earlier column at every node.
    ``on_column`` is called after each column's trees, in column order, ``on_dependence`` after
    each column's row of :func:`column_dependence` (measured only then).

    ``n_jobs`` threads grow the trees (scikit-learn's tree builder releases the GIL). Every
    random draw is still made here, in column order, before a tree is handed to a thread, so
    the trees are the same whatever ``n_jobs`` is. At most ``n_jobs + 1`` columns are in flight, and
    only as many as ``_IN_FLIGHT_BYTES`` of training views hold (one always may).
    """
    n, d = tokens.shape
    if d == 0:
        return []
    dependence = (
        column_dependence(tokens, n_tokens, rng, on_column=on_dependence)
        if d - 1 > max_features
        else None
    )
    is_fine = np.zeros(d, dtype=bool) if fine is None else np.asarray(fine, dtype=bool)
    has_missing = np.zeros(d, dtype=bool) if missing is None else np.asarray(missing, dtype=bool)
    is_continuous = (
        np.zeros(d, dtype=bool) if continuous is None else np.asarray(continuous, dtype=bool)
    )
    n_part = min(max(round(row_share * n), 1), max_rows or n)
    parts = [
        np.arange(n) if n_part == n else np.sort(rng.choice(n, n_part, replace=False))
        for _ in range(n_trees)
    ]
    # Sampling always knows every earlier column (drawn or fixed) plus any fixed later ones, so the
    # second tree learns exactly those patterns.
    visible_later = [_later_mask(len(parts[0]), d, rng) for _ in range(n_random_orders)]
    per_token = np.where(
        is_continuous | is_fine, 0, np.ceil(min_samples_per_token * np.asarray(n_tokens))
    ).astype(np.int64)
    with _TreePool(n_jobs, on_column) as pool:
        for j in range(d):
            pool.add(
                _column_tasks(
                    j,
                    tokens,
                    n_tokens,
                    rng,
                    parts=parts,
                    visible_later=visible_later,
                    dependence=dependence,
                    max_features=max_features,
                    is_fine=bool(is_fine[j]),
                    is_continuous=bool(is_continuous[j]),
                    has_missing=bool(has_missing[j]),
                    leaf=(min_samples_leaf_continuous or min_samples_leaf)
                    if is_continuous[j]
                    else max(min_samples_leaf, int(per_token[j])),
                    leaf_any_order=max(min_samples_leaf_any_order, int(per_token[j])),
                    smoothing=smoothing
                    if smoothing_continuous is None or not is_continuous[j]
                    else smoothing_continuous,
                    smoothing_any_order=smoothing,
                    min_impurity_decrease=min_impurity_decrease,
                )
            )
    return pool.models


def _column_tasks(
    j: int,
    tokens: np.ndarray,
    n_tokens: np.ndarray,
    rng: np.random.Generator,
    *,
    parts: list[np.ndarray],
    visible_later: list[np.ndarray],
    dependence: np.ndarray | None,
    max_features: int,
    is_fine: bool,
    is_continuous: bool,
    has_missing: bool,
    leaf: int,
    leaf_any_order: int,
    smoothing: float,
    smoothing_any_order: float,
    min_impurity_decrease: float,
) -> Iterator[_TreeTask]:
    """Column ``j``'s trees, still to grow: its default-order trees, then (unless it is a fine
    token, whose one tree also serves conditioned rows) its any-order tree. Each is prepared
    (its view built, its seed drawn) only when asked for, so one thread holds one view."""
    d = tokens.shape[1]
    rows = parts[0]
    # Views are built straight into float32 (what the trees learn from), with no full-table
    # intermediates: on diabetes_brfss building them took a quarter of the one-thread fit.
    seen: np.ndarray | None = None
    if dependence is not None and j > max_features:
        seen = _earlier_columns_seen(dependence[j], j, is_fine, max_features)
    for part in parts[:1] if is_fine else parts:
        if seen is None:
            ordered = np.full((len(part), d), MASKED, dtype=np.float32)
            ordered[:, :j] = tokens[part, :j]
        else:  # only earlier columns: nothing to mask
            ordered = tokens[np.ix_(part, seen)].astype(np.float32)
        yield _tree_task(
            ordered,
            tokens[part, j],
            int(n_tokens[j]),
            leaf,
            smoothing,
            min_impurity_decrease,
            rng,
            missing=has_missing,
            columns=seen,
            known=j > 0 if seen is None else len(seen) > 0,
        )
    if is_fine:
        return
    others = np.flatnonzero(np.arange(d) != j)
    seen = (
        None
        if dependence is None or len(others) <= max_features
        else _most_dependent(dependence[j], others, max_features)
    )
    # Only the columns the tree sees: masking all of them cost rows x columns per column,
    # quadratic in the width (most of a 2,000-column table's fit).
    at = np.arange(d) if seen is None else seen
    kept_rows = tokens[np.ix_(rows, at)].astype(np.float32)
    any_order = np.full((len(visible_later) * len(rows), len(at)), MASKED, dtype=np.float32)
    known = False
    for i, later in enumerate(visible_later):
        shown = (at < j) | ((at > j) & later[:, at])
        np.copyto(any_order[i * len(rows) : (i + 1) * len(rows)], kept_rows, where=shown)
        known = known or bool(shown.any())
    yield _tree_task(
        any_order,
        np.tile(tokens[rows, j], len(visible_later)),
        int(n_tokens[j]),
        leaf_any_order,
        smoothing_any_order,
        min_impurity_decrease,
        rng,
        missing=has_missing,
        columns=seen,
        known=known,
    )


class _TreePool:
    """Grows each column's trees on ``n_jobs`` threads (inline for one) and assembles the
    columns' models in order. Columns wait their turn while ``n_jobs + 1`` are in flight, or while
    their training views hold more than ``_IN_FLIGHT_BYTES`` (one column always may)."""

    def __init__(self, n_jobs: int, on_column: Callable[[int], None] | None) -> None:
        self.models: list[ColumnModel] = []
        self._on_column = on_column
        self._executor = ThreadPoolExecutor(n_jobs) if n_jobs > 1 else None
        self._pending: deque[tuple[list[Future[TokenTree]], int]] = deque()
        self._limit = n_jobs + 1  # one more than the threads, so none waits for the next column
        self._bytes = 0

    def __enter__(self) -> _TreePool:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._executor is None:
            return
        try:
            while error is None and self._pending:
                self._finish()
        finally:
            # On an error (a tree's, or Ctrl-C) the trees not started are dropped.
            self._executor.shutdown(wait=True, cancel_futures=True)

    def add(self, column_tasks: Iterator[_TreeTask]) -> None:
        if self._executor is None:
            self._assemble([task.grow() for task in column_tasks])  # one view at a time
            return
        tasks = list(column_tasks)
        size = sum(task.nbytes for task in tasks)
        while self._pending and (
            len(self._pending) >= self._limit or self._bytes + size > _IN_FLIGHT_BYTES
        ):
            self._finish()
        self._pending.append(([self._executor.submit(task.grow) for task in tasks], size))
        self._bytes += size

    def _finish(self) -> None:
        futures, size = self._pending.popleft()
        self._assemble([future.result() for future in futures])
        self._bytes -= size

    def _assemble(self, trees: list[TokenTree]) -> None:
        """A column's model from its trees: several default-order trees and an any-order
        one, or a fine token's single tree serving both."""
        ordered = tuple(trees[:-1]) if len(trees) > 1 else tuple(trees)
        self.models.append(ColumnModel(ordered=ordered, any_order=trees[-1]))
        if self._on_column is not None:
            self._on_column(len(self.models) - 1)


def column_dependence(
    tokens: np.ndarray,
    n_tokens: np.ndarray,
    rng: np.random.Generator,
    on_column: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Mutual information (nats) between every pair of token columns, less its chance level.

    Measured on at most ``_DEPENDENCE_ROWS`` rows. Between independent columns of ``a`` and
    ``b`` observed tokens the plug-in estimate averages about ``(a - 1)(b - 1) / 2n``; that
    is subtracted so that many-token columns do not look related by chance alone.

    >>> x = np.array([0, 1] * 50)
    >>> tokens = np.column_stack([x, x, np.arange(100) % 3 // 2])
    >>> m = column_dependence(tokens, np.array([2, 2, 2]), np.random.default_rng(0))
    >>> bool(m[0, 1] > 0.6 > 0.01 > m[0, 2])
    True
    """
    from scipy import sparse

    n, d = tokens.shape
    if n > _DEPENDENCE_ROWS:
        tokens = tokens[np.sort(rng.choice(n, _DEPENDENCE_ROWS, replace=False))]
        n = _DEPENDENCE_ROWS
    sizes = np.asarray(n_tokens, dtype=np.int64)
    offsets = np.r_[0, np.cumsum(sizes)]
    onehot = sparse.csc_matrix(
        (
            np.ones(n * d),
            (np.repeat(np.arange(n), d), (tokens + offsets[:-1]).ravel()),
        ),
        shape=(n, int(offsets[-1])),
    )
    rows = onehot.tocsr()  # the right operand of every product, converted once
    totals = np.asarray(onehot.sum(axis=0)).ravel()
    observed = np.add.reduceat(totals > 0, offsets[:-1])
    dependence = np.zeros((d, d))
    for j in range(d):
        block = slice(int(offsets[j]), int(offsets[j + 1]))
        joint = (onehot[:, block].T @ rows).toarray()
        expected = totals[block, None] * totals[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(joint > 0, joint * np.log(joint * n / expected), 0.0)
        dependence[j] = np.add.reduceat(terms.sum(axis=0), offsets[:-1]) / n
        if on_column is not None:
            on_column(j)
    chance = (observed[:, None] - 1) * (observed[None, :] - 1) / (2.0 * n)
    result: np.ndarray = dependence - chance
    return result


def _most_dependent(dependence: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` candidate columns with the highest dependence, in table order."""
    # A stable sort on the negated scores keeps ties in table order, so fits are reproducible.
    best = candidates[np.argsort(-dependence[candidates], kind="stable")[:k]]
    return np.sort(best)


def _earlier_columns_seen(dependence: np.ndarray, j: int, fine: bool, k: int) -> np.ndarray:
    """The ``k`` columns before ``j`` that column ``j``'s default-order trees see.

    A fine token always sees its own bin (column ``j - 1``): the position inside a bin means
    nothing without the bin, however little the two share overall.

    >>> _earlier_columns_seen(np.array([0.5, 0.4, 0.3, 0.0, 0.0]), 4, True, 3).tolist()
    [0, 1, 3]
    """
    seen = _most_dependent(dependence, np.arange(j), k)
    if fine and j - 1 not in seen:
        # Drop the least dependent of the k, keep table order.
        weakest = seen[np.argsort(-dependence[seen], kind="stable")[-1]]
        seen = np.sort(np.r_[seen[seen != weakest], j - 1])
    return seen


#: Rows of the pilot sample that :func:`calibrate_marginals` draws through the chain: four per
#: training row, within these bounds. Beyond a few times the training rows the pilot's shares
#: are already closer to the model's than the training shares are to the population's.
CALIBRATION_ROWS = (10_000, 50_000)
_CALIBRATION_ROWS_PER_ROW = 4
#: ... and at most this many pilot cells (rows x token columns), but never under the training
#: rows: a 2,000-column table drew 10,000 rows through 3,000 columns for 300 training rows.
#: Tables up to 200 token columns (adult 17, default_credit 36) are unaffected.
_CALIBRATION_CELLS = 10_000_000
#: Passes per column: each rescales by what the last left over (the mixture of trees and the
#: per-leaf renormalisation keep one pass from landing exactly).
_CALIBRATION_PASSES = 3
#: Bounds on a token's factor: calibration corrects drift, it does not rewrite a column.
_CALIBRATION_BOUNDS = (0.5, 2.0)


def calibrate_marginals(
    models: list[ColumnModel],
    tokens: np.ndarray,
    rng: np.random.Generator,
    n_rows: int | None = None,
    on_column: Callable[[int], None] | None = None,
) -> None:
    """Rescale the default-order leaves so each column's drawn marginal is the training one.

    Each tree is right on average over the training rows that reach its leaves, but a sample
    reaches them with drawn earlier columns, whose small errors carry down the chain: on
    default_credit the sixth month's bill came out 0.019 off its training deciles (total
    variation distance; sampling noise 0.010), too much mass on small bills. Here a pilot of
    ``n_rows`` rows (default: see ``CALIBRATION_ROWS``) is drawn column by column in the
    default order; for each column, the pilot's expected token shares (the average of its
    rows' leaf distributions, so the column's own draw adds no noise) are compared with the training shares, and every leaf of the column's
    default-order trees is multiplied token by token by their ratio (bounded to
    ``_CALIBRATION_BOUNDS``) and brought back to its own total. Later columns are then calibrated
    given the calibrated draws. Leaves are edited in place, and what the sampler had built from
    them is dropped. A fine token's single tree also serves conditioned rows, so those get the
    same factors.

    What it releases: one factor per token, a function of the column's training token shares
    (which the leaves already aggregate). A token a leaf never gave weight keeps none, so no
    combination appears that the leaf did not hold.
    """
    d = len(models)
    if n_rows is None:
        low, high = CALIBRATION_ROWS
        n_rows = min(max(_CALIBRATION_ROWS_PER_ROW * len(tokens), low), high)
        n_rows = max(min(n_rows, _CALIBRATION_CELLS // max(d, 1)), min(len(tokens), n_rows))
    features = np.full((n_rows, d), MASKED, dtype=np.float32)
    for j, model in enumerate(models):
        n_tokens = model.ordered[0].leaf_counts.shape[1]
        target = np.bincount(tokens[:, j], minlength=n_tokens) / max(len(tokens), 1)
        reached = [
            np.bincount(t.leaves(features), minlength=len(t.leaf_counts)) for t in model.ordered
        ]
        for _ in range(_CALIBRATION_PASSES):
            drawn = sum(
                (rows[:, None] * _normalise_rows(t.leaf_counts)).sum(axis=0)
                for t, rows in zip(model.ordered, reached, strict=True)
            ) / (n_rows * len(model.ordered))
            factor = np.ones(n_tokens)
            np.divide(target, drawn, out=factor, where=drawn > 0)
            factor = np.clip(factor, *_CALIBRATION_BOUNDS)
            if np.abs(factor - 1.0).max() < 1e-3:
                break
            for tree in model.ordered:
                counts = tree.leaf_counts.astype(np.float64)
                scaled = counts * factor
                scaled *= counts.sum(axis=1, keepdims=True) / np.maximum(
                    scaled.sum(axis=1, keepdims=True), 1e-300
                )
                tree.leaf_counts[:] = scaled
                forget_cached(tree)
        draw_free(features, j, model.ordered, [alias_sampler(t) for t in model.ordered], rng)
        if on_column is not None:
            on_column(j)


def _normalise_rows(counts: np.ndarray) -> np.ndarray:
    counts = counts.astype(np.float64)
    normalised: np.ndarray = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-300)
    return normalised


def _later_mask(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Which columns count as fixed, per row.

    Half the rows fix one to three columns, as typical conditions do (each such pattern then
    has many rows, so the leaves it reaches are well estimated); the other half fix each column
    with a probability drawn per row, which spreads the count evenly, as seed tables that fix
    many columns do.
    """
    spread = rng.random((n, d)) < rng.random((n, 1))
    count = rng.integers(1, 4, size=n)
    # The `count` columns with the smallest random keys are the fixed ones.
    keys = rng.random((n, d))
    kth = np.sort(keys, axis=1)[np.arange(n), np.minimum(count, d) - 1]
    few = keys <= kth[:, None]
    mask: np.ndarray = np.where((np.arange(n) % 2 == 0)[:, None], few, spread)
    return mask


def _tree_task(
    features: np.ndarray,
    target: np.ndarray,
    n_tokens: int,
    min_samples_leaf: int,
    smoothing: float,
    min_impurity_decrease: float,
    rng: np.random.Generator,
    *,
    missing: bool,
    columns: np.ndarray | None,
    known: bool,
) -> _TreeTask:
    """A tree to grow, with its random seed drawn now.

    ``features``: float32 tokens, ``MASKED`` where hidden; ``known``: whether any is not.
    ``columns``: the table columns the ``features``' columns are (None: all, in order).
    """
    if not known or len(target) < 2 * min_samples_leaf:
        return _TreeTask(constant=_constant_tree(target, n_tokens))
    seed = int(rng.integers(2**31 - 1))
    return _TreeTask(
        features,
        target,
        n_tokens,
        min_samples_leaf,
        smoothing,
        min_impurity_decrease,
        seed,
        missing,
        columns,
    )


@dataclass
class _TreeTask:
    """What one tree learns from and how; :meth:`grow` fits it (on any thread)."""

    features: np.ndarray | None = None
    target: np.ndarray | None = None
    n_tokens: int = 0
    min_samples_leaf: int = 1
    smoothing: float = 0.0
    min_impurity_decrease: float = 0.0
    seed: int = 0
    missing: bool = False
    columns: np.ndarray | None = None
    constant: TokenTree | None = None

    @property
    def nbytes(self) -> int:
        return 0 if self.features is None else int(self.features.nbytes)

    def grow(self) -> TokenTree:
        from sklearn.tree import DecisionTreeClassifier

        if self.constant is not None:
            return self.constant
        features, target = self.features, self.target
        assert features is not None and target is not None
        self.features = self.target = None  # a grown task holds no view
        tree = DecisionTreeClassifier(
            min_samples_leaf=self.min_samples_leaf,
            min_impurity_decrease=self.min_impurity_decrease,
            criterion="entropy",
            random_state=self.seed,
        )
        weights = _missing_weights(target, self.n_tokens) if self.missing else None
        if weights is None:
            tree.fit(features, target)
            return _from_sklearn(tree, self.n_tokens, self.smoothing, columns=self.columns)
        tree.fit(features, target, sample_weight=weights)
        # The leaves hold the rows' true counts: the weights only steer which splits are chosen.
        t = tree.tree_
        counts = np.zeros((t.node_count, len(tree.classes_)))
        np.add.at(counts, (tree.apply(features), np.searchsorted(tree.classes_, target)), 1.0)
        # sklearn numbers children after their parent, so one backward pass sums every subtree.
        for node in np.flatnonzero(t.children_left >= 0)[::-1]:
            counts[node] = counts[t.children_left[node]] + counts[t.children_right[node]]
        return _from_sklearn(
            tree, self.n_tokens, self.smoothing, node_counts=counts, columns=self.columns
        )


def _missing_weights(target: np.ndarray, n_tokens: int) -> np.ndarray | None:
    """Row weights that give missing (the last token) and present values equal say in splits.

    Whether a value is missing often follows another column exactly (a cancelled flight has no
    departure, arrival or air time), but a few percent of missing rows make a small entropy gain
    next to the value's own spread, so the greedy splitter chose other columns first and by then
    its leaves were too small to cut the missing rows off (nycflights13: air_time missing in
    61 % of the sampled cancelled flights instead of all of them).
    """
    is_missing = target == n_tokens - 1
    share = float(is_missing.mean())
    if share == 0.0 or share == 1.0:
        return None
    return np.where(is_missing, 0.5 / share, 0.5 / (1.0 - share))


def sample_tokens(
    models: list[ColumnModel],
    n_rows: int,
    rng: np.random.Generator,
    *,
    fixed: np.ndarray | None = None,
    fixed_mask: np.ndarray | None = None,
    allowed: TokenFilter | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Draw token rows; where ``fixed_mask`` is set the token is taken from ``fixed``.

    Free columns are drawn in the default order, each given every fixed column and every column
    drawn before it: an exact draw from the model's conditional distribution, never rejection.
    ``allowed`` restricts, per row, which tokens a free column may take (see :data:`TokenFilter`).
    """
    d = len(models)
    if fixed is None or fixed_mask is None:
        return _sample_free_tokens(models, n_rows, rng, on_batch, allowed)
    samplers = [([alias_sampler(t) for t in m.ordered], alias_sampler(m.any_order)) for m in models]
    out = np.empty((n_rows, d), dtype=np.int32)
    for start in range(0, n_rows, _BATCH_ROWS):
        stop = min(start + _BATCH_ROWS, n_rows)
        features = np.full((stop - start, d), MASKED, dtype=np.float32)
        mask = None
        if fixed is not None and fixed_mask is not None:
            mask = fixed_mask[start:stop]
            features[mask] = fixed[start:stop][mask]
        for j, model in enumerate(models):
            draw = functools.partial(
                _draw_ensemble, features, j=j, rng=rng, allowed=allowed, offset=start
            )
            if mask is None:
                draw(np.arange(stop - start), trees=model.ordered, samplers=samplers[j][0])
                continue
            free = ~mask[:, j]
            # Rows with no fixed column after j see exactly the default prefix.
            prefix = free & ~mask[:, j + 1 :].any(axis=1)
            draw(np.flatnonzero(prefix), trees=model.ordered, samplers=samplers[j][0])
            draw(
                np.flatnonzero(free & ~prefix),
                trees=(model.any_order,),
                samplers=[samplers[j][1]],
            )
        out[start:stop] = features.astype(np.int32)
        if on_batch is not None:
            on_batch(stop - start)
    return out


def _sample_free_tokens(
    models: list[ColumnModel],
    n_rows: int,
    rng: np.random.Generator,
    on_batch: Callable[[int], None] | None,
    allowed: TokenFilter | None = None,
) -> np.ndarray:
    """Rows without fixed columns, with the controlled sampler's primitives (the same distributions).

    Each column comes from its :class:`PrefixTable` when it has one, else from a tree picked at
    random and its leaf's alias table (:func:`draw_free`), so a conditioned draw and a plain one
    cost the same per particle and their times compare the sampling methods, not the code. Under
    ``allowed`` (rules), see :func:`draw_allowed`.
    """
    d = len(models)
    n_tokens = [m.ordered[0].leaf_counts.shape[1] for m in models]
    tables = [prefix_table(m.ordered, j, n_tokens) for j, m in enumerate(models)]
    samplers = [[alias_sampler(t) for t in m.ordered] for m in models]
    out = np.empty((n_rows, d), dtype=np.int32)
    for start in range(0, n_rows, _BATCH_ROWS):
        stop = min(start + _BATCH_ROWS, n_rows)
        features = np.full((stop - start, d), MASKED, dtype=np.float32)
        rows = np.arange(start, stop)
        for j, model in enumerate(models):
            restriction = None if allowed is None else allowed(j, features, rows)
            draw_allowed(features, j, model.ordered, samplers[j], tables[j], rng, restriction)
        out[start:stop] = features.astype(np.int32)
        if on_batch is not None:
            on_batch(stop - start)
    return out


def draw_allowed(
    features: np.ndarray,
    j: int,
    trees: tuple[TokenTree, ...],
    samplers: list[AliasSampler],
    table: PrefixTable | None,
    rng: np.random.Generator,
    restriction: np.ndarray | Patterns | None = None,
    pick: np.ndarray | None = None,
    leaves: np.ndarray | None = None,
) -> None:
    """Fill column ``j`` of every row, each restricted to its allowed tokens (``None``: all).

    Rows that allow every token draw as :func:`draw_free` does, or from the column's
    :class:`PrefixTable`; a row that allows one token (the result of a formula) takes it; the
    others pick a tree at random and draw from its leaf's counts restricted to their allowed
    tokens (:func:`_draw_restricted`'s distribution). Rows share few patterns of allowed tokens
    (see :class:`Patterns`): a pattern that enough rows share gets an alias table over all the
    tree's leaves, built once per tree and pattern, and its rows draw in constant time instead of
    by a per-row search. ``pick`` gives each restricted row its tree (see :func:`allowed_mass`;
    None: one at random), and ``leaves`` its leaf there where already known (-1: not).
    """
    if restriction is None:
        _draw_open(features, j, trees, samplers, table, rng)
        return
    patterns = restriction if isinstance(restriction, Patterns) else Patterns.of(restriction)
    if patterns.cut is None or patterns.cut_shares is None or not patterns.cut.any():
        _draw_patterns(features, j, trees, samplers, table, rng, patterns, pick, leaves)
        return
    _draw_cut(features, j, trees, samplers, table, rng, patterns, pick, leaves)


def _draw_cut(
    features: np.ndarray,
    j: int,
    trees: tuple[TokenTree, ...],
    samplers: list[AliasSampler],
    table: PrefixTable | None,
    rng: np.random.Generator,
    patterns: Patterns,
    pick: np.ndarray | None = None,
    leaves: np.ndarray | None = None,
) -> None:
    """:func:`draw_allowed` with tokens weighed lazily (:attr:`Patterns.cut`).

    A restricted row picks its tree once; a cut token draws at its whole weight from that
    tree's leaf and the row keeps it by its share, drawing again otherwise. That is exactly the
    tree's leaf restricted to the tokens' shares (the eager draw), so after a few rounds the
    rows still turned away draw from those exact weights. (Picking the tree again each round
    favoured the trees that turn rows away less: a token cut to a tenth came out 0.212 for
    0.281.) A row whose only token is cut keeps it; the share still goes to the caller, which
    records it.
    """
    cut, cut_shares = patterns.cut, patterns.cut_shares
    assert cut is not None and cut_shares is not None
    row_kind = np.where(patterns.whole(), 0, np.where(patterns.allowed.sum(axis=1) == 1, 1, 2))[
        patterns.index
    ]
    whole_rows = np.flatnonzero(row_kind < 2)
    if len(whole_rows):
        part = take_rows(features, whole_rows)
        kept = Patterns(patterns.allowed, patterns.index[whole_rows], patterns.share)
        _draw_patterns(
            part, j, trees, samplers, table, rng, kept, None if pick is None else pick[whole_rows]
        )
        features[whole_rows, j] = part[:, j]
        drawn = part[:, j].astype(np.int64)
        alone = np.flatnonzero(cut[patterns.index[whole_rows], drawn])
        if len(alone):
            cut_shares(whole_rows[alone], drawn[alone])
    closed = np.flatnonzero(row_kind == 2)
    if not len(closed):
        return
    pick = pick_trees(len(trees), len(closed), rng) if pick is None else pick[closed]
    leaf = _known_leaves(trees, features, closed, pick, leaves)
    whole = patterns.weights()
    tokens = np.empty(len(closed), dtype=np.int64)
    pending = np.arange(len(closed))
    for _ in range(_CUT_ROUNDS):
        for t, tree in enumerate(trees):
            mine = pending[pick[pending] == t]
            if len(mine):
                index = patterns.index[closed[mine]]
                tokens[mine] = _draw_by_pattern(tree, leaf[mine], whole, index, rng)
        lazy = pending[cut[patterns.index[closed[pending]], tokens[pending]]]
        turned = np.zeros(len(closed), dtype=bool)
        if len(lazy):
            share = cut_shares(closed[lazy], tokens[lazy], pick[lazy])
            turned[lazy] = rng.random(len(lazy)) >= share
        pending = pending[turned[pending]]
        if not len(pending):
            break
    if len(pending):
        weights = patterns.dense_weights(closed[pending], pick[pending])
        for t, tree in enumerate(trees):
            mine = np.flatnonzero(pick[pending] == t)
            if len(mine):
                rows = pending[mine]
                tokens[rows] = _draw_restricted(tree.leaf_counts, leaf[rows], weights[mine], rng)
    features[closed, j] = tokens


def _draw_patterns(
    features: np.ndarray,
    j: int,
    trees: tuple[TokenTree, ...],
    samplers: list[AliasSampler],
    table: PrefixTable | None,
    rng: np.random.Generator,
    patterns: Patterns,
    pick: np.ndarray | None = None,
    leaves: np.ndarray | None = None,
) -> None:
    """:func:`draw_allowed` for patterns whose shares are all known."""
    n_allowed = patterns.allowed.sum(axis=1)
    kind = np.where(patterns.whole(), 0, np.where(n_allowed == 1, 1, 2))
    row_kind = kind[patterns.index]
    if (row_kind == 0).all():
        _draw_open(features, j, trees, samplers, table, rng)
        return
    open_rows = np.flatnonzero(row_kind == 0)
    if len(open_rows):
        part = take_rows(features, open_rows)
        _draw_open(part, j, trees, samplers, table, rng)
        features[open_rows, j] = part[:, j]
    single = np.flatnonzero(row_kind == 1)
    if len(single):
        features[single, j] = np.argmax(patterns.allowed, axis=1)[patterns.index[single]]
    closed = np.flatnonzero(row_kind == 2)
    if not len(closed):
        return
    pick = pick_trees(len(trees), len(closed), rng) if pick is None else pick[closed]
    leaf = _known_leaves(trees, features, closed, pick, leaves)
    tokens = np.empty(len(closed), dtype=np.float32)
    weights = patterns.weights()
    for t, tree in enumerate(trees):
        mine = np.flatnonzero(pick == t)
        if len(mine):
            index = patterns.index[closed[mine]]
            tokens[mine] = _draw_by_pattern(tree, leaf[mine], weights, index, rng)
    features[closed, j] = tokens


def _known_leaves(
    trees: tuple[TokenTree, ...],
    features: np.ndarray,
    rows: np.ndarray,
    pick: np.ndarray,
    leaves: np.ndarray | None = None,
) -> np.ndarray:
    """Each of ``rows``' leaf in its tree (``pick``, one per row of ``rows``): read from
    ``leaves`` (one per row of ``features``, -1 where not known), else walked and written there."""
    leaf = np.full(len(rows), -1, dtype=np.int64) if leaves is None else leaves[rows]
    todo = np.flatnonzero(leaf < 0)
    for t, tree in enumerate(trees):
        mine = todo[pick[todo] == t]
        if len(mine):
            leaf[mine] = tree.leaves(take_rows(features, rows[mine]))
    if leaves is not None:
        leaves[rows] = leaf
    return leaf


def allowed_mass(
    trees: tuple[TokenTree, ...],
    features: np.ndarray,
    patterns: Patterns,
    pick: np.ndarray,
    leaves: np.ndarray | None = None,
) -> np.ndarray:
    """Per row, the share of its leaf's mass that its allowed tokens keep (cut tokens at the
    row's share), in the tree ``pick`` gives it.

    A row that draws from tree ``pick[i]`` restricted to its tokens, weighed by this mass, is a
    draw from the ensemble's distribution restricted to them: over a uniform pick the weighed
    mixture of restricted leaves is the restricted mixture. So is any population of such rows,
    which is how rules condition a sample (:func:`lookalike.control._smc.sample_tilted_tokens`).
    ``leaves`` (one per row, -1 where not known) keeps the leaves walked, for the draw.
    """
    mass = np.ones(len(patterns.index))
    rows = np.flatnonzero(~patterns.whole()[patterns.index])
    if not len(rows):
        return mass
    weights = patterns.weights()
    cut = patterns.cut if patterns.cut_shares is not None else None
    if cut is not None:
        weights = np.where(cut, 0.0, weights)  # added at each row's own share below
    tree_of = pick[rows]
    leaf = _known_leaves(trees, features, rows, tree_of, leaves)
    index = patterns.index[rows]
    kept = np.empty(len(rows))
    for t, tree in enumerate(trees):
        mine = np.flatnonzero(tree_of == t)
        if not len(mine):
            continue
        counts = tree.leaf_counts
        totals = np.maximum(counts.sum(axis=1, dtype=np.float64), 1e-300)
        # Rows in one leaf with one pattern keep the same mass: worked out once.
        first, back = group_rows([leaf[mine], index[mine]], len(mine))
        some = mine[first]
        share = (counts[leaf[some]] * weights[index[some]]).sum(axis=1) / totals[leaf[some]]
        kept[mine] = share[back]
        if cut is not None:
            at, token = np.nonzero(cut[index[mine]])
            if len(at):
                assert patterns.cut_shares is not None
                cut_share = patterns.cut_shares(rows[mine[at]], token, tree_of[mine[at]])
                leaf_at = leaf[mine[at]]
                np.add.at(kept, mine[at], counts[leaf_at, token] * cut_share / totals[leaf_at])
    mass[rows] = kept
    return mass


def pick_trees(n_trees: int, n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """The tree of an ensemble each row draws from, uniformly (no draw for a single tree)."""
    if n_trees == 1:
        return np.zeros(n_rows, dtype=np.intp)
    return rng.integers(n_trees, size=n_rows)


def _draw_open(
    features: np.ndarray,
    j: int,
    trees: tuple[TokenTree, ...],
    samplers: list[AliasSampler],
    table: PrefixTable | None,
    rng: np.random.Generator,
) -> None:
    if table is None:
        draw_free(features, j, trees, samplers, rng)
    else:
        features[:, j] = table.sampler.draw(table.key(features), rng)


def _draw_by_pattern(
    tree: TokenTree,
    leaf: np.ndarray,
    weights: np.ndarray,
    index: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """:func:`_draw_restricted` for rows whose token weights (0 where not allowed) are
    ``weights[index]``, through a cached alias table for each frequent pattern."""
    counts = np.bincount(index, minlength=len(weights))
    # A table costs a pass over the tree's leaves: worth it when as many rows share it.
    frequent = np.flatnonzero(counts >= max(_MIN_PATTERN_ROWS, len(tree.leaf_counts)))
    tokens = np.empty(len(leaf), dtype=np.int64)
    rest = np.ones(len(leaf), dtype=bool)
    for p in frequent:
        rows = np.flatnonzero(index == p)
        sampler = _pattern_sampler(tree, weights[p])
        tokens[rows] = sampler.draw(leaf[rows], rng)
        rest[rows] = False
    if rest.any():
        tokens[rest] = _draw_restricted(tree.leaf_counts, leaf[rest], weights[index[rest]], rng)
    return tokens


def _pattern_words(allowed: np.ndarray) -> np.ndarray:
    """Each row's allowed tokens as bits in 64-bit words (rows, words)."""
    packed = np.packbits(allowed, axis=1)
    padded = np.zeros((len(packed), -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(np.uint64)


def _pattern_sampler(tree: TokenTree, weights: np.ndarray) -> AliasSampler:
    tables = _cached(tree, "allowed", dict)
    assert isinstance(tables, dict)
    key = np.asarray(weights, dtype=np.float64).tobytes()
    sampler = tables.get(key)
    if sampler is None:
        if len(tables) >= _PATTERN_TABLES:
            del tables[next(iter(tables))]  # the oldest
        sampler = tables[key] = AliasSampler(_restricted_counts(tree.leaf_counts, weights))
    assert isinstance(sampler, AliasSampler)
    return sampler


def _restricted_counts(leaf_counts: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Every leaf's counts restricted to ``allowed`` (bool, or token weights), with
    :func:`_draw_restricted`'s fallbacks."""
    if not allowed.any():
        raise ValueError("A restricted draw allows no token for some rows.")
    counts = leaf_counts.astype(np.float64) * allowed[None, :]
    return _with_fallback(counts, allowed[None, :], leaf_counts)


def _with_fallback(weights: np.ndarray, allowed: np.ndarray, leaf_counts: np.ndarray) -> np.ndarray:
    """Rows of ``weights`` (leaf counts times ``allowed``) with no mass take the column's overall
    distribution over their allowed tokens, or a uniform choice among them: draws never stall."""
    empty = weights.sum(axis=1) <= 0
    if empty.any():
        open_tokens = np.broadcast_to(allowed, weights.shape)[empty]
        overall = leaf_counts.sum(axis=0, dtype=np.float64)[None, :] * open_tokens
        uniform = open_tokens.astype(np.float64)
        weights[empty] = np.where(overall.sum(axis=1, keepdims=True) > 0, overall, uniform)
    return weights


#: Training views of the columns whose trees grow at once, at most (in bytes; see _TreePool).
_IN_FLIGHT_BYTES = 256 * 2**20

#: Rows sharing a pattern of allowed tokens before it gets its own alias table (and at least as
#: many as the tree has leaves), and the most such tables kept per tree.
_MIN_PATTERN_ROWS = 256
_PATTERN_TABLES = 64


def leaf_probabilities(trees: tuple[TokenTree, ...], features: np.ndarray) -> np.ndarray:
    """Each row's distribution over the column's tokens: the average of its trees' leaves.

    Drawing from one tree picked at random (as :func:`sample_tokens` does) is drawing from this
    mixture; controlled sampling needs the whole distribution to weigh its rows exactly.
    """
    return leaf_mixture(trees, [tree.leaves(features) for tree in trees])


def leaf_mixture(trees: tuple[TokenTree, ...], leaves: Sequence[np.ndarray]) -> np.ndarray:
    """:func:`leaf_probabilities` of rows whose leaf in each tree is known already."""
    total = np.zeros((len(leaves[0]), trees[0].leaf_counts.shape[1]), dtype=np.float64)
    for tree, leaf in zip(trees, leaves, strict=True):
        total += _normalise_rows(tree.leaf_counts[leaf])
    total /= len(trees)
    return total


def _draw_ensemble(
    features: np.ndarray,
    rows: np.ndarray,
    j: int,
    trees: tuple[TokenTree, ...],
    samplers: list[AliasSampler],
    rng: np.random.Generator,
    allowed: TokenFilter | None = None,
    offset: int = 0,
) -> None:
    """Fill column ``j`` of ``rows``: each row draws from the leaf of one tree picked at random."""
    if len(rows) == 0:
        return
    pick = pick_trees(len(trees), len(rows), rng)
    for t, (tree, sampler) in enumerate(zip(trees, samplers, strict=True)):
        part = rows if len(trees) == 1 else rows[pick == t]
        if not len(part):
            continue
        leaf = tree.leaves(features[part])
        found = None if allowed is None else allowed(j, features[part], part + offset)
        if isinstance(found, Patterns) and len(part) * found.allowed.shape[1] > _DENSE_CELLS:
            # Many rows of a column of many tokens (a plane's 4,000 tail numbers): drawn by
            # pattern, as free rows are, rather than from a (rows, tokens) array of gigabytes.
            rows_part = take_rows(features, part)
            draw_allowed(rows_part, j, (tree,), [sampler], None, rng, found)
            features[part, j] = rows_part[:, j]
            continue
        restriction = dense_restriction(found)
        if restriction is None:
            features[part, j] = sampler.draw(leaf, rng)
            continue
        # Rows whose every token is allowed whole take the fast sampler; only the rest pay for
        # a per-row renormalised draw.
        open_rows = (restriction >= 1).all(axis=1)
        if open_rows.any():
            features[part[open_rows], j] = sampler.draw(leaf[open_rows], rng)
        closed = ~open_rows
        if closed.any():
            features[part[closed], j] = _draw_restricted(
                tree.leaf_counts, leaf[closed], restriction[closed], rng
            )


def _draw_restricted(
    leaf_counts: np.ndarray, leaf: np.ndarray, allowed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw from each row's leaf distribution restricted to its allowed tokens (``allowed``:
    bool, or token weights that also scale the allowed tokens' probabilities).

    A leaf that gives no weight to any allowed token falls back to the column's overall
    distribution over the allowed tokens, then to a uniform choice among them: the draw never
    stalls. A row that allows no token at all is a contradiction the caller must prevent.
    """
    weights = _with_fallback(leaf_counts[leaf].astype(np.float64) * allowed, allowed, leaf_counts)
    totals = weights.sum(axis=1)
    if (totals <= 0).any():
        raise ValueError("A restricted draw allows no token for some rows.")
    cumulative = np.cumsum(weights, axis=1)
    rank = rng.random(len(leaf)) * totals
    tokens: np.ndarray = np.minimum(
        (cumulative <= rank[:, None]).sum(axis=1), leaf_counts.shape[1] - 1
    )
    return tokens


def draw_free(
    features: np.ndarray,
    j: int,
    trees: tuple[TokenTree, ...],
    samplers: list[AliasSampler],
    rng: np.random.Generator,
) -> None:
    """Fill column ``j`` of every particle from the ensemble, as ``_draw_ensemble`` does.

    Each particle draws from the leaf of one tree picked at random; the same draw, for the pool's
    many particles made cheaper: the rows of a tree are gathered with ``np.take`` (half the time
    of fancy indexing) and the token comes from an alias table (a constant-time draw, where a
    binary search over all the leaves' weights took a third of a free column's time).
    """
    m = len(features)
    if len(trees) == 1:
        features[:, j] = samplers[0].draw(trees[0].leaves(features), rng)
        return
    pick = rng.integers(len(trees), size=m, dtype=np.int16 if len(trees) < 2**15 else np.int64)
    tokens = np.empty(m, dtype=np.float32)
    # On a wide table, copying each tree's rows (every column) costs more than walking every
    # row down every tree, which reads only the columns it splits on.
    wide = features.shape[1] > _WIDE_COLUMNS
    for t, (tree, sampler) in enumerate(zip(trees, samplers, strict=True)):
        part = np.flatnonzero(pick == t)
        if len(part):
            leaves = tree.leaves(features)[part] if wide else tree.leaves(take_rows(features, part))
            tokens[part] = sampler.draw(leaves, rng)
    features[:, j] = tokens


#: Restricted rows times tokens past which a conditioned draw goes by pattern (see
#: :func:`_draw_ensemble`) instead of through a dense array of weights.
_DENSE_CELLS = 4_000_000
#: Columns past which :func:`draw_free` walks all rows down each tree instead of copying rows.
_WIDE_COLUMNS = 200


def take_rows(rows: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``rows[indices]`` (along the first axis), about twice as fast as fancy indexing."""
    return np.take(rows, indices, axis=0)


class AliasSampler:
    """Draws one token per row from its leaf's counts in constant time (Walker's alias method).

    Each leaf's ``K`` tokens get ``K`` buckets of equal probability; bucket ``b`` holds token
    ``b`` with probability ``prob[b]`` and otherwise its ``alias``. A row draws one uniform
    number: its integer part picks the bucket, its fraction decides between the two. The tables
    are built so that every token's total over the buckets is exactly its share of the leaf's
    counts (to rounding), so the draw is the leaf's distribution, like a binary search over the
    leaves' cumulative weights, at a fraction of its cost for wide columns. Leaves without counts draw
    uniformly (callers never keep those draws).
    """

    def __init__(self, counts: np.ndarray) -> None:
        k = counts.shape[1]
        self.n_tokens = k
        prob, alias = _alias_tables(np.asarray(counts, dtype=np.float64))
        self.prob = prob.ravel()
        self.alias = alias.ravel().astype(np.int32)

    def draw(self, leaf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = self.n_tokens
        scaled = rng.random(len(leaf)) * k
        bucket = np.minimum(scaled.astype(np.intp), k - 1)
        flat = leaf.astype(np.intp) * k + bucket
        tokens: np.ndarray = np.where(scaled - bucket < self.prob[flat], bucket, self.alias[flat])
        return tokens


def _alias_tables(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's tables of every leaf (row of ``counts``) at once, by Vose's pairing.

    Within each leaf the tokens are sorted by ``q = K * share``; those below 1 ("small") are
    paired in turn with the current largest token, which gives the small bucket its missing
    ``1 - q`` and becomes small itself once below 1. One step pairs one small token in every
    leaf, so there are at most ``K`` vectorised steps.
    """
    n_leaves, k = counts.shape
    total = counts.sum(axis=1, keepdims=True)
    q = np.where(total > 0, counts * (k / np.where(total > 0, total, 1.0)), 1.0)
    order = np.argsort(q, axis=1, kind="stable")
    sorted_q = np.take_along_axis(q, order, axis=1)
    prob = np.ones((n_leaves, k))
    alias = np.tile(np.arange(k), (n_leaves, 1))
    n_small = (sorted_q < 1.0).sum(axis=1)
    low = np.zeros(n_leaves, dtype=np.intp)  # next small token, in sorted position
    high = np.full(n_leaves, k - 1, dtype=np.intp)  # current large token
    pending = np.full(n_leaves, -1, dtype=np.intp)  # a large token that became small
    for _ in range(k):
        has_pending = pending >= 0
        active = np.flatnonzero((has_pending | (low < n_small)) & (high >= n_small))
        if not len(active):
            break
        from_pending = has_pending[active]
        small = np.where(from_pending, pending[active], low[active])
        low[active] += ~from_pending
        large = high[active]
        small_q = sorted_q[active, small]
        prob[active, small] = small_q
        alias[active, small] = large
        sorted_q[active, large] -= 1.0 - small_q
        becomes_small = sorted_q[active, large] < 1.0
        pending[active] = np.where(becomes_small, large, -1)
        high[active] -= becomes_small
    # Back from sorted positions to tokens.
    rows = np.arange(n_leaves)[:, None]
    prob_by_token = np.empty_like(prob)
    alias_by_token = np.empty_like(alias)
    prob_by_token[rows, order] = prob
    alias_by_token[rows, order] = np.take_along_axis(order, alias, axis=1)
    return prob_by_token, alias_by_token


class PrefixTable:
    """A column's whole distribution for every combination of the few tokens its trees split on.

    In the model's order a column's trees split only on earlier columns, which every particle
    has drawn by then; the first columns' trees split on none to three of them (adult's ``age``
    on none, ``workclass``'s on ``age`` alone). When every combination of those tokens, times
    the column's tokens, fits in ``_PREFIX_TABLE_SIZE``, the trees' mixture (the average of
    their leaves' distributions, which the ensemble's draw follows) is tabulated per
    combination, by traversing the trees once over all combinations. A particle then draws
    from its combination's row: the same distribution as picking a tree and drawing from its
    leaf, for a few passes over the particles instead of a gather and a traversal. Only for
    particles whose columns before ``j`` are all drawn (the engine's), not for masked rows.
    """

    def __init__(self, columns: list[int], sizes: list[int], mixture: np.ndarray) -> None:
        self.columns = columns
        self.strides = [int(np.prod(sizes[k + 1 :], dtype=np.int64)) for k in range(len(sizes))]
        self.mixture = mixture  # (combinations, n_tokens), rows sum to 1
        self.sampler = AliasSampler(mixture)

    @classmethod
    def build(cls, trees: tuple[TokenTree, ...], j: int, n_tokens: list[int]) -> PrefixTable | None:
        columns: set[int] = set()
        for tree in trees:
            split = {int(f) for f in tree.feature[tree.left >= 0]}
            combine = getattr(tree, "combine", None)
            if combine is not None:
                # A combined column is read together with the one before it.
                split |= {c - 1 for c in split if combine[c] > 0}
            columns |= split
        if any(c >= j or c < 0 for c in columns):
            return None
        ordered = sorted(columns)
        sizes = [int(n_tokens[c]) for c in ordered]
        size = math.prod(sizes)  # a Python int: numpy's int64 product wraps for wide prefixes
        if size * max(int(n_tokens[j]), len(n_tokens)) > _PREFIX_TABLE_SIZE:
            return None
        grid = np.full((size, len(n_tokens)), MASKED, dtype=np.float32)
        if sizes:
            combinations = np.unravel_index(np.arange(size), sizes)
            for c, tokens in zip(ordered, combinations, strict=True):
                grid[:, c] = tokens
        return cls(ordered, sizes, leaf_probabilities(trees, grid))

    def key(self, features: np.ndarray) -> np.ndarray:
        """Each particle's combination (row of the table)."""
        key = np.zeros(len(features), dtype=np.intp)
        for c, stride in zip(self.columns, self.strides, strict=True):
            key += features[:, c].astype(np.intp) * stride
        return key


#: Largest :class:`PrefixTable`: combinations times the column's tokens (the table), and times
#: the model's columns (the rows traversed to build it).
_PREFIX_TABLE_SIZE = 1 << 18

#: What the engine builds once per fitted tree (a model is sampled many times): alias samplers
#: and leaf tables, by the tree's id, dropped with the tree.
_CACHE: dict[int, tuple[weakref.ref[TokenTree], dict[str, object]]] = {}


def _cached(tree: TokenTree, kind: str, build: Callable[[], object]) -> object:
    entry = _CACHE.get(id(tree))
    if entry is None or entry[0]() is not tree:

        def forget(ref: weakref.ref[TokenTree], key: int = id(tree)) -> None:
            current = _CACHE.get(key)
            if current is not None and current[0] is ref:
                del _CACHE[key]

        entry = (weakref.ref(tree, forget), {})
        _CACHE[id(tree)] = entry
    built = entry[1]
    if kind not in built:
        built[kind] = build()
    return built[kind]


def forget_cached(tree: TokenTree) -> None:
    """Drop what was built from ``tree``'s leaves (after they changed)."""
    # By the tree's id: scanning every cached entry made calibration quadratic in the columns.
    entry = _CACHE.get(id(tree))
    if entry is not None and entry[0]() is tree:
        del _CACHE[id(tree)]


def alias_sampler(tree: TokenTree) -> AliasSampler:
    sampler = _cached(tree, "alias", lambda: AliasSampler(tree.leaf_counts))
    assert isinstance(sampler, AliasSampler)
    return sampler


def prefix_table(trees: tuple[TokenTree, ...], j: int, n_tokens: list[int]) -> PrefixTable | None:
    table = _cached(trees[0], f"prefix {j}", lambda: PrefixTable.build(trees, j, n_tokens))
    assert table is None or isinstance(table, PrefixTable)
    return table
