"""Certificates and their downloads, staff messages, and the ledger's years due for review.

Every person's year that already has entries is marked due, so that the first review after the
upgrade issues the certificates of years met before it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate",
        sa.Column("certificate_no", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("name_masked", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("unit_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("public_hours", sa.Integer(), nullable=False),
        sa.Column("professional_hours", sa.Integer(), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("issuer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("certificate_no"),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index("ix_certificate_person_id_year", ["person_id", "year"], unique=False)
        batch_op.create_index(
            "uq_certificate_valid_year",
            ["person_id", "year"],
            unique=True,
            sqlite_where=sa.text("status = 'valid'"),
            postgresql_where=sa.text("status = 'valid'"),
        )

    op.create_table(
        "certificate_download",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_no", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("downloaded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("certificate_download", schema=None) as batch_op:
        batch_op.create_index("ix_certificate_download_number_at", ["certificate_no", "downloaded_at"], unique=False)

    op.create_table(
        "ledger_evaluation_due",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("due_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "year"),
    )
    with op.batch_alter_table("ledger_evaluation_due", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_evaluation_due_due_since"), ["due_since"], unique=False)

    op.create_table(
        "staff_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("read_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_message", schema=None) as batch_op:
        batch_op.create_index("ix_staff_message_person_id_id", ["person_id", "id"], unique=False)

    op.execute(
        "INSERT INTO ledger_evaluation_due (person_id, year, seq, due_since) "
        "SELECT person_id, year, MAX(seq), CURRENT_TIMESTAMP FROM ledger_entry GROUP BY person_id, year"
    )


def downgrade() -> None:
    with op.batch_alter_table("staff_message", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_message_person_id_id")

    op.drop_table("staff_message")
    with op.batch_alter_table("ledger_evaluation_due", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_evaluation_due_due_since"))

    op.drop_table("ledger_evaluation_due")
    with op.batch_alter_table("certificate_download", schema=None) as batch_op:
        batch_op.drop_index("ix_certificate_download_number_at")

    op.drop_table("certificate_download")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_certificate_valid_year",
            sqlite_where=sa.text("status = 'valid'"),
            postgresql_where=sa.text("status = 'valid'"),
        )
        batch_op.drop_index("ix_certificate_person_id_year")

    op.drop_table("certificate")
