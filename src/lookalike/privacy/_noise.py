"""Where differential-privacy noise comes from: OS entropy, except inside :func:`fixed_noise`.

Noise never comes from a model's ``random_state``: a seed that an analyst knows (or that is stored in
the model file) would let anyone subtract the noise. Each call to :func:`noise_generator` returns a
generator seeded from the operating system's entropy pool.

``fixed_noise(seed)`` is a **test-only** switch: inside it, noise comes from one stream seeded with
``seed``, so tests can check the noise's distribution or repeat a fit exactly. Output made inside it
carries no privacy guarantee, and the ledger records that the noise was fixed.

>>> with fixed_noise(1):
...     a = noise_generator().normal(size=2)
>>> with fixed_noise(1):
...     b = noise_generator().normal(size=2)
>>> bool((a == b).all()), noise_is_fixed()
(True, False)
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import numpy as np

__all__ = ["fixed_noise", "noise_generator", "noise_is_fixed"]

_FIXED_STREAM: contextvars.ContextVar[np.random.Generator | None] = contextvars.ContextVar(
    "lookalike_fixed_noise", default=None
)


def noise_generator() -> np.random.Generator:
    """A generator for privacy noise: fresh OS entropy, or the test stream of :func:`fixed_noise`."""
    fixed = _FIXED_STREAM.get()
    if fixed is not None:
        return fixed
    return np.random.default_rng()


def noise_is_fixed() -> bool:
    """Whether noise currently comes from a fixed test stream (then there is no guarantee)."""
    return _FIXED_STREAM.get() is not None


@contextlib.contextmanager
def fixed_noise(seed: int) -> Iterator[None]:
    """TEST ONLY: draw privacy noise from one stream seeded with ``seed`` inside this block.

    Anything fitted inside the block has reproducible noise and therefore no privacy guarantee.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"fixed_noise needs an int seed >= 0. Got {seed!r} instead.")
    token = _FIXED_STREAM.set(np.random.default_rng(seed))
    try:
        yield
    finally:
        _FIXED_STREAM.reset(token)
