"""People, their sessions and failed logins; the organisation's regions, departments and institutions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 03:45:02.054588
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_region",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("parent", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("organisation_region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_region_parent"), ["parent"], unique=False)

    op.create_table(
        "organisation_department",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("organisation_department", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_department_region"), ["region"], unique=False)

    op.create_table(
        "organisation_institution",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("organisation_institution", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_institution_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisation_institution_region"), ["region"], unique=False)

    op.create_table(
        "person",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("id_number_index", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("id_number_encrypted", sa.Text(), nullable=False),
        sa.Column("phone_encrypted", sa.Text(), nullable=False),
        sa.Column("email_encrypted", sa.Text(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("gender", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("ethnicity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("native_place", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("education", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("major", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("school", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("graduated_on", sa.Date(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("title_since", sa.Date(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("deactivated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        # One account per ID number, held by the database as well as by the service.
        sa.UniqueConstraint("id_number_index"),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "person_session",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("person_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_session_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_session_last_seen_at"), ["last_seen_at"], unique=False)

    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_number_index", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index("ix_login_failure_index_at", ["id_number_index", "failed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failure_failed_at"), ["failed_at"], unique=False)


def downgrade() -> None:
    op.drop_table("login_failure")
    op.drop_table("person_session")
    op.drop_table("person")
    op.drop_table("organisation_institution")
    op.drop_table("organisation_department")
    op.drop_table("organisation_region")
