"""The refusals table: deliveries the hub refused before they reached the ledger, counted per
vendor, reason, fields at fault and minute.

Why here, on the adapters' side, and not beside the ledger's receipts: a refusal happens at the
door, in a vendor's wire protocol (a signature, a timestamp, a nonce, a body over its limit, a field
the vendor named wrongly), before there is any ledger command. The ledger never sees it and must
not learn any vendor's vocabulary; its tables are append-only and written in its own transaction,
while this one holds counters that are added to with an upsert and pruned after a retention period.

Why counted, not one row a refusal: refusals of unsigned requests are anyone's to send, so one row
each would let anyone fill the database. A bucket holds the count, the first and the last time,
and the last delivery id the vendor gave once its signature verified; never a body, a secret, a
signature or a value of a field. Buckets are keyed by what the hub decides (its own reason codes
and field names), so their number per minute is bounded whatever is sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class IngestionRefusalRow(SQLModel, table=True):
    __tablename__ = "ingestion_refusal"
    __table_args__ = (
        UniqueConstraint("vendor", "reason", "fields", "minute", name="uq_ingestion_refusal_bucket"),
        Index("ix_ingestion_refusal_vendor_first_at", "vendor", "first_at"),
        Index("ix_ingestion_refusal_minute", "minute"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor: str = Field(max_length=16)
    reason: str = Field(max_length=32)
    fields: str = Field(max_length=500)
    """The names of the fields at fault, comma-separated; empty for a refusal that names none."""
    minute: datetime
    """The start of the minute (UTC) the bucket counts."""
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    first_at: datetime
    last_at: datetime
    last_delivery_id: str | None = Field(default=None, max_length=200)
