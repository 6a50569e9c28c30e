"""How many threads a fit may use: one answer for the library and the command line."""

from __future__ import annotations

import os

import numpy as np


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: itself when >= 1; every usable CPU for -1; for None the usable
    CPUs, at most ``$OMP_NUM_THREADS`` when that is a whole number (so a job told to use one
    thread, as the benchmarks are, uses one).

    >>> resolve_n_jobs(3), resolve_n_jobs(np.int64(2))
    (3, 2)
    >>> resolve_n_jobs(0)
    Traceback (most recent call last):
    ...
    ValueError: n_jobs must be None, -1 or a whole number >= 1. Got 0 instead.
    """
    if n_jobs is None:
        # OpenMP reads a list ("4,2") as the threads of each nesting level: the first counts.
        cap = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
        cpus = usable_cpus()
        return min(cpus, int(cap)) if cap.isdigit() and int(cap) >= 1 else cpus
    whole = isinstance(n_jobs, int | np.integer) and not isinstance(n_jobs, bool | np.bool_)
    if not whole or (n_jobs < 1 and n_jobs != -1):
        raise ValueError(f"n_jobs must be None, -1 or a whole number >= 1. Got {n_jobs!r} instead.")
    return usable_cpus() if n_jobs == -1 else int(n_jobs)
