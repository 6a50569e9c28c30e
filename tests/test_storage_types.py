"""Storage types survive fit -> sample: the values a column can hold and its dtype come back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lookalike as la
from lookalike.io import read_table, write_table

N = 400


def _sample(frame: pd.DataFrame, tmp_path: Path, n: int = N) -> pd.DataFrame:
    model = la.Synthesizer(random_state=0).fit(frame)
    model.save(tmp_path / "model.lk")
    return la.load(tmp_path / "model.lk").sample(n, random_state=1)


# --- whole numbers beyond float64's precision ---------------------------------------------------


def test_large_integers_with_few_values_come_back_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    k = rng.integers(0, 5, N)
    frame = pd.DataFrame(
        {
            "big": (10**17 + 7 * k).astype("int64"),
            "unsigned": (np.uint64(2**63) + k.astype(np.uint64)).astype("uint64"),
            "n": rng.integers(0, 50, N),
        }
    )
    out = _sample(frame, tmp_path)
    assert out["big"].dtype == "int64" and out["unsigned"].dtype == "uint64"
    assert set(out["big"]) == {10**17 + 7 * i for i in range(5)}
    assert set(out["unsigned"]) == {2**63 + i for i in range(5)}


def test_large_integers_with_many_values_stay_whole_and_in_range(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    values = 10**17 + rng.integers(0, 100_000, N)
    frame = pd.DataFrame({"big": pd.array(values, dtype="Int64"), "n": rng.integers(0, 9, N)})
    frame.loc[:9, "big"] = pd.NA
    out = _sample(frame, tmp_path)
    assert out["big"].dtype == "Int64"
    present = np.array([int(v) for v in out["big"].dropna()], dtype=object)
    assert out["big"].isna().any() and len(present) > N // 2
    # Through float64 every value would be a multiple of 16.
    assert {v % 16 for v in present} != {0}
    assert all(10**17 <= v < 10**17 + 100_000 for v in present)


def test_a_condition_on_a_large_integer_is_exact() -> None:
    k = np.random.default_rng(2).integers(0, 5, N)
    frame = pd.DataFrame({"big": 10**17 + 7 * k, "n": k % 2})
    model = la.Synthesizer(random_state=0).fit(frame)
    out = model.sample(50, conditions={"big": 10**17 + 21})
    assert (out["big"] == 10**17 + 21).all() and out["big"].dtype == "int64"


def test_large_integers_from_csv_round_trip(tmp_path: Path) -> None:
    k = np.random.default_rng(3).integers(0, 5, N)
    source = tmp_path / "big.csv"
    source.write_text("big,n\n" + "".join(f"{10**17 + 7 * i},{i % 2}\n" for i in k))
    written = write_table(_sample(read_table(source), tmp_path), tmp_path / "out.csv")
    out = read_table(written)
    assert out["big"].dtype == "int64"
    assert set(out["big"]) == {10**17 + 7 * i for i in range(5)}


def test_integer_offset_is_inferred_only_beyond_float_precision() -> None:
    from lookalike.schema import infer_schema

    frame = pd.DataFrame({"big": [2**60 + i for i in range(20)], "small": list(range(20))})
    schema = infer_schema(frame)
    assert schema["big"].integer_offset == 2**60 and schema["small"].integer_offset is None
    assert la.Schema.from_json(schema.to_json()) == schema
    # A schema written before the field existed loads without one.
    old = {"version": 2, "columns": [{"name": "n", "kind": "discrete", "dtype": "int64"}]}
    assert la.Schema.from_dict(old)["n"].integer_offset is None
    with pytest.raises(la.SchemaError, match="integer_offset"):
        la.ColumnSpec("c", "categorical", "int64", integer_offset=2**60)
