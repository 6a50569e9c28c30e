"""One adapter per synthesizer: fit on a training table, sample n rows.

Each adapter is used inside its own child process (see run.py), so imports happen here, lazily,
and only the library under test is loaded into that process.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from _data import to_object_strings

SEED = 0
# SDV/rdt 1.19 under pandas 3 compute NaN category frequencies as None and crash
# ("OverflowError: Range exceeds valid bounds"); give SDV a sentinel category and map it back.
SDV_MISSING = "__missing__"
DEFAULT_EPOCHS = {"ctgan": 300, "tvae": 300}


@dataclass
class FitConfig:
    threads: int = 2
    epochs: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_EPOCHS))
    argn_max_epochs: float | None = None  # None: TabularARGN's own default (100, early stopping)


@dataclass
class Adapter:
    fit: Callable[[pd.DataFrame, FitConfig], Any]
    sample: Callable[[Any, int], pd.DataFrame]
    version: Callable[[], str]
    # Imported, and timed apart, before the fit: a fit's seconds are the work of fitting, not
    # the start-up of a fresh process. Include what the library imports lazily on its fit path.
    modules: tuple[str, ...] = ()
    notes: str = ""


def _version(distribution: str) -> Callable[[], str]:
    def get() -> str:
        from importlib.metadata import version

        return version(distribution)

    return get


def _set_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(SEED)


# lookalike ----------------------------------------------------------------------------------
def _fit_lookalike(train: pd.DataFrame, config: FitConfig) -> Any:
    import lookalike as la

    return la.Synthesizer(random_state=SEED).fit(train)


def _sample_lookalike(model: Any, n: int) -> pd.DataFrame:
    return model.sample(n)


# synthpop-style CART (synthpop-py) ----------------------------------------------------------
def _fit_cart(train: pd.DataFrame, config: FitConfig) -> Any:
    from synthpop import Synthesiser

    # Default synthpop-py settings mirror R synthpop's `syn(method = "cart")`: columns in table
    # order, a CART per column on all previous columns (minbucket 5), and synthetic values drawn
    # from the observed values in the predicted leaf.
    return Synthesiser(random_seed=SEED).fit(to_object_strings(train))


def _sample_cart(model: Any, n: int) -> pd.DataFrame:
    return model.generate(n)


# SDV ----------------------------------------------------------------------------------------
@dataclass
class _SDVModel:
    synthesizer: Any
    sentinel_columns: list[str]


def _sdv_frame(train: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    frame = to_object_strings(train)
    sentinel_columns = []
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].isna().any():
            frame[column] = frame[column].fillna(SDV_MISSING)
            sentinel_columns.append(column)
    return frame, sentinel_columns


def _sdv_metadata(frame: pd.DataFrame) -> Any:
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframe(frame, table_name="table")
    # Auto-detection may call a column an id or PII (then SDV would fake it, not learn it);
    # every benchmark column is a real feature, so keep them all learnable.
    for column, info in metadata.to_dict()["tables"]["table"]["columns"].items():
        if info["sdtype"] not in ("numerical", "categorical", "boolean", "datetime"):
            sdtype = "numerical" if pd.api.types.is_numeric_dtype(frame[column]) else "categorical"
            metadata.update_column(column_name=column, sdtype=sdtype, table_name="table")
    return metadata


def _fit_sdv(kind: str) -> Callable[[pd.DataFrame, FitConfig], Any]:
    def fit(train: pd.DataFrame, config: FitConfig) -> Any:
        from sdv.single_table import (
            CTGANSynthesizer,
            GaussianCopulaSynthesizer,
            TVAESynthesizer,
        )

        _set_torch_threads(config.threads)
        frame, sentinel_columns = _sdv_frame(train)
        metadata = _sdv_metadata(frame)
        if kind == "gaussian_copula":
            synthesizer = GaussianCopulaSynthesizer(metadata)
        elif kind == "ctgan":
            synthesizer = CTGANSynthesizer(
                metadata, epochs=config.epochs["ctgan"], enable_gpu=False, verbose=True
            )
        else:
            synthesizer = TVAESynthesizer(
                metadata, epochs=config.epochs["tvae"], enable_gpu=False, verbose=True
            )
        # verbose: per-epoch losses go to the child's log, so a long run can be watched
        synthesizer.fit(frame)
        return _SDVModel(synthesizer, sentinel_columns)

    return fit


def _sample_sdv(model: Any, n: int) -> pd.DataFrame:
    frame = model.synthesizer.sample(num_rows=n)
    for column in model.sentinel_columns:
        frame[column] = frame[column].where(frame[column] != SDV_MISSING, None)
    return frame


# MOSTLY AI engine (TabularARGN) -------------------------------------------------------------
@dataclass
class _ARGNModel:
    argn: Any
    workspace: tempfile.TemporaryDirectory[str]


def _fit_argn(train: pd.DataFrame, config: FitConfig) -> Any:
    from mostlyai.engine import TabularARGN

    _set_torch_threads(config.threads)
    workspace = tempfile.TemporaryDirectory(prefix="argn-")
    kwargs: dict[str, Any] = {}
    if config.argn_max_epochs is not None:
        kwargs["max_epochs"] = config.argn_max_epochs
    argn = TabularARGN(
        device="cpu", random_state=SEED, workspace_dir=workspace.name, verbose=0, **kwargs
    )
    argn.fit(to_object_strings(train))
    return _ARGNModel(argn, workspace)


def _sample_argn(model: Any, n: int) -> pd.DataFrame:
    return model.argn.sample(n_samples=n)


_SDV_MODULES = ("sdv.metadata", "sdv.single_table", "torch")

ADAPTERS: dict[str, Adapter] = {
    "lookalike": Adapter(
        _fit_lookalike,
        _sample_lookalike,
        _version("lookalike"),
        modules=("lookalike", "sklearn.tree", "scipy.stats"),
    ),
    "cart": Adapter(
        _fit_cart,
        _sample_cart,
        _version("synthpop-py"),
        modules=("synthpop",),
        notes="synthpop-py Synthesiser, default CartMethod (minbucket 5, observed leaf values)",
    ),
    "gaussian_copula": Adapter(
        _fit_sdv("gaussian_copula"), _sample_sdv, _version("sdv"), modules=_SDV_MODULES
    ),
    "ctgan": Adapter(_fit_sdv("ctgan"), _sample_sdv, _version("sdv"), modules=_SDV_MODULES),
    "tvae": Adapter(_fit_sdv("tvae"), _sample_sdv, _version("sdv"), modules=_SDV_MODULES),
    "tabularargn": Adapter(
        _fit_argn, _sample_argn, _version("mostlyai-engine"), modules=("mostlyai.engine", "torch")
    ),
}
