"""Storage types survive fit -> sample: the values a column can hold and its dtype come back."""

from __future__ import annotations

import datetime
import decimal
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lookalike as la
from lookalike.io import read_table, write_table

N = 400


def _sample(frame: pd.DataFrame, tmp_path: Path, n: int = N) -> pd.DataFrame:
    model = la.Synthesizer(random_state=0).fit(frame)
    model.save(tmp_path / "model.lk", force=True)
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


def test_large_integers_are_named_in_messages_as_they_are_written() -> None:
    """Errors and warnings showed the learned numbers, the values minus the model's offset:
    "it produces values from 8000 to 994000" for values about 1.15e18."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"big": 2**60 + rng.integers(0, 1000, N) * 1000, "g": ["a", "b"] * (N // 2)}
    )
    model = la.Synthesizer(random_state=0).fit(frame)
    low, high = frame["big"].min(), frame["big"].max()
    with pytest.raises(la.ConditionError, match=rf"values from {2**60 + 8000} to {2**60 + 994000}"):
        model.sample(3, conditions={"big": (2**60 - 10**6, 2**60 - 1)})
    assert low <= 2**60 + 8000 and high >= 2**60 + 994000
    with pytest.warns(la.DataWarning, match=rf"produces \({2**60 + 8000} to {2**60 + 994000}\)"):
        model.sample(3, conditions={"big": 2**60 + 5 * 10**7})


def test_large_integers_from_csv_round_trip(tmp_path: Path) -> None:
    k = np.random.default_rng(3).integers(0, 5, N)
    source = tmp_path / "big.csv"
    source.write_text("big,n\n" + "".join(f"{10**17 + 7 * i},{i % 2}\n" for i in k))
    written = write_table(_sample(read_table(source), tmp_path), tmp_path / "out.csv")
    out = read_table(written)
    assert out["big"].dtype == "int64"
    assert set(out["big"]) == {10**17 + 7 * i for i in range(5)}


def test_unsigned_integers_past_int64_from_csv_round_trip(tmp_path: Path) -> None:
    """Read as text, they became an identifier: new 20-digit keys unrelated to the input."""
    k = np.random.default_rng(4).integers(0, 5, N).tolist()
    base = 2**63 + 10**15
    source = tmp_path / "hash.csv"
    source.write_text("hash,n\n" + "".join(f"{base + 7 * i},{i % 2}\n" for i in k) + ",1\n")
    table = read_table(source)
    assert table["hash"].dtype == "UInt64"
    written = write_table(_sample(table, tmp_path), tmp_path / "out.csv")
    out = read_table(written)
    assert out["hash"].dtype in ("uint64", "UInt64")
    assert set(out["hash"].dropna()) <= {base + 7 * i for i in range(5)}


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


# --- Parquet and Arrow column types -------------------------------------------------------------


def _parquet_round_trip(column: pa.Array, tmp_path: Path) -> tuple[pa.DataType, pd.Series]:
    """Fit on a Parquet file of ``column`` and an int column; the type and values sampled back."""
    ints = pa.array(np.random.default_rng(4).integers(0, 9, len(column)))
    pq.write_table(pa.table({"x": column, "n": ints}), tmp_path / "in.parquet")
    out = _sample(read_table(tmp_path / "in.parquet"), tmp_path)
    written = write_table(out, tmp_path / "out.parquet", force=True)
    return pq.read_schema(written).field("x").type, pq.read_table(written).to_pandas()["x"]


@pytest.mark.parametrize(
    ("column", "shown"),
    [
        (pa.array([[1, 2]] * N, pa.list_(pa.int64())), "'x' (list<element: int64>)"),
        (pa.array([{"a": 1}] * N, pa.struct([("a", pa.int64())])), "'x' (struct<a: int64>)"),
        (pa.array([b"\x00"] * N, pa.binary()), "'x' (binary)"),
    ],
)
def test_nested_and_binary_columns_are_refused_by_name(
    column: pa.Array, shown: str, tmp_path: Path
) -> None:
    pq.write_table(pa.table({"x": column, "n": list(range(N))}), tmp_path / "in.parquet")
    with pytest.raises(la.DataError, match=re.escape(shown)):
        read_table(tmp_path / "in.parquet")


def test_nested_and_binary_values_in_a_pandas_frame_are_refused_all_at_once() -> None:
    frame = pd.DataFrame({"tags": [[1], [2], None], "blob": [b"a", b"b", None], "n": [1, 2, 3]})
    with pytest.raises(la.DataError, match=r"'tags' \(list\), 'blob' \(bytes\)"):
        read_table(frame)


def test_complex_numbers_are_refused_not_cut_to_their_real_part() -> None:
    frame = pd.DataFrame(
        {"z": [1 + 2j, 3j] * 10, "w": pd.Series([1j, 2.0 + 0j] * 10, dtype=object), "n": 1}
    )
    with pytest.raises(la.DataError, match=r"'z' \(complex128\), 'w' \(complex\)"):
        read_table(frame)


def test_sparse_columns_are_learned_dense() -> None:
    """Sparse storage came back as float64; it is read as its dense dtype."""
    values = pd.arrays.SparseArray(np.r_[np.zeros(180, dtype=np.int64), np.arange(20)])
    frame = pd.DataFrame({"s": values, "n": np.arange(200) % 3})
    assert str(read_table(frame)["s"].dtype) == "int64"
    out = la.Synthesizer(random_state=0).fit(frame).sample(50)
    assert str(out["s"].dtype) == "int64"


@pytest.mark.parametrize("freq", ["M", "D", "Q"])
def test_periods_come_back_as_periods(freq: str, tmp_path: Path) -> None:
    """Period[M] came back as object text ('2013-02')."""
    periods = pd.Series(pd.period_range("2013-01", periods=20, freq=freq))
    column = periods.sample(400, replace=True, random_state=0).reset_index(drop=True)
    column[::10] = pd.NaT
    frame = pd.DataFrame({"p": column, "n": np.arange(400) % 3})
    la.Synthesizer(random_state=0).fit(frame).save(tmp_path / "m.lookalike")
    out = la.load(tmp_path / "m.lookalike").sample(1000, random_state=1)
    assert out["p"].dtype == column.dtype
    assert out["p"].dropna().isin(periods).all()
    assert 0.05 < out["p"].isna().mean() < 0.16


def test_decimals_are_learned_as_numbers_and_written_back_as_decimals(tmp_path: Path) -> None:
    amounts = np.random.default_rng(5).uniform(0, 100, N)
    text = [None if i % 20 == 0 else decimal.Decimal(f"{a:.2f}") for i, a in enumerate(amounts)]
    arrow_type, out = _parquet_round_trip(pa.array(text, pa.decimal128(10, 2)), tmp_path)
    assert arrow_type == pa.decimal128(10, 2)
    present = out.dropna()
    assert out.isna().any() and present.nunique() > 50
    assert all(d == d.quantize(decimal.Decimal("0.01")) and 0 <= d <= 100 for d in present)


def test_dates_come_back_as_dates(tmp_path: Path) -> None:
    start = datetime.date(2020, 1, 1)
    days = np.random.default_rng(6).integers(0, 300, N)
    dates = pa.array([start + datetime.timedelta(days=int(d)) for d in days], pa.date32())
    arrow_type, out = _parquet_round_trip(dates, tmp_path)
    assert arrow_type == pa.date32()
    assert out.map(lambda d: start <= d <= datetime.date(2020, 10, 27)).all()


def test_durations_and_times_of_day_are_learned_as_numbers_of_their_unit(tmp_path: Path) -> None:
    seconds = np.random.default_rng(7).integers(0, 86_400, N)
    arrow_type, out = _parquet_round_trip(pa.array(seconds, pa.duration("s")), tmp_path)
    assert arrow_type == pa.duration("s")
    assert out.notna().all() and out.between(pd.Timedelta(0), pd.Timedelta(days=1)).all()
    arrow_type, out = _parquet_round_trip(pa.array(seconds * 10**6, pa.time64("us")), tmp_path)
    assert arrow_type == pa.time64("us")
    assert out.notna().all() and out.nunique() > 50
    # Whole seconds in, whole seconds out: the step of the clock is kept, as for datetimes.
    assert (out.map(lambda t: t.microsecond) == 0).all()
    minutes = pa.array(seconds // 60 * 60, pa.duration("s"))
    _, out = _parquet_round_trip(minutes, tmp_path)
    assert (out.dt.total_seconds() % 60 == 0).all()


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_32_bit_times_of_day_are_learned_too(tmp_path: Path, unit: str) -> None:
    """Arrow casts time32 only to int32: fitting one failed with ArrowNotImplementedError."""
    seconds = np.random.default_rng(9).integers(0, 86_400, N)
    ticks = (seconds * (1 if unit == "s" else 1000)).astype(np.int32)
    arrow_type, out = _parquet_round_trip(pa.array(ticks, pa.time32(unit)), tmp_path)
    assert arrow_type == pa.time32("ms")  # Parquet has no time of day in seconds
    assert out.notna().all() and out.nunique() > 50
    assert (out.map(lambda t: t.microsecond) == 0).all()


def test_durations_from_pandas_keep_their_dtype(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    waits = pd.Series(pd.to_timedelta(rng.integers(0, 600, N), unit="s")).astype("timedelta64[s]")
    out = _sample(pd.DataFrame({"wait": waits, "n": rng.integers(0, 9, N)}), tmp_path)
    assert out["wait"].dtype == "timedelta64[s]" and out["wait"].notna().all()
    assert out["wait"].between(pd.Timedelta(0), pd.Timedelta(seconds=600)).all()


def test_ordered_categories_keep_their_order_and_unused_categories(tmp_path: Path) -> None:
    levels = pd.CategoricalDtype(["lo", "mid", "hi", "unused"], ordered=True)
    values = np.random.default_rng(9).choice(["lo", "mid", "hi"], N)
    frame = pd.DataFrame({"x": pd.Series(values, dtype=levels), "n": np.arange(N) % 7})
    frame.to_parquet(tmp_path / "in.parquet")
    out = _sample(read_table(tmp_path / "in.parquet"), tmp_path)
    assert out["x"].dtype == levels
    written = write_table(out, tmp_path / "out.parquet", force=True)
    assert pd.read_parquet(written)["x"].dtype == levels


def test_a_rare_declared_category_is_not_written_into_the_model() -> None:
    # pd.Categorical(values) declares every value seen, the rare ones too.
    values = ["lo"] * 200 + ["hi"] * 199 + ["secret"]
    levels = pd.CategoricalDtype(["lo", "hi", "secret", "unused"], ordered=True)
    frame = pd.DataFrame({"x": pd.Series(values, dtype=levels), "n": np.arange(400) % 7})
    model = la.Synthesizer(random_state=0).fit(frame)
    assert model.schema_["x"].category_order == ("lo", "hi", "unused")
    out = model.sample(500)
    assert list(out["x"].dtype.categories) == ["lo", "hi", "unused"] and out["x"].dtype.ordered
    # A private model carries no declared categories and no big-integer offset at all.
    big = pd.Series(2**60 + np.arange(400) % 5, dtype="int64")
    private = la.Synthesizer(epsilon=1.0, random_state=0).fit(frame.assign(big=big))
    assert private.schema_["x"].category_order is None
    assert private.schema_["big"].integer_offset is None


def test_declared_categories_survive_json_and_are_validated() -> None:
    from lookalike.schema import infer_schema

    levels = pd.CategoricalDtype(["lo", "hi"], ordered=True)
    schema = infer_schema(pd.DataFrame({"x": pd.Series(["hi", "lo"] * 5, dtype=levels)}))
    assert schema["x"].category_order == ("lo", "hi") and schema["x"].ordered
    assert la.Schema.from_json(schema.to_json()) == schema
    with pytest.raises(la.SchemaError, match="category_order"):
        la.ColumnSpec("c", "categorical", "str", category_order=("a",))
    with pytest.raises(la.SchemaError, match="ordered"):
        la.ColumnSpec("c", "categorical", "category", ordered=True)


def test_a_duration_condition_is_read_in_the_column_unit() -> None:
    waits = pd.Series(pd.to_timedelta(np.arange(N) % 60, unit="s")).astype("timedelta64[s]")
    model = la.Synthesizer(random_state=0).fit(pd.DataFrame({"wait": waits, "n": np.arange(N) % 3}))
    encoder = model.encoder_.encoders["wait"]
    assert encoder.token_for(pd.Timedelta(seconds=30)) == encoder.token_for(30)
    out = model.sample(20, conditions={"wait": pd.Timedelta(seconds=30)})
    assert (out["wait"] == pd.Timedelta(seconds=30)).all()


def _clock_model(tmp_path: Path) -> la.Synthesizer:
    """A model of a Parquet file's duration, time of day, decimal and date columns."""
    rng = np.random.default_rng(11)
    seconds = rng.integers(60, 7_200, N)
    table = pa.table(
        {
            "dur": pa.array(seconds, pa.duration("s")),
            "tod": pa.array(rng.integers(0, 86_400, N) * 10**6, pa.time64("us")),
            "d": pa.array(
                [decimal.Decimal(f"{v:.2f}") for v in rng.uniform(0, 99, N)], pa.decimal128(4, 2)
            ),
            "day": pa.array(
                [
                    datetime.date(2020, 1, 1) + datetime.timedelta(days=int(k))
                    for k in seconds % 300
                ],
                pa.date32(),
            ),
        }
    )
    pq.write_table(table, tmp_path / "clock.parquet")
    return la.Synthesizer(random_state=0).fit(read_table(tmp_path / "clock.parquet"))


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        # Text of a number counts the unit, as a condition on the command line arrives.
        ("dur", "600", pd.Timedelta(minutes=10)),
        ("dur", "0 days 00:55:54", pd.Timedelta(seconds=3354)),
        ("dur", "10min", pd.Timedelta(minutes=10)),
        ("tod", "10:59:00", datetime.time(10, 59)),
        ("tod", datetime.time(10, 59), datetime.time(10, 59)),
        ("tod", pd.Timedelta(hours=1), datetime.time(1, 0)),
        ("tod", 3_600 * 10**6, datetime.time(1, 0)),
        ("d", 50, decimal.Decimal("50.00")),
        ("d", decimal.Decimal("50.50"), decimal.Decimal("50.50")),
        ("d", "50.5", decimal.Decimal("50.50")),
        ("day", datetime.date(2020, 3, 1), datetime.date(2020, 3, 1)),
    ],
)
def test_fixed_values_on_storage_types_come_out_as_asked(
    tmp_path: Path, column: str, value: object, expected: object
) -> None:
    out = _clock_model(tmp_path).sample(5, conditions={column: value})
    assert (out[column] == expected).all()


def test_the_models_own_output_is_taken_back_as_seed_rows(tmp_path: Path) -> None:
    model = _clock_model(tmp_path)
    written = write_table(model.sample(20, random_state=3), tmp_path / "out.csv")
    for source in (
        written,
        write_table(model.sample(20, random_state=3), tmp_path / "out.parquet"),
    ):
        seeds = read_table(source)
        # Every column fixed but the decimals, which are drawn again.
        seeds["d"] = None
        out = model.sample(conditions=seeds)
        expected = model.sample(20, random_state=3)
        assert out["dur"].tolist() == expected["dur"].tolist()
        assert out["tod"].tolist() == expected["tod"].tolist()
        assert out["d"].notna().all()


def test_the_models_own_values_are_values_it_can_reach(tmp_path: Path) -> None:
    """A date drawn in one tenth of its bin and written as its day was read back in the tenth
    before, where the model gives it no probability: conditions on the model's own rows were
    "unreachable" (3 rows of 20) and their other columns drawn from overall distributions."""
    model = _clock_model(tmp_path)
    rows = model.sample(20, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for row in rows.to_dict("records"):
            out = model.sample(3, conditions=row, random_state=1)
            assert (out["day"] == row["day"]).all() and (out["dur"] == row["dur"]).all()


def test_a_set_of_dates_gives_only_those_dates(tmp_path: Path) -> None:
    """Rounding-aware masks on a set let rows draw a tenth no value's key names: 7.7 % of
    rows came out with other dates (cd9b028)."""
    model = _clock_model(tmp_path)
    days = set(model.sample(20, random_state=3)["day"].iloc[:6])
    out = model.sample(3000, conditions={"day": days}, random_state=1)
    assert out["day"].isin(days).all() and out["day"].nunique() == len(days)


def test_a_duration_far_outside_is_named_in_the_columns_own_type(tmp_path: Path) -> None:
    model = _clock_model(tmp_path)
    with pytest.warns(la.DataWarning, match=r"produces \(0 days 00:0\d:\d\d to 0 days 0[12]:"):
        model.sample(5, conditions={"dur": pd.Timedelta(hours=30)})


def test_a_time_of_day_beyond_the_day_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(la.ConditionError, match="'tod' takes a time of day"):
        _clock_model(tmp_path).sample(5, conditions={"tod": pd.Timedelta(hours=25)})


def test_evaluation_reads_dates_durations_and_times(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    days = rng.integers(0, 300, N)
    table = pa.table(
        {
            "date": pa.array(
                [datetime.date(2020, 1, 1) + datetime.timedelta(int(d)) for d in days]
            ),
            "wait": pa.array(rng.integers(0, 1000, N), pa.duration("s")),
            "time": pa.array(rng.integers(0, 86_400, N) * 10**6, pa.time64("us")),
            "n": pa.array(rng.integers(0, 9, N)),
        }
    )
    real = read_table(table)
    result = la.evaluate(real, _sample(real, tmp_path))
    assert result is not None


def test_a_rule_on_large_integers_is_refused_by_name() -> None:
    k = np.random.default_rng(11).integers(0, 5, N)
    frame = pd.DataFrame({"big": 10**17 + 7 * k, "nxt": 10**17 + 7 * k + 1, "n": k % 2})
    model = la.Synthesizer(random_state=0).fit(frame)
    with pytest.raises(la.ConditionError, match="column 'big' holds whole numbers beyond 2"):
        model.sample(10, rules=["big <= 100000000000000014"])


def test_python_decimals_dates_and_times_in_a_pandas_frame_keep_their_types(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(12)
    seconds = rng.integers(0, 86_400, N)
    frame = pd.DataFrame(
        {
            "amount": [decimal.Decimal(f"{x:.2f}") for x in rng.uniform(0, 100, N)],
            "day": [datetime.date(2020, 1, 1) + datetime.timedelta(int(d)) for d in seconds % 300],
            "at": [datetime.time(s // 3600, s // 60 % 60, s % 60) for s in seconds],
            "n": rng.integers(0, 9, N),
        },
        dtype=object,
    ).astype({"n": "int64"})
    out = _sample(frame, tmp_path)
    assert isinstance(out["amount"].iloc[0], decimal.Decimal)
    assert isinstance(out["day"].iloc[0], datetime.date)
    assert isinstance(out["at"].iloc[0], datetime.time)


def test_python_numbers_datetimes_and_durations_in_a_pandas_frame_come_back_typed(
    tmp_path: Path,
) -> None:
    """They were learned as text: integers came back as the strings '8', datetimes as
    '2021-12-27 11:00:00+01:00', and floats of sixteen digits (which pass a card number's
    check) were taken for identifiers and came back as made-up sentences."""
    rng = np.random.default_rng(13)
    start = pd.Timestamp("2021-01-01", tz="Europe/Paris")
    counts = [int(v) for v in rng.integers(0, 50, N)]
    counts[::10] = [None] * len(counts[::10])
    frame = pd.DataFrame(
        {
            "count": counts,
            "price": [float(v) for v in rng.normal(4e15, 1e14, N)],
            "at": [start + pd.Timedelta(hours=int(h)) for h in rng.integers(0, 5000, N)],
            "wait": [datetime.timedelta(seconds=int(s)) for s in rng.integers(1000, 10**6, N)],
        },
        dtype=object,
    )
    out = _sample(frame, tmp_path)
    assert out.dtypes.astype(str).to_dict() == {
        "count": "Int64",
        "price": "float64",
        "at": "datetime64[us, Europe/Paris]",
        "wait": "timedelta64[us]",
    }
    assert out["count"].isna().mean() == pytest.approx(0.1, abs=0.05)
    assert out["price"].between(3e15, 5e15).mean() > 0.95
    assert out["wait"].between(pd.Timedelta(0), pd.Timedelta(days=12)).all()


def test_long_durations_are_not_taken_for_identifiers(tmp_path: Path) -> None:
    """Durations over a quarter of an hour in nanoseconds read as card numbers' digits; the
    column was withheld and came back missing."""
    rng = np.random.default_rng(14)
    waits = pd.to_timedelta(rng.integers(1000, 10**6, N), unit="s").astype("timedelta64[ns]")
    frame = pd.DataFrame({"wait": waits, "n": rng.integers(0, 9, N)})
    assert la.infer_schema(frame)["wait"].pii is None
    out = _sample(frame, tmp_path)
    assert out["wait"].dtype == "timedelta64[ns]" and out["wait"].notna().all()


def test_pandas_arrow_dtypes_come_back_in_their_own_dtype(tmp_path: Path) -> None:
    """What ``read_parquet(dtype_backend="pyarrow")`` gives: booleans, text, numbers and
    durations in Arrow dtypes came back as float64 columns with every value missing."""
    rng = np.random.default_rng(15)
    frame = pd.DataFrame(
        {
            "flag": pd.array(rng.random(N) < 0.3, dtype="bool[pyarrow]"),
            "city": pd.array(
                rng.choice(["Oslo", "Rome"], N), dtype=pd.ArrowDtype(pa.large_string())
            ),
            "n": pd.array(rng.integers(0, 100, N), dtype="int64[pyarrow]"),
            "small": pd.array(rng.integers(0, 100, N), dtype="uint8[pyarrow]"),
            "x": pd.array(rng.normal(size=N), dtype="double[pyarrow]"),
            "wait": pd.array(
                pd.to_timedelta(rng.integers(0, 10**5, N), unit="s"),
                dtype=pd.ArrowDtype(pa.duration("s")),
            ),
        }
    )
    frame.loc[::5, ["flag", "city", "n", "x"]] = None
    out = _sample(frame, tmp_path)
    assert out.dtypes.to_dict() == frame.dtypes.to_dict()
    for name in ("flag", "city", "n", "x"):
        assert out[name].isna().mean() == pytest.approx(0.2, abs=0.08), name
    assert set(out["city"].dropna()) == {"Oslo", "Rome"}
    assert out["small"].notna().all() and out["wait"].notna().all()
    assert out["wait"].between(pd.Timedelta(0), pd.Timedelta(seconds=10**5)).all()


def test_categories_of_numbers_and_booleans_keep_their_dtype(tmp_path: Path) -> None:
    """They came back as categories of text ('10', 'True'); a rare one must still stay out."""
    rng = np.random.default_rng(16)
    frame = pd.DataFrame(
        {
            "size": pd.Categorical(
                rng.choice([10, 20, 30], N), categories=[10, 20, 30, 40, 50], ordered=True
            ),
            "flag": pd.Categorical(rng.choice([True, False], N)),
            "rate": pd.Categorical(rng.choice([1.5, 2.25], N)),
            # Categories of pandas' nullable dtypes came back as text: '7', not 7.
            "count": pd.Categorical(pd.array(rng.choice([7, 8], N), dtype="Int64")),
            "held": pd.Categorical(pd.array(rng.choice([True, False], N), dtype="boolean")),
        }
    )
    frame.loc[::8, "size"] = None
    frame.loc[::5, "count"] = None
    frame.loc[:1, "size"] = 40  # two rows: a rare category
    schema = la.infer_schema(frame)
    assert schema["size"].category_order == ("10", "20", "30", "40", "50")
    assert schema["size"].category_dtype == "int64"
    out = _sample(frame, tmp_path)
    size = out["size"].dtype
    assert isinstance(size, pd.CategoricalDtype) and size.ordered
    assert size.categories.tolist() == [10, 20, 30, 50]  # 50 was declared and never held
    assert out["size"].isna().mean() == pytest.approx(0.125, abs=0.06)
    assert out["flag"].dtype == frame["flag"].dtype
    assert out["rate"].dtype == frame["rate"].dtype
    assert set(out["rate"]) == {1.5, 2.25}
    for name in ("count", "held"):
        assert out[name].dtype == frame[name].dtype, name
    assert set(out["count"].dropna()) == {7, 8}
    assert out["count"].isna().mean() == pytest.approx(0.2, abs=0.06)
    fixed = la.load(tmp_path / "model.lk").sample(50, conditions={"size": 20}, random_state=2)
    assert (fixed["size"] == 20).all()
    with pytest.raises(la.SchemaError, match="category_dtype"):
        la.ColumnSpec("size", "categorical", "str", category_dtype="int64")


def test_categories_of_datetimes_and_durations_keep_their_dtype(tmp_path: Path) -> None:
    """They came back as categories of text ('2020-01-01 00:00:00'), without a warning."""
    rng = np.random.default_rng(19)
    stamps = pd.DatetimeIndex(["2020-01-01", "2020-02-01 12:30:00.000001", "2020-03-01"])
    oslo = pd.DatetimeIndex(["2024-10-27 02:30", "2024-10-27 02:30", "2024-03-01"]).as_unit("s")
    oslo = oslo.tz_localize("Europe/Oslo", ambiguous=[True, False, False])  # a DST fold
    waits = pd.to_timedelta(["1ns", "2 days", "90s"])
    # A negative offset and a fraction of a second: their text passed for PII, all withheld.
    york = pd.to_datetime(["2024-01-01 10:00:00.25", "2024-07-01 08:15:00.125"])
    york = york.tz_localize("America/New_York")
    frame = pd.DataFrame(
        {
            "day": pd.Categorical(rng.choice(stamps, N), categories=stamps[::-1], ordered=True),
            "local": pd.Categorical(rng.choice(oslo, N), categories=oslo),
            "york": pd.Categorical(rng.choice(york, N)),
            "wait": pd.Categorical(rng.choice(waits, N)),
            "x": rng.normal(size=N),
        }
    )
    frame.loc[::10, "wait"] = None
    schema = la.infer_schema(frame)
    assert schema["day"].kind.value == "categorical"
    assert schema["local"].category_dtype == "datetime64[s, Europe/Oslo]"
    assert not schema.pii_columns
    # Phone numbers read next to blank cells are whole floats: still text, still PII.
    phones = pd.Categorical(rng.choice([2025550100.0, 2025550199.0, np.nan], N))
    assert la.infer_schema(pd.DataFrame({"phone": phones})).pii_columns == {"phone": "phone"}
    out = _sample(frame, tmp_path)  # through save and load
    assert out["york"].notna().all()
    for name in ("day", "local", "york", "wait"):
        assert out[name].dtype == frame[name].dtype, name
        assert set(out[name].dropna()) <= set(frame[name].dropna()), name
    assert out["local"].nunique() == 3  # both sides of the fold, told apart
    assert out["wait"].isna().mean() == pytest.approx(0.1, abs=0.05)
    fixed = la.load(tmp_path / "model.lk").sample(20, conditions={"day": stamps[1]})
    assert (fixed["day"] == stamps[1]).all()
    assert la.load(tmp_path / "model.lk").schema_["wait"].category_dtype == "timedelta64[ns]"
    with pytest.raises(la.SchemaError, match="learned as categories"):
        la.infer_schema(frame, {"day": "datetime"})
    with pytest.raises(la.SchemaError, match="category_dtype"):
        la.ColumnSpec("day", "categorical", "category", category_dtype="datetime64[us, Mars/Base]")


def test_durations_in_csv_as_pandas_writes_them_round_trip(tmp_path: Path) -> None:
    """``0 days 01:14:05`` was learned as text and came back as made-up sentences."""
    rng = np.random.default_rng(17)
    frame = pd.DataFrame(
        {"wait": pd.to_timedelta(rng.integers(0, 10**5, N), unit="s"), "n": rng.integers(0, 5, N)}
    )
    frame.loc[::10, "wait"] = pd.NaT
    source = tmp_path / "waits.csv"
    frame.to_csv(source, index=False)
    table = read_table(source)
    assert pd.api.types.is_timedelta64_dtype(table["wait"])
    written = write_table(_sample(table, tmp_path), tmp_path / "out.csv")
    text = pd.read_csv(written, dtype=str)["wait"].dropna()
    assert text.str.fullmatch(r"0 days \d{2}:\d{2}:\d{2}|1 days 0\d:\d{2}:\d{2}").all()
    assert read_table(written)["wait"].isna().mean() == pytest.approx(0.1, abs=0.05)


def test_string_views_are_read_as_text() -> None:
    """pandas has no kernels for Arrow string views: filtering one failed inside pyarrow, which
    the command line reported as a bug in lookalike."""
    rng = np.random.default_rng(18)
    codes = pd.array(rng.choice(["a", "b"], N).tolist(), dtype=pd.ArrowDtype(pa.string_view()))
    frame = pd.DataFrame({"code": codes, "x": rng.normal(size=N)})
    out = la.Synthesizer(random_state=0).fit(frame).sample(100, random_state=1)
    assert out["code"].dtype == pd.ArrowDtype(pa.large_string())
    assert set(out["code"]) == {"a", "b"}


@pytest.mark.parametrize("top", [2**63 - 1, 2**64 - 1])
def test_categories_of_the_largest_integers_come_back_exactly(top: int) -> None:
    """Read back through float, INT64_MAX (a common sentinel) came back as
    9223372036854774784, under a condition too."""
    rng = np.random.default_rng(19)
    dtype = np.int64 if top < 2**63 else np.uint64
    frame = pd.DataFrame(
        {
            "c": pd.Categorical(rng.choice(np.array([0, top], dtype=dtype), N)),
            "g": rng.choice(["a", "b"], N),
        }
    )
    model = la.Synthesizer(random_state=1).fit(frame)
    assert model.sample(200, random_state=2)["c"].cat.categories.tolist() == [0, top]
    assert model.sample(20, conditions={"c": top}, random_state=3)["c"].tolist() == [top] * 20


@pytest.mark.parametrize(("step", "span", "fixed"), [("s", 3600, "10min"), ("ms", 5000, "1.5s")])
def test_a_fixed_durations_probability_does_not_depend_on_its_unit(
    step: str, span: int, fixed: str
) -> None:
    """Read on the column's step, not its storage unit: 10 minutes had a probability of 4.65e-4
    in seconds and 4.65e-13 in nanoseconds (a user audit); below a second, 1.5 seconds was a
    million times less likely in nanoseconds than in milliseconds."""
    rng = np.random.default_rng(20)
    ticks = rng.integers(0, span, 3000)
    shares = []
    for unit in (step, "ns"):
        waits = pd.to_timedelta(ticks, unit=step).astype(f"timedelta64[{unit}]")
        frame = pd.DataFrame({"wait": waits, "g": np.where(ticks > span / 2, "a", "b")})
        model = la.Synthesizer(random_state=0).fit(frame)
        _, report = model.sample_with_report(
            100, conditions={"wait": pd.Timedelta(fixed)}, random_state=1
        )
        shares.append(report.diagnostics["model_probability"])
    assert shares[0] == pytest.approx(shares[1], rel=1e-6)
    assert 1e-5 < shares[0] < 1e-2  # about one step's worth of the span


def _arrow_text_frame(n: int = N) -> pd.DataFrame:
    """Text in pandas' Arrow string dtypes, as ``read_csv(..., dtype_backend="pyarrow")`` gives
    it: dates, formatted numbers and labels."""
    rng = np.random.default_rng(24)
    days = pd.Series(pd.date_range("2020-01-01", periods=n).strftime("%Y-%m-%d"))
    prices = pd.Series([f"${v:,.2f}" for v in rng.uniform(1_000, 9_000, n)])
    return pd.DataFrame(
        {
            "day": days.astype(pd.ArrowDtype(pa.large_string())),
            "hour": (days + " 05:00:00").astype(pd.ArrowDtype(pa.string())),
            "code": days.str[-1].astype(pd.ArrowDtype(pa.string())),
            "city": pd.Series(rng.choice(["Oslo", "Rome"], n)).astype(
                pd.ArrowDtype(pa.large_string())
            ),
            "price": prices.astype(pd.ArrowDtype(pa.string())),
        }
    )


def test_arrow_string_dtypes_come_back_in_their_own_dtype(tmp_path: Path) -> None:
    """Dates in large_string[pyarrow] came back as object, and string[pyarrow] text as pandas'
    own StringDtype: its name, 'string[pyarrow]', is what pandas reads as that (nycflights13
    read with dtype_backend="pyarrow", a user audit)."""
    frame = _arrow_text_frame()
    schema = la.infer_schema(frame)
    assert [schema[c].kind.value for c in ("day", "hour", "city")] == [
        "datetime",
        "datetime",
        "categorical",
    ]
    assert schema["price"].number_format is not None
    out = _sample(frame, tmp_path)
    assert out.dtypes.to_dict() == frame.dtypes.to_dict()
    assert out["day"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert out["hour"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:00:00").all()
    assert out["price"].str.fullmatch(r"\$\d,\d{3}\.\d\d").all()
