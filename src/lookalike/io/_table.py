"""Read a table from a file or an in-memory frame; write one to CSV or Parquet.

How CSV text becomes typed columns (every rule here is a decision, tested in ``tests/test_io.py``):

- Only an **empty cell** is missing. ``NA``, ``None``, ``null``, ``NaN``, ``?`` are kept as text,
  because in real tables they are sometimes values (a person called "Null", the country code "NA").
  When a column is all numbers except such tokens, a :class:`DataWarning` says so.
- A column whose every value is a whole number becomes ``int64`` (``Int64``, nullable, when some cells
  are empty); decimal numbers become ``float64``; ``true``/``false`` in any case becomes ``bool``
  (``boolean`` when some cells are empty). Spaces around a number or a boolean are ignored.
  How a boolean column spelled its values (``true``, ``TRUE``; the most common spelling of each)
  is kept in ``frame.attrs["boolean_spellings"]`` (``{"paid": {"True": "true", "False": "false"}}``)
  unless it is Python's ``True``/``False``; :func:`write_table` writes CSV with it, and a model
  learns it, so synthetic rows are written back as the input was.
- Likewise a decimal column whose every value is written with the same number of decimal places,
  trailing zeros included (``4.50``, ``12.00``): ``frame.attrs["decimal_places"]``
  (``{"price": 2}``); :func:`write_table` writes CSV with as many, where ``4.5`` was written.
- Numbers written with a leading zero (``007``, zip codes) and whole numbers beyond the int64 range
  stay **text**, so no digit is lost. Text is never stripped or otherwise changed.
- Dates stay text; the schema layer recognises their format.
- A header cell that is blank is named ``unnamed_<n>`` (``n`` counts columns from 1), with a warning.
- The file is read as UTF-8 (a byte-order mark is dropped; UTF-16 with a byte-order mark is read
  too). A line that is not valid UTF-8 is read as Windows-1252, or Latin-1 if that fails, with a
  :class:`DataWarning`; the other lines stay UTF-8.
- In CSV an empty string cannot be told from a missing value: both come back missing. Parquet keeps
  every type and value exactly.
- From Parquet, Arrow and polars, decimals, dates and times of day become pandas Arrow columns
  (``decimal128(10, 2)[pyarrow]``, ``date32[day][pyarrow]``, ``time64[us][pyarrow]``), so they are
  written back in their own types; so do pandas columns of Python decimals, dates and times of
  day. Nested columns (lists, structs, maps) and binary data are refused, every such column
  named in one error; so are Python lists, dicts and bytes in a pandas DataFrame.
- A pandas ``category`` column comes back from Parquet as a category, ordered or not. Parquet
  keeps only categories of text; those of numbers, booleans, datetimes and durations that
  :func:`write_table` wrote are kept in the file's metadata, exactly and in order. In a file
  written by pandas (``df.to_parquet``) they are the values held, sorted: unused ones are lost.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lookalike.errors import DataError, ModelFileError, warn_data
from lookalike.io._files import check_input_file, check_output_path, write_atomically

__all__ = [
    "BOOLEAN_SPELLINGS",
    "DECIMAL_PLACES",
    "TABLE_SUFFIXES",
    "check_model_name",
    "check_table_output",
    "read_table",
    "write_table",
]


@dataclass(frozen=True)
class _Format:
    kind: str  # "csv" or "parquet"
    separator: str = ","
    gzipped: bool = False


_FORMATS: dict[str, _Format] = {
    ".csv": _Format("csv"),
    ".csv.gz": _Format("csv", gzipped=True),
    ".tsv": _Format("csv", separator="\t"),
    ".tsv.gz": _Format("csv", separator="\t", gzipped=True),
    ".parquet": _Format("parquet"),
    ".pq": _Format("parquet"),
}
#: File name endings that :func:`read_table` and :func:`write_table` understand.
TABLE_SUFFIXES: tuple[str, ...] = tuple(_FORMATS)

_INTEGER = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(
    r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?i:inf|infinity)"
)
_BOOLEAN = {"true", "false"}
#: A duration as pandas writes one to CSV: ``0 days 01:14:05``, ``-1 days +23:59:59.500000``.
_DURATION = re.compile(r"-?\d+ days? [+-]?\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?")
#: The ``DataFrame.attrs`` key of how boolean columns were spelled in CSV (see the module docstring).
BOOLEAN_SPELLINGS = "boolean_spellings"
DECIMAL_PLACES = "decimal_places"
_HEAD = 200
# Tokens other tools write for "missing". We keep them as text but tell the user when they are the
# only thing standing between a column and a numeric type.
_MISSING_TOKENS = {"", "na", "n/a", "nan", "null", "none", "nil", "-", "--", "?", ".", "#n/a"}
# Share of control characters (other than tab, newline, carriage return, form feed) above which
# decoded "text" is taken to be binary data.
_MAX_CONTROL_SHARE = 0.01
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])


def read_table(source: Any) -> pd.DataFrame:
    """Read a table from a file or an in-memory table, checking that it is usable.

    ``source`` is a path (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``, ``.parquet``, ``.pq``), a
    pandas DataFrame (a copy is returned; the caller's frame is never changed), a pyarrow Table or a
    polars DataFrame. See the module docstring for how CSV text becomes typed columns.

    Raises :class:`~lookalike.errors.DataError`, with a one-line message naming the file and the
    problem, when the source is missing, empty, has a header but no rows, has duplicate column
    names, is binary, has only empty columns, or is not a table at all.

    >>> df = read_table(pd.DataFrame({"zip": ["007", "010"], "n": [1, None]}))
    >>> df["zip"].tolist(), str(df["n"].dtype)
    (['007', '010'], 'float64')
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return _check_table(_read_file(path), f"Input file {str(path)!r}")
    if isinstance(source, pd.DataFrame):
        what = "The input DataFrame"
        if isinstance(source.columns, pd.MultiIndex):
            raise DataError(f"{what} has multi-level column names; flatten them first.")
        frame = source.copy(deep=True)
        frame.columns = pd.Index([str(c) for c in frame.columns])
        frame = _check_table(index_as_columns(frame, what), what)
        _check_flat_values(frame, what)  # and types Python decimals, dates and times
        return frame
    if isinstance(source, pa.Table):
        what = "The input Arrow table"
        return _check_table(_arrow_to_pandas(source, what), what)
    if _is_polars(source, "DataFrame"):
        what = "The input polars DataFrame"
        return _check_table(_arrow_to_pandas(source.to_arrow(), what), what)
    if _is_polars(source, "LazyFrame"):
        raise DataError("read_table got a polars LazyFrame; call .collect() on it first.")
    raise DataError(
        "read_table expects a file path, a pandas or polars DataFrame or a pyarrow Table. "
        f"Got {type(source).__name__} instead."
    )


def in_memory_frame(source: Any, what: str = "The seed rows") -> Any:
    """A pyarrow Table or polars DataFrame as a pandas DataFrame (with :func:`read_table`'s
    types); anything else as it is. Seed rows, or a synthetic table being evaluated, may leave
    whole columns empty, so no check that a table to learn from needs is made. ``what`` names
    the table in errors.
    """
    if isinstance(source, pa.Table):
        return _arrow_to_pandas(source, what)
    if _is_polars(source, "DataFrame"):
        return _arrow_to_pandas(source.to_arrow(), what)
    return source


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    on_rows: Callable[[int], None] | None = None,
) -> Path:
    """Write ``df`` to ``path`` as CSV (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``) or Parquet.

    The file appears whole or not at all: it is written to a temporary file in the same folder and
    then renamed. An existing file is replaced only if ``force`` is true; otherwise
    :class:`~lookalike.errors.OutputExistsError` is raised. The folder must exist. The index is not
    written. Gzip output is byte-for-byte reproducible (no time stamp in the header).

    Parquet keeps every dtype. CSV keeps whole numbers, booleans, decimal numbers and text as read
    back by :func:`read_table`, except that empty strings come back missing and datetimes as text.
    Booleans named in ``df.attrs["boolean_spellings"]`` are written in CSV with that spelling,
    and decimal numbers named in ``df.attrs["decimal_places"]`` with that many places.
    ``on_rows`` is told how many rows each written part held (for a progress bar: 5,000,000 rows
    took 40 s to write as CSV after the sampling bar had ended); Parquet is written in one part.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"write_table expects a pandas DataFrame. Got {type(df).__name__} instead.")
    fmt = _format_of(Path(path), "Output file")
    names = [str(c) for c in df.columns]
    _check_unique_names(names, "The table to write")
    frame = df.set_axis(pd.Index(names), axis=1)
    if fmt.kind == "csv":
        frame = _with_places(_spell_booleans(frame))

    def write(tmp: Path) -> None:
        if fmt.kind == "parquet":
            try:
                pq.write_table(_arrow_with_categories(frame), tmp)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise DataError(
                    f"Cannot write {str(path)!r} as Parquet: {_one_line(str(exc))}"
                ) from None
        elif fmt.gzipped:
            # GzipFile with an empty name and mtime 0 keeps the temporary name and the clock out of
            # the header, so the same table always gives the same bytes.
            with (
                open(tmp, "wb") as raw,
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
                io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
            ):
                _write_csv(frame, text, fmt.separator, on_rows)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as text:
                _write_csv(frame, text, fmt.separator, on_rows)
        if fmt.kind == "parquet" and on_rows is not None:
            on_rows(len(frame))

    return write_atomically(path, write, force=force)


#: Parquet schema metadata holding the categories Parquet itself does not keep.
_CATEGORIES_KEY = b"lookalike.categories"


def _arrow_with_categories(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as pandas writes it to Parquet, plus the categories of its ``category`` columns
    of numbers, booleans, datetimes and durations: Parquet reads only dictionaries of text back,
    so those came back as their values' dtype, without their unused categories or their order."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    if frame.attrs:
        metadata[b"PANDAS_ATTRS"] = json.dumps(frame.attrs).encode()  # as pandas writes them
    declared = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if not isinstance(dtype, pd.CategoricalDtype):
            continue
        categories = dtype.categories
        if isinstance(categories, pd.DatetimeIndex | pd.TimedeltaIndex):
            # Whole ticks of the unit (UTC for time zones): exact at any resolution.
            values = categories.asi8.tolist()
        elif categories.dtype.kind in "iufb":
            values = categories.tolist()
        else:
            continue  # text: the Parquet dictionary keeps it
        declared[name] = {
            "dtype": str(categories.dtype),
            "categories": values,
            "ordered": bool(dtype.ordered),
        }
    if declared:
        metadata[_CATEGORIES_KEY] = json.dumps(declared).encode()
    return table.replace_schema_metadata(metadata)


def _with_declared_categories(
    table: pa.Table, what: str
) -> tuple[pa.Table, dict[str, pd.CategoricalDtype]]:
    """``table`` with the categories :func:`write_table` kept as dictionaries again (a value
    outside them, in an edited file, comes back missing), and their pandas dtypes."""
    raw = (table.schema.metadata or {}).get(_CATEGORIES_KEY)
    declared: dict[str, pd.CategoricalDtype] = {}
    if raw is None:
        return table, declared
    for name, entry in _read_declared(raw, what).items():
        if name not in table.column_names:
            continue
        dtype = declared[name] = _declared_dtype(entry, name, what)
        try:
            dictionary = pa.array(dtype.categories)
            values = table.column(name).cast(dictionary.type)
            chunks = [
                pa.DictionaryArray.from_arrays(
                    pc.index_in(chunk, value_set=dictionary), dictionary, ordered=dtype.ordered
                )
                for chunk in values.chunks
            ]
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise DataError(
                f"{what}: column {name!r} does not hold the categories lookalike kept for it "
                f"({_one_line(str(exc))})."
            ) from None
        field = pa.field(name, pa.dictionary(pa.int32(), dictionary.type, dtype.ordered))
        table = table.set_column(
            table.column_names.index(name), field, pa.chunked_array(chunks, field.type)
        )
    return table, declared


def _restore_categories(frame: pd.DataFrame, metadata: dict[str, Any]) -> None:
    """``category`` columns of a file pandas wrote, which Parquet read back as their values (all
    but text): the categories are the values held, sorted, ordered as pandas noted."""
    for column in metadata.get("columns", []):
        name = column.get("name")
        if column.get("pandas_type") != "categorical" or name not in frame.columns:
            continue
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            continue
        ordered = bool((column.get("metadata") or {}).get("ordered", False))
        categories = pd.Index(series.dropna().unique()).sort_values()
        frame[name] = series.astype(pd.CategoricalDtype(categories, ordered))


def _read_declared(raw: bytes, what: str) -> dict[str, Any]:
    try:
        declared = json.loads(raw)
    except ValueError as exc:
        raise DataError(f"{what} has unreadable lookalike categories: {exc}") from None
    if not isinstance(declared, dict):
        raise DataError(f"{what} has unreadable lookalike categories: not a JSON object.")
    return declared


def _declared_dtype(entry: Any, name: str, what: str) -> pd.CategoricalDtype:
    """The categories :func:`_arrow_with_categories` wrote for column ``name``."""
    try:
        own = pd.api.types.pandas_dtype(entry["dtype"])
        values = entry["categories"]
        if own.kind in "Mm":
            unit = (
                own.unit if isinstance(own, pd.DatetimeTZDtype) else np.datetime_data(str(own))[0]
            )
            ticks = np.asarray(values, dtype=np.int64)
            if own.kind == "m":
                categories = pd.Index(ticks.view(f"m8[{unit}]"))
            else:
                categories = pd.Index(ticks.view(f"M8[{unit}]"))
                tz = getattr(own, "tz", None)
                if tz is not None:
                    categories = categories.tz_localize("UTC").tz_convert(tz)
        else:
            categories = pd.Index(values, dtype=own)
        return pd.CategoricalDtype(categories, ordered=bool(entry["ordered"]))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise DataError(
            f"{what}: the categories lookalike kept for column {name!r} cannot be read "
            f"({_one_line(str(exc))})."
        ) from None


#: Rows of a CSV written at a time, so that a progress bar moves.
_CSV_PART_ROWS = 200_000


def _write_csv(
    frame: pd.DataFrame, text: Any, separator: str, on_rows: Callable[[int], None] | None
) -> None:
    """``frame`` as CSV into ``text``, part by part (the same bytes as one call)."""
    for start in range(0, max(len(frame), 1), _CSV_PART_ROWS):
        part = frame.iloc[start : start + _CSV_PART_ROWS]
        part.to_csv(text, index=False, sep=separator, lineterminator="\n", header=start == 0)
        if on_rows is not None:
            on_rows(len(part))


def _with_places(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float columns named in ``attrs`` as text with that many decimal places
    (a copy if any), where that loses no digit: a column computed since it was read (prices
    with tax) is written in full."""
    places = frame.attrs.get(DECIMAL_PLACES) or {}
    written = {}
    for name, k in places.items():
        if name not in frame.columns or not pd.api.types.is_float_dtype(frame[name]):
            continue
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if np.array_equal(np.round(finite, int(k)), finite):
            written[name] = frame[name].map(lambda v, k=int(k): _padded(v, k))
    return frame.assign(**written) if written else frame


def _padded(value: float, places: int) -> str | None:
    """``value`` as Python writes it, with zeros to ``places`` decimal places: not as
    ``f"{value:.{places}f}"``, which writes 0.3 at 18 places as 0.299999999999999989.

    >>> _padded(4.5, 2), _padded(0.3, 18), _padded(-12.0, 1), _padded(1e22, 2), _padded(np.nan, 2)
    ('4.50', '0.300000000000000000', '-12.0', '1e+22', None)
    """
    if pd.isna(value):
        return None
    text = repr(float(value))
    if "e" in text or "n" in text:  # exponents, inf: as Python writes them
        return text
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(places, '0')}"


def _spell_booleans(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its boolean columns as text in their ``attrs`` spelling (a copy if any)."""
    spellings = frame.attrs.get(BOOLEAN_SPELLINGS) or {}
    spelled = {
        name: frame[name].map(lambda v, s=spelling: None if pd.isna(v) else s[str(bool(v))])
        for name, spelling in spellings.items()
        if name in frame.columns and pd.api.types.is_bool_dtype(frame[name])
    }
    return frame.assign(**spelled) if spelled else frame


def check_table_output(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Check, before any long work, that :func:`write_table` could write ``path``."""
    path = Path(path)
    if not path.is_dir():  # a folder gets check_output_path's plainer words
        _format_of(path, "Output file")
    return check_output_path(path, force=force)


# --- files ------------------------------------------------------------------------------------


def _format_of(path: Path, role: str) -> _Format:
    name = path.name.lower()
    for suffix in sorted(_FORMATS, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return _FORMATS[suffix]
    known = ", ".join(TABLE_SUFFIXES)
    got = "".join(path.suffixes[-2:]) or "no extension"
    raise DataError(
        f"{role} {str(path)!r} has an unsupported type ({got}); expected one of {known}."
    )


def _read_file(path: Path) -> pd.DataFrame:
    shown = repr(str(path))
    check_input_file(path, "Input file", DataError)
    fmt = _format_of(path, "Input file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"Input file {shown} cannot be read: {exc.strerror}.") from None
    if size == 0:
        raise DataError(f"Input file {shown} is empty (0 bytes).")
    if fmt.kind == "parquet":
        return _read_parquet(path)
    return _read_csv(path, fmt)


def _read_parquet(path: Path) -> pd.DataFrame:
    what = f"Input file {str(path)!r}"
    try:
        # Names first: pyarrow's reader fails on a repeated name with a message about field
        # references, where a CSV with the same problem gets the duplicate names listed.
        _check_unique_names(pq.read_schema(path).names, what)
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{what} is not a readable Parquet file: {_one_line(str(exc))}") from None
    return _arrow_to_pandas(table, what)


def _read_csv(path: Path, fmt: _Format) -> pd.DataFrame:
    shown = repr(str(path))
    try:
        data = path.read_bytes()
        if fmt.gzipped:
            data = gzip.decompress(data)
    except (gzip.BadGzipFile, EOFError, zlib.error):
        raise DataError(
            f"Input file {shown} is not a valid gzip file (corrupt or truncated)."
        ) from None
    except OSError as exc:
        raise DataError(f"Input file {shown} cannot be read: {exc.strerror}.") from None
    data = _decode(data, shown)
    if not data.strip():
        raise DataError(f"Input file {shown} has no header and no rows (only blank lines).")
    try:
        raw = pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            sep=fmt.separator,
            header=None,  # we name the columns ourselves, so duplicates are seen, not renamed
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"Input file {shown} has no header and no rows.") from None
    except pd.errors.ParserError as exc:
        message = _one_line(str(exc)).replace("Error tokenizing data. C error: ", "")
        header = data.split(b"\n", 1)[0]
        if fmt.separator == "," and b";" in header and b"," not in header:
            # Spreadsheets in many locales write ';' between fields (and ',' in numbers).
            message += (
                "; its header is separated by ';', which lookalike does not read: save it with ','"
            )
        raise DataError(f"Input file {shown} is not a well-formed table: {message}") from None
    if len(raw) <= 1:
        raise DataError(f"Input file {shown} has a header but no rows.")
    names = _header_names(raw.iloc[0].tolist(), shown)
    _check_unique_names(names, f"Input file {shown}")
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = pd.Index(names)
    spellings, places = {}, {}
    for name in names:
        text = frame[name]
        frame[name] = _typed_column(text, name, shown)
        if pd.api.types.is_bool_dtype(frame[name]):
            spelling = _boolean_spelling(text, frame[name])
            if spelling != {"True": "True", "False": "False"}:
                spellings[name] = spelling
        elif pd.api.types.is_float_dtype(frame[name]):
            fixed = _fixed_places(text[frame[name].notna()])  # not the "NaN" tokens
            if fixed is not None:
                places[name] = fixed
    if spellings:
        frame.attrs[BOOLEAN_SPELLINGS] = spellings
    if places:
        frame.attrs[DECIMAL_PLACES] = places
    return frame


def _fixed_places(text: pd.Series) -> int | None:
    """The number of decimal places every value of ``text`` is written with, if some value
    ends in a zero (``4.50``: Python writes ``4.5``); else None.

    >>> _fixed_places(pd.Series(["4.50", " 12.25", None, "-0.10"])), _fixed_places(pd.Series(["4.5"]))
    (2, None)
    """
    present = text.dropna().astype(str).str.strip()
    present = present[present != ""]
    parts = present.str.extract(r"^[+-]?\d*\.(\d+)$", expand=False)
    if not len(present) or parts.isna().any():
        return None
    lengths = parts.str.len()
    if lengths.nunique() != 1 or not parts.str.endswith("0").any():
        return None
    return int(lengths.iloc[0])


def _boolean_spelling(text: pd.Series, flags: pd.Series) -> dict[str, str]:
    """The most common spelling of true and of false in a column read as booleans."""
    spelling = {}
    for value in (True, False):
        written = text[(flags == value).fillna(False).to_numpy(dtype=bool)].str.strip()
        spelling[str(value)] = str(written.mode().iloc[0]) if len(written) else str(value)
    return spelling


def _decode(data: bytes, shown: str) -> bytes:
    """Check that ``data`` is text and return it as UTF-8 (what the CSV parser is given)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"Input file {shown} is not valid UTF-16 text.") from None
    if b"\x00" in data:
        raise DataError(
            f"Input file {shown} is not a text table: it contains NUL bytes (binary data)."
        )
    # Control bytes are ASCII, so they can be counted before decoding, whatever the encoding.
    n_control = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if n_control > _MAX_CONTROL_SHARE * len(data):
        raise DataError(f"Input file {shown} is not a text table: it looks like binary data.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_by_line(data, shown)
    return data.removeprefix(b"\xef\xbb\xbf")


def _decode_by_line(data: bytes, shown: str) -> bytes:
    """UTF-8 where a line is valid UTF-8, Windows-1252 (else Latin-1) where it is not.

    A file that is UTF-8 but for a line pasted from an older system keeps its other lines'
    accents: decoded whole as Windows-1252, every "ë" in it read as "Ã«". Splitting at newlines
    is safe in both encodings: no byte of a multi-byte UTF-8 character is a newline.
    """
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    bad: list[int] = []
    encodings: set[str] = set()
    for number, line in enumerate(lines):
        try:
            line.decode("utf-8")
            continue
        except UnicodeDecodeError:
            bad.append(number)
        try:
            lines[number] = line.decode("cp1252").encode("utf-8")
            encodings.add("Windows-1252")
        except UnicodeDecodeError:
            lines[number] = line.decode("latin-1").encode("utf-8")
            encodings.add("Latin-1")
    n_lines = len(lines) - (lines[-1] == b"")  # a final newline ends the last line
    where = (
        ""
        if len(bad) == n_lines
        else f" on {len(bad)} of its {n_lines} lines (the first is line {bad[0] + 1})"
    )
    warn_data(
        f"Input file {shown} is not valid UTF-8{where}; read "
        f"{'it' if len(bad) == n_lines else 'those lines'} as "
        f"{' or '.join(sorted(encodings, reverse=True))}."
    )
    return b"\n".join(lines)


def _header_names(cells: list[Any], shown: str) -> list[str]:
    names = []
    for position, cell in enumerate(cells, start=1):
        if isinstance(cell, str) and cell.strip():
            names.append(cell)
            continue
        name = f"unnamed_{position}"
        warn_data(
            f"Input file {shown}: column {position} has no name in the header; calling it {name!r}."
        )
        names.append(name)
    return names


def _typed_column(column: pd.Series, name: str, shown: str) -> pd.Series:
    """Turn a column of CSV text (missing = empty cell) into numbers or booleans when it is one."""
    present = column.dropna()
    if present.empty:
        return pd.Series(float("nan"), index=column.index, dtype="float64")
    # Most text columns show it in their first values: skip the full scans for them.
    head = present.iloc[:_HEAD].str.strip()
    if head.str.lower().isin(_MISSING_TOKENS).all():
        spelled = present.str.strip().str.lower()
        if spelled.isin(_MISSING_TOKENS).all():
            # A column R wrote as NA throughout (a seed file's column left to be drawn).
            tokens = sorted(set(present.tolist()))[:3]
            warn_data(
                f"Input file {shown}: column {name!r} holds only cells like {tokens}, read as "
                "missing values."
            )
            return pd.Series(float("nan"), index=column.index, dtype="float64")
    if head.str.fullmatch(_DURATION).all() and present.str.strip().str.fullmatch(_DURATION).all():
        return pd.to_timedelta(column.str.strip())
    head_is_float = head.str.fullmatch(_FLOAT)
    maybe_typed = (
        head_is_float.all()
        or head.str.lower().isin(_BOOLEAN).all()
        or (head_is_float.any() and head[~head_is_float].str.lower().isin(_MISSING_TOKENS).all())
    )
    if not maybe_typed:
        return column
    stripped = present.str.strip()
    missing = bool(column.isna().any())

    if stripped.str.fullmatch(_INTEGER).all():
        numbers = None
        # uint64 past int64's top (64-bit hashes and keys), as a Parquet file would hold them.
        for dtype in ("int64", "uint64"):
            try:
                numbers = stripped.astype(dtype)
                break
            except (OverflowError, ValueError, TypeError, pa.ArrowException):
                continue
        if numbers is None:
            return column  # beyond 64 bits: kept as exact text rather than rounded through float
        if not missing:
            return numbers.reindex(column.index)
        nullable = pd.api.types.pandas_dtype(
            {"int64": "Int64", "uint64": "UInt64"}[str(numbers.dtype)]
        )
        result: pd.Series = numbers.astype(nullable).reindex(column.index)
        return result
    is_float = stripped.str.fullmatch(_FLOAT)
    if is_float.all():
        return stripped.astype("float64").reindex(column.index)
    lowered = stripped.str.lower()
    if lowered.isin(_BOOLEAN).all():
        flags = (lowered == "true").reindex(column.index)
        return flags.astype("bool") if not missing else flags.astype("boolean")

    # Numbers with missing cells spelled as text (R writes NA, UCI files ?): read as text, every
    # number became a rare category (914 of 1,000 sampled values were _RARE_), and a schema
    # could not say otherwise. In a column of text they stay values ("NA" is Namibia).
    others = present[~is_float]
    if is_float.any() and others.str.strip().str.lower().isin(_MISSING_TOKENS).all():
        tokens = sorted(set(others.tolist()))[:3]
        warn_data(
            f"Input file {shown}: column {name!r} holds numbers and {len(others)} cell(s) like "
            f"{tokens}, read as missing values (written back as empty cells)."
        )
        return _typed_column(column.mask(column.isin(set(others))), name, shown)
    return column


# --- in-memory tables ---------------------------------------------------------------------------


def _is_polars(source: Any, class_name: str) -> bool:
    kind = type(source)
    return kind.__module__.split(".")[0] == "polars" and kind.__name__ == class_name


def _arrow_to_pandas(table: pa.Table, what: str) -> pd.DataFrame:
    # Before conversion: a repeated name makes frame[name] a DataFrame, which the dtype fixes
    # below cannot handle.
    _check_unique_names([str(name) for name in table.column_names], what)
    _check_flat_types(table.schema, what)
    if table.schema.pandas_metadata is not None:
        # Written from pandas: the metadata restores the exact dtypes (Int64, category, tz...).
        table, declared = _with_declared_categories(table, what)
        frame: pd.DataFrame = table.to_pandas(types_mapper=_arrow_dtype)
        _restore_datetime_units(frame, table.schema.pandas_metadata)
        _restore_arrow_strings(frame, table)
        for name, declared_dtype in declared.items():
            # Arrow's dictionary of datetimes loses their time zone: the codes are exact.
            codes = frame[name].cat.codes
            restored = pd.Categorical.from_codes(codes, dtype=declared_dtype)
            frame[name] = pd.Series(restored, frame.index)
        _restore_categories(frame, table.schema.pandas_metadata)
    else:
        # Otherwise arrow's default turns integers with nulls into floats; keep them integers.
        frame = table.to_pandas(types_mapper=_nullable_dtype)
        for name in frame.columns:
            dtype = frame[name].dtype
            if dtype in _NUMPY_OF and not frame[name].isna().any():
                frame[name] = frame[name].astype(_NUMPY_OF[dtype])
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return index_as_columns(frame, what)


def index_as_columns(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` with its named index levels as its first columns, and a fresh 0..n-1 index.

    A named index holds data (``df.set_index("time_hour")``, or a Parquet file written from such
    a frame). Unnamed levels and a range of row numbers (``rename_axis("row")``) are row labels
    and are dropped, and so is a level that repeats a column of its name
    (``set_index("age", drop=False)``); a level named like a column it differs from is an error.

    >>> frame = pd.DataFrame({"x": [1, 2]}, index=pd.Index([5, 6], name="id"))
    >>> index_as_columns(frame, "The input DataFrame").to_dict("list")
    {'id': [5, 6], 'x': [1, 2]}
    """
    index = frame.index
    labels_only = [
        i
        for i, name in enumerate(index.names)
        if name is None
        or isinstance(index, pd.RangeIndex)
        or (
            name in frame.columns
            and pd.Series(index.get_level_values(i), index=index).equals(frame[name])
        )
    ]
    if len(labels_only) == index.nlevels:
        return frame.reset_index(drop=True)
    clash = sorted(
        str(name)
        for i, name in enumerate(index.names)
        if i not in labels_only and str(name) in frame.columns
    )
    if clash:
        raise DataError(
            f"{what} has an index level named like a column ({', '.join(map(repr, clash))}) "
            "with other values; rename or drop one of them."
        )
    frame = frame.reset_index(level=labels_only, drop=True) if labels_only else frame
    frame = frame.reset_index()
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame


def _restore_datetime_units(frame: pd.DataFrame, metadata: dict[str, Any]) -> None:
    """Datetimes back at pandas' resolution: Parquet has no seconds, so it stores them as ms."""
    for column in metadata.get("columns", []):
        name, numpy_type = column.get("name"), str(column.get("numpy_type", ""))
        if name not in frame.columns or not numpy_type.startswith("datetime64["):
            continue
        unit = numpy_type.removeprefix("datetime64[").split(",")[0].rstrip("]")
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series) and series.dt.unit != unit:
            frame[name] = series.dt.as_unit(unit)


#: What pandas' metadata calls a column of pd.ArrowDtype text (``dtype_backend="pyarrow"``).
_ARROW_STRINGS = ("string[pyarrow]", "large_string[pyarrow]")


def _restore_arrow_strings(frame: pd.DataFrame, table: pa.Table) -> None:
    """Text that pandas wrote from Arrow string dtypes back in them: Arrow reads every string
    column as pandas' ``str``, so the command line wrote a ``string`` column back as
    ``large_string``."""
    for column in table.schema.pandas_metadata.get("columns", []):
        name, field = column.get("name"), column.get("field_name")
        if column.get("numpy_type") not in _ARROW_STRINGS or name not in frame.columns:
            continue
        if field not in table.column_names:
            continue
        text = table.column(field)
        if pa.types.is_string(text.type) or pa.types.is_large_string(text.type):
            frame[name] = pd.Series(pd.arrays.ArrowExtensionArray(text), index=frame.index)


_NULLABLE_OF: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}
_NUMPY_OF: dict[Any, Any] = {
    pd.Int8Dtype(): "int8",
    pd.Int16Dtype(): "int16",
    pd.Int32Dtype(): "int32",
    pd.Int64Dtype(): "int64",
    pd.UInt8Dtype(): "uint8",
    pd.UInt16Dtype(): "uint16",
    pd.UInt32Dtype(): "uint32",
    pd.UInt64Dtype(): "uint64",
    pd.BooleanDtype(): "bool",
}


def _nullable_dtype(arrow_type: pa.DataType) -> Any:
    nullable = _NULLABLE_OF.get(arrow_type)
    return nullable if nullable is not None else _arrow_dtype(arrow_type)


def _arrow_dtype(arrow_type: pa.DataType) -> Any:
    """Decimals, dates and times of day stay Arrow types: NumPy has none that keeps them."""
    if (
        pa.types.is_decimal(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_time(arrow_type)
    ):
        return pd.ArrowDtype(arrow_type)
    return None


def _check_flat_types(schema: pa.Schema, what: str) -> None:
    """One error naming every column of nested values (lists, structs, maps) or binary data."""
    bad = [
        f"{field.name!r} ({field.type})"
        for field in schema
        if pa.types.is_nested(field.type)
        or pa.types.is_binary(field.type)
        or pa.types.is_large_binary(field.type)
        or pa.types.is_fixed_size_binary(field.type)
        or pa.types.is_binary_view(field.type)
    ]
    if bad:
        raise _not_flat(what, bad)


def _check_flat_values(frame: pd.DataFrame, what: str) -> None:
    """As :func:`_check_flat_types`, for the Python objects of a pandas frame.

    Columns of Python decimals, dates or times of day become Arrow columns, as they are read from
    Parquet (``frame`` is the caller's copy).
    """
    bad = []
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.SparseDtype):
            # Sparse is a storage layout, not a type: learned, and written back, dense.
            column = pd.Series(np.asarray(column), index=column.index, name=name)
            frame[name] = column
        if isinstance(column.dtype, np.dtype) and column.dtype.kind == "c":
            bad.append(f"{name!r} ({column.dtype})")  # was cut to its real part
            continue
        arrow = getattr(column.dtype, "pyarrow_dtype", None)
        if arrow is not None and pa.types.is_string_view(arrow):
            # pandas has no kernels for string views (filtering one failed inside pyarrow).
            text = pa.chunked_array(column.array.__arrow_array__()).cast(pa.large_string())
            frame[name] = pd.Series(pd.arrays.ArrowExtensionArray(text), index=frame.index)
            continue
        if column.dtype != object:
            continue
        kind = pd.api.types.infer_dtype(column, skipna=True)
        if kind in ("decimal", "date", "time"):
            present = column.where(column.notna(), None).tolist()
            frame[name] = pd.Series(
                pd.arrays.ArrowExtensionArray(pa.array(present)), index=frame.index
            )
        elif kind in _OBJECT_TYPES:
            typed = _typed_objects(column, kind)
            if typed is not None:
                frame[name] = typed
        elif kind in ("bytes", "complex"):
            bad.append(f"{name!r} ({kind})")
        elif kind == "mixed":
            shape = next((type(v).__name__ for v in column if isinstance(v, _NESTED)), None)
            if shape is not None:
                bad.append(f"{name!r} ({shape})")
    if bad:
        raise _not_flat(what, bad)


_NESTED = (list, tuple, dict, set, np.ndarray, bytes)
#: What pandas infers for object columns of Python numbers, datetimes and durations, each read
#: as the typed column it would have been (they were learned as text, and came back as text).
_OBJECT_TYPES = ("integer", "floating", "mixed-integer-float", "datetime", "timedelta")


def _typed_objects(column: pd.Series, kind: str) -> pd.Series | None:
    """An object column of Python numbers, datetimes or durations as a typed column: integers
    as ``Int64``, numbers as ``float64``, datetimes in their one zone (None for mixed offsets,
    which stay text with their offsets), durations as ``timedelta64``; None when they do not
    fit (integers past int64).

    >>> _typed_objects(pd.Series([3, None, 5], dtype=object), "integer").tolist()
    [3, <NA>, 5]
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "integer":
                return column.astype("Int64")
            if kind in ("floating", "mixed-integer-float"):
                return column.astype("float64")
            if kind == "timedelta":
                return pd.to_timedelta(column)
            typed = pd.to_datetime(column)
    except (TypeError, ValueError, OverflowError):
        return None
    return typed if pd.api.types.is_datetime64_any_dtype(typed) else None


def _not_flat(what: str, columns: list[str]) -> DataError:
    return DataError(
        f"{what} has column(s) of nested values, binary data or complex numbers, which lookalike "
        f"does not learn: {', '.join(columns)}. Flatten them into plain columns (a complex "
        "number into its real and imaginary parts), decode them to text or drop them."
    )


# --- checks -------------------------------------------------------------------------------------


def _check_unique_names(names: list[str], what: str) -> None:
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        positions.setdefault(name, []).append(position)
    repeated = {name: where for name, where in positions.items() if len(where) > 1}
    if repeated:
        listed = ", ".join(
            f"{name!r} (columns {', '.join(map(str, where))})" for name, where in repeated.items()
        )
        raise DataError(f"{what} has duplicate column names: {listed}.")


def _check_table(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    names = [str(c) for c in frame.columns]
    _check_unique_names(names, what)
    if not names:
        raise DataError(f"{what} has no columns.")
    if len(frame) == 0:
        raise DataError(f"{what} has no rows.")
    if not frame.notna().to_numpy().any():
        raise DataError(f"{what} has only empty columns (every cell is missing).")
    return frame


def _one_line(message: str) -> str:
    return " ".join(message.split())


def check_model_name(path: str | Path) -> None:
    """ModelFileError if ``path`` ends like a table (``.csv``, ``.parquet``, ``.gz``...): the
    model would later be read as a table, or replace one when overwriting is allowed."""
    name = Path(path).name.lower()
    suffix = next((s for s in (*TABLE_SUFFIXES, ".gz") if name.endswith(s)), None)
    if suffix is not None:
        raise ModelFileError(
            f"Model file {str(path)!r} is named like a table ({suffix}); a model is a zip "
            "archive, conventionally named *.lookalike."
        )
