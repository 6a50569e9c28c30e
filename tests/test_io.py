"""read_table / write_table: typed CSV reading, exact round trips, one-line errors, atomic writes."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lookalike as la
from lookalike.datasets import load_adult
from lookalike.errors import DataError, DataWarning, OutputExistsError
from lookalike.io import (
    check_output_path,
    check_table_output,
    read_table,
    write_table,
    write_text,
    write_texts,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _mixed_frame() -> pd.DataFrame:
    """One column of every type CSV must keep: ints with and without gaps, bools, exact text."""
    return pd.DataFrame(
        {
            "n": [1, -2, 3, 40],
            "n_gaps": pd.array([1, None, 3, 2**53 + 1], dtype="Int64"),
            "x": [0.1, -2.5, np.nan, 1e-20],
            "flag": [True, False, True, True],
            "flag_gaps": pd.array([True, None, False, True], dtype="boolean"),
            "code": ["007", "010", "100", "007"],
            "text": [" spaced ", "NA", "None", "null"],
            "quoted": ["a,b", 'say "hi"', "two\nlines", "é ü 中"],
        }
    )


# --- CSV typing --------------------------------------------------------------------------------


def test_csv_types_are_inferred_from_the_text(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv",
        "i,i_gap,f,b,b_gap,zip,word\n"
        "1,5,1.5,true,TRUE,007,NA\n"
        "2,,2,False,,012,None\n"
        "-3,7,-1e3,TRUE,false,100, x \n",
    )
    df = read_table(path)
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        "i": "int64",
        "i_gap": "Int64",
        "f": "float64",
        "b": "bool",
        "b_gap": "boolean",
        "zip": "str",
        "word": "str",
    }
    assert df["i_gap"].isna().tolist() == [False, True, False]
    assert df["b"].tolist() == [True, False, True]
    assert df["zip"].tolist() == ["007", "012", "100"]
    # Only the empty cell is missing; "NA"/"None" and surrounding spaces are kept exactly.
    assert df["word"].tolist() == ["NA", "None", " x "]
    assert df["f"].tolist() == [1.5, 2.0, -1000.0]


def test_csv_numbers_with_spaces_are_numbers_but_text_is_not_stripped(tmp_path: Path) -> None:
    df = read_table(_write(tmp_path / "t.csv", "age,name\n 39,  Ann\n40 ,Bob \n"))
    assert str(df["age"].dtype) == "int64"
    assert df["age"].tolist() == [39, 40]
    assert df["name"].tolist() == ["  Ann", "Bob "]


def test_csv_integers_beyond_int64_stay_exact_text(tmp_path: Path) -> None:
    df = read_table(_write(tmp_path / "t.csv", "big\n99999999999999999999\n1\n"))
    assert df["big"].tolist() == ["99999999999999999999", "1"]


def test_csv_late_text_value_keeps_the_column_text(tmp_path: Path) -> None:
    # The first few hundred values look like numbers; the type still depends on every value.
    lines = [str(i) for i in range(300)] + ["007", "x"]
    df = read_table(_write(tmp_path / "t.csv", "v\n" + "\n".join(lines) + "\n"))
    assert df["v"].tolist() == lines
    late_float = [str(i) for i in range(300)] + ["2.5"]
    df = read_table(_write(tmp_path / "f.csv", "v\n" + "\n".join(late_float) + "\n"))
    assert str(df["v"].dtype) == "float64"
    assert df["v"].iloc[-1] == 2.5


def test_csv_column_of_only_empty_cells_is_kept_as_missing(tmp_path: Path) -> None:
    df = read_table(_write(tmp_path / "t.csv", "a,empty\n1,\n2,\n"))
    assert df["empty"].isna().all()
    assert df["a"].tolist() == [1, 2]


def test_numeric_column_with_na_tokens_reads_them_as_missing(tmp_path: Path) -> None:
    """R's write.csv spells missing NA: the column was read as text, so every number became a
    rare category. Tokens that only spell missing values make it numeric, with a warning; in
    a text column they stay values."""
    path = _write(tmp_path / "t.csv", "score,n,code\n1.5,NA,NA\n?,4,DE\n3,N/A,FR\n")
    with pytest.warns(DataWarning) as caught:
        df = read_table(path)
    messages = sorted(str(w.message).split(": ", 1)[1] for w in caught)
    assert messages == [
        "column 'n' holds numbers and 2 cell(s) like ['N/A', 'NA'], read as missing values "
        "(written back as empty cells).",
        "column 'score' holds numbers and 1 cell(s) like ['?'], read as missing values "
        "(written back as empty cells).",
    ]
    assert str(df["score"].dtype) == "float64" and df["score"].isna().tolist() == [
        False,
        True,
        False,
    ]
    assert str(df["n"].dtype) == "Int64" and df["n"].tolist()[1] == 4
    assert df["code"].tolist() == ["NA", "DE", "FR"]
    # A column of NA alone (a seed file's column left to be drawn) is missing throughout.
    with pytest.warns(DataWarning) as caught:
        df = read_table(_write(tmp_path / "s.csv", "age,hours\nNA,NA\nNA,40\n"))
    assert "'age' holds only cells like ['NA'], read as missing" in str(caught[0].message)
    assert df["age"].isna().all() and df["hours"].tolist()[1] == 40


def test_blank_header_cell_is_named_after_its_position(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", ",a\n0,x\n1,y\n")
    with pytest.warns(DataWarning, match="column 1 has no name"):
        df = read_table(path)
    assert list(df.columns) == ["unnamed_1", "a"]


def test_header_names_are_kept_exactly(tmp_path: Path) -> None:
    df = read_table(_write(tmp_path / "t.csv", " a,b c,NA\n1,2,3\n"))
    assert list(df.columns) == [" a", "b c", "NA"]


def test_tsv_and_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_bytes("\ufeffname\tn\nZoë\t1\n".encode())
    df = read_table(path)
    assert list(df.columns) == ["name", "n"]
    assert df["name"].tolist() == ["Zoë"]


def test_windows_1252_text_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("city,n\nMünchen,1\nCafé,2\n".encode("cp1252"))
    with pytest.warns(DataWarning, match="not valid UTF-8.*Windows-1252"):
        df = read_table(path)
    assert df["city"].tolist() == ["München", "Café"]


def test_one_windows_1252_line_leaves_the_utf8_lines_alone(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    lines = ["name,n", "Zoë,1", "Zoë,2"]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + "Café,3\n".encode("cp1252"))
    with pytest.warns(DataWarning, match="on 1 of its 4 lines .the first is line 4.*Windows-1252"):
        df = read_table(path)
    assert df["name"].tolist() == ["Zoë", "Zoë", "Café"]


def test_a_table_separated_by_semicolons_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("price;n\n1,5;2\n3;4\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"separated by ';'.*save it with ','"):
        read_table(path)


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("a,b\nx,1\n".encode("utf-16"))
    assert read_table(path)["a"].tolist() == ["x"]


# --- in-memory sources ------------------------------------------------------------------------


def test_dataframe_is_copied_not_mutated() -> None:
    original = pd.DataFrame({"a": [1, 2]}, index=[10, 20])
    df = read_table(original)
    df.loc[0, "a"] = 99
    assert original["a"].tolist() == [1, 2]
    assert list(original.index) == [10, 20]
    assert list(df.index) == [0, 1]


def test_a_named_index_is_data_and_an_unnamed_one_is_not(tmp_path: Path) -> None:
    stamps = pd.date_range("2013-01-01", periods=3, freq="h", tz="UTC")
    frame = pd.DataFrame({"origin": ["EWR", "JFK", "LGA"], "temp": [1.5, 2.0, 3.0]})
    indexed = frame.set_index(pd.Index(stamps, name="time_hour"))
    for source in (indexed, tmp_path / "w.parquet"):
        indexed.to_parquet(tmp_path / "w.parquet")
        df = read_table(source)
        assert df.columns.tolist() == ["time_hour", "origin", "temp"]
        assert df["time_hour"].tolist() == list(stamps) and list(df.index) == [0, 1, 2]
    both = read_table(frame.assign(t=stamps).set_index(["origin", "t"]))
    assert both.columns.tolist() == ["origin", "t", "temp"]
    # One level named, one not: the named one is kept.
    mixed = frame.set_index([pd.Index([7, 8, 9]), pd.Index(stamps, name="t")])
    assert read_table(mixed).columns.tolist() == ["t", "origin", "temp"]
    with pytest.raises(DataError, match=r"index level named like a column \('temp'\) with other"):
        read_table(frame.set_index(pd.Index([7, 3, 5], name="temp")))
    # Row numbers, named or not, and a level that repeats its column are row labels.
    assert read_table(frame.rename_axis("row")).columns.tolist() == ["origin", "temp"]
    assert read_table(frame.set_index("temp", drop=False)).columns.tolist() == ["origin", "temp"]


def test_arrow_table_keeps_integers_with_nulls_as_integers() -> None:
    table = pa.table(
        {"i": [1, None, 3], "j": [1, 2, 3], "b": [True, None, False], "s": ["a", None, "c"]}
    )
    df = read_table(table)
    assert str(df["i"].dtype) == "Int64"
    assert str(df["j"].dtype) == "int64"
    assert str(df["b"].dtype) == "boolean"
    assert df["i"].tolist()[0] == 1
    assert pd.isna(df["i"].iloc[1])
    assert df["s"].tolist()[2] == "c"


def test_polars_dataframe() -> None:
    pl = pytest.importorskip("polars")
    df = read_table(pl.DataFrame({"i": [1, None, 3], "s": ["x", "y", None]}))
    assert str(df["i"].dtype) == "Int64"
    assert df["s"].tolist()[:2] == ["x", "y"]


def test_unsupported_source_type() -> None:
    with pytest.raises(DataError, match="Got int instead"):
        read_table(42)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"a": []}), "has no rows"),
        (pd.DataFrame(index=[0, 1]), "has no columns"),
        (pd.DataFrame({"a": [None, None], "b": [np.nan, np.nan]}), "only empty columns"),
        (
            pd.DataFrame([[1, 2]], columns=["a", "a"]),
            r"duplicate column names: 'a' \(columns 1, 2\)",
        ),
    ],
)
def test_unusable_dataframes(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(DataError, match=match):
        read_table(frame)


# --- file errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.csv", b"", r"'.*empty\.csv' is empty \(0 bytes\)"),
        ("blank.csv", b"\n\n  \n", "no header and no rows"),
        ("header.csv", b"a,b,c\n", "has a header but no rows"),
        ("header_blank_lines.csv", b"a,b\n\n\n", "has a header but no rows"),
        (
            "dup.csv",
            b"a,b,a,b,c\n1,2,3,4,5\n",
            r"duplicate column names: 'a' \(columns 1, 3\), 'b'",
        ),
        ("nul.csv", b"a,b\n1,\x00\x01\x02\n", "contains NUL bytes"),
        ("allempty.csv", b"a,b\n,\n,\n", "only empty columns"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "not a well-formed table.*line 3"),
        ("bad.csv.gz", b"not gzip at all", "not a valid gzip file"),
        ("bad.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("sheet.xlsx", b"PK\x03\x04", r"unsupported type \(\.xlsx\)"),
    ],
)
def test_bad_files_raise_one_line_data_errors(
    tmp_path: Path, name: str, content: bytes, match: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=match) as info:
        read_table(path)
    assert "\n" not in str(info.value)
    assert name in str(info.value)


def test_duplicate_names_read_the_same_from_every_source(tmp_path: Path) -> None:
    # CSV lists the repeated names; Parquet, Arrow and pandas used to say something else.
    table = pa.table([pa.array([1]), pa.array([2]), pa.array([3])], names=["a", "b", "a"])
    path = tmp_path / "dup.parquet"
    pq.write_table(table, path)
    for source in (path, table, table.to_pandas()):
        with pytest.raises(DataError, match=r"duplicate column names: 'a' \(columns 1, 3\)\.$"):
            read_table(source)


def test_random_bytes_are_rejected_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match="binary"):
        read_table(path)


def test_binary_without_nul_bytes_is_rejected(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(1, 256, 4096, dtype=np.uint8).tobytes()  # no NUL, not UTF-8
    path = tmp_path / "noise.csv"
    path.write_bytes(noise)
    with pytest.raises(DataError, match="looks like binary data"):
        read_table(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'.*nope\.csv' does not exist"):
        read_table(tmp_path / "nope.csv")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="is a folder"):
        read_table(folder)


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv"])
def test_csv_round_trip_keeps_types_and_exact_text(tmp_path: Path, suffix: str) -> None:
    frame = _mixed_frame()
    back = read_table(write_table(frame, tmp_path / f"t{suffix}"))
    # Complete integer columns come back as int64 and complete booleans as bool; with gaps, the
    # nullable types. Text, including "NA", "007" and spaces, is unchanged.
    pd.testing.assert_frame_equal(back, frame)
    assert {c: str(t) for c, t in back.dtypes.items()} == {
        "n": "int64",
        "n_gaps": "Int64",
        "x": "float64",
        "flag": "bool",
        "flag_gaps": "boolean",
        "code": "str",
        "text": "str",
        "quoted": "str",
    }
    assert back["n_gaps"].iloc[3] == 2**53 + 1  # not rounded through float


def test_parquet_round_trip_is_exact_including_tz_aware_datetimes(tmp_path: Path) -> None:
    frame = _mixed_frame()
    frame["when"] = (
        pd.to_datetime(["2024-03-31 01:30", "2024-10-27 02:30", None, "1999-12-31 23:59"])
        .tz_localize("UTC")
        .tz_convert("Europe/Oslo")
    )
    frame["day"] = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", None])
    frame["complete_nullable"] = pd.array([1, 2, 3, 4], dtype="Int64")
    frame["cat"] = pd.Categorical(["a", "b", "a", None])
    for suffix in (".parquet", ".pq"):
        back = read_table(write_table(frame, tmp_path / f"t{suffix}"))
        pd.testing.assert_frame_equal(back, frame)


def _category_frame() -> pd.DataFrame:
    """Category columns of every kind of value, ordered or not, with unused categories."""
    stamps = pd.DatetimeIndex(["2024-10-27 02:30:05", "1999-12-31 23:59:59"]).as_unit("s")
    oslo = stamps.tz_localize("Europe/Oslo", ambiguous=[True, False])
    return pd.DataFrame(
        {
            "size": pd.Categorical([30, 10, None, 30], categories=[30, 10, 20], ordered=True),
            "rate": pd.Categorical([1.5, 2.25, 1.5, None]),
            "flag": pd.Categorical([True, False, True, True]),
            "when": pd.Categorical(oslo[[0, 1, 0, 1]], categories=oslo, ordered=True),
            "wait": pd.Categorical(pd.to_timedelta(["1s", "2 days", "1s", "1ns"])),
            "city": pd.Categorical(["Oslo", "Rome", None, "Oslo"], ["Rome", "Oslo", "Pisa"], True),
        }
    )


def test_parquet_keeps_categories_of_every_dtype(tmp_path: Path) -> None:
    """Parquet reads only text dictionaries back: categories of numbers, booleans, datetimes and
    durations came back as their values' dtype, without unused categories or order."""
    frame = _category_frame()
    back = read_table(write_table(frame, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, frame)
    assert back["size"].cat.categories.tolist() == [30, 10, 20] and back["size"].cat.ordered
    assert str(back["when"].cat.categories.dtype) == "datetime64[s, Europe/Oslo]"


def test_parquet_written_by_pandas_reads_categories(tmp_path: Path) -> None:
    """pandas keeps no categories but text ones: those of other values are the values held."""
    frame = _category_frame().drop(columns="wait")  # Arrow reads its durations as int64
    frame.to_parquet(tmp_path / "p.parquet")
    back = read_table(tmp_path / "p.parquet")
    for name in frame.columns:
        assert isinstance(back[name].dtype, pd.CategoricalDtype), name
        assert back[name].cat.ordered == frame[name].cat.ordered, name
        assert back[name].astype(object).equals(frame[name].astype(object)), name
    assert back["size"].cat.categories.tolist() == [10, 30]  # sorted; 20 was never held


def test_unreadable_kept_categories_are_a_data_error(tmp_path: Path) -> None:
    path = write_table(_category_frame(), tmp_path / "t.parquet")
    table = pq.read_table(path)
    metadata = {**table.schema.metadata, b"lookalike.categories": b'{"size": {"dtype": "int64"}}'}
    pq.write_table(table.replace_schema_metadata(metadata), path)
    with pytest.raises(DataError, match="categories lookalike kept for column 'size'"):
        read_table(path)


def test_adult_round_trips_through_csv_gz(tmp_path: Path) -> None:
    adult = load_adult("test")
    back = read_table(write_table(adult, tmp_path / "adult.csv.gz"))
    pd.testing.assert_frame_equal(back, adult)


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    frame = _mixed_frame()
    first = write_table(frame, tmp_path / "a.csv.gz").read_bytes()
    second = write_table(frame, tmp_path / "b.csv.gz").read_bytes()
    assert first == second
    assert first[3] & 0x08 == 0  # FNAME flag: no (temporary) file name in the header
    assert first[4:8] == b"\x00\x00\x00\x00"  # no time stamp
    assert gzip.decompress(first).startswith(b"n,n_gaps,")


# --- writing: force, atomicity, paths ----------------------------------------------------------------


def test_existing_output_is_not_overwritten_without_force(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("precious\n")
    with pytest.raises(OutputExistsError, match=r"'.*out\.csv' already exists.*force"):
        write_table(pd.DataFrame({"a": [1]}), path)
    assert path.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    write_table(pd.DataFrame({"a": [1]}), path, force=True)
    assert read_table(path)["a"].tolist() == [1]


def test_failed_write_leaves_no_temporary_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    path.write_bytes(b"old")
    unwritable = pd.DataFrame({"mixed": [1, "a", 2.5, object()]})
    with pytest.raises(DataError, match=r"Cannot write .*out\.parquet"):
        write_table(unwritable, path, force=True)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_missing_folder_and_folder_as_output(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"folder '.*missing' does not exist"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "missing" / "out.csv")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(OutputExistsError, match="is an existing folder"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "dir.csv", force=True)
    # A folder without an extension is named as a folder, not as an unsupported type.
    (tmp_path / "outdir").mkdir()
    with pytest.raises(OutputExistsError, match="is an existing folder"):
        check_table_output(tmp_path / "outdir")


def test_unsupported_output_type_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unsupported type \(\.xlsx\)"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.xlsx")
    with pytest.raises(DataError, match="duplicate column names"):
        write_table(pd.DataFrame([[1, 2]], columns=["a", "a"]), tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_output_file_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_text("x", tmp_path / "r.txt")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        private = write_text("x", tmp_path / "r.txt")
        private.chmod(0o600)
        write_text("y", private, force=True)
        table = write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    finally:
        os.umask(old)
    assert private.read_text() == "y"
    assert private.stat().st_mode & 0o777 == 0o600
    assert table.stat().st_mode & 0o777 == 0o644


def test_check_helpers_create_nothing(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "a.html") == tmp_path / "a.html"
    assert check_table_output(tmp_path / "a.csv.gz") == tmp_path / "a.csv.gz"
    with pytest.raises(DataError, match="unsupported type"):
        check_table_output(tmp_path / "a.html")
    assert list(tmp_path.iterdir()) == []


# --- bundled data ------------------------------------------------------------------------------


def test_load_adult_splits() -> None:
    train, test = load_adult(), load_adult("test")
    assert train.shape == (32561, 15)
    assert test.shape == (16281, 15)
    assert (train["income"] == ">50K").sum() == 7841
    assert train["workclass"].isna().sum() == 1836
    assert str(train["age"].dtype) == "int64"
    with pytest.raises(DataError, match="'split' parameter of load_adult"):
        load_adult("validation")


def test_csv_boolean_spellings_are_kept_for_writing(tmp_path: Path) -> None:
    text = "paid,shouted,gaps,python\ntrue,TRUE,false,True\nfalse,FALSE,,False\ntrue,TRUE,,True\n"
    df = read_table(_write(tmp_path / "t.csv", text))
    assert [str(t) for t in df.dtypes] == ["bool", "bool", "boolean", "bool"]
    # Python's own spelling needs no note; a column without true values spells them so.
    assert df.attrs["boolean_spellings"] == {
        "paid": {"True": "true", "False": "false"},
        "shouted": {"True": "TRUE", "False": "FALSE"},
        "gaps": {"True": "True", "False": "false"},
    }
    out = write_table(df, tmp_path / "out.csv")
    assert out.read_text(encoding="utf-8") == text


def test_csv_decimal_places_are_kept_for_writing(tmp_path: Path) -> None:
    """4.50 was written back as 4.5 (user audit); a column changed since it was read is
    written in full, not rounded to the places it was read with."""
    text = "price,rate,mixed\n4.50,0.125,1.5\n12.00,0.300,2.25\n,0.010,3.75\n"
    df = read_table(_write(tmp_path / "t.csv", text))
    assert df.attrs["decimal_places"] == {"price": 2, "rate": 3}
    assert write_table(df, tmp_path / "out.csv").read_text(encoding="utf-8") == text
    # Python's own spelling, padded: not the float's binary expansion (0.299999999999999989).
    long = "rate,c\n0.300000000000000000,NaN\n0.100000000000000000,1.10\n"
    with pytest.warns(DataWarning):
        read = read_table(_write(tmp_path / "long.csv", long))
    assert read.attrs["decimal_places"] == {"rate": 18, "c": 2}
    written = write_table(read, tmp_path / "long_out.csv").read_text(encoding="utf-8")
    assert written == "rate,c\n0.300000000000000000,\n0.100000000000000000,1.10\n"
    taxed = df.assign(price=df["price"] * 1.0725)
    written = write_table(taxed, tmp_path / "taxed.csv").read_text(encoding="utf-8")
    assert written.splitlines()[1].startswith("4.82625,")


def test_synthetic_csv_keeps_the_decimal_places(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = [f"{p:.2f},{i % 3}" for i, p in enumerate(np.round(rng.gamma(2, 5, 600) * 2) / 2)]
    source = _write(tmp_path / "in.csv", "price,k\n" + "\n".join(lines) + "\n")
    out = la.Synthesizer(random_state=0).fit(source).sample(300, random_state=1)
    written = write_table(out, tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert all(re.fullmatch(r"\d+\.\d\d,\d", line) for line in written[1:])


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet"])
def test_a_table_written_in_parts_is_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """CSV is written part by part so the command line can show progress (5,000,000 rows
    took 40 s to write after the sampling bar had ended): the bytes are those of one write."""
    from lookalike.io import _table

    frame = pd.DataFrame({"a": range(50), "b": ["x", None] * 25, "c": [True, False] * 25})
    whole = write_table(frame, tmp_path / f"whole_{name}").read_bytes()
    monkeypatch.setattr(_table, "_CSV_PART_ROWS", 7)
    told: list[int] = []
    parts = write_table(frame, tmp_path / name, on_rows=told.append).read_bytes()
    assert parts == whole
    assert sum(told) == 50 and (len(told) == 8 if name.endswith(("csv", "gz")) else told == [50])


def test_parquet_keeps_pandas_arrow_string_dtypes(tmp_path: Path) -> None:
    """Arrow reads every string column as pandas' str: string[pyarrow] text that pandas wrote
    came back as str, and was written back as large_string."""
    frame = pd.DataFrame(
        {
            "code": pd.Series(["a", None, "b"], dtype=pd.ArrowDtype(pa.string())),
            "long": pd.Series(["x", "y", None], dtype=pd.ArrowDtype(pa.large_string())),
            "plain": pd.Series(["p", "q", None], dtype="str"),
        }
    )
    path = write_table(frame, tmp_path / "t.parquet")
    back = read_table(path)
    pd.testing.assert_frame_equal(back, frame)
    assert pq.read_schema(write_table(back, tmp_path / "again.parquet")).types == [
        pa.string(),
        pa.large_string(),
        pa.large_string(),
    ]


def test_write_texts_moves_none_into_place_unless_all_can_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.html", tmp_path / "b.json"
    write_text = Path.write_text

    def meanwhile_create_second(path: Path, *args: Any, **kwargs: Any) -> int:
        if path.name.startswith(".b.json."):
            second.write_text("someone else's", encoding="utf-8")
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", meanwhile_create_second)
    with pytest.raises(OutputExistsError, match=r"b\.json"):
        write_texts([("<html>", first), ("{}", second)])
    # The first file was moved into place before the second failed, and is removed again.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]
    assert second.read_text(encoding="utf-8") == "someone else's"
    monkeypatch.undo()
    assert write_texts([("<html>", first), ("{}", tmp_path / "c.json")]) == [
        first,
        tmp_path / "c.json",
    ]
    assert first.read_text(encoding="utf-8") == "<html>"
