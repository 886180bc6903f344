"""Supervision: feedback on violations and its answers, supervisors' notices, the staff
messages they send; people's rosters read by institution and id.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("institution", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered_by_token_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supervision_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_supervision_feedback_institution_id", ["institution", "id"], unique=False)
        batch_op.create_index("ix_supervision_feedback_person_id", ["person_id", "id"], unique=False)
    op.create_table(
        "supervision_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_by_token_id", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supervision_notice", schema=None) as batch_op:
        batch_op.create_index("ix_supervision_notice_scope_code_id", ["scope_code", "id"], unique=False)
        batch_op.create_index("ix_supervision_notice_sent_by_sent_at", ["sent_by_token_id", "sent_at"], unique=False)
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_unit_code")
        batch_op.create_index("ix_person_unit_code_id", ["unit_code", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_unit_code_id")
        batch_op.create_index("ix_person_unit_code", ["unit_code"], unique=False)
    with op.batch_alter_table("supervision_notice", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_notice_sent_by_sent_at")
        batch_op.drop_index("ix_supervision_notice_scope_code_id")
    op.drop_table("supervision_notice")
    with op.batch_alter_table("supervision_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_feedback_person_id")
        batch_op.drop_index("ix_supervision_feedback_institution_id")
    op.drop_table("supervision_feedback")
