"""Benchmark datasets: where they live, how they are split, and their prediction targets."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
SPLIT_SEED = 0
HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    target: str
    train_file: str
    holdout_file: str | None  # None: seeded 80/20 split of train_file
    drop_columns: tuple[str, ...] = ()


DATASETS: dict[str, DatasetSpec] = {
    "adult": DatasetSpec("adult", "income", "adult/adult.csv", "adult/adult_test.csv"),
    # `id` is a row number (1..30000), not a feature: every peer would have to learn it as a
    # number, which says nothing about quality, so it is dropped for all synthesizers alike.
    "default_credit": DatasetSpec(
        "default_credit",
        "default_payment_next_month",
        "default_credit/default_credit.csv",
        None,
        drop_columns=("id",),
    ),
    "diabetes_brfss": DatasetSpec(
        "diabetes_brfss", "Diabetes_012", "diabetes_brfss/diabetes_brfss.csv", None
    ),
}


def datasets_dir() -> Path:
    """The shared datasets folder: $LOOKALIKE_DATASETS, else ../shared/datasets from the repo root."""
    configured = os.environ.get("LOOKALIKE_DATASETS")
    if configured:
        return Path(configured)
    return (REPO_ROOT / ".." / "shared" / "datasets").resolve()


def load_dataset(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, holdout) for one dataset, with the same split on every call."""
    if name not in DATASETS:
        raise SystemExit(f"unknown dataset {name!r}; choose from {sorted(DATASETS)}")
    spec = DATASETS[name]
    root = datasets_dir()
    frame = pd.read_csv(root / spec.train_file)
    frame = frame.drop(columns=list(spec.drop_columns))
    if spec.holdout_file is not None:
        holdout = pd.read_csv(root / spec.holdout_file).drop(columns=list(spec.drop_columns))
        return frame.reset_index(drop=True), holdout[frame.columns].reset_index(drop=True)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    n_holdout = round(len(frame) * HOLDOUT_SHARE)
    holdout = frame.iloc[np.sort(order[:n_holdout])].reset_index(drop=True)
    train = frame.iloc[np.sort(order[n_holdout:])].reset_index(drop=True)
    return train, holdout


def subsample(frame: pd.DataFrame, share: float, seed: int = SPLIT_SEED) -> pd.DataFrame:
    """A seeded random share of the rows (for the scaling run)."""
    if share >= 1.0:
        return frame
    n = round(len(frame) * share)
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=n, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def to_object_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object dtype with NaN for missing (what the peers were written for).

    pandas 3 reads text as the new string dtype; SDV/rdt and synthpop-py predate it.
    """
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(
            out[column]
        ):
            out[column] = out[column].astype(object).where(out[column].notna(), np.nan)
    return out


def align_to(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Columns in the reference's order, and dtypes cast back to the reference where lossless.

    Some peers return floats for int columns or objects for strings; evaluators then see spurious
    differences. Integer columns are rounded back only if the synthetic column has no missing values.
    """
    out = frame[list(reference.columns)].copy()
    for column in reference.columns:
        want = reference[column].dtype
        have = out[column]
        try:
            if pd.api.types.is_integer_dtype(want) and have.notna().all():
                out[column] = np.round(pd.to_numeric(have)).astype(want)
            elif pd.api.types.is_float_dtype(want):
                out[column] = pd.to_numeric(have, errors="coerce").astype(want)
            elif not pd.api.types.is_numeric_dtype(want):
                out[column] = have.astype(object).where(have.notna(), None).astype(want)
        except (TypeError, ValueError):
            pass  # keep the peer's own dtype; the evaluators cope with it
    return out


def machine_info(packages: tuple[str, ...] | list[str]) -> dict[str, object]:
    """Cores, RAM, CPU model, OS, Python and the installed versions of ``packages``."""
    from importlib.metadata import PackageNotFoundError, version

    memory_gb, cpu = None, platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in packages:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cores (nproc)": os.cpu_count(),
        "RAM GB": memory_gb,
        "CPU": cpu,
        "OS": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }
