"""Ingestion: deliveries refused before they reached the ledger, counted per vendor, reason, fields and minute.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingestion_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("fields", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("minute", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_delivery_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vendor", "reason", "fields", "minute", name="uq_ingestion_refusal_bucket"),
    )
    with op.batch_alter_table("ingestion_refusal", schema=None) as batch_op:
        batch_op.create_index("ix_ingestion_refusal_minute", ["minute"], unique=False)
        batch_op.create_index("ix_ingestion_refusal_vendor_first_at", ["vendor", "first_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingestion_refusal", schema=None) as batch_op:
        batch_op.drop_index("ix_ingestion_refusal_vendor_first_at")
        batch_op.drop_index("ix_ingestion_refusal_minute")
    op.drop_table("ingestion_refusal")
