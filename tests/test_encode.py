from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookalike.encode import (
    RARE_VALUE,
    TableEncoder,
    analyze_column,
    make_encoder,
    reduce_statistics,
    value_label,
    value_labels,
)
from lookalike.errors import SchemaError
from lookalike.schema import ColumnKind, ColumnSpec, PiiType, infer_schema


def _encoder(spec: ColumnSpec, series: pd.Series, **kw: int):
    stats = reduce_statistics(
        spec,
        [analyze_column(spec, series)],
        rare_threshold=kw.get("k", 3),
        n_bins=kw.get("bins", 4),
    )
    return make_encoder(spec, stats), stats


def test_categorical_statistics_are_exact_and_rare_is_withheld() -> None:
    spec = ColumnSpec("c", ColumnKind.CATEGORICAL, "str", nullable=True)
    series = pd.Series(["a"] * 5 + ["b"] * 3 + ["z"] * 2 + [None] * 4, dtype="str")
    enc, stats = _encoder(spec, series)
    assert stats["categories"] == ["a", "b"]
    assert stats["has_rare"] and stats["has_missing"]
    tokens = enc.encode(series)
    assert tokens.tolist() == [0] * 5 + [1] * 3 + [2] * 2 + [3] * 4
    decoded = enc.decode(tokens, np.random.default_rng(0))
    assert decoded.tolist()[:10] == ["a"] * 5 + ["b"] * 3 + [RARE_VALUE] * 2
    assert decoded.iloc[10:].isna().all()


def test_partials_merge_like_one_pass() -> None:
    spec = ColumnSpec("c", ColumnKind.CATEGORICAL, "str")
    whole = pd.Series(list("aaabbbbcd") * 3)
    one = reduce_statistics(spec, [analyze_column(spec, whole)], rare_threshold=3, n_bins=4)
    parts = [analyze_column(spec, whole.iloc[:10]), analyze_column(spec, whole.iloc[10:])]
    assert reduce_statistics(spec, parts, rare_threshold=3, n_bins=4) == one


def test_discrete_rare_values_snap_to_frequent() -> None:
    spec = ColumnSpec("x", ColumnKind.DISCRETE, "int64", nullable=False, decimals=0)
    series = pd.Series([1] * 10 + [2] * 10 + [9])
    enc, stats = _encoder(spec, series)
    assert stats["values"] == [1.0, 2.0]
    decoded = enc.decode(enc.encode(series), np.random.default_rng(0)).tolist()
    assert decoded == [1.0] * 10 + [2.0] * 11


def test_discrete_with_many_rare_values_falls_back_to_bins() -> None:
    spec = ColumnSpec("x", ColumnKind.DISCRETE, "int64", nullable=False, decimals=0)
    # Frequent values hold 8 of 9 rows (< 90 %): snapping would distort, so bins are used.
    _, stats = _encoder(spec, pd.Series([1] * 4 + [2] * 4 + [9]), k=3)
    assert stats["mode"] == "continuous"
    assert 9.0 not in stats["spikes"]


def test_continuous_extremes_are_protected_and_values_stay_in_bins() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0, 1, 1000), [1e6]])
    spec = ColumnSpec("x", ColumnKind.CONTINUOUS, "float64", nullable=False, decimals=6)
    enc, stats = _encoder(spec, pd.Series(values), k=5, bins=10)
    decoded = enc.decode(enc.encode(pd.Series(values)), np.random.default_rng(0)).to_numpy()
    assert decoded.max() < 10  # the outlier is never released
    # Every decoded value lies in the bin its token names.
    edges = np.asarray(stats["edges"])
    assert decoded.min() >= edges[0] and decoded.max() <= edges[-1]


def test_a_bin_of_few_rows_has_no_grid_points_on_single_rows_values() -> None:
    """With 7 rows in a bin, 21 quantile points repeated single rows' values (105 x 13, 107,
    108, 112, 126): equal neighbours are a point mass, so one plane's speed came out as 10 % of
    all speeds. Quantiles are now no finer than ``rare_threshold`` rows apart."""
    values = [90, 90, 95, 105, 105, 107, 108, 112, 126, 127, 162, 162, 167, 202, 232] + [432] * 8
    spec = ColumnSpec("speed", ColumnKind.CONTINUOUS, "Int64", nullable=False, decimals=0)
    enc, stats = _encoder(spec, pd.Series(values, dtype="Int64"), k=5, bins=4)
    for points in np.asarray(stats["within"]):
        assert (np.diff(points) > 0).all()
    tokens = enc.encode(pd.Series(np.repeat(values, 400), dtype="Int64"))
    decoded = enc.decode(tokens, np.random.default_rng(0)).to_numpy(dtype=float)
    held_once = [107, 108, 112, 126, 127]
    shares = [float(np.mean(decoded == v)) for v in held_once]
    # A whole number spread over a bin of 20 takes about 1/20 of its bin's rows.
    assert max(shares) < 0.04, shares


def test_values_drawn_as_themselves_are_not_rounded_again() -> None:
    """Computed floats (9 * 1.15078 = 10.357019999999999) read as 5 decimals; a spike or a
    frequent value is a training value and comes back as that float, not as 10.35702."""
    rng = np.random.default_rng(0)
    held = np.arange(1, 41) * 1.15078  # many are a hair off their 5-decimal spelling
    values = pd.Series(np.where(rng.random(4_000) < 0.5, rng.choice(held, 4_000), 0.5))
    spec = ColumnSpec("wind", ColumnKind.CONTINUOUS, "float64", nullable=False, decimals=5)
    assert (np.round(held, 5) != held).any()
    enc, _ = _encoder(spec, values, k=5, bins=8)
    decoded = enc.decode(enc.encode(values), np.random.default_rng(1)).to_numpy(dtype=float)
    assert np.isin(decoded, np.concatenate([held, [0.5]])).mean() > 0.99
    # Decimals an override asks for (fewer than the data's) round those values too.
    coarse = ColumnSpec("wind", ColumnKind.CONTINUOUS, "float64", nullable=False, decimals=0)
    enc, _ = _encoder(coarse, values, k=5, bins=8)
    decoded = enc.decode(enc.encode(values), np.random.default_rng(1)).to_numpy(dtype=float)
    assert (decoded == np.round(decoded)).all()


def test_statistics_do_not_depend_on_the_most_extreme_values() -> None:
    # The ends are extrapolated from quantiles taken after the clip: moving the 4 (k - 1) largest
    # and smallest values anywhere beyond the clip leaves every statistic as it was.
    rng = np.random.default_rng(2)
    values = np.sort(rng.lognormal(10, 0.6, 4000).round())
    moved = values.copy()
    moved[-4:] = moved[-4:] * [2, 3, 5, 40]
    moved[:4] = moved[:4] / [9, 7, 5, 3]
    spec = ColumnSpec("w", ColumnKind.CONTINUOUS, "int64", nullable=False, decimals=0)
    _, stats = _encoder(spec, pd.Series(values), k=5, bins=20)
    _, stats_moved = _encoder(spec, pd.Series(moved), k=5, bins=20)
    assert stats == stats_moved
    # Both ends are extrapolated (on the log scale: the column is positive) past the 5th largest
    # and smallest values, which are therefore not released either.
    assert values[-5] < stats["edges"][-1] == stats["within"][-1][-1] < 2 * values[-5]
    assert values[4] / 2 < stats["edges"][0] == stats["within"][0][0] < values[4]
    assert values[-5] not in stats["within"][-1] and values[4] not in stats["within"][0]
    enc = make_encoder(spec, stats)
    decoded = enc.decode(enc.encode(pd.Series(values)), np.random.default_rng(0))
    assert decoded.max() > values[-5] and decoded.min() < values[4]
    assert not (set(values[-4:]) | set(values[:4])) & set(decoded)


def test_frequent_values_are_drawn_as_themselves_with_their_share() -> None:
    # Credit limits in thousands: 300 values held by 5-20 rows each, plus 40 odd amounts held
    # by one row each. Spreading between quantiles would give amounts nobody has (12,437).
    rng = np.random.default_rng(3)
    frequent = np.repeat(1000.0 * np.arange(1, 301), rng.integers(5, 21, 300))
    rare = 1000.0 * rng.choice(np.arange(1, 301), 40, replace=False) + 537
    series = pd.Series(np.concatenate([frequent, rare]))
    spec = ColumnSpec("limit", ColumnKind.CONTINUOUS, "int64", nullable=False, decimals=0)
    enc, stats = _encoder(spec, series, k=5, bins=20)
    held = series.value_counts()
    assert set(stats["frequent_values"]) <= set(held[held >= 5].index)
    assert not set(stats["frequent_values"]) & set(rare)
    decoded = enc.decode_parts(enc.encode_parts(series), np.random.default_rng(0))
    assert (decoded % 1000 == 0).mean() > 0.97  # the rest are the odd amounts' share, spread
    assert not set(decoded) & set(rare)
    shares = pd.concat(
        [series.value_counts(normalize=True), decoded.value_counts(normalize=True)], axis=1
    ).fillna(0.0)
    assert (shares.iloc[:, 0] - shares.iloc[:, 1]).abs().sum() / 2 < 0.08


def _any_minute(rng: np.random.Generator, n: int) -> pd.Series:
    """HHMM times at any minute from 5:00 to 23:59: most times are held by one or two rows."""
    minutes = rng.integers(5 * 60, 24 * 60, n)
    return pd.Series(minutes // 60 * 100 + minutes % 60, name="dep_time")


def test_hhmm_clock_times_are_spread_on_the_clock() -> None:
    # Each time is too rare to release, so every row is spread inside its bin. On the number
    # line, 11:30-12:30 runs through 1160-1199, no times; on the clock it does not.
    series = _any_minute(np.random.default_rng(8), 2000)
    (spec,) = infer_schema(series.to_frame())
    assert spec.clock == "hhmm"
    enc, stats = _encoder(spec, series, k=5, bins=20)
    assert sum(stats.get("frequent_counts", [])) < 0.2 * len(series)  # most rows are spread
    tokens = enc.encode_parts(series)
    decoded = enc.decode_parts(tokens, np.random.default_rng(0))
    assert (decoded % 100 < 60).all()
    assert decoded.between(500, 2359).all()
    hours = pd.concat(
        [
            (series // 100).value_counts(normalize=True),
            (decoded // 100).value_counts(normalize=True),
        ],
        axis=1,
    ).fillna(0.0)
    assert (hours.iloc[:, 0] - hours.iloc[:, 1]).abs().sum() / 2 < 0.05
    # Encoding reads the same clock: a drawn time falls in the cell it was drawn from (but
    # where rounding to a whole minute crosses into the next tenth).
    assert (enc.encode_parts(decoded) == tokens).all(axis=1).mean() > 0.9


@pytest.mark.parametrize(
    "values",
    [
        np.arange(17.0, 91.0),  # ages: endings 60-99 occur
        np.arange(0.0, 60.0),  # minutes: one hour only
        np.arange(0.0, 2401.0, 10.0),  # counts in tens: endings 60-90 occur
        np.arange(0.0, 2401.0, 50.0),  # 49 values: too few to tell
        np.arange(-100.0, 2300.0),  # below zero
        np.arange(0.0, 2400.0) + 0.5,  # not whole numbers
    ],
)
def test_numbers_that_are_not_clock_times_are_not_read_as_such(values: np.ndarray) -> None:
    (spec,) = infer_schema(pd.DataFrame({"x": np.repeat(values, 3)}))
    assert spec.clock is None


def test_a_clock_is_declared_only_on_whole_numbers() -> None:
    with pytest.raises(SchemaError, match="clock is 'hhmm'"):
        ColumnSpec("t", ColumnKind.CATEGORICAL, "str", clock="hhmm")
    with pytest.raises(SchemaError, match="clock is 'hhmm'"):
        ColumnSpec("t", ColumnKind.CONTINUOUS, "float64", decimals=2, clock="hhmm")
    times = _any_minute(np.random.default_rng(2), 500).to_frame()
    (plain,) = infer_schema(times, {"dep_time": {"clock": None}})
    assert plain.clock is None
    (as_text,) = infer_schema(times, {"dep_time": "categorical"})
    assert as_text.clock is None


def test_without_exact_counts_no_frequent_values_are_kept() -> None:
    # A histogram summarised by quantiles has representatives, not values: none is released.
    from lookalike.encode import _encoders

    spec = ColumnSpec("x", ColumnKind.CONTINUOUS, "float64", nullable=False, decimals=6)
    series = pd.Series(np.repeat(np.arange(400.0), 6))
    partial = analyze_column(spec, series)
    assert partial["exact"]
    stats = reduce_statistics(spec, [{**partial, "exact": False}], rare_threshold=5, n_bins=10)
    assert "frequent_values" not in stats
    assert _encoders.FrequentValues.from_statistics(stats) is None


@pytest.mark.parametrize(
    ("xi", "expected"),
    # Quantile of a GPD(xi, scale 1) at exceedance 1/1000: the largest of the 50 rows in the last
    # of 20 steps of a bin whose quantiles follow that GPD. A heavy tail (xi 0.5) is extrapolated
    # as exponential with the scale of its quantiles at 1-2a and 1-4a: (x2 - x4) / ln 2.
    [
        (0.0, np.log(1000.0)),
        (-0.5, 2 * (1 - 1000**-0.5)),
        (-1.0, 1 - 1 / 1000),
        (0.5, 2 * (20**0.5 - 1) + 2 * (10**0.5 - 5**0.5) / np.log(2) * np.log(50)),
    ],
)
def test_tail_end_is_the_expected_largest_value_of_the_fitted_tail(
    xi: float, expected: float
) -> None:
    from lookalike.encode._encoders import _tail_end

    exceedance = 1 - np.arange(20) / 20
    quantiles = np.log(1 / exceedance) if xi == 0 else (exceedance**-xi - 1) / xi
    grid = np.append(quantiles, quantiles[-1] + 0.01)  # the last point (the clip) is not used
    assert _tail_end(grid, 50.0, 5) == pytest.approx(expected, rel=1e-12)
    # Too few rows in the outermost step to stand for a tail: none.
    assert _tail_end(grid, 4.0, 5) is None


def test_tail_respects_top_codes_zero_and_rare_threshold_one() -> None:
    spec = ColumnSpec("gain", ColumnKind.CONTINUOUS, "int64", nullable=False, decimals=0)
    rng = np.random.default_rng(3)
    # A top-code held by many rows (adult's capital_gain 99999) ties the last quantiles: no tail.
    gains = np.concatenate([rng.exponential(5000, 3000).round() + 100, [99999] * 20])
    _, stats = _encoder(spec, pd.Series(gains), k=5, bins=20)
    assert stats["edges"][-1] == 99999 and stats["within"][-1][-1] == 99999
    # A lower tail that would run below zero stops at zero: on data that reach zero (so are
    # extrapolated on the value scale) and have a long left tail.
    left = np.concatenate([1000 - rng.exponential(200, 4000), [0.0] * 4]).clip(0).round()
    _, stats = _encoder(spec, pd.Series(left), k=5, bins=20)
    assert stats["edges"][0] == 0 and stats["within"][0][0] == 0
    # rare_threshold 1 clips nothing, so the real ends stay.
    _, stats = _encoder(spec, pd.Series(gains[:3000]), k=1, bins=20)
    assert stats["edges"][-1] == gains[:3000].max() and stats["edges"][0] == gains[:3000].min()


def test_zero_inflated_column_keeps_its_spike() -> None:
    values = pd.Series([0] * 900 + list(range(1000, 1100)))
    spec = ColumnSpec("gain", ColumnKind.CONTINUOUS, "int64", nullable=False, decimals=0)
    enc, stats = _encoder(spec, values, k=5, bins=10)
    assert 0.0 in stats["spikes"]
    decoded = enc.decode(enc.encode(values), np.random.default_rng(0))
    assert (decoded == 0).sum() == 900


def test_datetime_round_trip_keeps_format_and_timezone() -> None:
    text = pd.Series([f"2013-01-{d:02d}T06:00:00Z" for d in range(1, 29)] * 3, dtype="str")
    aware = pd.Series(pd.date_range("2024-03-01", periods=84, freq="h", tz="America/New_York"))
    df = pd.DataFrame({"text": text, "aware": aware})
    schema = infer_schema(df)
    enc = TableEncoder.fit(schema, df, rare_threshold=2, n_bins=8)
    out = enc.decode(enc.encode(df), np.random.default_rng(0))
    assert out["text"].str.fullmatch(r"2013-01-\d\dT06:00:00Z").all()
    assert str(out["aware"].dtype) == str(aware.dtype)
    assert out["aware"].min() >= aware.min() and out["aware"].max() <= aware.max()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["x", "y", "zz", "", "007", " sp "]), min_size=1, max_size=60))
def test_categorical_decode_encode_is_identity_for_kept_values(values: list[str]) -> None:
    spec = ColumnSpec("c", ColumnKind.CATEGORICAL, "str")
    series = pd.Series(values, dtype="str")
    enc, _ = _encoder(spec, series, k=1)
    assert enc.decode(enc.encode(series), np.random.default_rng(0)).tolist() == values


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=5, max_size=80))
def test_discrete_decode_encode_is_identity_without_rare_values(values: list[int]) -> None:
    spec = ColumnSpec("x", ColumnKind.DISCRETE, "int64", nullable=False, decimals=0)
    series = pd.Series(values)
    enc, _ = _encoder(spec, series, k=1)
    assert enc.decode(enc.encode(series), np.random.default_rng(0)).tolist() == [
        float(v) for v in values
    ]


def test_token_for_rejects_impossible_values() -> None:
    spec = ColumnSpec("c", ColumnKind.CATEGORICAL, "str")
    enc, _ = _encoder(spec, pd.Series(["a"] * 5))
    from lookalike.errors import ConditionError

    with pytest.raises(ConditionError, match="cannot take the value 'b'"):
        enc.token_for("b")
    num, _ = _encoder(ColumnSpec("x", ColumnKind.DISCRETE, "int64", decimals=0), pd.Series([1] * 5))
    with pytest.raises(ConditionError, match="takes a number"):
        num.token_for("abc")


def test_pii_statistics_hold_no_values() -> None:
    spec = ColumnSpec("email", ColumnKind.IDENTIFIER, "str", pii=PiiType.EMAIL)
    series = pd.Series(["a@x.org", "b@x.org", "a@x.org", None], dtype="str")
    enc, stats = _encoder(spec, series)
    assert stats == {"n": 4, "n_missing": 1, "has_missing": True}
    assert not enc.is_modelled and enc.n_tokens == 1
    decoded = enc.decode(np.zeros(200, dtype=np.int64), np.random.default_rng(0))
    assert not decoded.isin(["a@x.org", "b@x.org"]).any()
    assert 0.1 < decoded.isna().mean() < 0.4
    again = enc.decode(np.zeros(200, dtype=np.int64), np.random.default_rng(0))
    assert decoded.equals(again)


def test_pii_text_keeps_only_frequent_lengths() -> None:
    spec = ColumnSpec("notes", ColumnKind.TEXT, "str", pii=PiiType.TEXT)
    series = pd.Series(["x" * 25] * 4 + ["y" * 45] * 3 + ["z" * 300])
    partial = analyze_column(spec, series)
    assert partial == {"n": 8, "n_missing": 0, "length_counts": {"1": 4, "2": 3, "15": 1}}
    enc, stats = _encoder(spec, series)
    assert stats["length_steps"] == [1, 2] and stats["length_counts"] == [4, 3]
    lengths = enc.decode(np.zeros(100, dtype=np.int64), np.random.default_rng(1)).str.len()
    assert lengths.between(5, 60).all()


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (True, "True"),
        (np.bool_(False), "False"),
        (1, "1"),
        (1.0, "1"),
        (np.float32(2.0), "2"),
        (2.5, "2.5"),
        ("x", "x"),
        (None, None),
        (float("nan"), None),
        (pd.NA, None),
        (pd.NaT, None),
    ],
)
def test_value_label_is_the_one_label_encoders_rules_and_dp_compare(
    value: object, label: str | None
) -> None:
    assert value_label(value) == label


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([True, 1, 1.0, "1", None, 2.5], dtype=object),  # equal as numbers, not as labels
        pd.Series(["b", "a", None, "b"], dtype=object),
        pd.Series(["b", "a", None, "b"], dtype="str"),
        pd.Series([3.0, -0.0, np.nan, 2.5, 3.0]),
        pd.Series([1, None, 1], dtype="Int64"),
        pd.Series(["x", "y", None, "x"], dtype="category"),
        pd.Series(pd.to_datetime(["2024-01-02 00:00", None, "2024-01-02 10:00"])),
        pd.Series([0.1, None, 0.7], dtype="Float32"),  # 0.10000000149011612, as a Python float
        pd.Series([0.1, 0.7, 0.1], dtype="float32"),
        pd.Series([None, None], dtype="category"),  # every value missing: None, not NaN
        pd.Series([], dtype="str"),
    ],
)
def test_value_labels_label_each_value_as_value_label_does(series: pd.Series) -> None:
    # Distinct values are labelled once; the labels, their dtype and the missing values' form
    # are those of labelling each row on its own.
    series = series.rename("c")
    expected = series.astype(object).where(series.notna(), None).map(value_label)
    pd.testing.assert_series_equal(value_labels(series), expected)


def test_booleans_are_labelled_true_and_false_in_every_storage_and_stage() -> None:
    import lookalike as la
    from lookalike.control._rules import constant_label
    from lookalike.models import _dp

    for series in (
        pd.Series([True, False, True]),
        pd.Series([True, False, None], dtype=object),
        pd.Series([True, False, None], dtype="boolean"),
        pd.Series([np.True_, np.False_, None], dtype=object),
    ):
        labels = value_labels(series)
        assert list(labels[:2]) == ["True", "False"]
        assert labels.iloc[2] == "True" if series.notna().all() else pd.isna(labels.iloc[2])
    assert constant_label(True) == "True" and constant_label(np.bool_(False)) == "False"
    # The differentially private model labels categories with the same function.
    assert _dp.value_label is value_label
    table = pd.DataFrame({"flag": [True, False, True, np.True_], "n": [1, 0, 0, 1]})
    report = la.check_rules(table, ["if flag == True then n == 1"])
    assert report.results[0].n_violations == 1
    schema = infer_schema(table)
    encoder, _ = _encoder(schema["flag"], table["flag"], k=1)
    assert encoder.token_for(True) == encoder.token_for(np.bool_(True)) != encoder.token_for(False)


def test_free_text_rare_values_become_fake_text_of_their_length() -> None:
    spec = ColumnSpec("note", ColumnKind.TEXT, "str", nullable=False)
    unique = [f"parcel {i} was left with the neighbour at number {i * 3}" for i in range(60)]
    series = pd.Series(["call me back"] * 10 + unique, dtype="str")
    enc, stats = _encoder(spec, series, k=5)
    assert stats["categories"] == ["call me back"]
    # 60 withheld texts of 50-53 characters: one length step (40-59) with 60 rows.
    assert stats["rare_length_steps"] == [2] and stats["rare_length_counts"] == [60]
    decoded = enc.decode(enc.encode(series), np.random.default_rng(0))
    assert decoded.iloc[:10].tolist() == ["call me back"] * 10
    fakes = decoded.iloc[10:]
    assert not set(fakes) & set(unique) and RARE_VALUE not in set(fakes)
    assert fakes.nunique() > 50 and fakes.str.len().between(30, 70).all()


def test_short_names_of_things_are_text_not_keys() -> None:
    names = [f"{w} Regional Airport" for w in ("North", "South", "East", "West", "Lake", "Hill")]
    names += [f"{w} Field" for w in ("Moton", "Lansdowne", "Dekalb", "Perry", "Grand")]
    table = pd.DataFrame({"name": names, "code": [f"A{i:03d}" for i in range(len(names))]})
    schema = infer_schema(table)
    assert schema["name"].kind is ColumnKind.TEXT
    assert schema["code"].kind is ColumnKind.IDENTIFIER


def test_a_cells_frequent_values_in_a_range_are_found_for_each_row() -> None:
    """Each row's entries within [low, high] of its own cell, found in one search (it was a
    Python loop over the cells), against a brute-force count."""
    from lookalike.encode import _encoders

    rng = np.random.default_rng(0)
    cells = np.repeat(np.arange(40), rng.integers(0, 6, 40))
    values = np.concatenate([np.sort(rng.choice(50, k, replace=False)) for k in np.bincount(cells)])
    counts = rng.integers(1, 20, len(values))
    frequent = _encoders.FrequentValues(np.full(40, 200.0), cells, values.astype(float), counts)
    rows = rng.integers(0, 40, 2_000)
    low = rng.uniform(-5, 55, 2_000)
    high = low + rng.uniform(-2, 30, 2_000)
    low[:10], high[10:20] = -np.inf, np.inf
    shares = frequent.shares_in_range(rows, np.zeros(2_000), low, high)
    inside = (
        (cells[None, :] == rows[:, None]) & (values >= low[:, None]) & (values <= high[:, None])
    )
    assert np.allclose(shares * 200.0, (inside * counts).sum(axis=1))
