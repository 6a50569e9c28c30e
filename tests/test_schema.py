from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lookalike as la
from lookalike.schema import SCHEMA_VERSION, ColumnKind, ColumnSpec, PiiType, Schema


def test_adult_kinds(adult: pd.DataFrame) -> None:
    kinds = {c.name: c.kind for c in la.infer_schema(adult)}
    assert kinds["age"] is ColumnKind.DISCRETE
    assert kinds["fnlwgt"] is ColumnKind.CONTINUOUS
    assert kinds["income"] is ColumnKind.CATEGORICAL
    assert kinds["workclass"] is ColumnKind.CATEGORICAL
    assert la.infer_schema(adult)["workclass"].nullable


def test_identifier_boolean_datetime_text() -> None:
    n = 50
    df = pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "flag": [True, False] * (n // 2),
            "when": pd.date_range("2024-01-01", periods=n, freq="D", tz="Europe/Oslo"),
            "stamp": [f"2024-02-{(i % 28) + 1:02d} 10:00:00" for i in range(n)],
            "note": [
                f"customer number {i} asked about the delivery of parcel {i * 7}" for i in range(n)
            ],
            "code": [f"C{i:05d}" for i in range(n)],
        }
    )
    schema = la.infer_schema(df)
    assert schema["customer_id"].kind is ColumnKind.IDENTIFIER
    assert schema["flag"].kind is ColumnKind.BOOLEAN
    assert schema["when"].kind is ColumnKind.DATETIME
    assert schema["when"].dtype.endswith("Europe/Oslo]")
    assert schema["stamp"].kind is ColumnKind.DATETIME
    assert schema["stamp"].datetime_format == "%Y-%m-%d %H:%M:%S"
    assert schema["note"].kind is ColumnKind.TEXT
    assert schema["code"].kind is ColumnKind.IDENTIFIER


def test_overrides_and_errors(adult_small: pd.DataFrame) -> None:
    schema = la.infer_schema(adult_small, {"age": "continuous", "sex": {"kind": "categorical"}})
    assert schema["age"].kind is ColumnKind.CONTINUOUS
    with pytest.raises(la.SchemaError, match="unknown column") as raised:
        la.infer_schema(adult_small, {"nope": "categorical"})
    assert "Did you mean" not in str(raised.value)
    typo = {"colums": {"age": "continuous"}}
    with pytest.raises(la.SchemaError, match=r"Did you mean 'columns' for 'colums'\?"):
        la.infer_schema(adult_small, typo)
    with pytest.raises(la.SchemaError, match=r"Did you mean 'education' for 'educaton'\?"):
        la.infer_schema(adult_small, {"educaton": "categorical"})
    with pytest.raises(la.SchemaError, match="kind must be one of"):
        la.infer_schema(adult_small, {"age": "weird"})
    with pytest.raises(la.SchemaError, match="not numbers"):
        la.infer_schema(adult_small, {"sex": "continuous"})
    # Many values as a boolean used to fit, then sample an empty column.
    with pytest.raises(la.SchemaError, match="'fnlwgt' cannot be boolean: it holds"):
        la.infer_schema(adult_small, {"fnlwgt": "boolean"})
    assert la.infer_schema(adult_small, {"sex": "boolean"})["sex"].kind is ColumnKind.BOOLEAN


def test_a_repeated_code_marked_identifier_warns(adult_small: pd.DataFrame) -> None:
    n = len(adult_small)
    with pytest.warns(la.DataWarning, match=rf"'sex' is marked identifier, but {n - 2:,} of"):
        schema = la.infer_schema(adult_small, {"sex": "identifier"})
    assert schema["sex"].kind is ColumnKind.IDENTIFIER
    keys = pd.DataFrame({"id": range(50), "x": [1, 2] * 25})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert la.infer_schema(keys, {"id": "identifier"})["id"].kind is ColumnKind.IDENTIFIER


def test_a_given_datetime_format_must_read_the_text() -> None:
    stamps = pd.DataFrame({"t": ["2013-01-01T06:00:00Z", "2013-01-01T07:00:00Z"] * 5})
    with pytest.raises(la.SchemaError, match=r"'t': no value is written as datetime_format"):
        la.infer_schema(stamps, {"t": {"kind": "datetime", "datetime_format": "%d/%m/%Y"}})
    # Some values in another format: read in theirs, written in the given one, with a warning.
    mixed = pd.DataFrame({"t": ["01/02/2013", "03/02/2013", "2013-02-05"] * 4})
    with pytest.warns(la.DataWarning, match="4 of 12 values are not written as") as caught:
        schema = la.infer_schema(mixed, {"t": {"datetime_format": "%d/%m/%Y"}})
    assert len(caught) == 1 and schema["t"].datetime_format == "%d/%m/%Y"
    given = {"t": {"kind": "datetime", "datetime_format": "%Y-%m-%dT%H:%M:%SZ"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert la.infer_schema(stamps, given)["t"].datetime_step == "hour"


def test_public_domain_fields_without_privacy_say_what_they_are_for(
    adult_small: pd.DataFrame,
) -> None:
    # bounds / categories / complete are for a DP model: a plain fit names the fix, not a list of
    # schema fields that lacks them.
    for override in ({"bounds": [17, 90]}, {"kind": "discrete", "complete": True}):
        with pytest.raises(la.SchemaError, match=r"'age'.*only to a differentially private model"):
            la.Synthesizer().fit(adult_small.head(50), schema={"age": override})
    with pytest.raises(la.SchemaError, match=r"\['categories'\] apply only .*--epsilon"):
        la.infer_schema(adult_small, {"columns": {"sex": {"categories": ["Female", "Male"]}}})
    with pytest.raises(la.SchemaError, match="Unknown column schema field"):
        la.infer_schema(adult_small, {"age": {"bound": [17, 90]}})


def test_override_file_yaml_and_json(tmp_path, adult_small: pd.DataFrame) -> None:
    (tmp_path / "s.yaml").write_text("columns:\n  age: continuous\n")
    (tmp_path / "s.json").write_text(json.dumps({"education_num": "categorical"}))
    (tmp_path / "bad.json").write_text("{nope")
    assert (
        la.infer_schema(adult_small, la.load_schema_overrides(tmp_path / "s.yaml"))["age"].kind
        == "continuous"
    )
    over = la.load_schema_overrides(tmp_path / "s.json")
    assert la.infer_schema(adult_small, over)["education_num"].kind is ColumnKind.CATEGORICAL
    with pytest.raises(la.SchemaError, match="cannot be parsed"):
        la.load_schema_overrides(tmp_path / "bad.json")
    # A YAML error says where it is, on one line.
    (tmp_path / "bad.yaml").write_text("age: continuous\nsex: [categorical\n")
    with pytest.raises(la.SchemaError, match=r"cannot be parsed: .*line \d+, column \d+") as info:
        la.load_schema_overrides(tmp_path / "bad.yaml")
    assert "\n" not in str(info.value)


def test_newer_schema_version_is_refused() -> None:
    with pytest.raises(la.SchemaError, match="newer"):
        Schema.from_dict({"version": 99, "columns": []})


_CAN_HOLD_PII = [k for k in ColumnKind if k not in (ColumnKind.BOOLEAN, ColumnKind.DATETIME)]


@st.composite
def _specs(draw: st.DrawFn) -> ColumnSpec:
    kind = draw(st.sampled_from(list(ColumnKind)))
    pii = draw(st.none() | st.sampled_from(list(PiiType))) if kind in _CAN_HOLD_PII else None
    return ColumnSpec(
        name=draw(st.text(min_size=1, max_size=12)),
        kind=kind,
        dtype=draw(st.sampled_from(["int64", "Int64", "float64", "str", "bool", "datetime64[ns]"])),
        nullable=draw(st.booleans()),
        datetime_format=draw(st.one_of(st.none(), st.just("%Y-%m-%d"))),
        decimals=draw(st.one_of(st.none(), st.integers(0, 6))),
        pii=pii,
        datetime_step=draw(st.sampled_from([None, "day", "second"]))
        if kind is ColumnKind.DATETIME
        else None,
    )


# No deadline: the first non-default locale imports Faker's locale list (a fraction of a second).
@settings(deadline=None)
@given(
    st.lists(_specs(), max_size=6, unique_by=lambda c: c.name),
    st.sampled_from(["en_US", "de_DE", "fr_FR"]),
)
def test_schema_survives_json(columns: list[ColumnSpec], locale: str) -> None:
    schema = Schema(tuple(columns), locale=locale)
    assert Schema.from_json(schema.to_json()) == schema


def test_version_1_schemas_are_upgraded() -> None:
    old = {"version": 1, "columns": [{"name": "a", "kind": "categorical", "dtype": "str"}]}
    schema = Schema.from_dict(old)
    assert schema.version == SCHEMA_VERSION == 7
    assert schema["a"].pii is None and schema.locale == "en_US"
    assert schema.to_dict()["columns"][0]["pii"] is None
    assert schema["a"].clock is None  # version 4 added clock times
    assert schema["a"].category_dtype is None  # version 5, categories of numbers


def test_version_5_schemas_with_categories_of_numbers_are_read() -> None:
    """Version 6 lets category_dtype name datetimes and durations; version 5 files still load."""
    column = {"name": "a", "kind": "categorical", "dtype": "category", "category_dtype": "int64"}
    schema = Schema.from_dict({"version": 5, "columns": [{**column, "category_order": ["1"]}]})
    assert schema.version == SCHEMA_VERSION and schema["a"].category_dtype == "int64"
    day = ColumnSpec.from_dict({**column, "category_dtype": "datetime64[s, Europe/Oslo]"})
    assert Schema.from_json(Schema((day,)).to_json())["a"] == day


def test_pii_field_is_validated() -> None:
    assert ColumnSpec("e", ColumnKind.IDENTIFIER, "str", pii="email").pii is PiiType.EMAIL
    with pytest.raises(la.SchemaError, match="pii must be null or one of"):
        ColumnSpec("e", ColumnKind.IDENTIFIER, "str", pii="passport")
    with pytest.raises(la.SchemaError, match="cannot hold PII"):
        ColumnSpec("d", ColumnKind.DATETIME, "str", pii=PiiType.PHONE)
    with pytest.raises(la.SchemaError, match="locale"):
        Schema((), locale="english")


def test_numbers_with_a_decimal_comma_are_numbers_written_back_the_same_way() -> None:
    n = 200
    amounts = [1000 + 137.25 * i for i in range(n)]
    table = pd.DataFrame(
        {
            # 1.243,56 € and 53,5 %: the German and French way of writing them.
            "betrag": [f"{a:,.2f} €".translate(str.maketrans(",.", ".,")) for a in amounts],
            "anteil": [f"{(i % 40) / 4:.1f} %".replace(".", ",") for i in range(n)],
            "k": ["a", "b"] * (n // 2),
        }
    )
    schema = la.infer_schema(table)
    assert schema["betrag"].number_format == "{:.,2f} €"
    assert schema["betrag"].kind is ColumnKind.CONTINUOUS and schema["betrag"].decimals == 2
    assert schema["anteil"].number_format == "{:,1f} %"
    # A plain decimal point stays a decimal point: these are not thousands.
    points = pd.DataFrame({"x": ["1.234", "2.500", "3.125"] * 20})
    assert la.infer_schema(points)["x"].number_format != "{:.,0f}"

    model = la.Synthesizer(random_state=0).fit(table)
    out = model.sample(300, random_state=1)
    assert out["betrag"].str.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2} €").all()
    values = out["betrag"].str[:-2].str.replace(".", "").str.replace(",", ".").astype(float)
    assert values.between(min(amounts) - 1, max(amounts) + 1).all()
    assert values.std() > 0.5 * np.std(amounts)  # learned as a number, not a handful of codes
    assert out["anteil"].str.fullmatch(r"\d{1,2},\d %").all()
    # Conditions in the column's own form or as a plain number mean the same value.
    for condition in ("1.548,75 €", 1548.75, "1548.75", "1548.75 €"):
        fixed = model.sample(5, conditions={"betrag": condition}, random_state=2)
        assert (fixed["betrag"] == "1.548,75 €").all(), condition


def test_text_datetimes_with_changing_offsets_are_read_as_utc() -> None:
    stamps = pd.date_range("2021-03-20", periods=200, freq="3h", tz="Europe/Oslo")
    df = pd.DataFrame({"at": [t.isoformat() for t in stamps], "k": ["a", "b"] * 100})
    schema = la.infer_schema(df)
    assert schema["at"].kind is ColumnKind.DATETIME
    out = la.Synthesizer(random_state=0).fit(df).sample(50)
    assert pd.to_datetime(out["at"], utc=True).between(stamps.min(), stamps.max()).all()


def test_numbers_written_as_text_are_numbers_with_their_format() -> None:
    n = 150
    table = pd.DataFrame(
        {
            "amount": [f"${1000 + 137.25 * i:,.2f}" for i in range(n)],
            "rate": [f"{(i % 40) / 4:.1f}%" for i in range(n)],
            "zip": [f"{i:05d}" for i in range(n)],  # leading zeros: a code, not a number
            "qty": [f"{1000 * i + 7:,}" for i in range(n)],
        }
    )
    schema = la.infer_schema(table)
    assert schema["amount"].number_format == "${:,.2f}" and schema["amount"].decimals == 2
    assert schema["amount"].kind is ColumnKind.CONTINUOUS
    assert schema["rate"].number_format == "{:.1f}%" and schema["rate"].kind is ColumnKind.DISCRETE
    assert schema["qty"].number_format == "{:,.0f}"
    assert schema["zip"].number_format is None
    # One text repeated is a label, not a number (adult's "<=50K" alone was read as 50).
    single = la.infer_schema(pd.DataFrame({"income": ["<=50K"] * n}))["income"]
    assert single.number_format is None and single.kind is ColumnKind.CATEGORICAL
    with pytest.raises(la.SchemaError, match="number_format"):
        la.infer_schema(table, {"zip": {"kind": "categorical", "number_format": "{:.2f}"}})
    with pytest.raises(la.SchemaError, match="one field"):
        la.infer_schema(table, {"amount": {"number_format": "$ {} dollars"}})
    # Overrides: a format for values detection left as text, a kind that drops the format, and
    # a format the values do not follow.
    mixed = pd.DataFrame({"amount": ["$1,243.5", "$12.25", "$3"] * 10})
    assert la.infer_schema(mixed)["amount"].kind is ColumnKind.CATEGORICAL
    given = la.infer_schema(mixed, {"amount": {"kind": "continuous", "number_format": "${:,.2f}"}})
    assert given["amount"].number_format == "${:,.2f}" and given["amount"].decimals == 2
    assert la.infer_schema(table, {"amount": "categorical"})["amount"].number_format is None
    with pytest.raises(la.SchemaError, match="do not read as numbers"):
        la.infer_schema(table, {"amount": {"number_format": "{:.2f}%"}})
    with pytest.raises(la.SchemaError, match="give a number_format"):
        la.infer_schema(mixed, {"amount": "continuous"})


def test_a_column_that_reads_both_ways_is_read_one_way_with_a_warning_that_names_the_other() -> (
    None
):
    # "1,234 kg" with a comma before exactly three digits in every value: 1234 or 1.234?
    both = pd.DataFrame({"weight": ["1,234 kg", "5,500 kg", "2,750 kg"] * 20})
    with pytest.warns(la.DataWarning, match=r"'weight'.*1234 or 1\.234.*'\{:,3f\} kg'"):
        schema = la.infer_schema(both)
    assert schema["weight"].number_format == "{:,.0f} kg"
    # The override the warning names gives the other reading, written back the same way.
    model = la.Synthesizer(random_state=0).fit(
        both, schema={"weight": {"number_format": "{:,3f} kg"}}
    )
    out = model.sample(100, random_state=1)
    assert out["weight"].str.fullmatch(r"\d,\d{3} kg").all()
    values = out["weight"].str[:-3].str.replace(",", ".").astype(float)
    assert values.between(1.2, 5.6).all()
    # One value below a thousand settles it: no warning.
    settled = pd.DataFrame({"weight": ["1,234 kg", "980 kg", "2,750 kg"] * 20})
    with warnings.catch_warnings():
        warnings.simplefilter("error", la.DataWarning)
        assert la.infer_schema(settled)["weight"].number_format == "{:,.0f} kg"


def test_the_step_of_a_datetime_column_is_inferred_on_its_wall_clock() -> None:
    oslo = pd.Series(pd.to_datetime(["2021-03-01", "2021-07-01"])).dt.tz_localize("Europe/Oslo")
    frame = pd.DataFrame(
        {
            "dates": pd.to_datetime(["2021-03-01", "1650-07-01"]),
            "oslo_dates": oslo,  # midnight in Oslo is 23:00 or 22:00 in UTC
            "minutes": ["2021-03-01 10:30", "2021-03-02 11:45"],
            "fractions": pd.to_datetime(["2021-03-01 10:30:00.5", "2021-03-01 10:30:01.0"]),
            "label": ["a", "b"],
        }
    )
    schema = la.infer_schema(frame)
    assert schema["dates"].datetime_step == "day"
    assert schema["oslo_dates"].datetime_step == "day"
    assert schema["minutes"].datetime_step == "minute"
    assert schema["fractions"].datetime_step is None
    assert schema["label"].datetime_step is None
    # A kind given in an override drops the step or reads it.
    assert la.infer_schema(frame, {"dates": "categorical"})["dates"].datetime_step is None
    with pytest.raises(la.SchemaError, match="datetime_step is one of"):
        ColumnSpec("d", ColumnKind.DATETIME, "str", datetime_step="week")
    with pytest.raises(la.SchemaError, match="on a categorical column"):
        ColumnSpec("c", ColumnKind.CATEGORICAL, "str", datetime_step="day")


def test_decimals_are_the_datas_own_not_a_relative_approximation() -> None:
    """A tolerance relative to the value took 549467.43 for one decimal (the cents were lost)
    and 40.6397511 for five; float noise (0.1 + 0.2) still reads as the decimals written."""
    rng = np.random.default_rng(0)
    n = 2_000
    table = pd.DataFrame(
        {
            "price": np.round(rng.uniform(100_000, 900_000, n), 2),
            "lat": np.round(rng.uniform(20, 60, n), 7),
            "noisy": np.round(rng.normal(size=n), 1) + 0.1 + 0.2 - 0.3,
            "large": np.round(rng.uniform(5e8, 6e8, n), 2),
            "tiny": rng.uniform(1, 5, n) * 1e-10,
            "single": np.round(rng.uniform(0, 100, n), 2).astype(np.float32),
        }
    )
    schema = la.infer_schema(table)
    assert schema["price"].decimals == 2
    assert schema["lat"].decimals == 6  # more than 6: a continuous float, never rounded
    assert schema["noisy"].decimals == 1
    assert schema["large"].decimals == 2
    assert schema["tiny"].decimals == 6  # not 0: that would make every value 0
    assert schema["single"].decimals == 2  # float32's own noise is larger than float64's


def test_names_ending_in_id_as_a_word_part_are_no_keys() -> None:
    """ "amount_paid", sparse and unique where present, was taken for a key (review)."""
    rng = np.random.default_rng(0)
    present = rng.random(2000) < 0.01
    paid = pd.array(np.where(present, rng.permutation(2000) * 7, 0), dtype="Int64")
    paid[~present] = pd.NA
    keys = np.arange(2000)
    frame = pd.DataFrame(
        {"amount_paid": paid, "AMOUNT_PAID": paid, "customerId": keys, "userid": keys, "x": 1}
    )
    schema = la.infer_schema(frame)
    assert schema["amount_paid"].kind is not ColumnKind.IDENTIFIER
    assert schema["AMOUNT_PAID"].kind is not ColumnKind.IDENTIFIER
    assert schema["customerId"].kind is ColumnKind.IDENTIFIER
    assert schema["userid"].kind is ColumnKind.IDENTIFIER
