"""Access: API tokens and password-reset links (hashes only), and the audit log (append-only, enforced by
the database).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("scope_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("scope_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "access_reset_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issued_by_token_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("access_reset_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_reset_link_person_id"), ["person_id"], unique=False)

    op.create_table(
        "access_audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_token_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("access_audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_access_audit_entry_action_id", ["action", "id"], unique=False)
        batch_op.create_index("ix_access_audit_entry_actor_id", ["actor_token_id", "id"], unique=False)
        batch_op.create_index("ix_access_audit_entry_occurred_at", ["occurred_at"], unique=False)
    _forbid_audit_changes()


def _forbid_audit_changes() -> None:
    """The database itself refuses to change or delete an audit entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION access_audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER access_audit_entry_append_only BEFORE UPDATE OR DELETE ON access_audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION access_audit_entry_append_only()"
        )
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER access_audit_entry_no_{operation.lower()} BEFORE {operation} ON access_audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_audit_entry_append_only ON access_audit_entry")
        op.execute("DROP FUNCTION access_audit_entry_append_only()")
    with op.batch_alter_table("access_audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_access_audit_entry_occurred_at")
        batch_op.drop_index("ix_access_audit_entry_actor_id")
        batch_op.drop_index("ix_access_audit_entry_action_id")
    op.drop_table("access_audit_entry")
    with op.batch_alter_table("access_reset_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_reset_link_person_id"))
    op.drop_table("access_reset_link")
    op.drop_table("access_token")
