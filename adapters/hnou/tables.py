"""The hnou adapter's table: the nonces of signed notifications seen in the last 10 minutes.

They are in the database, not in memory, so that a replay is refused after a restart and by every
hub process alike. A row older than the memory is garbage: the next notifications prune it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class HnouNonceRow(SQLModel, table=True):
    __tablename__ = "hnou_nonce"

    appid: str = Field(primary_key=True, max_length=200)
    nonce: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(index=True)
