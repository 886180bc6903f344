"""Quarantine review and scheduled jobs: decisions about held records, a record's credits replaced in
a line, receipts linked to their holds, and the runs of jobs.

A record may now have more than one credit: a released conflicting version replaces the credit the
ledger held, naming it in ``reverses_seq``. The unique key of (record_id, source, kind) becomes two
partial unique indexes: one first credit per record, and one reversal and one replacement per entry.
On SQLite the table is rebuilt for that, and its append-only triggers are made again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST = sa.text("reverses_seq IS NULL")
LINKED = sa.text("reverses_seq IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_constraint("uq_ledger_entry_record_kind", type_="unique")
        batch_op.create_index("ix_ledger_entry_record_kind", ["record_id", "source", "kind"], unique=False)
        batch_op.create_index(
            "uq_ledger_entry_first_credit",
            ["record_id", "source", "kind"],
            unique=True,
            sqlite_where=FIRST,
            postgresql_where=FIRST,
        )
        batch_op.create_index(
            "uq_ledger_entry_reverses",
            ["reverses_seq", "kind"],
            unique=True,
            sqlite_where=LINKED,
            postgresql_where=LINKED,
        )
    if op.get_bind().dialect.name == "sqlite":
        _forbid_entry_changes_on_sqlite()  # the rebuilt table lost its triggers

    with op.batch_alter_table("ledger_held_record", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_held_record_status")
        batch_op.drop_column("status")

    with op.batch_alter_table("ledger_receipt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))

    op.create_table(
        "ledger_hold_decision",
        sa.Column("held_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("entry_seqs", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["held_id"], ["ledger_held_record.id"]),
        sa.PrimaryKeyConstraint("held_id"),
    )

    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("started_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index("ix_job_run_job_started", ["job", "started_at"], unique=False)
        batch_op.create_index("ix_job_run_vendor_outcome", ["vendor", "outcome"], unique=False)


def _forbid_entry_changes_on_sqlite() -> None:
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_entry_no_{operation.lower()} BEFORE {operation} ON ledger_entry "
            "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"
        )


def downgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index("ix_job_run_vendor_outcome")
        batch_op.drop_index("ix_job_run_job_started")
    op.drop_table("job_run")
    op.drop_table("ledger_hold_decision")
    with op.batch_alter_table("ledger_receipt", schema=None) as batch_op:
        batch_op.drop_column("held_fingerprint")
    with op.batch_alter_table("ledger_held_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="held")
        )
        batch_op.create_index("ix_ledger_held_record_status", ["status"], unique=False)
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("uq_ledger_entry_reverses")
        batch_op.drop_index("uq_ledger_entry_first_credit")
        batch_op.drop_index("ix_ledger_entry_record_kind")
        batch_op.create_unique_constraint("uq_ledger_entry_record_kind", ["record_id", "source", "kind"])
    if op.get_bind().dialect.name == "sqlite":
        _forbid_entry_changes_on_sqlite()
