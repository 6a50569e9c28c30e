"""PII: detection, overrides, fakes instead of learning, pseudonymisation, and no leaks.

The planted identifiers are real-looking (valid Luhn card numbers, IBANs with correct check digits,
valid SSNs and NI numbers) but invented, with surnames and a mail domain Faker never produces, so
a planted value showing up in the output can only be a leak.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lookalike as la
from lookalike.cli import app
from lookalike.encode import TableEncoder
from lookalike.io import read_table
from lookalike.pii import FakeMaker
from lookalike.schema import ColumnKind, PiiType
from lookalike.schema._pii import (
    find_identifiers,
    is_address,
    is_card_number,
    is_email,
    is_iban,
    is_person_name,
    is_phone,
    is_uk_nino,
    is_us_ssn,
    luhn_checksum,
)

_FIRST = ["Harriet", "Ambrose", "Cordelia", "Thaddeus", "Philippa", "Percival", "Rosalind", "Silas"]
_LAST = ["Quillfeather", "Marchbanks", "Thistlewood", "Ravenscroft", "Oakenshield", "Pennywhistle"]
_PII_COLUMNS = {
    "full_name": "name",
    "email": "email",
    "phone": "phone",
    "card": "card_number",
    "iban": "iban",
    "ssn": "us_ssn",
    "nino": "uk_nino",
    "home": "address",
    "notes": "text",
}


def _card(rng: np.random.Generator) -> str:
    body = "4539" + "".join(map(str, rng.integers(0, 10, 11)))
    check = (10 - luhn_checksum(body + "0")) % 10
    return body + str(check)


def _iban(rng: np.random.Generator) -> str:
    bban = "NWBK" + "".join(map(str, rng.integers(0, 10, 14)))
    digits = "".join(str(int(c, 36)) for c in bban + "GB00")
    return f"GB{98 - int(digits) % 97:02d}{bban}"


def _ssn(rng: np.random.Generator) -> str:
    return f"{rng.integers(100, 600):03d}-{rng.integers(10, 99):02d}-{rng.integers(1000, 9999):04d}"


def _nino(rng: np.random.Generator) -> str:
    digits = "".join(map(str, rng.integers(0, 10, 6)))
    return f"{rng.choice(list('ACEHJKLMPRSW'))}{rng.choice(list('ABEHJKLMPRSTW'))}{digits}{rng.choice(list('ABCD'))}"


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    """48 invented people, each on 5 rows, beside ordinary columns."""
    rng = np.random.default_rng(2024)
    people = []
    for i, (first, last) in enumerate((f, la_) for f in _FIRST for la_ in _LAST):
        email = f"{first}.{last}@quietharbour-bank.co.uk".lower()
        people.append(
            {
                "full_name": f"{first} {last}",
                "email": email,
                "phone": f"+44 20 7946 0{i:03d}",
                "card": _card(rng),
                "iban": _iban(rng),
                "ssn": _ssn(rng),
                "nino": _nino(rng),
                "home": f"{i + 3} {last} Street, Lower Wallop",
                "notes": f"Customer asked us to write to {email} about the overdraft.",
            }
        )
    rows = [dict(person) for person in people for _ in range(5)]
    n = len(rows)
    frame = pd.DataFrame(rows)
    frame.insert(0, "age", rng.integers(18, 90, n))
    frame.insert(1, "city", rng.choice(["Leeds", "York", "Bath"], n))
    frame["balance"] = rng.gamma(2.0, 500.0, n).round(2)
    frame.loc[rng.random(n) < 0.1, "phone"] = None
    return frame.sample(frac=1.0, random_state=7).reset_index(drop=True)


@pytest.fixture(scope="module")
def planted_values(planted: pd.DataFrame) -> list[str]:
    values = set()
    for column in _PII_COLUMNS:
        values.update(str(v) for v in planted[column].dropna())
    # Identifiers also in their bare forms, so a reformatted copy counts as a leak too.
    values.update(v.replace(" ", "") for v in planted["phone"].dropna())
    values.update(v.replace("-", "") for v in planted["ssn"])
    values.update(_LAST)
    return sorted(values)


@pytest.fixture(scope="module")
def model(planted: pd.DataFrame) -> la.Synthesizer:
    return la.Synthesizer(random_state=11).fit(planted)


def _leaks(frame: pd.DataFrame, values: list[str]) -> list[str]:
    blob = "\x00".join(str(v) for column in frame.columns for v in frame[column].tolist())
    return [value for value in values if value in blob]


# --- detection -----------------------------------------------------------------------------------


def test_planted_identifiers_are_detected_and_ordinary_columns_are_not(
    planted: pd.DataFrame,
) -> None:
    assert la.detect_pii(planted) == _PII_COLUMNS
    schema = la.infer_schema(planted)
    assert schema["email"].pii is PiiType.EMAIL
    assert schema["city"].pii is None and schema["age"].pii is None


@pytest.mark.parametrize(
    ("validate", "good", "bad"),
    [
        (is_email, ["a.b+c@mail.example.org"], ["a@b", "a b@c.de", "@x.com"]),
        (is_iban, ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"], ["GB82WEST1234"]),
        (is_card_number, ["4111-1111-1111-1111", "378282246310005"], ["4111111111111112"]),
        (is_us_ssn, ["078-05-1120"], ["000-12-3456", "123-00-4567", "900-12-3456"]),
        (is_uk_nino, ["AB 12 34 56 C", "JG103759A"], ["DA123456A", "NK123456A", "AB123456E"]),
        (is_phone, ["+1 (555) 010-9999", "020 7946 0018", "07700900123"], ["1.234567891"]),
        (is_address, ["10 Downing Street", "PO Box 123", "Rue de Rivoli 99"], ["40 hours"]),
        (is_person_name, ["Mary Shelley", "Shelley, Mary W."], ["United-States", "Mary"]),
    ],
)
def test_validators(validate, good: list[str], bad: list[str]) -> None:
    assert all(validate(v) for v in good), [v for v in good if not validate(v)]
    assert not any(validate(v) for v in bad), [v for v in bad if validate(v)]


def test_card_number_checksum_is_needed() -> None:
    rng = np.random.default_rng(0)
    valid = _card(rng)
    broken = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    assert is_card_number(valid) and not is_card_number(broken)
    assert is_iban(_iban(rng))


def test_text_mentions_and_column_name_hints() -> None:
    spans = find_identifiers("IBAN GB82 WEST 1234 5698 7654 32, card 4111 1111 1111 1111.")
    assert [pii for *_, pii in spans] == [PiiType.IBAN, PiiType.CARD_NUMBER]
    numbers = pd.DataFrame(
        {
            # Nine bare digits are an SSN only in a column named like one.
            "ssn": [100000000 + 7919 * i for i in range(40)],
            "amount": [100000000 + 7919 * i for i in range(40)],
            "card_no": [int(_card(np.random.default_rng(i))) for i in range(40)],
        }
    )
    assert la.detect_pii(numbers) == {"ssn": "us_ssn", "card_no": "card_number"}
    # "name" alone asks for known names; a person's name column ("customer_name") does not.
    products = ["Widget Pro", "Turbo Blender", "Garden Hose", "Desk Lamp", "Coffee Grinder"]
    invented = [f"{first} {last}" for first in ("Zebedee", "Wystan") for last in _LAST]
    names = pd.DataFrame(
        {
            "product_name": products * 4,
            "customer_name": invented + invented[:8],
            "name": invented + invented[:8],
        }
    )
    assert la.detect_pii(names) == {"customer_name": "name"}


@pytest.mark.parametrize(
    "path",
    [
        "adult/adult.csv",
        "adult/adult_test.csv",
        "default_credit/default_credit.csv",
        "diabetes_brfss/diabetes_brfss.csv",
        "nycflights13/airports.csv",
        "nycflights13/planes.csv",
    ],
)
def test_no_false_positives_on_real_datasets(
    path: str, shared_dataset: Callable[[str], Path]
) -> None:
    # pandas' own reader: the library's typed reader is slow on 250,000 rows and changes nothing.
    assert la.detect_pii(pd.read_csv(shared_dataset(path))) == {}


def test_no_false_positives_on_bundled_adult(adult: pd.DataFrame) -> None:
    assert la.detect_pii(adult) == {}


# --- overrides -----------------------------------------------------------------------------------


def test_overrides_switch_pii_on_and_off(planted: pd.DataFrame) -> None:
    schema = la.infer_schema(
        planted, {"notes": {"pii": None}, "city": {"pii": "text"}, "email": "identifier"}
    )
    assert schema["notes"].pii is None
    assert schema["notes"].kind is ColumnKind.CATEGORICAL
    assert schema["city"].pii is PiiType.TEXT
    # Changing the kind keeps a detected PII type that the kind can hold.
    assert schema["email"].pii is PiiType.EMAIL
    assert la.infer_schema(planted, {"full_name": {"pii": None}})["full_name"].pii is None
    with pytest.raises(la.SchemaError, match="holds numbers"):
        la.infer_schema(planted, {"age": {"pii": "email"}})
    with pytest.raises(la.SchemaError, match="pii must be null or one of"):
        la.infer_schema(planted, {"city": {"pii": "passport"}})
    # A kind that can hold PII keeps the detected type; one that cannot drops it.
    assert la.infer_schema(planted, {"phone": "categorical"})["phone"].pii is PiiType.PHONE
    two_valued = planted.assign(ssn=planted["ssn"].where(planted.index % 2 == 0, "123-45-6789"))
    two_valued["ssn"] = two_valued["ssn"].where(two_valued.index % 2 == 1, "987-65-4321")
    assert la.infer_schema(two_valued)["ssn"].pii is PiiType.US_SSN
    assert la.infer_schema(two_valued, {"ssn": "boolean"})["ssn"].pii is None
    # With many values, boolean is refused outright (it would sample an empty column).
    with pytest.raises(la.SchemaError, match="cannot be boolean"):
        la.infer_schema(planted, {"ssn": "boolean"})


def test_override_file_sets_pii_and_locale(tmp_path: Path, planted: pd.DataFrame) -> None:
    path = tmp_path / "schema.json"
    path.write_text(
        json.dumps(
            {"locale": "de_DE", "columns": {"notes": {"pii": None}, "city": {"pii": "name"}}}
        )
    )
    schema = la.infer_schema(planted, la.load_schema_overrides(path))
    assert schema.locale == "de_DE"
    assert schema["notes"].pii is None and schema["city"].pii is PiiType.NAME
    (tmp_path / "bad.yaml").write_text("locale: xx_XX\ncolumns: {}\n")
    with pytest.raises(la.SchemaError, match="Unknown locale"):
        la.infer_schema(planted, la.load_schema_overrides(tmp_path / "bad.yaml"))


def test_a_turned_off_column_is_learned_again(planted: pd.DataFrame) -> None:
    model = la.Synthesizer(random_state=0).fit(planted, schema={"city": {"pii": None}})
    assert "city" in model.encoder_.modelled
    on = la.Synthesizer(random_state=0).fit(planted, schema={"city": {"pii": "text"}})
    assert "city" not in on.encoder_.modelled
    assert not on.sample(50)["city"].isin(["Leeds", "York", "Bath"]).any()


# --- synthesis: never learned, never emitted -----------------------------------------------------


def test_pii_columns_are_not_modelled_and_keep_no_value_statistics(
    model: la.Synthesizer, planted: pd.DataFrame
) -> None:
    modelled = model.encoder_.modelled
    assert set(modelled) == {"age", "city", "balance"}
    for column in _PII_COLUMNS:
        stats = model.encoder_.statistics[column]
        allowed = {"n", "n_missing", "has_missing"}
        if column == "notes":
            allowed |= {"length_steps", "length_counts"}
        assert set(stats) == allowed, (column, stats)
    assert model.encoder_.statistics["phone"]["n_missing"] == planted["phone"].isna().sum()


def test_no_planted_value_appears_in_synthetic_rows(
    model: la.Synthesizer, planted: pd.DataFrame, planted_values: list[str]
) -> None:
    synthetic = model.sample(len(planted))
    assert _leaks(synthetic, planted_values) == []
    # The fakes are realistic: each is a valid identifier of its type.
    assert synthetic["email"].map(is_email).all()
    assert synthetic["card"].map(is_card_number).all()
    assert synthetic["iban"].map(is_iban).all()
    assert synthetic["ssn"].map(is_us_ssn).all()
    assert synthetic["nino"].map(is_uk_nino).all()
    assert synthetic["full_name"].map(is_person_name).mean() > 0.8
    assert 0.02 < synthetic["phone"].isna().mean() < 0.25
    assert synthetic["phone"].dropna().map(is_phone).mean() > 0.8
    # Fake text as long as the real notes (to within the length step).
    real_lengths = planted["notes"].str.len()
    fake_lengths = synthetic["notes"].str.len()
    assert fake_lengths.between(real_lengths.min() - 40, real_lengths.max() + 40).mean() > 0.9
    assert list(synthetic.dtypes) == list(planted.dtypes)


def test_no_planted_value_is_in_the_model_file(
    model: la.Synthesizer, planted_values: list[str], tmp_path: Path
) -> None:
    path = model.save(tmp_path / "model.lookalike")
    blobs = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            data = archive.read(member)
            blobs.append(data)
            if member.endswith(".npz"):
                with zipfile.ZipFile(io.BytesIO(data)) as arrays:
                    blobs.extend(arrays.read(name) for name in arrays.namelist())
    assert b'"pii": "email"' in blobs[0]
    leaked = [
        value
        for value in planted_values
        for encoded in (value.encode("utf-8"), value.encode("utf-32-le"))
        if any(encoded in blob for blob in blobs)
    ]
    assert leaked == []
    loaded = la.load(path)
    assert loaded.sample(30).equals(model.sample(30))


def test_same_seed_same_fakes_and_another_seed_other_fakes(
    model: la.Synthesizer, planted: pd.DataFrame
) -> None:
    first = model.sample(40)
    assert first.equals(model.sample(40))
    assert first.equals(la.Synthesizer(random_state=11).fit(planted).sample(40))
    other = model.sample(40, random_state=5)
    assert not set(first["email"]) & set(other["email"])


def test_fakes_follow_the_locale(planted: pd.DataFrame) -> None:
    model = la.Synthesizer(random_state=0, locale="de_DE").fit(planted)
    assert model.schema_.locale == "de_DE"
    assert model.sample(20)["iban"].str.startswith("DE").all()
    with pytest.raises(la.SchemaError, match="locale"):
        la.Synthesizer(locale="klingon").fit(planted)


def test_identifier_pii_fakes_stay_unique() -> None:
    frame = pd.DataFrame(
        {"email": [f"user{i}@quietharbour-bank.co.uk" for i in range(400)], "k": ["a", "b"] * 200}
    )
    schema = la.infer_schema(frame)
    assert schema["email"].kind is ColumnKind.IDENTIFIER and schema["email"].pii is PiiType.EMAIL
    encoder = TableEncoder.fit(schema, frame, rare_threshold=5, n_bins=4)
    out = encoder.decode(
        np.zeros((400, len(encoder.model_columns)), np.int32), np.random.default_rng(0)
    )
    assert out["email"].is_unique


# --- pseudonymising a real table -----------------------------------------------------------------


def test_replace_pii_replaces_only_pii_columns(
    planted: pd.DataFrame, planted_values: list[str]
) -> None:
    shuffled = planted.set_axis(np.arange(len(planted)) * 3)
    out = la.replace_pii(shuffled, random_state=1)
    assert out.index.equals(shuffled.index)
    pd.testing.assert_frame_equal(
        out[["age", "city", "balance"]], shuffled[["age", "city", "balance"]]
    )
    assert (out["phone"].isna() == shuffled["phone"].isna()).all()
    assert _leaks(out, planted_values) == []
    # Text keeps its words; only the identifiers in it are replaced.
    assert out["notes"].str.startswith("Customer asked us to write to ").all()
    assert out["notes"].map(lambda t: [p for *_, p in find_identifiers(t)] == [PiiType.EMAIL]).all()
    pd.testing.assert_frame_equal(out, la.replace_pii(shuffled, random_state=1))


def test_pii_in_a_category_column_comes_out_as_fakes_and_its_categories_stay_out(
    tmp_path: Path,
) -> None:
    """Phone numbers held as categories of int64 (or nullable Int64): the schema declared the
    numbers themselves as the column's categories, the model file kept them, and no fake was
    one of them, so every synthetic row came out missing; ``replace_pii`` gave all missing
    too."""
    rng = np.random.default_rng(0)
    numbers = [2125550100 + k for k in range(8)]
    phones = rng.choice(numbers, 3000)
    frame = pd.DataFrame(
        {
            "phone": pd.Categorical(phones),
            "mobile": pd.Categorical(pd.array(phones[::-1], dtype="Int64")),
            "x": rng.normal(size=3000).round(2),
        }
    )
    schema = la.infer_schema(frame)
    for name in ("phone", "mobile"):
        assert schema[name].pii is PiiType.PHONE
        assert schema[name].category_order is None and schema[name].category_dtype is None
    la.Synthesizer(random_state=0).fit(frame).save(tmp_path / "model.lk")
    with zipfile.ZipFile(tmp_path / "model.lk") as archive:
        manifest = archive.read("manifest.json").decode()
    assert not any(str(number) in manifest for number in numbers)
    out = la.load(tmp_path / "model.lk").sample(500, random_state=1)
    replaced = la.replace_pii(frame, random_state=1)
    for table in (out, replaced):
        for name in ("phone", "mobile"):
            assert isinstance(table[name].dtype, pd.CategoricalDtype)
            assert table[name].notna().all(), name
            assert not table[name].astype(str).isin([str(n) for n in numbers]).any()


def test_consistent_mode_maps_equal_values_to_equal_fakes(planted: pd.DataFrame) -> None:
    out = la.replace_pii(planted, consistent=True, random_state=3)
    for column in ("full_name", "email", "card", "iban", "ssn", "home"):
        pairs = pd.DataFrame({"real": planted[column], "fake": out[column]}).drop_duplicates()
        assert pairs["real"].is_unique and pairs["fake"].is_unique, column
    # The e-mail inside the text gets the same fake as in the e-mail column.
    mentioned = out["notes"].str.extract(r"write to (\S+) about")[0]
    assert (mentioned == out["email"]).all()


def test_without_consistent_equal_values_get_independent_fakes(planted: pd.DataFrame) -> None:
    out = la.replace_pii(planted, random_state=3)
    pairs = pd.DataFrame({"real": planted["email"], "fake": out["email"]}).drop_duplicates()
    assert not pairs["real"].is_unique


def test_replace_pii_honours_a_schema_and_errors(planted: pd.DataFrame) -> None:
    schema = la.infer_schema(planted, {"email": {"pii": None}})
    out = la.replace_pii(planted, schema, locale="en_GB", random_state=0)
    assert out["email"].equals(planted["email"])
    with pytest.raises(la.SchemaError, match="does not match"):
        la.replace_pii(planted.drop(columns="age"), schema)
    with pytest.raises(ValueError, match="random_state"):
        la.replace_pii(planted, random_state=-1)


def test_fake_maker_scrub_and_numeric_fakes() -> None:
    maker = FakeMaker("en_US", seed=0, consistent=True)
    text = "Mail a@quietharbour-bank.co.uk or A@QUIETHARBOUR-BANK.CO.UK, SSN 078-05-1120."
    scrubbed = maker.scrub(text)
    assert "quietharbour" not in scrubbed.lower() and "078-05-1120" not in scrubbed
    # Two spellings of one address get one fake.
    before, after = scrubbed.split(" or ")
    assert before.split()[-1] == after.split(",")[0]
    assert maker.make(PiiType.CARD_NUMBER, numeric=True).isdigit()
    with pytest.raises(ValueError, match="cannot be stored as a number"):
        maker.make(PiiType.EMAIL, numeric=True)


# --- command line --------------------------------------------------------------------------------


def test_cli_pii_and_inspect(tmp_path: Path, planted: pd.DataFrame) -> None:
    runner = CliRunner()
    data = tmp_path / "real.csv"
    planted.to_csv(data, index=False)
    out = tmp_path / "pseudo.csv"
    result = runner.invoke(app, ["pii", str(data), "-o", str(out), "--consistent", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "Replaced 9 PII column(s)" in result.stdout
    pseudo = read_table(out)
    assert not pseudo["email"].isin(planted["email"]).any()
    again = runner.invoke(app, ["pii", str(data), "-o", str(out)])
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert runner.invoke(app, ["pii", str(data), "-o", str(out), "--force"]).exit_code == 0
    bad = runner.invoke(app, ["pii", str(data), "-o", str(out), "--force", "--locale", "xx_YY"])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: Unknown locale")

    inspected = runner.invoke(app, ["inspect", str(data)])
    assert inspected.exit_code == 0, inspected.output
    assert "pii" in inspected.stdout and "<email>" in inspected.stdout
    assert "quietharbour" not in inspected.stdout
