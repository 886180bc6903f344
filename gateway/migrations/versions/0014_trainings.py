"""Trainings: offline trainings filed and decided, and the imports of attendance and continuing education.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offline_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("department_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("organiser", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("organiser_address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("postcode", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("email_encrypted", sa.Text(), nullable=False),
        sa.Column("responsible_person", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("contact_title", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("contact_phone_encrypted", sa.Text(), nullable=False),
        sa.Column("training_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("head_count", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("filed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("filed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("evidence_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offline_training", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offline_training_department_code"), ["department_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_offline_training_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_offline_training_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "training_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=True),
        sa.Column("file_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("file_format", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("appended", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("imported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["offline_training.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("training_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_import_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_import_training_id"), ["training_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("training_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_import_training_id"))
        batch_op.drop_index(batch_op.f("ix_training_import_source"))

    op.drop_table("training_import")
    with op.batch_alter_table("offline_training", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_training_unit_code"))
        batch_op.drop_index(batch_op.f("ix_offline_training_status"))
        batch_op.drop_index(batch_op.f("ix_offline_training_department_code"))

    op.drop_table("offline_training")
