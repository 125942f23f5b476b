"""Transition requests: rows that wait for approvals and checks, then resolve once.

Only PENDING rows ever change, and `resolve` changes nothing else: a request
resolved by a concurrent transaction is left as it is.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.enums import RequestStatus, Stage
from storage.keyed import KeyedStatement
from storage.pagination import OwnerPages, PageRequest, keyset_page, page_parameters
from storage.records import TransitionRequestRecord
from storage.rows import AnyRow
from storage.tables import transition_requests

_r = transition_requests
_COLUMNS = (
    _r.c.id,
    _r.c.model_id,
    _r.c.version,
    _r.c.from_stage,
    _r.c.to_stage,
    _r.c.archive_existing,
    _r.c.status,
    _r.c.comment,
    _r.c.requested_by,
    _r.c.created_at,
    _r.c.updated_at,
    _r.c.resolved_at,
    _r.c.resolved_by,
    _r.c.alias,
    _r.c.alias_from_version,
    _r.c.removes_alias,
)
_SELECT = select(*_COLUMNS)
_PENDING = _r.c.status == RequestStatus.PENDING.value
_OF_MODEL = _r.c.model_id == bindparam("model_id")

_INSERT = insert(_r).returning(*_COLUMNS)
_BY_IDS = KeyedStatement.build(_r.c.id, _SELECT.where)
_PENDING_OF_VERSIONS = _SELECT.where(
    _OF_MODEL, _PENDING, _r.c.version.in_(bindparam("versions", expanding=True))
).order_by(_r.c.id)
_PENDING_INTO_STAGE = _SELECT.where(
    _OF_MODEL, _PENDING, _r.c.to_stage == bindparam("to_stage")
).order_by(_r.c.id)
_PENDING_FOR_ALIAS = _SELECT.where(_OF_MODEL, _PENDING, _r.c.alias == bindparam("alias")).order_by(
    _r.c.id
)
_RESOLVE = (
    update(_r)
    .where(_r.c.id.in_(bindparam("ids", expanding=True)), _PENDING)
    .values(
        status=bindparam("new_status"),
        updated_at=bindparam("now"),
        resolved_at=bindparam("now"),
        resolved_by=bindparam("actor"),
    )
    .returning(*_COLUMNS)
)


@dataclass(frozen=True, slots=True)
class RequestFilter:
    model_id: int | None = None
    status: RequestStatus | None = None
    to_stage: Stage | None = None


def _stage(value: str | None) -> Stage | None:
    return Stage(value) if value is not None else None


def _record(row: AnyRow) -> TransitionRequestRecord:
    values = row._mapping
    return TransitionRequestRecord(
        **{
            **values,
            "from_stage": _stage(values["from_stage"]),
            "to_stage": _stage(values["to_stage"]),
            "status": RequestStatus(values["status"]),
        }
    )


@dataclass(frozen=True, slots=True)
class StageTarget:
    """A request to move a version from the stage it is in to another."""

    from_stage: Stage
    to_stage: Stage
    archive_existing: bool = False


@dataclass(frozen=True, slots=True)
class AliasTarget:
    """A request to point `alias` at the version (or delete it, when it points there)."""

    alias: str
    from_version: int | None
    removes: bool = False


async def insert_request(
    conn: AsyncConnection,
    *,
    model_id: int,
    version: int,
    target: StageTarget | AliasTarget,
    comment: str | None,
    actor: str,
    now: datetime,
) -> TransitionRequestRecord:
    values: dict[str, Any] = {
        "model_id": model_id,
        "version": version,
        "status": RequestStatus.PENDING.value,
        "comment": comment,
        "requested_by": actor,
        "created_at": now,
        "updated_at": now,
    }
    if isinstance(target, StageTarget):
        values |= {
            "from_stage": target.from_stage.value,
            "to_stage": target.to_stage.value,
            "archive_existing": target.archive_existing,
        }
    else:
        values |= {
            "alias": target.alias,
            "alias_from_version": target.from_version,
            "removes_alias": target.removes,
            "archive_existing": False,
        }
    return _record((await conn.execute(_INSERT, values)).one())


async def get_requests(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, TransitionRequestRecord]:
    return {row.id: _record(row) for row in await _BY_IDS.execute(conn, ids)}


async def get_request(conn: AsyncConnection, request_id: int) -> TransitionRequestRecord | None:
    return (await get_requests(conn, [request_id])).get(request_id)


async def pending_of_versions(
    conn: AsyncConnection, model_id: int, versions: Sequence[int]
) -> list[TransitionRequestRecord]:
    """The PENDING requests of some versions of a model, oldest first."""
    parameters = {"model_id": model_id, "versions": list(versions)}
    return [_record(row) for row in await conn.execute(_PENDING_OF_VERSIONS, parameters)]


async def pending_into_stage(
    conn: AsyncConnection, model_id: int, to_stage: Stage
) -> list[TransitionRequestRecord]:
    """The PENDING requests to move any version of a model into `to_stage`, oldest first."""
    parameters = {"model_id": model_id, "to_stage": to_stage.value}
    return [_record(row) for row in await conn.execute(_PENDING_INTO_STAGE, parameters)]


async def pending_for_alias(
    conn: AsyncConnection, model_id: int, alias: str
) -> list[TransitionRequestRecord]:
    """The PENDING requests to move or delete one alias of a model, oldest first."""
    parameters = {"model_id": model_id, "alias": alias}
    return [_record(row) for row in await conn.execute(_PENDING_FOR_ALIAS, parameters)]


async def resolve(
    conn: AsyncConnection,
    ids: Sequence[int],
    status: RequestStatus,
    *,
    actor: str,
    now: datetime,
) -> list[TransitionRequestRecord]:
    """Move the PENDING requests among `ids` to `status`; return those that moved."""
    if not ids:
        return []
    parameters = {"ids": list(ids), "new_status": status.value, "now": now, "actor": actor}
    rows = await conn.execute(_RESOLVE, parameters)
    return sorted((_record(row) for row in rows), key=lambda r: r.id)


def _with_status(table: FromClause) -> Sequence[ColumnElement[bool]]:
    return (table.c.status == bindparam("status"),)


@cache
def _version_pages(with_status: bool) -> OwnerPages:
    # Index: (model_id, version, id); a status filter reads only the version's requests.
    owner = (_r.c.model_id, _r.c.version)
    conditions = _with_status if with_status else lambda _: ()
    return OwnerPages.build(_r, _COLUMNS, owner, _r.c.id, conditions, after=False)


async def requests_of_versions(
    conn: AsyncConnection,
    keys: Sequence[tuple[int, int]],
    status: RequestStatus | None,
    *,
    limit: int,
) -> dict[tuple[int, int], list[TransitionRequestRecord]]:
    """The latest `limit` requests of each (model id, version number), newest first."""
    parameters = {"status": status.value} if status is not None else {}
    page = PageRequest(first=limit, descending=True)
    rows = await _version_pages(status is not None).execute(conn, keys, page, parameters)
    grouped: dict[tuple[int, int], list[TransitionRequestRecord]] = defaultdict(list)
    for row in rows:
        grouped[(row.model_id, row.version)].append(_record(row))
    return {key: found[:limit] for key, found in grouped.items()}


@cache
def _filtered(model: bool, status: bool, stage: bool) -> Select[Any]:
    query = _SELECT
    if model:
        query = query.where(_OF_MODEL)
    if status:
        query = query.where(_r.c.status == bindparam("status"))
    if stage:
        query = query.where(_r.c.to_stage == bindparam("to_stage"))
    return query


def _shape(request_filter: RequestFilter) -> tuple[bool, bool, bool]:
    return (
        request_filter.model_id is not None,
        request_filter.status is not None,
        request_filter.to_stage is not None,
    )


def _filter_parameters(request_filter: RequestFilter) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if request_filter.model_id is not None:
        parameters["model_id"] = request_filter.model_id
    if request_filter.status is not None:
        parameters["status"] = request_filter.status.value
    if request_filter.to_stage is not None:
        parameters["to_stage"] = request_filter.to_stage.value
    return parameters


@cache
def _page_statement(shape: tuple[bool, bool, bool], after: bool) -> Select[Any]:
    return keyset_page(_filtered(*shape), (_r.c.id,), descending=True, after=after)


@cache
def _count_statement(shape: tuple[bool, bool, bool]) -> Select[Any]:
    return select(func.count()).select_from(_filtered(*shape).subquery())


async def requests_page(
    conn: AsyncConnection, request_filter: RequestFilter, page: PageRequest
) -> list[TransitionRequestRecord]:
    """Requests matching the filter, newest first."""
    statement = _page_statement(_shape(request_filter), page.after is not None)
    parameters = {**_filter_parameters(request_filter), **page_parameters(page)}
    return [_record(row) for row in await conn.execute(statement, parameters)]


async def count_requests(conn: AsyncConnection, request_filter: RequestFilter) -> int:
    statement = _count_statement(_shape(request_filter))
    return int((await conn.execute(statement, _filter_parameters(request_filter))).scalar_one())
