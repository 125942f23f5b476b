"""Stage policies: a global row per stage and per-model overrides."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.enums import Stage
from storage.records import PolicyRecord
from storage.rows import AnyRow
from storage.tables import stage_policies

_COLUMNS = (
    stage_policies.c.model_id,
    stage_policies.c.stage,
    stage_policies.c.required_approvals,
    stage_policies.c.required_checks,
    stage_policies.c.require_model_card,
    stage_policies.c.updated_at,
    stage_policies.c.updated_by,
)
# The global row and the model's override of one stage: at most two rows.
_FOR_MODEL_STAGE = select(*_COLUMNS).where(
    stage_policies.c.stage == bindparam("stage"),
    or_(
        stage_policies.c.model_id.is_(None),
        stage_policies.c.model_id == bindparam("model_id"),
    ),
)
_OF_MODELS = select(*_COLUMNS).where(
    or_(
        stage_policies.c.model_id.is_(None),
        stage_policies.c.model_id.in_(bindparam("model_ids", expanding=True)),
    )
)


def _record(row: AnyRow) -> PolicyRecord:
    return PolicyRecord(
        model_id=row.model_id,
        stage=Stage(row.stage),
        required_approvals=row.required_approvals,
        required_checks=list(row.required_checks),
        require_model_card=row.require_model_card,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def stored_policies(
    conn: AsyncConnection, model_id: int, stage: Stage
) -> tuple[PolicyRecord | None, PolicyRecord | None]:
    """The (global, model override) rows for a transition into `stage`, where they exist."""
    found = [
        _record(row)
        for row in await conn.execute(
            _FOR_MODEL_STAGE, {"stage": stage.value, "model_id": model_id}
        )
    ]
    global_row = next((p for p in found if p.model_id is None), None)
    override = next((p for p in found if p.model_id is not None), None)
    return global_row, override


async def policies_of(conn: AsyncConnection, model_ids: Sequence[int]) -> list[PolicyRecord]:
    """Every global row, and the overrides of the given models."""
    rows = await conn.execute(_OF_MODELS, {"model_ids": list(model_ids)})
    return [_record(row) for row in rows]


async def set_policy(
    conn: AsyncConnection,
    *,
    model_id: int | None,
    stage: Stage,
    required_approvals: int,
    required_checks: Sequence[str],
    actor: str,
    now: datetime,
    require_model_card: bool = False,
) -> PolicyRecord:
    """Create or replace the global policy (`model_id` None) or a model's override."""
    values = {
        "model_id": model_id,
        "stage": stage.value,
        "required_approvals": required_approvals,
        "required_checks": list(required_checks),
        "require_model_card": require_model_card,
        "updated_at": now,
        "updated_by": actor,
    }
    condition = "model_id IS NOT NULL" if model_id is not None else "model_id IS NULL"
    keys = ["model_id", "stage"] if model_id is not None else ["stage"]
    statement = (
        insert_on_conflict(conn, stage_policies)
        .values(**values)
        .on_conflict_do_update(
            index_elements=keys,
            index_where=text(condition),
            set_={k: v for k, v in values.items() if k not in ("model_id", "stage")},
        )
        .returning(*_COLUMNS)
    )
    return _record((await conn.execute(statement)).one())


async def delete_override(conn: AsyncConnection, model_id: int, stage: Stage) -> bool:
    """Remove a model's override of `stage`; the global policy applies again."""
    statement = delete(stage_policies).where(
        stage_policies.c.model_id == model_id, stage_policies.c.stage == stage.value
    )
    result = await conn.execute(statement)
    return bool(result.rowcount)
