"""Renaming a model: its id stays, so its versions, history, aliases and requests follow."""

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.queries import models as model_rows
from storage.records import ModelRecord
from storage.tables import models

_RENAME = (
    update(models)
    .where(models.c.id == bindparam("match_id"))
    .values(
        name=bindparam("new_name"),
        updated_at=bindparam("new_updated_at"),
        updated_by=bindparam("new_updated_by"),
    )
    .returning(*model_rows.COLUMNS)
)


async def rename_model(
    conn: AsyncConnection, model_id: int, new_name: str, *, actor: str, now: datetime
) -> ModelRecord | None:
    """Give the model `new_name`; None (and nothing changed) when another model has it.

    The update runs in a savepoint: a unique violation (a concurrent rename or
    create that took the name first) then leaves the transaction usable.
    """
    parameters = {
        "match_id": model_id,
        "new_name": new_name,
        "new_updated_at": now,
        "new_updated_by": actor,
    }
    try:
        async with conn.begin_nested():
            row = (await conn.execute(_RENAME, parameters)).one()
    except IntegrityError:
        return None
    return model_rows.record(row)
