"""Reconciliation: runs, their discrepancies, and the record ids a run read.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_ONLY = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "reconciliation_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("started_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("compared", sa.BigInteger(), nullable=False),
        sa.Column("missing_in_ledger", sa.BigInteger(), nullable=False),
        sa.Column("missing_at_vendor", sa.BigInteger(), nullable=False),
        sa.Column("different", sa.BigInteger(), nullable=False),
        sa.Column("unknown_person", sa.BigInteger(), nullable=False),
        sa.Column("unreadable", sa.BigInteger(), nullable=False),
        sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reconciliation_run", schema=None) as batch_op:
        batch_op.create_index("ix_reconciliation_run_vendor_status", ["vendor", "status"], unique=False)
    op.create_table(
        "reconciliation_discrepancy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("differences", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("vendor_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("vendor_record", sa.Text(), nullable=True),
        sa.Column("vendor_credit", sa.Text(), nullable=True),
        sa.Column("vendor_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ledger_record", sa.Text(), nullable=True),
        sa.Column("completed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("opened_by_run", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("resolution_action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("resolution_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolution_entries", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reconciliation_discrepancy", schema=None) as batch_op:
        batch_op.create_index("ix_reconciliation_discrepancy_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_reconciliation_discrepancy_vendor_record", ["vendor", "record_id"], unique=False)
        batch_op.create_index(
            "uq_reconciliation_discrepancy_open_record",
            ["vendor", "record_id"],
            unique=True,
            sqlite_where=OPEN_ONLY,
            postgresql_where=OPEN_ONLY,
        )
    op.create_table(
        "reconciliation_staged_record",
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "run_id"),
    )


def downgrade() -> None:
    op.drop_table("reconciliation_staged_record")
    with op.batch_alter_table("reconciliation_discrepancy", schema=None) as batch_op:
        batch_op.drop_index("uq_reconciliation_discrepancy_open_record")
        batch_op.drop_index("ix_reconciliation_discrepancy_vendor_record")
        batch_op.drop_index("ix_reconciliation_discrepancy_status_id")
    op.drop_table("reconciliation_discrepancy")
    with op.batch_alter_table("reconciliation_run", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_run_vendor_status")
    op.drop_table("reconciliation_run")
