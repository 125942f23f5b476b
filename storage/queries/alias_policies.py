"""Alias policies: a global row per alias name and per-model overrides."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.enums import Role
from storage.records import AliasPolicyRecord
from storage.rows import AnyRow
from storage.tables import alias_policies

_p = alias_policies
_COLUMNS = (
    _p.c.model_id,
    _p.c.alias,
    _p.c.required_approvals,
    _p.c.required_checks,
    _p.c.role,
    _p.c.updated_at,
    _p.c.updated_by,
)
_GLOBAL_OR_MODEL = or_(_p.c.model_id.is_(None), _p.c.model_id == bindparam("model_id"))
# The global rows and the model's overrides of some alias names: at most two per name.
_FOR_MODEL_ALIASES = select(*_COLUMNS).where(
    _GLOBAL_OR_MODEL, _p.c.alias.in_(bindparam("aliases", expanding=True))
)
_OF_MODELS = (
    select(*_COLUMNS)
    .where(or_(_p.c.model_id.is_(None), _p.c.model_id.in_(bindparam("model_ids", expanding=True))))
    .order_by(_p.c.alias, _p.c.model_id)
)


def _record(row: AnyRow) -> AliasPolicyRecord:
    return AliasPolicyRecord(
        model_id=row.model_id,
        alias=row.alias,
        required_approvals=row.required_approvals,
        required_checks=list(row.required_checks),
        role=Role(row.role),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def stored_alias_policies(
    conn: AsyncConnection, model_id: int, aliases: Sequence[str]
) -> list[AliasPolicyRecord]:
    """The global rows and the model's overrides for the given alias names."""
    if not aliases:
        return []
    parameters = {"model_id": model_id, "aliases": list(aliases)}
    return [_record(row) for row in await conn.execute(_FOR_MODEL_ALIASES, parameters)]


async def alias_policies_of(
    conn: AsyncConnection, model_ids: Sequence[int]
) -> list[AliasPolicyRecord]:
    """Every global row, and the overrides of the given models, by alias name."""
    rows = await conn.execute(_OF_MODELS, {"model_ids": list(model_ids)})
    return [_record(row) for row in rows]


async def set_alias_policy(
    conn: AsyncConnection,
    *,
    model_id: int | None,
    alias: str,
    required_approvals: int,
    required_checks: Sequence[str],
    role: Role,
    actor: str,
    now: datetime,
) -> AliasPolicyRecord:
    """Create or replace the global policy of `alias` (`model_id` None) or a model's override."""
    values = {
        "model_id": model_id,
        "alias": alias,
        "required_approvals": required_approvals,
        "required_checks": list(required_checks),
        "role": role.value,
        "updated_at": now,
        "updated_by": actor,
    }
    condition = "model_id IS NOT NULL" if model_id is not None else "model_id IS NULL"
    keys = ["model_id", "alias"] if model_id is not None else ["alias"]
    statement = (
        insert_on_conflict(conn, alias_policies)
        .values(**values)
        .on_conflict_do_update(
            index_elements=keys,
            index_where=text(condition),
            set_={k: v for k, v in values.items() if k not in ("model_id", "alias")},
        )
        .returning(*_COLUMNS)
    )
    return _record((await conn.execute(statement)).one())


async def count_others(conn: AsyncConnection, model_id: int | None, alias: str) -> int:
    """How many policies the global scope (`model_id` None) or a model has for other aliases."""
    owner = _p.c.model_id.is_(None) if model_id is None else _p.c.model_id == model_id
    statement = select(func.count()).select_from(_p).where(owner, _p.c.alias != alias)
    return int((await conn.execute(statement)).scalar_one())


async def delete_alias_policy(conn: AsyncConnection, model_id: int | None, alias: str) -> bool:
    """Remove the global policy of `alias` (`model_id` None) or a model's override."""
    owner = _p.c.model_id.is_(None) if model_id is None else _p.c.model_id == model_id
    result = await conn.execute(delete(_p).where(owner, _p.c.alias == alias))
    return bool(result.rowcount)
