"""What every declared table shares: the one MetaData and the types that differ by engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Double, Identity, Integer, MetaData
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeEngine

metadata = MetaData()

SECONDS: TypeEngine[Any] = Double().with_variant(sqlite.REAL(), "sqlite")
ROW_ID: TypeEngine[Any] = BigInteger().with_variant(Integer(), "sqlite")
PG = {"only": "postgresql"}


def id_column() -> Column[Any]:
    return Column("id", ROW_ID, Identity(), primary_key=True)


def one_of(column: str, *values: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})")
