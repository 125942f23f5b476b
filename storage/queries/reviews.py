"""What reviewers and CI said about transition requests: append-only reviews and check reports."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.enums import CheckStatus, ReviewKind
from storage.keyed import KeyedStatement
from storage.records import CheckReportRecord, ReviewRecord
from storage.rows import AnyRow
from storage.tables import check_reports, transition_reviews

_v, _c = transition_reviews, check_reports
_REVIEW_COLUMNS = (_v.c.id, _v.c.request_id, _v.c.kind, _v.c.actor, _v.c.comment, _v.c.created_at)
_CHECK_COLUMNS = (
    _c.c.id,
    _c.c.request_id,
    _c.c.name,
    _c.c.status,
    _c.c.summary,
    _c.c.details_url,
    _c.c.reported_by,
    _c.c.created_at,
)


def _review(row: AnyRow) -> ReviewRecord:
    return ReviewRecord(**{**row._mapping, "kind": ReviewKind(row.kind)})


def _check(row: AnyRow) -> CheckReportRecord:
    return CheckReportRecord(**{**row._mapping, "status": CheckStatus(row.status)})


_INSERT_REVIEW = insert(_v).returning(*_REVIEW_COLUMNS)
_INSERT_CHECK = insert(_c).returning(*_CHECK_COLUMNS)
_REVIEWS_OF = KeyedStatement.build(
    _v.c.request_id, lambda of: select(*_REVIEW_COLUMNS).where(of).order_by(_v.c.id)
)
_CHECKS_OF = KeyedStatement.build(
    _c.c.request_id, lambda of: select(*_CHECK_COLUMNS).where(of).order_by(_c.c.id)
)


async def insert_review(
    conn: AsyncConnection,
    *,
    request_id: int,
    kind: ReviewKind,
    actor: str,
    comment: str | None,
    now: datetime,
) -> ReviewRecord:
    values = {
        "request_id": request_id,
        "kind": kind.value,
        "actor": actor,
        "comment": comment,
        "created_at": now,
    }
    return _review((await conn.execute(_INSERT_REVIEW, values)).one())


async def reviews_of(
    conn: AsyncConnection, request_ids: Sequence[int]
) -> dict[int, list[ReviewRecord]]:
    """Each request's reviews, oldest first."""
    grouped: dict[int, list[ReviewRecord]] = defaultdict(list)
    for row in await _REVIEWS_OF.execute(conn, request_ids):
        grouped[row.request_id].append(_review(row))
    return grouped


async def insert_check_report(
    conn: AsyncConnection,
    *,
    request_id: int,
    name: str,
    status: CheckStatus,
    summary: str | None,
    details_url: str | None,
    actor: str,
    now: datetime,
) -> CheckReportRecord:
    values = {
        "request_id": request_id,
        "name": name,
        "status": status.value,
        "summary": summary,
        "details_url": details_url,
        "reported_by": actor,
        "created_at": now,
    }
    return _check((await conn.execute(_INSERT_CHECK, values)).one())


async def check_reports_of(
    conn: AsyncConnection, request_ids: Sequence[int]
) -> dict[int, list[CheckReportRecord]]:
    """Each request's check reports, oldest first."""
    grouped: dict[int, list[CheckReportRecord]] = defaultdict(list)
    for row in await _CHECKS_OF.execute(conn, request_ids):
        grouped[row.request_id].append(_check(row))
    return grouped
