"""PII: find columns of direct identifiers and replace their values with realistic fakes.

Detection (:func:`detect_pii`) is part of schema inference: a column's ``pii`` field names the
type of identifier it holds (see :class:`lookalike.schema.PiiType` and the rules in
:mod:`lookalike.schema._pii`). Synthesizers never learn such columns; they emit fakes. A real
table can be pseudonymised with :func:`replace_pii`.
"""

from lookalike.pii._fakes import FakeMaker
from lookalike.pii._replace import detect_pii, replace_pii

__all__ = ["FakeMaker", "detect_pii", "replace_pii"]
