"""hnou: the nonces of signed notifications seen in the last 10 minutes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hnou_nonce",
        sa.Column("appid", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("appid", "nonce"),
    )
    with op.batch_alter_table("hnou_nonce", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hnou_nonce_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hnou_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hnou_nonce_seen_at"))
    op.drop_table("hnou_nonce")
