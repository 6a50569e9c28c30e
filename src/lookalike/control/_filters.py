"""Composing per-row token filters: conditions and business rules restrict the same draws."""

from __future__ import annotations

import numpy as np

from lookalike.models._trees import Patterns, TokenFilter, as_patterns


def combine_filters(*filters: TokenFilter | None) -> TokenFilter | None:
    """One filter that allows a token only where every given filter allows it (logical AND).

    ``None`` filters (no restriction) are skipped; a filter returning ``None`` for a column leaves
    that column to the others.

    >>> import numpy as np
    >>> even = lambda j, features, rows: np.tile([True, False, True], (len(rows), 1))
    >>> low = lambda j, features, rows: np.tile([True, True, False], (len(rows), 1))
    >>> both = combine_filters(even, None, low)
    >>> both(0, np.zeros((2, 1)), np.arange(2)).dense().tolist()
    [[True, False, False], [True, False, False]]
    """
    active = [f for f in filters if f is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]

    def combined(j: int, features: np.ndarray, rows: np.ndarray) -> Patterns | None:
        result: Patterns | None = None
        for f in active:
            allowed = as_patterns(f(j, features, rows))
            if allowed is not None:
                result = allowed if result is None else result & allowed
        return result

    return combined
