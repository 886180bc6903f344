"""Export records on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import desc, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.exports.tables import LedgerExportRow

EXPORT = LedgerExportRow.__table__  # type: ignore[attr-defined]


class SqlExportStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def begin(self, row: LedgerExportRow) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(EXPORT.insert().values(**row.model_dump()))

    async def finish(self, export_id: str, manifest: str, finished_at: datetime) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(EXPORT).where(EXPORT.c.id == export_id).values(manifest=manifest, finished_at=finished_at)
            )

    async def get(self, export_id: str) -> LedgerExportRow | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(EXPORT.select().where(EXPORT.c.id == export_id))).one_or_none()
        return None if row is None else LedgerExportRow.model_validate(row._mapping)

    async def recent(self, count: int) -> list[LedgerExportRow]:
        """The ``count`` exports begun last, newest first."""
        newest_first = EXPORT.select().order_by(desc(EXPORT.c.started_at), desc(EXPORT.c.id)).limit(count)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(newest_first)).all()
        return [LedgerExportRow.model_validate(row._mapping) for row in rows]
