"""Pseudonymise a real table: its PII columns replaced by fakes, everything else kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lookalike._randomness import RandomState, seed_sequence
from lookalike.errors import SchemaError
from lookalike.io import read_table
from lookalike.pii._fakes import FakeMaker, faker_seed
from lookalike.schema import PiiType, Schema, infer_schema
from lookalike.schema._schema import check_locale


def detect_pii(table: Any, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The columns of ``table`` that hold direct identifiers, and the type of each.

    ``overrides`` are schema overrides, as for :func:`lookalike.infer_schema`.

    >>> df = pd.DataFrame({"email": ["ada@example.org", "bob@example.net"], "n": [1, 2]})
    >>> detect_pii(df)
    {'email': 'email'}
    """
    frame = read_table(table)
    return {name: pii.value for name, pii in infer_schema(frame, overrides).pii_columns.items()}


def replace_pii(
    table: Any,
    schema: Schema | Mapping[str, Any] | None = None,
    *,
    consistent: bool = False,
    locale: str | None = None,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """A copy of ``table`` whose PII columns hold realistic fakes instead of the real values.

    ``schema`` is a :class:`Schema` or schema overrides (``{"notes": {"pii": "text"}}``); PII is
    detected in the columns it does not decide. Missing values stay missing and other columns are
    unchanged. Each identifier column gets fresh fakes; free-text PII columns keep their text with
    every identifier found in it (e-mail, phone, SSN, NI number, IBAN, card number, street
    address; not names) replaced by a fake of the same type.

    With ``consistent=True`` the same real value gets the same fake wherever it appears in the
    table (in any column of its type and inside text), and different values get different fakes,
    so joins and counts survive; without it, equal values get independent fakes, which reveals
    nothing about which rows share a value. ``locale`` (default: the schema's, ``"en_US"``) is a
    Faker locale. The same ``random_state`` gives the same fakes.

    >>> df = pd.DataFrame({"email": ["ada@example.org", "ada@example.org", "bob@example.net"]})
    >>> out = replace_pii(df, consistent=True, random_state=0)
    >>> bool(out["email"][0] == out["email"][1] != out["email"][2])
    True
    >>> bool(out["email"].isin(df["email"]).any())
    False
    """
    frame = read_table(table)
    if isinstance(schema, Schema):
        missing = [name for name in schema.names if name not in frame.columns]
        extra = [str(c) for c in frame.columns if c not in schema]
        if missing or extra:
            raise SchemaError(
                f"The schema does not match the table: the table lacks {missing} and the schema "
                f"lacks {extra}."
            )
        frame_schema = schema
    else:
        frame_schema = infer_schema(frame, schema)
    locale = check_locale(locale if locale is not None else frame_schema.locale)
    seed = seed_sequence(random_state, owner="replace_pii")
    out = frame.copy()
    # Consistent: one maker (one stream, one table of replacements) for the whole table.
    # Otherwise: one stream per column, so a column's fakes do not depend on the others.
    shared = FakeMaker(locale, _seed_of(seed, 0), consistent=True) if consistent else None
    for position, spec in enumerate(frame_schema, start=1):
        if spec.pii is None:
            continue
        maker = shared or FakeMaker(locale, _seed_of(seed, position))
        out[spec.name] = _replaced(frame[spec.name], spec.pii, maker)
    if isinstance(table, pd.DataFrame):
        out.index = table.index
    return out


def _replaced(values: pd.Series, pii: PiiType, maker: FakeMaker) -> pd.Series:
    present = values.notna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(values)
    fakes = np.empty(len(values), dtype=object)
    for i, real in enumerate(values.tolist()):
        if not present[i]:
            continue
        text = str(int(real)) if numeric else str(real)
        if pii is PiiType.TEXT:
            fakes[i] = maker.scrub(text)
        else:
            fakes[i] = maker.replace(pii, text, numeric=numeric)
    result = pd.Series(fakes, index=values.index, name=values.name, dtype=object)
    if numeric:
        return pd.to_numeric(result).astype(values.dtype)
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Categories of the fakes: the real ones are the identifiers (the fakes are none of them).
        return result.astype("category")
    return result.astype(values.dtype)


def _seed_of(seed: np.random.SeedSequence, stream: int) -> int:
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, stream))
    return faker_seed(np.random.default_rng(child))
