"""Realistic fake identifiers from Faker, seeded from a lookalike stream."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from lookalike.schema import PiiType
from lookalike.schema._pii import find_identifiers
from lookalike.schema._schema import check_locale

#: Fake text shorter than this many characters is a single word (Faker's text needs at least 5).
_MIN_TEXT_CHARS = 5
#: Attempts to draw a fake not yet used, when fakes must be distinct.
_MAX_REDRAWS = 50
# Card types of the fakes: the major networks, 14-16 digits (Faker's Maestro numbers can have 12
# digits, which most validators reject). Those of 16 digits fit an int64 column.
_CARD_TYPES = ("visa16", "mastercard", "amex", "discover", "jcb16", "diners")
_NUMERIC_CARD_TYPES = ("visa16", "mastercard", "discover", "jcb16")
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NON_DIGITS = re.compile(r"\D")
_PHONE_EXTENSION = re.compile(r"\s*(?:x|ext\.?)\s*\d+$", re.IGNORECASE)


class FakeMaker:
    """Fake values of each :class:`PiiType` in one locale; the same seed gives the same values.

    ``numeric`` asks for digits only (for integer columns); ``length`` is the wanted length of
    fake text. A ``consistent`` maker replaces equal real values by equal fakes (see
    :meth:`replace`).

    >>> maker = FakeMaker("en_US", seed=1)
    >>> again = FakeMaker("en_US", seed=1)
    >>> [maker.make(PiiType.EMAIL) for _ in range(3)] == [again.make(PiiType.EMAIL) for _ in range(3)]
    True
    >>> FakeMaker("de_DE", seed=1).make(PiiType.IBAN)[:2]
    'DE'
    """

    def __init__(self, locale: str, seed: int, *, consistent: bool = False) -> None:
        from faker import Faker

        self.locale = check_locale(locale)
        self.consistent = consistent
        self._replacements: dict[tuple[PiiType, str], str] = {}
        self._used: dict[PiiType, set[str]] = {}
        # Unweighted draws from Faker's lists are ten times faster (0.1 ms rather than 1 ms a
        # name); the fakes then follow no real frequencies, which they need not: they are fakes.
        self._faker = Faker(locale, use_weighting=False)
        # An instance seed: Faker's shared class-level random stream is never touched.
        self._faker.seed_instance(seed)
        self._random = self._faker.random
        faker = self._faker
        self._makers: dict[PiiType, Callable[[], str]] = {
            PiiType.NAME: faker.name,
            PiiType.FIRST_NAME: faker.first_name,
            PiiType.LAST_NAME: faker.last_name,
            PiiType.EMAIL: faker.email,
            PiiType.PHONE: faker.phone_number,
            PiiType.US_SSN: self._us_ssn,
            PiiType.UK_NINO: self._uk_nino,
            PiiType.IBAN: faker.iban,
            PiiType.CARD_NUMBER: lambda: faker.credit_card_number(
                card_type=self._random.choice(_CARD_TYPES)
            ),
            PiiType.ADDRESS: lambda: faker.address().replace("\n", ", "),
        }

    def make(self, pii: PiiType, *, numeric: bool = False, length: int | None = None) -> str:
        """One fake value of type ``pii``."""
        if pii is PiiType.TEXT:
            return self._text(length)
        if numeric:
            return self._digits(pii)
        return self._makers[pii]()

    def make_many(
        self,
        pii: PiiType,
        n: int,
        *,
        numeric: bool = False,
        lengths: Sequence[int] | np.ndarray | None = None,
        distinct: bool = False,
    ) -> list[str]:
        """``n`` fake values; ``distinct`` redraws repeats (up to a bound) so keys stay unique."""
        values: list[str] = []
        seen: set[str] = set()
        for i in range(n):
            length = None if lengths is None else int(lengths[i])
            value = self.make(pii, numeric=numeric, length=length)
            if distinct:
                for _ in range(_MAX_REDRAWS):
                    if value not in seen:
                        break
                    value = self.make(pii, numeric=numeric, length=length)
                seen.add(value)
            values.append(value)
        return values

    def replace(self, pii: PiiType, real: str, *, numeric: bool = False) -> str:
        """A fake for the real value ``real``.

        A consistent maker gives the same fake every time it meets the same identifier (in any
        spelling :func:`normalise_identifier` treats as one), and different identifiers get
        different fakes; otherwise every call draws a fresh fake.
        """
        if not self.consistent:
            return self.make(pii, numeric=numeric)
        key = (pii, normalise_identifier(pii, real))
        fake = self._replacements.get(key)
        if fake is None:
            used = self._used.setdefault(pii, set())
            fake = self.make(pii, numeric=numeric)
            for _ in range(_MAX_REDRAWS):
                if fake not in used:
                    break
                fake = self.make(pii, numeric=numeric)
            used.add(fake)
            self._replacements[key] = fake
        return fake

    def scrub(self, text: str) -> str:
        """``text`` with each identifier it mentions replaced by a fake of the same type.

        >>> FakeMaker("en_US", seed=0).scrub("Write to ada@example.org today.").endswith(" today.")
        True
        """
        pieces: list[str] = []
        end = 0
        for start, stop, pii in find_identifiers(text):
            pieces.append(text[end:start])
            pieces.append(self.replace(pii, text[start:stop]))
            end = stop
        pieces.append(text[end:])
        return "".join(pieces)

    # -- generators ---------------------------------------------------------------------------

    def _text(self, length: int | None) -> str:
        if length is None:
            return self._faker.text()
        if length < _MIN_TEXT_CHARS:
            return self._faker.word()[: max(length, 1)]
        text = self._faker.text(max_nb_chars=length)
        # Faker stops at the last whole sentence that fits, often well short: one more sentence
        # of whole words brings the text to within a word of the wanted length.
        words: list[str] = []
        room = length - len(text) - 2
        for word in self._faker.words(nb=max(room // 4, 1)):
            if len(word) + 1 > room:
                break
            words.append(word)
            room -= len(word) + 1
        if words:
            text = f"{text} {' '.join(words).capitalize()}."
        return text

    def _digits(self, pii: PiiType) -> str:
        if pii is PiiType.CARD_NUMBER:
            card_type = self._random.choice(_NUMERIC_CARD_TYPES)
            return self._faker.credit_card_number(card_type=card_type)
        if pii is PiiType.PHONE:
            # No leading zero, so the number survives as an integer.
            return self._faker.numerify("%##%######")
        if pii is PiiType.US_SSN:
            return self._us_ssn().replace("-", "")
        raise ValueError(f"A {pii.value!r} value cannot be stored as a number.")

    def _us_ssn(self) -> str:
        # Area 001-899 except 666, group 01-99, serial 0001-9999: a valid-looking SSN.
        area = self._random.randint(1, 898)
        area = area + 1 if area >= 666 else area
        group = self._random.randint(1, 99)
        serial = self._random.randint(1, 9999)
        return f"{area:03d}-{group:02d}-{serial:04d}"

    def _uk_nino(self) -> str:
        while True:
            prefix = self._random.choice(_NINO_FIRST) + self._random.choice(_NINO_SECOND)
            if prefix not in _NINO_BAD_PREFIXES:
                break
        digits = "".join(str(self._random.randint(0, 9)) for _ in range(6))
        return f"{prefix}{digits}{self._random.choice('ABCD')}"


def normalise_identifier(pii: PiiType, value: str) -> str:
    """The form under which two spellings of one identifier are the same (for consistent fakes).

    >>> normalise_identifier(PiiType.PHONE, "+1 (555) 123-4567 x12")
    '15551234567'
    >>> normalise_identifier(PiiType.EMAIL, " Ada@Example.org")
    'ada@example.org'
    """
    value = value.strip()
    if pii is PiiType.PHONE:
        return _NON_DIGITS.sub("", _PHONE_EXTENSION.sub("", value))
    if pii in (PiiType.CARD_NUMBER, PiiType.US_SSN):
        return _NON_DIGITS.sub("", value)
    if pii in (PiiType.IBAN, PiiType.UK_NINO):
        return value.replace(" ", "").upper()
    if pii is PiiType.EMAIL:
        return value.lower()
    return value


def faker_seed(rng: np.random.Generator) -> int:
    """A seed for Faker drawn from a lookalike stream."""
    return int(rng.integers(2**63 - 1))
