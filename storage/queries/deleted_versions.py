"""Deleted versions: when each went, and from which stage (see tables.deleted_versions)."""

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.enums import Stage
from storage.tables import deleted_versions

_INSERT = insert(deleted_versions)


async def record_deletion(
    conn: AsyncConnection, model_id: int, version: int, stage: Stage, *, actor: str, now: datetime
) -> None:
    """Remember a version deleted in the caller's transaction (numbers are never reused)."""
    values = {
        "model_id": model_id,
        "version": version,
        "stage": stage.value,
        "deleted_at": now,
        "deleted_by": actor,
    }
    await conn.execute(_INSERT, values)
