"""Model cards: each version's current card, and the append-only record of its changes."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.keyed import KeyedStatement
from storage.pagination import OwnerPages, PageRequest
from storage.records import CardRevisionRecord
from storage.tables import model_card_revisions, model_cards

_r = model_card_revisions
_CARDS = KeyedStatement.build(
    model_cards.c.version_id, select(model_cards.c.version_id, model_cards.c.model_card).where
)
_DELETE = delete(model_cards).where(model_cards.c.version_id == bindparam("version_id"))
_INSERT_REVISION = insert(_r)
_REVISION_COLUMNS = (
    _r.c.id,
    _r.c.version_id,
    _r.c.model_card,
    _r.c.previous_model_card,
    _r.c.actor,
    _r.c.created_at,
)
_COUNT = KeyedStatement.build(
    _r.c.version_id,
    lambda of_versions: (
        select(_r.c.version_id, func.count()).where(of_versions).group_by(_r.c.version_id)
    ),
)


async def cards_of(conn: AsyncConnection, version_ids: Sequence[int]) -> dict[int, str]:
    """The card of each version that has one, by version id."""
    return dict((await _CARDS.execute(conn, version_ids)).all())


async def write_card(
    conn: AsyncConnection,
    version_id: int,
    card: str | None,
    previous: str | None,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Replace the version's card (None: remove it) and record the change with `previous`."""
    if card is None:
        await conn.execute(_DELETE, {"version_id": version_id})
    else:
        values = {
            "version_id": version_id,
            "model_card": card,
            "updated_at": now,
            "updated_by": actor,
        }
        upsert = insert_on_conflict(conn, model_cards).values(**values)
        upsert = upsert.on_conflict_do_update(
            index_elements=[model_cards.c.version_id],
            set_={k: v for k, v in values.items() if k != "version_id"},
        )
        await conn.execute(upsert)
    revision = {
        "version_id": version_id,
        "model_card": card,
        "previous_model_card": previous,
        "actor": actor,
        "created_at": now,
    }
    await conn.execute(_INSERT_REVISION, revision)


@cache
def _pages(after: bool) -> OwnerPages:
    # Index: (version_id, id).
    return OwnerPages.build(_r, _REVISION_COLUMNS, (_r.c.version_id,), _r.c.id, after=after)


async def revision_pages(
    conn: AsyncConnection, version_ids: Sequence[int], page: PageRequest
) -> dict[int, list[CardRevisionRecord]]:
    """One page of each version's card changes, newest first, in one statement."""
    rows = await _pages(page.after is not None).execute(conn, version_ids, page)
    grouped: dict[int, list[CardRevisionRecord]] = defaultdict(list)
    for row in rows:
        grouped[row.version_id].append(
            CardRevisionRecord(
                id=row.id,
                version_id=row.version_id,
                model_card=row.model_card,
                previous_model_card=row.previous_model_card,
                actor=row.actor,
                created_at=row.created_at,
            )
        )
    return grouped


async def count_revisions(conn: AsyncConnection, version_ids: Sequence[int]) -> dict[int, int]:
    return dict((await _COUNT.execute(conn, version_ids)).all())
