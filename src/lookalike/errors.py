"""Exceptions raised by lookalike.

Every exception the library raises on purpose derives from :class:`LookalikeError`, and also from
the builtin that best describes it, so ``except ValueError`` keeps working for callers who do not
know about lookalike::

    LookalikeError
     ├── DataError(LookalikeError, ValueError)          bad input table: empty, unreadable, malformed
     │    └── SchemaError(DataError)                     schema or override does not fit the data
     ├── ConditionError(LookalikeError, ValueError)     a condition names an unknown column or value
     ├── NotFittedError(LookalikeError, ValueError, AttributeError)
     ├── ModelFileError(LookalikeError, ValueError)     corrupt, truncated, tampered or newer model file
     ├── OutputExistsError(LookalikeError, FileExistsError)   refusing to overwrite without force
     └── BudgetExceededError(LookalikeError, ValueError)  a privacy budget would be exceeded

Warnings (issued with :func:`warn_data`, never raised)::

    DataWarning(UserWarning)       the input was used, but read in a way the user should know about
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "BudgetExceededError",
    "ConditionError",
    "DataError",
    "DataWarning",
    "LookalikeError",
    "ModelFileError",
    "NotFittedError",
    "OutputExistsError",
    "SchemaError",
]


class LookalikeError(Exception):
    """Base class of every error lookalike raises on purpose."""


class DataError(LookalikeError, ValueError):
    """The input table cannot be used: missing, empty, unreadable or malformed."""


class SchemaError(DataError):
    """A schema (inferred or given) does not fit the data, or an override is invalid."""


class ConditionError(LookalikeError, ValueError):
    """A sampling condition names an unknown column or a value the column cannot take."""


class NotFittedError(LookalikeError, ValueError, AttributeError):
    """A model was used before ``fit``."""


class ModelFileError(LookalikeError, ValueError):
    """A model file is corrupt, truncated, tampered with, or from a newer format."""


class OutputExistsError(LookalikeError, FileExistsError):
    """An output file exists and overwriting it was not allowed."""


class BudgetExceededError(LookalikeError, ValueError):
    """A differential-privacy budget would be exceeded."""


class DataWarning(UserWarning):
    """The input was usable but was read in a way worth knowing (e.g. a fallback text encoding)."""


def warn_data(message: str) -> None:
    """Issue a :class:`DataWarning` that points at the caller's own line.

    The first frame outside the lookalike package is the one shown, however deep in the library
    the warning arises (a condition checked for ``sample`` or for ``sample_with_report``, a file
    read for ``fit`` or for ``read_table``).
    """
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        package
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, DataWarning, stacklevel=level)
