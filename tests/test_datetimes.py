"""Datetimes survive everything: any year from 1000 to 9999, every resolution, format and zone.

pandas 3 holds datetimes at second, milli-, micro- or nanosecond resolution; only nanoseconds are
limited to the years 1677-2262. Far dates are common in real tables (birth dates in the 1600s of a
genealogy table, ``9999-12-31`` as the end of an open-ended contract), so nothing may pass them
through nanoseconds.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lookalike as la
from lookalike.encode import TableEncoder, analyze_column, make_encoder, reduce_statistics
from lookalike.errors import ConditionError
from lookalike.schema import ColumnKind, ColumnSpec, infer_schema

N = 300


def _fit(df: pd.DataFrame, **kw: object) -> la.Synthesizer:
    return la.Synthesizer(random_state=0, **kw).fit(df)  # type: ignore[arg-type]


def _open_ended(n: int = N) -> pd.DataFrame:
    """Contracts whose end is the sentinel 9999-12-31 one time in ten; births in the 1600s."""
    rng = np.random.default_rng(1)
    start = pd.Series(pd.date_range("2020-01-01", periods=n, freq="D"))
    end = (start + pd.to_timedelta(rng.integers(30, 400, n), unit="D")).dt.strftime("%Y-%m-%d")
    end[::10] = "9999-12-31"
    birth = pd.Series(pd.Timestamp("1600-01-01") + pd.to_timedelta(rng.integers(0, 36_000, n), "D"))
    return pd.DataFrame(
        {
            "end": end.astype("str"),
            "birth": birth.dt.strftime("%d/%m/%Y").astype("str"),
            "plan": rng.choice(["a", "b", "c"], n),
        }
    )


# -- (a) dates outside 1677-2262 ------------------------------------------------------------------


def test_text_dates_far_outside_the_nanosecond_range_round_trip() -> None:
    df = _open_ended()
    model = _fit(df)
    assert model.schema_["end"].kind is ColumnKind.DATETIME
    assert model.schema_["birth"].datetime_format == "%d/%m/%Y"
    out = model.sample(2000)
    assert (out["end"] == "9999-12-31").mean() == pytest.approx(0.1, abs=0.03)
    assert out["end"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    years = pd.to_datetime(out["birth"], format="%d/%m/%Y").dt.year
    assert years.between(1600, 1700).all()


def test_native_datetimes_far_outside_the_nanosecond_range_keep_their_unit() -> None:
    far = pd.to_datetime(["1650-01-01", "2024-01-31", "9999-12-31"] * (N // 3)).astype(
        "datetime64[s]"
    )
    df = pd.DataFrame({"d": far, "x": np.arange(N) % 3})
    model = _fit(df)
    assert model.schema_["d"].dtype == "datetime64[s]"
    out = model.sample(300)
    assert str(out["d"].dtype) == "datetime64[s]"
    assert set(out["d"]) <= set(far)


def test_conditions_on_far_dates() -> None:
    model = _fit(_open_ended())
    fixed = model.sample(50, conditions={"end": "9999-12-31"})
    assert (fixed["end"] == "9999-12-31").all()
    ranged = model.sample(50, conditions={"end": ("2020-03-01", "2020-06-01")})
    assert ranged["end"].between("2020-03-01", "2020-06-01").all()
    births = model.sample(50, conditions={"birth": (datetime(1650, 1, 1), datetime(1660, 1, 1))})
    years = pd.to_datetime(births["birth"], format="%d/%m/%Y").dt.year
    assert years.between(1650, 1660).all()


def test_dp_model_keeps_far_dates() -> None:
    df = _open_ended()
    # Declared complete: otherwise the private model cannot know the columns have no gaps, and
    # about one fit in 700 (the noise is fresh OS entropy) writes a few percent missing.
    complete = {name: {"complete": True} for name in df}
    model = la.Synthesizer(random_state=0, epsilon=50.0).fit(df, schema=complete)
    out = model.sample(500)
    ends = pd.to_datetime(out["end"], format="%Y-%m-%d")
    assert ends.notna().all()
    assert (ends.dt.year > 2262).mean() > 0.02
    births = pd.to_datetime(out["birth"], format="%d/%m/%Y")
    assert births.notna().all()
    assert (births.dt.year < 1677).mean() > 0.5


def test_rules_and_check_rules_on_far_dates() -> None:
    df = _open_ended()
    report = la.check_rules(df, ["end >= '2020-01-01'", "birth < '1700-01-01'"])
    assert report.n_violations == 0
    model = _fit(df)
    out = model.sample(200, rules=["end >= '2021-01-01'"])
    assert (pd.to_datetime(out["end"], format="%Y-%m-%d") >= "2021-01-01").all()


_SECOND = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))


@settings(max_examples=30, deadline=None)
@given(st.lists(_SECOND.map(lambda d: d.replace(microsecond=0)), min_size=5, max_size=160))
def test_any_second_from_year_1000_to_9999_decodes_within_its_bin(values: list[datetime]) -> None:
    series = pd.Series(pd.to_datetime(values)).astype("datetime64[s]")
    spec = ColumnSpec("d", ColumnKind.DATETIME, "datetime64[s]", nullable=False)
    stats = reduce_statistics(spec, [analyze_column(spec, series)], rare_threshold=1, n_bins=8)
    encoder = make_encoder(spec, stats)
    tokens = encoder.encode_parts(series)
    decoded = encoder.decode_parts(tokens, np.random.default_rng(0))
    assert str(decoded.dtype) == "datetime64[s]"
    assert decoded.notna().all()
    assert (encoder.encode_parts(decoded)[:, 0] == tokens[:, 0]).all()
    if stats["mode"] == "discrete":
        assert decoded.tolist() == series.tolist()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(_SECOND.map(lambda d: d.replace(microsecond=0)), min_size=2, max_size=30),
    st.booleans(),
)
def test_any_second_from_year_1000_to_9999_survives_csv(
    tmp_path_factory: pytest.TempPathFactory, values: list[datetime], date_only: bool
) -> None:
    if date_only:
        values = [v.replace(hour=0, minute=0, second=0) for v in values]
    frame = pd.DataFrame({"d": pd.Series(pd.to_datetime(values)).astype("datetime64[s]")})
    path = la.write_table(frame, tmp_path_factory.mktemp("csv") / "t.csv")
    back = la.read_table(path)
    spec = infer_schema(back)["d"]
    assert spec.kind is ColumnKind.DATETIME
    if date_only:
        assert spec.datetime_format == "%Y-%m-%d"
    parsed = pd.to_datetime(back["d"], format=spec.datetime_format)
    assert parsed.tolist() == frame["d"].tolist()


# -- (b) time zones in conditions ----------------------------------------------------------------


@pytest.fixture(scope="module")
def oslo() -> la.Synthesizer:
    """A tz-aware column across the October 2024 change from summer time (02:00-03:00 twice)."""
    ts = pd.Series(pd.date_range("2024-10-26 20:00", periods=N, freq="10min", tz="UTC"))
    df = pd.DataFrame({"ts": ts.dt.tz_convert("Europe/Oslo"), "x": np.arange(N) % 4})
    return _fit(df)


@pytest.fixture(scope="module")
def naive() -> la.Synthesizer:
    ts = pd.Series(pd.date_range("2024-01-01", periods=N, freq="h"))
    return _fit(pd.DataFrame({"ts": ts, "x": np.arange(N) % 4}))


def test_sampling_a_tz_aware_column_across_ambiguous_local_times(oslo: la.Synthesizer) -> None:
    out = oslo.sample(500)
    assert str(out["ts"].dtype) == str(oslo.schema_["ts"].dtype)
    assert str(out["ts"].dt.tz) == "Europe/Oslo"
    # 02:30 happens twice that night; both instants come out, told apart by their offset.
    late = out["ts"][(out["ts"].dt.hour == 2)]
    assert {str(t.utcoffset()) for t in late} == {"2:00:00", "1:00:00"}


def test_naive_condition_on_a_tz_aware_column_is_a_wall_time_in_its_zone(
    oslo: la.Synthesizer,
) -> None:
    ranged = oslo.sample(100, conditions={"ts": ("2024-10-27", "2024-10-27 06:00")})
    low = pd.Timestamp("2024-10-27", tz="Europe/Oslo")
    assert ranged["ts"].between(low, pd.Timestamp("2024-10-27 06:00", tz="Europe/Oslo")).all()
    fixed = oslo.sample(10, conditions={"ts": pd.Timestamp("2024-10-27 05:00")})
    assert (fixed["ts"] == pd.Timestamp("2024-10-27 05:00", tz="Europe/Oslo")).all()
    assert str(fixed["ts"].dtype) == str(oslo.schema_["ts"].dtype)
    either = oslo.sample(200, conditions={"ts": ["2024-10-27 05:00", "2024-10-27 06:00"]})
    assert set(either["ts"].dt.hour) == {5, 6}
    seeds = pd.DataFrame({"ts": pd.to_datetime(["2024-10-27 05:00", "2024-10-27 06:00"])})
    seeded = oslo.sample(conditions=seeds)
    assert seeded["ts"].tolist() == seeds["ts"].dt.tz_localize("Europe/Oslo").tolist()


@pytest.mark.parametrize(
    ("condition", "match"),
    [
        (
            "2024-10-27 02:30",
            r"'ts'.*Europe/Oslo.*2024-10-27 02:30:00 happens twice.*\+02:00.*\+01:00",
        ),
        (pd.Timestamp("2024-10-27 02:30"), "happens twice"),
        (("2024-10-27 02:10", "2024-10-27 06:00"), "happens twice"),
        (["2024-10-27 05:00", "2024-10-27 02:50"], "happens twice"),
        ("2025-03-30 02:30", r"'ts'.*Europe/Oslo.*2025-03-30 02:30:00 never happens"),
    ],
)
def test_naive_condition_that_is_not_one_instant_in_the_zone_is_a_clear_error(
    oslo: la.Synthesizer, condition: object, match: str
) -> None:
    with pytest.raises(ConditionError, match=match):
        oslo.sample(10, conditions={"ts": condition})


def test_naive_seed_rows_at_an_ambiguous_time_are_a_clear_error(oslo: la.Synthesizer) -> None:
    seeds = pd.DataFrame({"ts": ["2024-10-27 05:00", "2024-10-27 02:30"]})
    with pytest.raises(ConditionError, match=r"'ts'.*happens twice"):
        oslo.sample(conditions=seeds)


@pytest.mark.parametrize(
    "condition",
    [
        ("2024-01-03T00:00:00Z", "2024-01-05T00:00:00Z"),
        pd.Timestamp("2024-01-03 10:00", tz="America/New_York"),
        "2024-01-03 10:00+01:00",
    ],
)
def test_tz_aware_condition_on_a_naive_column_is_a_clear_error(
    naive: la.Synthesizer, condition: object
) -> None:
    with pytest.raises(ConditionError, match=r"'ts'.*no time zone"):
        naive.sample(10, conditions={"ts": condition})


def test_condition_in_another_zone_is_converted(oslo: la.Synthesizer) -> None:
    low = pd.Timestamp("2024-10-27 03:00", tz="UTC")
    high = pd.Timestamp("2024-10-27 09:00", tz="UTC")
    ranged = oslo.sample(200, conditions={"ts": (low, high)})
    assert str(ranged["ts"].dt.tz) == "Europe/Oslo"
    assert ranged["ts"].between(low, high).all()
    asked = pd.Timestamp("2024-10-27 01:30", tz="America/New_York")  # 06:30 in Oslo
    fixed = oslo.sample(20, conditions={"ts": asked})
    assert (fixed["ts"] == asked).all()
    assert {t.hour for t in fixed["ts"]} == {6}
    # The first of the two 02:30s, named by its offset.
    first = oslo.sample(20, conditions={"ts": "2024-10-27 02:30+02:00"})
    assert (first["ts"] == pd.Timestamp("2024-10-27 00:30", tz="UTC")).all()


def test_text_column_with_offsets_needs_offsets_in_conditions() -> None:
    stamps = pd.Series(pd.date_range("2024-03-01", periods=N, freq="h", tz="UTC"))
    text = stamps.dt.tz_convert("Asia/Kolkata").dt.strftime("%Y-%m-%d %H:%M:%S%z").astype("str")
    model = _fit(pd.DataFrame({"at": text, "x": np.arange(N) % 3}))
    assert model.schema_["at"].datetime_format == "%Y-%m-%d %H:%M:%S%z"
    with pytest.raises(ConditionError, match=r"'at'.*time zone"):
        model.sample(10, conditions={"at": ("2024-03-03", "2024-03-04")})
    out = model.sample(50, conditions={"at": ("2024-03-03 00:00+05:30", "2024-03-04 00:00+05:30")})
    parsed = pd.to_datetime(out["at"], format="%Y-%m-%d %H:%M:%S%z")
    assert parsed.between(
        pd.Timestamp("2024-03-02 18:30Z"), pd.Timestamp("2024-03-03 18:30Z")
    ).all()


def test_text_column_with_one_offset_keeps_it() -> None:
    stamps = pd.Series(pd.date_range("2024-03-01", periods=N, freq="h", tz="UTC"))
    text = stamps.dt.tz_convert("Asia/Kolkata").dt.strftime("%Y-%m-%dT%H:%M:%S%z").astype("str")
    out = _fit(pd.DataFrame({"at": text})).sample(100)
    assert out["at"].str.endswith("+0530").all()


def test_utc_text_column_takes_conditions_in_its_own_format() -> None:
    text = [f"2013-01-{d:02d}T06:00:00Z" for d in range(1, 29)] * 10
    model = _fit(pd.DataFrame({"at": pd.Series(text, dtype="str"), "x": np.arange(280) % 2}))
    out = model.sample(20, conditions={"at": "2013-01-05T06:00:00Z"})
    assert (out["at"] == "2013-01-05T06:00:00Z").all()
    ranged = model.sample(20, conditions={"at": ("2013-01-05T00:00:00Z", "2013-01-09T00:00:00Z")})
    assert ranged["at"].between("2013-01-05", "2013-01-09").all()


# -- (c) formats, resolutions and odd columns ----------------------------------------------------


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        (["2024-01-31", "2024-02-01", "2024-02-29", "2023-12-30"], r"\d{4}-\d\d-\d\d"),
        (["31/01/2024", "01/02/2024", "28/02/2024", "13/12/2023"], r"\d\d/\d\d/\d{4}"),
        (
            ["2024-01-31T10:00:00Z", "2024-02-01T11:30:00Z", "2024-02-03T00:00:00Z"] * 2,
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        ),
        (["1650-01-01", "2024-01-31", "9999-12-31", "1999-12-31"], r"\d{4}-\d\d-\d\d"),
    ],
)
def test_text_date_formats_survive_a_csv_round_trip(
    tmp_path: Path, values: list[str], pattern: str
) -> None:
    rows = N // len(values) * len(values)
    pd.DataFrame({"d": values * (rows // len(values)), "x": np.arange(rows) % 3}).to_csv(
        tmp_path / "real.csv", index=False
    )
    model = _fit(la.read_table(tmp_path / "real.csv"))
    assert model.schema_["d"].kind is ColumnKind.DATETIME
    la.write_table(model.sample(200), tmp_path / "synth.csv")
    back = la.read_table(tmp_path / "synth.csv")
    assert back["d"].str.fullmatch(pattern).all()
    assert set(back["d"]) <= set(values)


def test_native_date_only_column_is_written_date_only(tmp_path: Path) -> None:
    days = pd.Series(pd.date_range("1600-01-01", periods=N, freq="37D")).astype("datetime64[s]")
    model = _fit(pd.DataFrame({"day": days, "x": np.arange(N) % 3}))
    path = la.write_table(model.sample(200), tmp_path / "synth.csv")
    back = la.read_table(path)
    assert back["day"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()


@pytest.mark.parametrize(
    ("unit", "step"), [("s", "7s"), ("ms", "37ms"), ("us", "3us"), ("ns", "1001ns")]
)
def test_each_resolution_is_kept(unit: str, step: str) -> None:
    stamps = pd.Series(pd.date_range("2024-01-01", periods=N, freq=step)).astype(
        f"datetime64[{unit}]"
    )
    model = _fit(pd.DataFrame({"t": stamps, "x": np.arange(N) % 3}))
    out = model.sample(100)["t"]
    assert str(out.dtype) == f"datetime64[{unit}]"
    assert out.between(stamps.min(), stamps.max()).all()


def test_mixed_resolutions_in_one_table() -> None:
    df = pd.DataFrame(
        {
            "s": pd.Series(pd.date_range("1650-01-01", periods=N, freq="D")).astype(
                "datetime64[s]"
            ),
            "ms": pd.Series(pd.date_range("2024-01-01", periods=N, freq="37ms")).astype(
                "datetime64[ms]"
            ),
            "ns": pd.Series(pd.date_range("2024-01-01", periods=N, freq="1001ns")),
        }
    )
    out = _fit(df).sample(100)
    assert [str(out[c].dtype) for c in df] == [str(df[c].dtype) for c in df]
    assert (out["s"].dt.year < 1677).all()


def test_all_missing_datetime_column_next_to_good_ones(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "never": pd.Series([pd.NaT] * N, dtype="datetime64[s]"),
            "day": pd.Series(pd.date_range("2024-01-01", periods=N, freq="D")),
        }
    )
    model = _fit(df)
    out = model.sample(50)
    assert str(out["never"].dtype) == "datetime64[s]" and out["never"].isna().all()
    la.write_table(out, tmp_path / "o.parquet")
    assert str(la.read_table(tmp_path / "o.parquet")["never"].dtype) == "datetime64[s]"
    # It comes out missing, so a value on it is one the model cannot give.
    with pytest.raises(la.ConditionError, match="'never' cannot take the value"):
        model.sample(5, conditions={"never": "2024-03-01"})


def test_a_value_on_an_all_missing_number_column_is_refused() -> None:
    df = pd.DataFrame({"none": [np.nan] * N, "n": np.arange(N) % 7})
    model = _fit(df)
    with pytest.raises(la.ConditionError, match="'none' cannot take the value 3"):
        model.sample(5, conditions={"none": 3})
    assert model.sample(5, conditions={"none": None})["none"].isna().all()


def test_datetime_column_with_one_distinct_value() -> None:
    df = pd.DataFrame(
        {
            "native": pd.Series(pd.to_datetime(["9999-12-31 10:00"] * N)),
            "text": pd.Series(["2024-05-05"] * N, dtype="str"),
            "aware": pd.Series(pd.to_datetime(["2024-10-27 02:30+01:00"] * N)).dt.tz_convert(
                "Europe/Oslo"
            ),
        }
    )
    model = _fit(df)
    assert model.schema_["text"].kind is ColumnKind.DATETIME
    out = model.sample(20)
    for column in df:
        assert out[column].tolist() == df[column].iloc[:20].tolist()
        assert str(out[column].dtype) == str(df[column].dtype)


def test_table_encoder_keeps_far_native_and_text_dates() -> None:
    df = _open_ended()
    df["native"] = pd.to_datetime(df["end"]).astype("datetime64[s]")
    schema = infer_schema(df)
    encoder = TableEncoder.fit(schema, df, rare_threshold=3, n_bins=8)
    out = encoder.decode(encoder.encode(df), np.random.default_rng(0))
    assert (out["native"] == pd.Timestamp("9999-12-31")).mean() == pytest.approx(0.1, abs=0.01)
    assert (out["end"] == "9999-12-31").mean() == pytest.approx(0.1, abs=0.01)


def test_parquet_keeps_second_resolution_and_far_dates(tmp_path: Path) -> None:
    far = pd.Series(pd.to_datetime(["1650-01-01 10:00:01", None, "9999-12-31 00:00:00"])).astype(
        "datetime64[s]"
    )
    frame = pd.DataFrame({"far": far, "aware": far.dt.tz_localize("America/Chicago")})
    back = la.read_table(la.write_table(frame, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, frame)


def test_cli_condition_at_an_ambiguous_local_time(tmp_path: Path, oslo: la.Synthesizer) -> None:
    from typer.testing import CliRunner

    from lookalike.cli import app

    model = oslo.save(tmp_path / "m.lookalike")
    runner = CliRunner()

    def sample(condition: str, out: str) -> tuple[int, str]:
        args = ["sample", str(model), "-n", "5", "-o", str(tmp_path / out), "-c", condition]
        result = runner.invoke(app, args)
        return result.exit_code, result.stderr

    code, stderr = sample("ts=2024-10-27 02:30", "a.parquet")
    assert code != 0 and "happens twice" in stderr and "+01:00" in stderr
    assert not (tmp_path / "a.parquet").exists()
    assert sample("ts=2024-10-27 02:30+01:00", "b.parquet")[0] == 0
    out = la.read_table(tmp_path / "b.parquet")
    assert (out["ts"] == pd.Timestamp("2024-10-27 01:30", tz="UTC")).all()


def test_tz_aware_dates_stay_local_dates() -> None:
    days = pd.Series(pd.date_range("2024-01-01", periods=N, freq="D", tz="Europe/Oslo"))
    india = pd.Series(pd.date_range("2024-01-01", periods=N, freq="D", tz="Asia/Kolkata"))
    text = india.dt.strftime("%Y-%m-%d %H:%M%z").astype("str")
    out = _fit(pd.DataFrame({"day": days, "text": text})).sample(300)
    assert str(out["day"].dtype) == str(days.dtype)
    assert (out["day"].dt.normalize() == out["day"]).all()
    assert out["text"].str.fullmatch(r"\d{4}-\d\d-\d\d 00:00\+0530").all()


@pytest.mark.parametrize("digits", [1, 3, 6, 9])
def test_fractional_seconds_keep_their_width(tmp_path: Path, digits: int) -> None:
    rng = np.random.default_rng(digits)
    stamps = pd.Timestamp("2020-06-20 02:11:44") + pd.to_timedelta(
        rng.integers(0, 10**9, N) * 10 ** (9 - digits) + rng.integers(0, 10**7, N) * 10**9,
        unit="ns",
    )
    text = pd.Series(stamps).dt.strftime("%Y-%m-%d %H:%M:%S.") + [
        f"{t.microsecond * 1000 + t.nanosecond:09d}"[:digits] for t in stamps
    ]
    pd.DataFrame({"at": text, "x": np.arange(N) % 3}).to_csv(tmp_path / "real.csv", index=False)
    model = _fit(la.read_table(tmp_path / "real.csv"))
    assert model.schema_["at"].datetime_format == "%Y-%m-%d %H:%M:%S.%f"
    la.write_table(model.sample(300), tmp_path / "synth.csv")
    back = la.read_table(tmp_path / "synth.csv")["at"]
    assert back.str.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{{digits}}}").all()
    # Values between the training ones too, at the column's resolution: not all whole seconds.
    assert not back.str.endswith("." + "0" * digits).all()


@pytest.mark.parametrize("offset", ["+01:00", "+0100", "-03", "+05:30", "+00:00"])
def test_one_utc_offset_keeps_its_spelling(tmp_path: Path, offset: str) -> None:
    wall = pd.Series(pd.date_range("2024-03-01", periods=N, freq="37min"))
    text = wall.dt.strftime("%Y-%m-%dT%H:%M:%S") + offset
    pd.DataFrame({"at": text, "x": np.arange(N) % 3}).to_csv(tmp_path / "real.csv", index=False)
    model = _fit(la.read_table(tmp_path / "real.csv"))
    assert model.schema_["at"].datetime_format == "%Y-%m-%dT%H:%M:%S%z"
    la.write_table(model.sample(200), tmp_path / "synth.csv")
    back = la.read_table(tmp_path / "synth.csv")["at"]
    assert back.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" + re.escape(offset)).all()
    instants = pd.to_datetime(back, format="%Y-%m-%dT%H:%M:%S%z")
    real = pd.to_datetime(text, format="%Y-%m-%dT%H:%M:%S%z")
    assert instants.between(real.min(), real.max()).all()


def test_fixed_times_are_written_in_the_columns_zone_and_spelling() -> None:
    stamps = pd.Series(pd.date_range("2021-01-01", periods=N, freq="17h", tz="Europe/Berlin"))
    text = stamps.dt.strftime("%Y-%m-%d %H:%M:%S%z").str.replace(r"(\d\d)$", r":\1", regex=True)
    model = _fit(pd.DataFrame({"ts": text, "x": np.arange(N) % 3}))
    asked = ["2021-06-01 10:00:00+02:00", "2021-12-01 10:00:00+01:00"]
    fixed = model.sample(2, conditions={"ts": asked[0]})
    assert fixed["ts"].tolist() == [asked[0]] * 2
    # Seed rows with two offsets (pandas reads them together as UTC), and an instant in UTC;
    # December is past the model's dates, as a seed cell too.
    with pytest.warns(la.DataWarning, match="outside the values the model produces"):
        seeded = model.sample(conditions=pd.DataFrame({"ts": asked}))
    assert seeded["ts"].tolist() == asked
    utc = model.sample(1, conditions={"ts": pd.Timestamp("2021-06-01 08:00", tz="UTC")})
    assert utc["ts"].tolist() == [asked[0]]


def _berlin_spring() -> pd.Series:
    """Europe/Berlin across the change to summer time on 2021-03-28 (+01:00, then +02:00)."""
    return pd.Series(pd.date_range("2021-03-20", "2021-04-09", periods=N, tz="Europe/Berlin"))


def test_offsets_of_one_time_zone_are_written_back_in_it(tmp_path: Path) -> None:
    real = _berlin_spring().dt.floor("min")
    pd.DataFrame({"at": real, "x": np.arange(N) % 3}).to_csv(tmp_path / "real.csv", index=False)
    model = _fit(la.read_table(tmp_path / "real.csv"))
    la.write_table(model.sample(300), tmp_path / "synth.csv")
    back = la.read_table(tmp_path / "synth.csv")["at"]
    assert back.str.fullmatch(r"2021-0\d-\d\d \d\d:\d\d:00\+0[12]:00").all()
    instants = pd.to_datetime(back, format="%Y-%m-%d %H:%M:%S%z", utc=True)
    assert instants.between(real.min(), real.max()).all()
    # Each value is the Berlin wall time of its instant, with Berlin's offset then.
    berlin = instants.dt.tz_convert("Europe/Berlin").dt.strftime("%Y-%m-%d %H:%M:%S%z")
    assert (berlin == back.str.replace(r"(\d\d):(\d\d)$", r"\1\2", regex=True)).all()
    assert back.str.endswith("+01:00").any() and back.str.endswith("+02:00").any()


def test_utc_written_z_next_to_summer_offsets_keeps_both_spellings() -> None:
    stamps = pd.Series(pd.date_range("2023-03-01", "2023-05-01", periods=N, tz="Europe/London"))
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace("+0000", "Z")
    text = text.str.replace("+0100", "+01:00").astype("str")
    out = _fit(pd.DataFrame({"at": text})).sample(300)["at"]
    assert out.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|\+01:00)").all()
    instants = pd.to_datetime(out, format="%Y-%m-%dT%H:%M:%S%z", utc=True)
    summer = instants.dt.tz_convert("Europe/London").dt.strftime("%z") == "+0100"
    assert (out.str.endswith("+01:00") == summer).all() and summer.any() and not summer.all()


def test_offsets_that_no_time_zone_explains_are_written_in_utc() -> None:
    stamps = pd.Series(pd.date_range("2023-03-01", periods=N, freq="h", tz="UTC"))
    text = pd.Series(
        np.where(
            np.arange(N) % 2,
            stamps.dt.tz_convert("Asia/Tokyo").dt.strftime("%Y-%m-%d %H:%M%z"),
            stamps.dt.tz_convert("America/Chicago").dt.strftime("%Y-%m-%d %H:%M%z"),
        ),
        dtype="str",
    )
    model = _fit(pd.DataFrame({"at": text}))
    out = model.sample(100)["at"]
    assert out.str.endswith("+0000").all()


def test_a_time_zone_is_found_across_partitions_of_one_offset_each() -> None:
    text = _berlin_spring().dt.strftime("%Y-%m-%d %H:%M%z").astype("str")
    spec = infer_schema(pd.DataFrame({"at": text}))["at"]
    march, april = text[text.str.endswith("+0100")], text[text.str.endswith("+0200")]
    partials = [analyze_column(spec, part) for part in (march, april)]
    stats = reduce_statistics(spec, partials, rare_threshold=1, n_bins=8)
    assert stats["time_zone"] in {"Europe/Berlin", *_zones_like_berlin_in_2021()}
    # 2021-03-28 00:00 and 02:00 UTC: before and after the clocks went forward.
    decoded = make_encoder(spec, stats).to_datetimes(np.array([1616889600.0, 1616896800.0]))
    assert decoded.tolist() == ["2021-03-28 01:00+0100", "2021-03-28 04:00+0200"]
    # A model saved before time zones were learned writes UTC, as it did.
    old = {k: v for k, v in stats.items() if k not in {"time_zone", "utc_offset_spelling"}}
    assert make_encoder(spec, old).to_datetimes(np.array([1616889600.0])).tolist() == [
        "2021-03-28 00:00+0000"
    ]


def _zones_like_berlin_in_2021() -> set[str]:
    from lookalike.schema._datetimes import fitting_time_zones

    spring = _berlin_spring()
    seconds = (
        spring.dt.tz_convert("UTC").dt.tz_localize(None) - pd.Timestamp(0)
    ).dt.total_seconds()
    minutes = np.array([t.utcoffset().total_seconds() / 60 for t in spring])
    return set(fitting_time_zones(seconds.to_numpy(), minutes))


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", "2021-03-20"),
        ("America/New_York", "2021-03-10"),
        ("Europe/London", "2021-03-20"),
        ("Australia/Sydney", "2021-03-30"),
    ],
)
def test_shared_offsets_get_the_zone_name_readers_expect(zone: str, start: str) -> None:
    # Ceuta has had Berlin's offsets since 1979, Toronto New York's, Lisbon London's: the
    # data cannot tell them apart, so the widely used name is written.
    stamps = pd.Series(pd.date_range(start, periods=N, freq="3h", tz=zone))
    text = stamps.dt.strftime("%Y-%m-%d %H:%M%z").astype("str")
    spec = infer_schema(pd.DataFrame({"at": text}))["at"]
    stats = reduce_statistics(spec, [analyze_column(spec, text)], rare_threshold=1, n_bins=8)
    assert stats["time_zone"] == zone


def test_day_first_dates_are_read_day_first_when_the_first_rows_cannot_tell() -> None:
    """Hourly rows start with 24 rows of 01/01: the first 50 values fit month-first as well, and
    were read so (the 13th to the 31st then fell back to per-value parsing, every 1st-12th of a
    month swapped with its month)."""
    stamps = pd.date_range("2013-01-01", "2013-12-31", freq="h")
    table = pd.DataFrame(
        {"when": stamps.strftime("%d/%m/%Y %H:%M"), "month": stamps.month, "x": stamps.day}
    )
    assert la.infer_schema(table)["when"].datetime_format == "%d/%m/%Y %H:%M"
    synthetic = la.Synthesizer(random_state=0).fit(table).sample(2_000, random_state=1)
    read = pd.to_datetime(synthetic["when"], format="%d/%m/%Y %H:%M")
    assert (read.dt.month == synthetic["month"]).mean() > 0.9
    # Month-first text keeps its order.
    month_first = pd.DataFrame({"when": stamps.strftime("%m/%d/%Y"), "x": 1})
    assert la.infer_schema(month_first)["when"].datetime_format == "%m/%d/%Y"


@pytest.mark.parametrize("fmt", ["%m/%d/%y", "%d/%m/%y", "%d.%m.%y", "%m/%d/%y %H:%M"])
def test_two_digit_years_are_dates(fmt: str) -> None:
    """pandas guesses no format for 01/02/13: such columns were taken for identifiers (every
    value distinct) or categories, and their dates were never learned."""
    stamps = pd.date_range("2013-01-01", periods=400, freq="D")
    table = pd.DataFrame({"when": stamps.strftime(fmt), "x": np.arange(400)})
    spec = la.infer_schema(table)["when"]
    assert spec.kind is ColumnKind.DATETIME and spec.datetime_format == fmt


def test_twelve_hour_clocks_and_times_of_day_are_read_as_datetimes() -> None:
    """pandas guesses no format for "01/27/2021 03:15 PM" nor for "15:30": such columns were
    learned as text (made-up sentences) or as categories of withheld values."""
    frame = pd.DataFrame(
        {
            "at": ["01/27/2021 03:15 PM", "02/03/2021 11:05 AM", "12/31/2021 12:00 AM"] * 20,
            "opens": ["15:30", "08:05", "23:59"] * 20,
            "closes": ["15:30:10", "08:05:00", "23:59:59"] * 20,
            "lunch": ["12:30 PM", "01:05 PM", "11:45 AM"] * 20,
        }
    )
    schema = la.infer_schema(frame)
    assert [(spec.kind.value, spec.datetime_format) for spec in schema] == [
        ("datetime", "%m/%d/%Y %I:%M %p"),
        ("datetime", "%H:%M"),
        ("datetime", "%H:%M:%S"),
        ("datetime", "%I:%M %p"),
    ]
    out = la.Synthesizer(random_state=0).fit(frame).sample(200, random_state=1)
    for name in frame:
        assert out[name].isin(frame[name]).mean() > 0.9, name
    # Not ratios, scores or verses, whose numbers have one digit or more than the clock's.
    others = pd.DataFrame(
        {"ratio": ["16:9", "4:3", "21:9"] * 20, "score": ["2:1", "0:4", "10:2"] * 20}
    )
    assert [spec.kind.value for spec in la.infer_schema(others)] == ["categorical"] * 2


def test_dates_and_times_written_without_leading_zeros_keep_their_spelling(
    tmp_path: Path,
) -> None:
    """``10/9/2021 6:32 pm`` came back as ``10/09/2021 06:32 PM`` (a user audit): months, days
    and hours below 10 are written as the column writes most of them, and so is ``pm``."""
    rng = np.random.default_rng(5)
    stamps = pd.Timestamp("2021-01-01") + pd.to_timedelta(
        rng.integers(0, 365 * 24 * 60, 1500), unit="min"
    )
    frame = pd.DataFrame(
        {
            "at": [
                f"{t.month}/{t.day}/{t.year} {(t.hour % 12) or 12}:{t.minute:02d} "
                + ("pm" if t.hour >= 12 else "am")
                for t in stamps
            ],
            "day": [f"{t.month}/{t.day}/{t.year}" for t in stamps],
            "padded": [t.strftime("%d.%m.%Y %H:%M") for t in stamps],
            "lunch": [
                f"{(t.hour % 12) or 12}:{t.minute:02d} " + ("PM" if t.hour >= 12 else "AM")
                for t in stamps
            ],
        }
    )
    schema = la.infer_schema(frame)
    assert [spec.datetime_format for spec in schema] == [
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y",
        "%d.%m.%Y %H:%M",
        "%I:%M %p",
    ]
    out = la.Synthesizer(random_state=0).fit(frame).sample(400, random_state=1)
    assert out["at"].str.fullmatch(r"[1-9]\d?/[1-9]\d?/2021 [1-9]\d?:\d\d [ap]m").all()
    assert out["day"].str.fullmatch(r"[1-9]\d?/[1-9]\d?/2021").all()
    assert out["padded"].str.fullmatch(r"\d\d\.\d\d\.2021 \d\d:\d\d").all()
    assert out["lunch"].str.fullmatch(r"[1-9]\d?:\d\d [AP]M").all()


# -- steps below a second ------------------------------------------------------------------------


def _own_ticks(values: pd.Series) -> np.ndarray:
    """Present values as int64 counts of their own unit (UTC for tz-aware datetimes)."""
    if isinstance(values.dtype, pd.ArrowDtype):
        return np.asarray(pa.array(values).drop_null().cast(pa.int64()).to_numpy())
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = values.dropna().to_numpy()
    return np.asarray(raw.view(np.int64))


def _whole_milliseconds(dtype: str, ms: np.ndarray) -> pd.Series:
    if dtype.startswith("datetime64"):
        stamps = pd.Timestamp("2020-01-01", tz="UTC" if "UTC" in dtype else None)
        return pd.Series(stamps + pd.to_timedelta(ms, unit="ms")).astype(dtype)
    if dtype.startswith("time64"):
        day = ms % (86_400 * 10**3)
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(day * 10**6).cast(pa.time64("ns"))))
    return pd.Series(pd.to_timedelta(ms, unit="ms")).astype(dtype)


@pytest.mark.parametrize(
    ("dtype", "per_ms"),
    [
        ("datetime64[us]", 10**3),
        ("datetime64[ns]", 10**6),
        ("datetime64[ns, UTC]", 10**6),
        ("timedelta64[us]", 10**3),
        ("timedelta64[ns]", 10**6),
        ("duration[ns][pyarrow]", 10**6),
        ("time64[ns][pyarrow]", 10**6),
    ],
)
def test_whole_milliseconds_stay_whole_in_finer_units(
    dtype: str, per_ms: int, tmp_path: Path
) -> None:
    """Whole milliseconds came back with stray micro- or nanoseconds in every row (a user audit):
    the step was read from float seconds, ~100 ns coarse at 2020's dates, so it was always a
    nanosecond; durations and times of day had no step below a second."""
    rng = np.random.default_rng(21)
    values = _whole_milliseconds(dtype, rng.integers(0, 10**10, N))
    frame = pd.DataFrame({"t": values, "x": rng.integers(0, 3, N)})
    model = _fit(frame)
    model.save(tmp_path / "model.lk")
    out = la.load(tmp_path / "model.lk").sample(N, random_state=1)
    back = la.read_table(la.write_table(out, tmp_path / "out.parquet"))
    for sampled in (out["t"], back["t"]):
        assert str(sampled.dtype) == str(values.dtype)
        ticks = _own_ticks(sampled)
        assert len(ticks) == N and not np.any(ticks % per_ms)
        assert np.any(ticks % (1000 * per_ms))  # fractions of a second: the step is a ms


def test_step_is_read_in_exact_ticks_across_partitions() -> None:
    """A partition with no values does not pull the step down to a nanosecond."""
    spec = ColumnSpec("t", ColumnKind.DATETIME, "datetime64[ns]")
    stamps = pd.Series(pd.to_datetime(["2020-01-01 10:00:00.123", "2020-06-01 00:00:00.5"]))
    partials = [
        analyze_column(spec, stamps.astype("datetime64[ns]")),
        analyze_column(spec, pd.Series([pd.NaT], dtype="datetime64[ns]")),
    ]
    assert partials[0]["step_ns"] == 10**6
    statistics = reduce_statistics(spec, partials, rare_threshold=1, n_bins=4)
    assert statistics["step_ns"] == 10**6 and "constant_ns" not in statistics


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "datetime64[ns, Europe/Oslo]", "str"])
def test_one_instant_to_the_nanosecond_is_kept_exactly(dtype: str, tmp_path: Path) -> None:
    """.456789123 came back as .456789017: through float seconds, which hold ~100 ns today."""
    text = "2020-03-04 05:06:07.456789123"
    values = pd.Series([text] * N, dtype="str")
    if dtype != "str":
        values = pd.Series(pd.to_datetime(values)).astype("datetime64[ns]")
        values = values.dt.tz_localize(dtype[15:-1]) if "," in dtype else values
    frame = pd.DataFrame({"t": values, "x": np.arange(N) % 3})
    model = _fit(frame)
    model.save(tmp_path / "model.lk")
    out = la.load(tmp_path / "model.lk").sample(50, random_state=1)
    assert out["t"].tolist() == values.iloc[:50].tolist()
    assert str(out["t"].dtype) == str(values.dtype)


def test_models_saved_before_sub_second_steps_still_load(tmp_path: Path) -> None:
    """Their statistics hold no step for durations and no single instant: durations come out in
    whole ticks, as they did."""
    import json
    import zipfile

    rng = np.random.default_rng(22)
    waits = pd.Series(pd.to_timedelta(rng.integers(0, 10**8, N), unit="ms"), dtype="m8[ns]")
    frame = pd.DataFrame({"wait": waits, "at": pd.Timestamp("2020-01-01") + waits})
    path = _fit(frame).save(tmp_path / "model.lk")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        arrays = archive.read("arrays.npz")
    assert manifest["statistics"]["wait"].pop("step_ns") == 10**6
    manifest["statistics"]["at"]["step_ns"] = 1  # what the float seconds gave
    manifest.pop("manifest_sha256", None)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("arrays.npz", arrays)
    out = la.load(path).sample(100, random_state=1)
    assert out.dtypes.to_dict() == frame.dtypes.to_dict() and out.notna().all().all()


@pytest.mark.parametrize(
    "fmt",
    [
        *("%d-%b-%Y", "%d-%b-%y", "%d %b %Y %H:%M:%S", "lower %d-%b-%Y"),
        *("%d %B %Y", "lower %B %d, %Y", "%a, %d %b %Y", "lower %A, %d %B %Y"),
    ],
)
def test_month_names_in_upper_case_are_dates_written_in_upper_case(fmt: str) -> None:
    """Oracle writes 31-OCT-2013; pandas guesses no format for it, so each date was a key or a
    rare category (66 % of cells came out as _RARE_)."""
    lower = fmt.startswith("lower ")
    fmt = fmt.removeprefix("lower ")
    days = pd.Series(pd.date_range("2013-01-01", periods=365)).sample(
        600, replace=True, random_state=0
    )
    text = days.dt.strftime(fmt)
    frame = pd.DataFrame(
        {"d": (text.str.lower() if lower else text.str.upper()).to_numpy(), "x": np.arange(600) % 3}
    )
    model = la.Synthesizer(random_state=0).fit(frame)
    assert model.schema_["d"].datetime_format == fmt
    out = model.sample(500, random_state=1)
    assert (out["d"].str.islower() if lower else out["d"].str.isupper()).all()
    assert pd.to_datetime(out["d"], format=fmt, errors="coerce").notna().all()
    fixed = model.sample(5, conditions={"d": frame["d"].iloc[0]}, random_state=2)
    assert (fixed["d"] == frame["d"].iloc[0]).all()


def test_dates_written_as_whole_numbers_come_back_as_such_dates(tmp_path: Path) -> None:
    """20130101 in a CSV was learned as a number: 10 % of outputs were no date (20131134)."""
    days = pd.Series(pd.date_range("2013-01-01", periods=365)).sample(
        800, replace=True, random_state=0
    )
    frame = pd.DataFrame({"d": days.dt.strftime("%Y%m%d").astype(int).to_numpy(), "x": 1})
    frame["x"] = np.arange(800) % 3
    frame.to_csv(tmp_path / "in.csv", index=False)
    model = la.Synthesizer(random_state=0).fit(tmp_path / "in.csv")
    assert model.schema_["d"].datetime_format == "%Y%m%d"
    out = model.sample(2000, random_state=1)
    assert str(out["d"].dtype) == "int64"
    assert pd.to_datetime(out["d"].astype(str), format="%Y%m%d", errors="coerce").notna().all()
    gaps = frame.astype({"d": float})
    gaps.loc[::10, "d"] = np.nan  # a CSV column with gaps is read as float
    out = la.Synthesizer(random_state=0).fit(gaps).sample(2000, random_state=1)
    assert 0.06 < out["d"].isna().mean() < 0.14
    present = out["d"].dropna().astype(np.int64).astype(str)
    assert pd.to_datetime(present, format="%Y%m%d", errors="coerce").notna().all()


def _whole_number_dates(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    return pd.DataFrame({"d": days.strftime("%Y%m%d").astype(int), "x": rng.normal(size=n)})


def test_rules_read_a_number_as_a_date_written_so() -> None:
    """pd.Timestamp(20130601) is 20 ms after 1970: `d > 20130601` held for every row, so the
    report counted no violation and 39 % of sampled rows broke the rule (review)."""
    frame = _whole_number_dates()
    with pytest.warns(la.DataWarning, match="794 of 2000 rows"):
        model = la.Synthesizer(random_state=0).fit(frame, rules=["d > 20130601"])
    report = model.rules_report_.to_frame()
    assert report["n_violations"].iloc[0] == (frame["d"] <= 20130601).sum()
    assert (model.sample(1000, random_state=1)["d"] > 20130601).all()
    both = model.sample(200, rules=["d <= 20130701"], random_state=2)["d"]
    assert both.between(20130602, 20130701).all()


def test_whole_number_dates_in_evaluate_arrow_and_with_infinities() -> None:
    """evaluate refused the real table's own numbers; Arrow numbers came back as text; an
    infinity among the numbers crashed schema inference (review)."""
    frame = _whole_number_dates()
    synthetic = la.Synthesizer(random_state=0).fit(frame).sample(2000, random_state=1)
    accuracy = {c.name: c.accuracy for c in la.evaluate(frame, synthetic).fidelity.columns}
    assert accuracy["d"] > 0.9
    for dtype in ("int64[pyarrow]", "double[pyarrow]"):
        arrow = frame.assign(d=pd.array(frame["d"], dtype=dtype))
        out = la.Synthesizer(random_state=0).fit(arrow).sample(50, random_state=1)
        assert str(out["d"].dtype) == dtype
    infinite = frame.astype({"d": float})
    infinite.loc[0, "d"] = np.inf
    assert la.infer_schema(infinite)["d"].kind is la.ColumnKind.CONTINUOUS


def test_far_dates_below_a_second_are_learned() -> None:
    """Link detection read times past 2262 as nanoseconds and raised OutOfBoundsDatetime."""
    stamps = pd.to_datetime(["2300-01-01 00:00:00.001", "2300-02-01 00:00:00.002"] * 20)
    frame = pd.DataFrame({"t": pd.Series(stamps).astype("datetime64[us]"), "x": np.arange(40) % 2})
    out = la.Synthesizer(random_state=0).fit(frame).sample(20, random_state=1)
    assert out["t"].isin(frame["t"]).all()


def test_far_dates_keep_their_part_columns() -> None:
    """Composing year ... second went through nanoseconds, which end in 2262 (review)."""
    t = pd.Series((np.datetime64("2300-01-01", "s") + np.arange(600) * 3607).astype("M8[s]"))
    parts = {p: getattr(t.dt, p) for p in ("year", "month", "day", "hour", "minute", "second")}
    model = la.Synthesizer(random_state=0).fit(pd.DataFrame({"t": t, **parts}))
    assert [link.kind for link in model.links_] == ["datetime_parts"]
    out = model.sample(300, random_state=1)
    assert (out["t"].dt.year == out["year"]).all() and (out["t"].dt.hour == out["hour"]).all()
