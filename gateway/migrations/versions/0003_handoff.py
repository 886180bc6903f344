"""The SSO handoff: signing keys, pairwise subjects, consents and LTI message hints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handoff_signing_key",
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("use", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("algorithm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("activates_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("retired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
        sa.UniqueConstraint("use", "algorithm", "generation", name="uq_handoff_signing_key_generation"),
    )
    op.create_table(
        "handoff_subject",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("linked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("vendor_account_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("person_id", "vendor"),
        sa.UniqueConstraint("vendor", "subject", name="uq_handoff_subject_vendor_subject"),
    )
    op.create_table(
        "handoff_consent",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("fields", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("given_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("person_id", "vendor"),
    )
    op.create_table(
        "handoff_message_hint",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("launch_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("login_hint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("digest"),
        sa.UniqueConstraint("launch_id"),
    )
    with op.batch_alter_table("handoff_message_hint", schema=None) as batch_op:
        batch_op.create_index("ix_handoff_message_hint_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handoff_message_hint", schema=None) as batch_op:
        batch_op.drop_index("ix_handoff_message_hint_expires_at")
    op.drop_table("handoff_message_hint")
    op.drop_table("handoff_consent")
    op.drop_table("handoff_subject")
    op.drop_table("handoff_signing_key")
