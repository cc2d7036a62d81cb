"""The audit log's tables, declared: the records, their seals, the signed checkpoints, the
chain's origin and the access log (the `audit` branch of the migrations, but for the
access log, which lives with the state)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Float, Index, Integer, LargeBinary, Table, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from addon.audit.columns import COLUMN_TYPES
from addon.audit.schema import INDEXES
from addon.store.types import PG, ROW_ID, SECONDS, id_column, metadata, one_of

_AUDIT_TYPES: dict[type, TypeEngine[Any]] = {
    float: Float().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql"),
    int: Integer().with_variant(BigInteger(), "postgresql"),
    str: Text(),
}


def _audit_type(name: str, kind: type) -> TypeEngine[Any]:
    return Text().with_variant(postgresql.JSONB(), "postgresql") if name == "categories" \
        else _AUDIT_TYPES[kind]


# The audit's columns come from the declaration the writer uses (addon.audit.schema), so
# the two cannot drift; PostgreSQL's table is partitioned by month (addon.audit.pg).
audit = Table(
    "audit", metadata,
    Column("id", ROW_ID, primary_key=True),
    *(Column(name, _audit_type(name, kind)) for name, kind in COLUMN_TYPES),
    *(Index("idx_audit_" + "_".join(cols), *cols, info={"only": "sqlite"}) for cols in INDEXES),
    *(Index("audit_" + "_".join(cols), *cols, info=PG) for cols in INDEXES),
    Index("audit_id", "id", info=PG),  # forwarding reads after a position (SQLite: the rowid)
    postgresql_partition_by="RANGE (ts)",
)

audit_seals = Table(  # one per batch the writer committed: its ids and leaves (audit/seal.py)
    "audit_seals", metadata,
    id_column(),
    Column("chain", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("first_id", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
    Column("min_ts", SECONDS),
    Column("max_ts", SECONDS),
    Column("leaves", LargeBinary),  # NULL once every record of the seal was pruned
    Column("root", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Index("audit_seals_chain", "chain", "seq", unique=True),
    Index("audit_seals_first", "first_id"),
)

audit_checkpoints = Table(  # signed chain digests and pruning statements (audit/sealer.py)
    "audit_checkpoints", metadata,
    id_column(),
    Column("kind", Text, one_of("kind", "checkpoint", "prune"), nullable=False),
    Column("chain", Text, nullable=False),
    Column("seq", BigInteger),
    Column("ts", SECONDS, nullable=False),
    Column("body", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Index("audit_checkpoints_chain", "chain", "seq"),
)

audit_origin = Table(  # the last record written before the chain existed: not provable
    "audit_origin", metadata,
    Column("legacy_max_id", BigInteger, primary_key=True, autoincrement=False),
)

audit_access = Table(  # who read whose records (audit/access.py); chained, append-only
    "audit_access", metadata,
    id_column(),
    Column("at", SECONDS, nullable=False),
    Column("reader", Text, nullable=False),
    Column("door", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject_user", Text),
    Column("subject_ip", Text),
    Column("filters", Text, nullable=False),
    Column("purpose", Text),
    Column("case_ref", Text),
    Column("digest", Text, nullable=False),
    Index("audit_access_at", "at"),
    Index("audit_access_user", "subject_user", "at"),
)
