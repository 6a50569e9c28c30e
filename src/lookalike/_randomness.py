"""One way to turn a ``random_state`` argument into a seed, shared by every public entry point.

Privacy noise never comes from here: it is drawn in :mod:`lookalike.privacy` from OS entropy.
"""

from __future__ import annotations

import numpy as np

RandomState = int | np.random.Generator | np.random.SeedSequence | None


def seed_sequence(random_state: RandomState, *, owner: str = "") -> np.random.SeedSequence:
    """The ``SeedSequence`` that ``random_state`` names; ``None`` gives fresh OS entropy.

    A ``SeedSequence`` is folded into one integer (spawn key included), so sibling sequences give
    different streams and the integer alone, as a model file stores it, rebuilds them. A
    ``Generator`` contributes one draw. ``owner`` names the caller in the error message.

    >>> int(seed_sequence(7).entropy)
    7
    >>> seed_sequence(-1, owner="Synthesizer")
    Traceback (most recent call last):
    ...
    ValueError: The 'random_state' parameter of Synthesizer must be None, a non-negative int or a numpy Generator. Got -1 instead.
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.SeedSequence):
        words = random_state.generate_state(4, dtype=np.uint32)
        return np.random.SeedSequence(int.from_bytes(words.tobytes(), "little"))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63 - 1)))
    if (
        isinstance(random_state, int | np.integer)
        and not isinstance(random_state, bool)
        and random_state >= 0
    ):
        return np.random.SeedSequence(int(random_state))
    of = f" of {owner}" if owner else ""
    raise ValueError(
        f"The 'random_state' parameter{of} must be None, a non-negative int or a numpy Generator. "
        f"Got {random_state!r} instead."
    )
