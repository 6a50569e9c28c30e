"""Detect columns that hold direct identifiers (PII) from their values and their names.

A column is scanned on a deterministic sample of up to :data:`MAX_SAMPLED_VALUES` of its distinct
non-missing values (distinct, so that a few frequent placeholders such as ``"unknown"`` cannot
hide many identifiers). Each value is checked by strict validators:

=============== ==============================================================================
type            a value counts when
=============== ==============================================================================
``email``       it is ``local@domain.tld``
``iban``        it has an IBAN's shape, the length its country uses, and its mod-97 check is 1
``card_number`` it has 13-19 digits (spaces or dashes allowed), starts with 2-6 (the major
                networks) and passes the Luhn check
``us_ssn``      it is ``AAA-GG-SSSS`` with a valid area (not 000, 666 or 9xx), group and
                serial; nine bare digits count only in a column whose name says SSN
``uk_nino``     it is a National Insurance number: two letters from the allowed set (not the
                BG, GB, KN, NK, NT, TN, ZZ prefixes), six digits, a suffix A-D
``phone``       it has 9-15 digits in phone punctuation and starts with ``+``, ``00``, ``0``
                or ``(``, or is a separated North American number; in a column whose name
                says phone, any 7-15 digits in phone punctuation
``address``     it has a house number next to a street word ("12 Baker Street",
                "Hauptstraße 5"), or is a PO box
``name``        it is 2-4 capitalised words, titles and suffixes aside, none of them a company
                or place word, the first of them a known first name (Faker's lists for 20
                mostly European locales); in a column whose name says name, or the last a
                known last name; in a column named for people ("customer_name"), any words
``first_name``, it is one known first (last) name; only in a column whose name says so
``last_name``
=============== ==============================================================================

A column gets the type whose validator accepts the largest share of the sample, if that share is
at least :data:`PII_VALUE_SHARE`, or :data:`PII_HINTED_SHARE` when the column's name hints at that
type (``email``, ``phone``, ``iban``, ``first_name``...). A name alone is never enough.

String columns that are not identifiers as a whole are scanned for identifiers *inside* the text
(an e-mail address, IBAN, card number, SSN, NI number, phone number or street address); at least
:data:`PII_TEXT_SHARE` of the sampled values mentioning one makes the column ``text`` PII. Names
inside prose are not detected (they cannot be told from ordinary capitalised words reliably), so
free text that mentions only names needs ``{"pii": "text"}`` in the schema overrides.

Integer columns are checked only for card numbers (at least 13 digits) and, when the column name
hints at them, phone numbers and SSNs; floats, booleans and datetimes never hold PII here.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from lookalike.schema._schema import ColumnKind, PiiType

#: At most this many distinct values of a column are checked (evenly spaced in order of appearance).
MAX_SAMPLED_VALUES = 2_000
#: Share of sampled distinct values a validator must accept to flag a column on values alone.
PII_VALUE_SHARE = 0.8
#: The same share when the column's name hints at the type.
PII_HINTED_SHARE = 0.5
#: Share of sampled distinct values that must mention an identifier for text to be PII.
PII_TEXT_SHARE = 0.01

# --- validators of whole values ------------------------------------------------------------------

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")

# Lengths of IBANs by country (SWIFT IBAN registry), for the countries most often met in
# European and international data; other countries are checked by shape and checksum only.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CY": 28,
    "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23,
    "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
    "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}  # fmt: skip
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_SSN = re.compile(r"^(\d{3})[- ](\d{2})[- ](\d{4})$")
_SSN_BARE = re.compile(r"^(\d{3})(\d{2})(\d{4})$")
_NINO = re.compile(
    r"^([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]$", re.IGNORECASE
)
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_CARD_SEPARATORS = re.compile(r"[ -]")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_PHONE_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*\d{1,6}$", re.IGNORECASE)
_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")
_NANP = re.compile(r"^(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}$")

# Street words besides Faker's English street suffixes (which are loaded with the name lists).
_STREET_WORDS = (
    "street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "boulevard",
    "blvd", "court", "ct", "place", "pl", "square", "sq", "terrace", "parkway", "pkwy", "circle",
    "cir", "highway", "hwy", "way", "close", "crescent", "grove", "gardens", "row", "walk",
    "alley", "trail", "mews", "wynd", "hill", "park", "green", "rise", "parade", "quay",
)  # fmt: skip
# Street words that end a word followed by the house number ("Hauptstraße 5", "Leonpad 85").
_STREET_ENDINGS = (
    "strasse", "straße", "str.", "gasse", "weg", "platz", "allee", "ring", "damm", "ufer",
    "straat", "laan", "gracht", "plein", "singel", "steeg", "kade", "dijk", "dreef", "hof",
    "pad", "vej", "gatan", "vägen", "veien", "gade", "boulevard", "stigen", "gränd",
)  # fmt: skip
# Street words that start an address, the number after the name ("Via Roma, 12").
_STREET_STARTS = (
    "rue", "avenue", "boulevard", "chemin", "allée", "impasse", "quai", "calle", "avenida",
    "via", "viale", "piazza", "piazzale", "corso", "vicolo", "largo", "strada", "borgo",
    "contrada", "incrocio", "stretto", "rotonda", "rua", "travessa", "praça", "plaza", "paseo",
    "carrer", "ulica", "ul.",
)  # fmt: skip
_PO_BOX = re.compile(r"\b(?:P\.?\s?O\.?\s+Box|PSC\s+\d{4},?\s+Box|Unit\s+\d{4}\s+Box)\s+\d+", re.I)


@functools.cache
def _address_patterns() -> tuple[re.Pattern[str], ...]:
    words = set(_STREET_WORDS)
    for locale in ("en_US", "en_GB"):
        provider = importlib.import_module(f"faker.providers.address.{locale}").Provider
        words.update(str(w).lower() for w in getattr(provider, "street_suffixes", ()))
    alternatives = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    endings = "|".join(map(re.escape, _STREET_ENDINGS))
    starts = "|".join(map(re.escape, _STREET_STARTS))
    return (
        re.compile(
            r"\b\d{1,6}[A-Za-z]?(?:-\d{1,4})?,?\s+(?:[^\W\d_][\w'.-]*\s+){0,4}"
            rf"(?:{alternatives})\b\.?",
            re.IGNORECASE,
        ),
        re.compile(rf"\b[^\W\d_][\w-]{{2,}}(?:{endings})\s+\d{{1,5}}[a-z]?\b", re.IGNORECASE),
        re.compile(
            rf"^(?:\d{{1,5}}(?:\s?(?:bis|ter))?,?\s+)?(?:{starts})\s+[^\d]*\d", re.IGNORECASE
        ),
        re.compile(rf"^\d{{1,5}}(?:\s?(?:bis|ter))?,?\s+(?:{starts})\s", re.IGNORECASE),
        _PO_BOX,
    )


_NAME_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "madam", "herr", "frau", "pan",
     "pani", "sr", "sra", "srta", "dra", "don", "doña", "mme", "mlle", "m"}
)  # fmt: skip
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v", "md", "phd", "dds", "dvm", "esq"})
# A value with any of these words names a company, a place or a thing, not a person.
_NOT_NAME_WORDS = frozenset(
    {
        "inc", "llc", "ltd", "plc", "gmbh", "ag", "sa", "co", "corp", "corporation", "company",
        "airport", "airlines", "airline", "airways", "air", "field", "regional", "international",
        "municipal", "county", "city", "state", "bank", "group", "university", "college",
        "school", "hospital", "clinic", "center", "centre", "hotel", "restaurant", "church",
        "the", "and", "of", "for", "services", "systems", "industries", "holdings",
        "partners", "associates", "foundation", "institute", "department", "office", "lake",
        "river", "mountain", "island", "beach", "valley", "station", "base", "heliport", "port",
    }
)  # fmt: skip
_NAME_WORD = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*\.?$")
_NAME_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "du", "des", "la", "le", "zu", "da", "di", "del", "della",
     "dos", "das", "ten", "ter", "het", "y", "e", "bin", "al"}
)  # fmt: skip
_NAME_LOCALES = (
    "en_US", "en_GB", "en_IE", "en_IN", "de_DE", "de_AT", "fr_FR", "es_ES", "es_MX", "it_IT",
    "nl_NL", "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "tr_TR",
)  # fmt: skip


@functools.cache
def _known_names() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names (lower case) from Faker's person providers for a few locales."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in _NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute, target in (
            ("first_names", first),
            ("first_names_male", first),
            ("first_names_female", first),
            ("last_names", last),
        ):
            target.update(str(name).lower() for name in getattr(provider, attribute, ()))
    return frozenset(first), frozenset(last)


def is_email(value: str) -> bool:
    """Whether ``value`` is an e-mail address.

    >>> is_email("ada@example.org"), is_email("ada at example")
    (True, False)
    """
    return bool(_EMAIL.match(value))


def is_iban(value: str) -> bool:
    """Whether ``value`` is an IBAN: right shape and length for its country, mod-97 check 1.

    >>> is_iban("GB82 WEST 1234 5698 7654 32"), is_iban("GB82 WEST 1234 5698 7654 33")
    (True, False)
    """
    compact = value.replace(" ", "").upper()
    if not _IBAN_SHAPE.match(compact):
        return False
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def is_card_number(value: str) -> bool:
    """Whether ``value`` is a payment card number: 13-19 digits from 2-6, Luhn check passes.

    >>> is_card_number("4111 1111 1111 1111"), is_card_number("4111 1111 1111 1112")
    (True, False)
    """
    digits = _CARD_SEPARATORS.sub("", value)
    if not (13 <= len(digits) <= 19 and digits.isdigit() and digits[0] in "23456"):
        return False
    return luhn_checksum(digits) == 0


def luhn_checksum(digits: str) -> int:
    """The Luhn checksum of a digit string (0 for a valid number).

    >>> luhn_checksum("79927398713")
    0
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10


def is_us_ssn(value: str, *, hinted: bool = False) -> bool:
    """Whether ``value`` is a US Social Security number (bare nine digits only if ``hinted``).

    >>> is_us_ssn("123-45-6789"), is_us_ssn("666-45-6789"), is_us_ssn("123456789")
    (True, False, False)
    """
    match = _SSN.match(value) or (_SSN_BARE.match(value.zfill(9)) if hinted else None)
    if match is None:
        return False
    area, group, serial = match.groups()
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


def is_uk_nino(value: str) -> bool:
    """Whether ``value`` is a UK National Insurance number.

    >>> is_uk_nino("AB 12 34 56 C"), is_uk_nino("GB123456A")
    (True, False)
    """
    match = _NINO.match(value.strip())
    return match is not None and match.group(1).upper() not in _NINO_BAD_PREFIXES


def is_phone(value: str, *, hinted: bool = False) -> bool:
    """Whether ``value`` is a phone number; a column named like one accepts looser forms.

    >>> is_phone("+44 20 7946 0018"), is_phone("(555) 123-4567"), is_phone("2024-01-31")
    (True, True, False)
    """
    number = _PHONE_EXTENSION.sub("", value.strip())
    if not _PHONE_CHARS.match(number):
        return False
    n_digits = sum(c.isdigit() for c in number)
    if hinted:
        return 7 <= n_digits <= 15
    if not 9 <= n_digits <= 15 or _DECIMAL.match(number):
        return False
    if number.isdigit():
        # A national number with its trunk prefix ("0201234567"); not a zero-padded key ("00...").
        return 10 <= n_digits <= 11 and number[0] == "0" and number[1] != "0"
    return number.startswith(("+", "0", "(")) or bool(_NANP.match(number))


def is_address(value: str) -> bool:
    """Whether ``value`` holds a street address or a PO box.

    >>> is_address("221B Baker Street, London"), is_address("Hauptstraße 5"), is_address("5 cats")
    (True, True, False)
    """
    return any(pattern.search(value) for pattern in _address_patterns())


def is_person_name(value: str, *, hinted: bool = False, person_column: bool = False) -> bool:
    """Whether ``value`` reads as a person's full name.

    That is 2-4 capitalised words (titles, degrees and particles such as "van" aside), none a
    company or place word, the first a known first name. In a column whose name says name
    (``hinted``: "name", "full_name") the last word may be a known last name instead; in one
    whose name says a person's name (``person_column``: "customer_name"), no word need be known.

    >>> is_person_name("Dr. Ada M. Lovelace"), is_person_name("Lovelace, Ada")
    (True, True)
    >>> is_person_name("American Airlines Inc."), is_person_name("Ada")
    (False, False)
    >>> is_person_name("Zebedee Smith"), is_person_name("Zebedee Smith", hinted=True)
    (False, True)
    >>> is_person_name("Zebedee Quillfeather", person_column=True)
    True
    """
    if "," in value:
        # "Last, First [Middle]"
        last_part, _, first_part = value.partition(",")
        value = f"{first_part} {last_part}"
    words = value.split()
    # Titles and degrees: "Dr.", "Sig.ra", "Dipl.-Ing." before the name, "Jr.", "B.Eng." after.
    while words and (
        words[0].lower().rstrip(".") in _NAME_TITLES
        or "." in words[0][:-1]
        or (words[0].endswith(".") and len(words[0]) > 2)
    ):
        words = words[1:]
    while words and (
        words[-1].lower().rstrip(".,") in _NAME_SUFFIXES or "." in words[-1].rstrip(".")
    ):
        words = words[:-1]
    words = [w for w in words if w not in _NAME_PARTICLES]
    if not 2 <= len(words) <= 4:
        return False
    if not all(_NAME_WORD.match(w) and w[0].isupper() for w in words):
        return False
    if any(w.lower().rstrip(".") in _NOT_NAME_WORDS for w in words):
        return False
    if len(words[-1].rstrip(".")) < 2:
        return False
    if person_column:
        return True
    first_names, last_names = _known_names()
    first = words[0].lower()
    if first in first_names or first.split("-")[0] in first_names:
        return True
    return hinted and words[-1].lower() in last_names


def _is_first_name(value: str) -> bool:
    return value.strip().lower() in _known_names()[0]


def _is_last_name(value: str) -> bool:
    return value.strip().lower() in _known_names()[1]


# --- identifiers inside text ---------------------------------------------------------------------

_EMBEDDED: tuple[tuple[PiiType, re.Pattern[str], Callable[[str], bool]], ...] = (
    (
        PiiType.EMAIL,
        re.compile(r"[A-Za-z0-9._%+'-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}"),
        is_email,
    ),
    (
        PiiType.IBAN,
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
        is_iban,
    ),
    (PiiType.CARD_NUMBER, re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), is_card_number),
    (PiiType.US_SSN, re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), is_us_ssn),
    (
        PiiType.UK_NINO,
        re.compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
        is_uk_nino,
    ),
    (
        PiiType.PHONE,
        re.compile(r"(?<![\w+])(?:\+|\()?\d[\d\s().-]{7,18}\d(?:\s*(?:x|ext\.?)\s*\d{1,6})?\b"),
        is_phone,
    ),
    (
        PiiType.ADDRESS,
        re.compile(
            r"\b\d{1,5}[A-Z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|"
            r"Drive|Boulevard|Blvd|Court|Terrace|Place|Square|Way)\b\.?"
        ),
        is_address,
    ),
)


def find_identifiers(text: str) -> list[tuple[int, int, PiiType]]:
    """Spans ``(start, end, type)`` of identifiers mentioned in ``text``, in order, not overlapping.

    Names are not searched for: in prose they cannot be told from other capitalised words.

    >>> find_identifiers("Mail ada@example.org or call +44 20 7946 0018.")
    [(5, 20, <PiiType.EMAIL: 'email'>), (29, 45, <PiiType.PHONE: 'phone'>)]
    """
    taken = np.zeros(len(text), dtype=bool)
    spans: list[tuple[int, int, PiiType]] = []
    for pii, pattern, validate in _EMBEDDED:
        for match in pattern.finditer(text):
            start, end = match.span()
            if taken[start:end].any() or not validate(match.group()):
                continue
            taken[start:end] = True
            spans.append((start, end, pii))
    return sorted(spans)


def mentions_identifier(text: str) -> bool:
    """Whether ``text`` mentions any identifier :func:`find_identifiers` knows."""
    return any(
        validate(match.group())
        for _, pattern, validate in _EMBEDDED
        for match in pattern.finditer(text)
    )


# --- column names --------------------------------------------------------------------------------

# Words (or word sequences, joined by "_") in a column name that hint at a type.
_NAME_HINTS: dict[PiiType, tuple[str, ...]] = {
    PiiType.EMAIL: ("email", "e_mail", "mail", "emailaddress"),
    PiiType.PHONE: ("phone", "telephone", "tel", "mobile", "cell", "fax", "msisdn", "phonenumber"),
    PiiType.NAME: ("name", "fullname", "full_name", "person"),
    PiiType.FIRST_NAME: ("first_name", "firstname", "given_name", "forename", "fname"),
    PiiType.LAST_NAME: ("last_name", "lastname", "surname", "family_name", "lname"),
    PiiType.US_SSN: ("ssn", "social_security", "socialsecurity"),
    PiiType.UK_NINO: ("nino", "ni_number", "national_insurance", "nin"),
    PiiType.IBAN: ("iban",),
    PiiType.CARD_NUMBER: ("card", "card_number", "credit_card", "cc_number", "ccn", "pan"),
    PiiType.ADDRESS: ("address", "addr", "street"),
}
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _name_words(column_name: str) -> list[str]:
    spaced = _CAMEL_BOUNDARY.sub("_", column_name)
    return [w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w]


def name_hints(column_name: str) -> frozenset[PiiType]:
    """The PII types a column's name hints at.

    >>> [sorted(map(str, name_hints(n))) for n in ("CustomerEmail", "first_name")]
    [['email'], ['first_name', 'name']]
    """
    words = _name_words(column_name)
    joined = f"_{'_'.join(words)}_"
    return frozenset(
        pii
        for pii, phrases in _NAME_HINTS.items()
        if any(f"_{phrase}_" in joined for phrase in phrases)
    )


# --- columns -------------------------------------------------------------------------------------

# Words that, beside "name" in a column name, say the names are people's ("customer_name").
_PERSON_WORDS = frozenset(
    {"full", "person", "customer", "client", "patient", "employee", "contact", "holder", "owner",
     "member", "user", "applicant", "student", "driver", "passenger", "guest", "recipient",
     "sender", "beneficiary", "cardholder", "account", "borrower", "buyer", "seller", "staff",
     "manager", "doctor", "physician", "nurse", "teacher", "parent", "mother", "father",
     "spouse", "child", "subscriber", "tenant", "insured", "policyholder", "agent"}
)  # fmt: skip


def _names_people(column_name: str) -> bool:
    words = _name_words(column_name)
    return "fullname" in words or ("name" in words and bool(_PERSON_WORDS & set(words)))


# Each validator gets the value and how strongly the column's name hints at its type:
# 0 not at all, 1 it names the type ("email"), 2 it names a person ("customer_name", names only).
_TEXT_VALIDATORS: tuple[tuple[PiiType, Callable[[str, int], bool]], ...] = (
    (PiiType.EMAIL, lambda v, hinted: is_email(v)),
    (PiiType.IBAN, lambda v, hinted: is_iban(v)),
    (PiiType.CARD_NUMBER, lambda v, hinted: is_card_number(v)),
    (PiiType.US_SSN, lambda v, hinted: is_us_ssn(v, hinted=hinted >= 1)),
    (PiiType.UK_NINO, lambda v, hinted: is_uk_nino(v)),
    (PiiType.PHONE, lambda v, hinted: is_phone(v, hinted=hinted >= 1)),
    (PiiType.ADDRESS, lambda v, hinted: is_address(v)),
    (
        PiiType.NAME,
        lambda v, hinted: is_person_name(v, hinted=hinted >= 1, person_column=hinted >= 2),
    ),
    (PiiType.FIRST_NAME, lambda v, hinted: hinted >= 1 and _is_first_name(v)),
    (PiiType.LAST_NAME, lambda v, hinted: hinted >= 1 and _is_last_name(v)),
)
_INTEGER_VALIDATORS: tuple[tuple[PiiType, Callable[[str, int], bool]], ...] = (
    (PiiType.CARD_NUMBER, lambda v, hinted: is_card_number(v)),
    (PiiType.US_SSN, lambda v, hinted: hinted >= 1 and is_us_ssn(v, hinted=True)),
    (PiiType.PHONE, lambda v, hinted: hinted >= 1 and is_phone(v, hinted=True)),
)


def detect_column_pii(name: str, series: pd.Series, kind: ColumnKind) -> PiiType | None:
    """The type of direct identifier ``series`` holds, or ``None``; see the module docstring.

    >>> detect_column_pii("contact", pd.Series(["ada@example.org", "bob@example.com"]),
    ...                   ColumnKind.IDENTIFIER)
    <PiiType.EMAIL: 'email'>
    >>> detect_column_pii("city", pd.Series(["Oslo", "Rome"]), ColumnKind.CATEGORICAL) is None
    True
    """
    if kind in (ColumnKind.BOOLEAN, ColumnKind.DATETIME) or pd.api.types.is_bool_dtype(series):
        return None
    if not _may_hold_text(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        if not pd.api.types.is_integer_dtype(series):
            return None
        hints = name_hints(name)
        # Without a hint only card numbers can be found, and they have at least 13 digits.
        if not hints & {PiiType.US_SSN, PiiType.PHONE} and not (series.abs() >= 10**12).any():
            return None
        return _best_type(_sample(series), _INTEGER_VALIDATORS, hints)
    values = _sample(series)
    found = _best_type(values, _TEXT_VALIDATORS, name_hints(name), _names_people(name))
    if found is not None:
        return found
    if values and _share(values, mentions_identifier) >= PII_TEXT_SHARE:
        return PiiType.TEXT
    return None


#: What pandas infers for object columns of values that are not text and never identifiers
#: (a long duration's or a float's digits passed the card-number check, and a column of them
#: came out withheld).
_NOT_TEXT = {
    "floating",
    "mixed-integer-float",
    "decimal",
    "complex",
    "boolean",
    "datetime64",
    "datetime",
    "date",
    "timedelta64",
    "timedelta",
    "time",
    "period",
    "interval",
}


def _may_hold_text(series: pd.Series) -> bool:
    """Whether a column's values may be identifiers: not datetimes, durations, floats, dates or
    times, whatever their storage (NumPy, Arrow, Python objects).

    >>> _may_hold_text(pd.Series(pd.to_timedelta([8506, 93], unit="s")))
    False
    >>> _may_hold_text(pd.Series([4.5, 1234567812345678.0], dtype=object))
    False
    >>> _may_hold_text(pd.Series(["a", 1], dtype=object)), _may_hold_text(pd.Series([1, 2]))
    (True, True)

    A categorical column is what its categories are (times with a fraction of a second and a
    negative offset passed for text, and a column of them came out withheld):

    >>> stamps = pd.to_datetime(["2024-01-01 10:00:00.25"]).tz_localize("America/New_York")
    >>> _may_hold_text(pd.Series(pd.Categorical(stamps)))
    False
    >>> _may_hold_text(pd.Series(pd.Categorical([0.5, 2.5]))), _may_hold_text(
    ...     pd.Series(pd.Categorical([5551234567.0])))
    (False, True)
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = pd.Series(dtype.categories)
        if pd.api.types.is_float_dtype(categories):
            # Whole numbers are phone or card numbers read next to blank cells, as before.
            return bool((categories.dropna() % 1 == 0).all())
        return _may_hold_text(categories)
    if isinstance(dtype, pd.ArrowDtype):
        arrow = dtype.pyarrow_dtype
        return not any(
            check(arrow)
            for check in (
                pa.types.is_temporal,
                pa.types.is_floating,
                pa.types.is_decimal,
                pa.types.is_boolean,
            )
        )
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return False
    if pd.api.types.is_object_dtype(dtype):
        return pd.api.types.infer_dtype(series, skipna=True) not in _NOT_TEXT
    return True


def _sample(series: pd.Series) -> list[str]:
    distinct = pd.unique(series.dropna().to_numpy())
    # Two spellings of one value ("a ", "a") count once.
    texts = list(dict.fromkeys(s for s in (str(v).strip() for v in distinct) if s))
    if len(texts) > MAX_SAMPLED_VALUES:
        picked = np.linspace(0, len(texts) - 1, MAX_SAMPLED_VALUES).round().astype(np.int64)
        texts = [texts[i] for i in picked]
    return texts


def _best_type(
    values: list[str],
    validators: tuple[tuple[PiiType, Callable[[str, int], bool]], ...],
    hints: frozenset[PiiType],
    names_people: bool = False,
) -> PiiType | None:
    if not values:
        return None
    best: tuple[float, PiiType] | None = None
    for pii, validate in validators:
        hinted = (2 if names_people and pii is PiiType.NAME else 1) if pii in hints else 0
        needed = PII_HINTED_SHARE if hinted else PII_VALUE_SHARE
        share = sum(1 for v in values if validate(v, hinted)) / len(values)
        if share >= needed and (best is None or share > best[0]):
            best = (share, pii)
    return None if best is None else best[1]


def _share(values: list[str], accepts: Callable[[str], bool]) -> float:
    return sum(1 for v in values if accepts(v)) / len(values)
