"""A model together with its PRODUCTION version, in one statement.

The most frequent read of a registry is "what is in Production for this
model" (serving, CI, dashboards). Answered by the model lookup followed by
the production lookup, it took two DataLoader rounds and two statements;
the second round (task, connection lock, statement) was about a fifth of
the request's CPU. The LEFT JOIN reads the same index entries in one.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.enums import Stage
from storage.keyed import KeyedStatement
from storage.queries import models as model_queries
from storage.queries import versions as version_queries
from storage.quick_reads import QuickReads
from storage.records import ModelRecord, VersionRecord
from storage.tables import model_versions, models

_MODEL_WIDTH = len(model_queries.COLUMNS)
_IN_PRODUCTION = and_(
    model_versions.c.model_id == models.c.id,
    model_versions.c.stage == Stage.PRODUCTION.value,
)
_BY_NAMES = KeyedStatement.build(
    models.c.name,
    select(*model_queries.COLUMNS, *version_queries.COLUMNS)
    .select_from(models.outerjoin(model_versions, _IN_PRODUCTION))
    .where,
    quick=True,  # a unique name, and at most one PRODUCTION version per model
)

ModelWithProduction = tuple[ModelRecord, VersionRecord | None]


async def models_with_production(
    conn: AsyncConnection, names: Sequence[str]
) -> dict[str, ModelWithProduction]:
    """Each named model that exists, with its PRODUCTION version or None."""
    return _found(await _BY_NAMES.execute(conn, names))


def model_with_production_quickly(
    reads: QuickReads, name: str
) -> dict[str, ModelWithProduction] | None:
    """As `models_with_production` for one name, or None: read it through the pool."""
    rows = _BY_NAMES.quick_rows(reads, name)
    return None if rows is None else _found(rows)


def _found(rows: Iterable[Sequence[Any]]) -> dict[str, ModelWithProduction]:
    found: dict[str, ModelWithProduction] = {}
    for row in rows:
        model = model_queries.record(row)
        version_row = row[_MODEL_WIDTH:]
        # The version's id is NULL when the outer join found no PRODUCTION row.
        version = version_queries.record(version_row) if version_row[0] is not None else None
        found[model.name] = (model, version)
    return found
