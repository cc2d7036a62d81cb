"""The storage's errors: one vocabulary for both engines, raised by the seam's connections.

A caller above the storage package catches these, never a driver's: SQLite's connection
(`addon/store/files.py`) and PostgreSQL's (`addon/store/pg.py`) each turn their driver's
exception into the one here that means the same, with the driver's message on one line and
the driver's exception as its cause. The classes follow DB-API's names, so what a name
means is what PEP 249 says it means.
"""

from __future__ import annotations


class StoreError(Exception):
    """A database refused or failed a statement (any of the classes below)."""


class DatabaseError(StoreError):
    """A failure that fits none of the narrower classes."""


class IntegrityError(DatabaseError):
    """A constraint or an append-only trigger refused the change (nothing was written)."""


class OperationalError(DatabaseError):
    """The database cannot do it now: unreachable, locked, read-only, out of space."""


class ProgrammingError(DatabaseError):
    """The statement or its parameters are wrong: a defect of the caller, not of the data."""


class DataError(DatabaseError):
    """A value does not fit its column (out of range, wrong type for the engine)."""


def one_line(exc: BaseException) -> str:
    """A driver's message on one line (PostgreSQL's carry DETAIL and HINT lines)."""
    return " ".join(str(exc).split()) or type(exc).__name__
