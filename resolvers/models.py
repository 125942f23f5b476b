"""Registered models: create, read, list, update, delete."""

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import alias_moves, limits, validation
from resolvers.context import RequestContext
from resolvers.errors import Conflict, NotFound
from resolvers.events import model_event
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from storage.clock import utcnow
from storage.enums import Role
from storage.queries import aliases, models, tags
from storage.queries.models import ModelFilter, ModelOrder
from storage.queries.tags import TagOwner
from storage.records import ModelRecord

_CURSOR_TYPES: dict[ModelOrder, tuple[type, ...]] = {
    ModelOrder.NAME: (str, int),
    ModelOrder.CREATED_AT: (datetime, int),
    ModelOrder.UPDATED_AT: (datetime, int),
}


def model_not_found(name: str) -> NotFound:
    return NotFound(f"model {name!r} does not exist", model=name)


async def locked_model(
    conn: AsyncConnection, ctx: RequestContext, name: str, *, description: str | None = None
) -> ModelRecord:
    """Lock the model for this transaction (see `lock_model`), or raise NOT_FOUND."""
    record = await models.lock_model(
        conn, name, actor=ctx.actor, now=utcnow(), description=description
    )
    if record is None:
        raise model_not_found(name)
    return record


async def create_model(
    ctx: RequestContext, *, name: str, description: str | None, tags_: Sequence[tuple[str, str]]
) -> ModelRecord:
    ctx.authorize(Role.WRITER, model=name)
    validation.model_name(name)
    description = validation.text(description, "description", validation.DESCRIPTION_MAX)
    tag_pairs = validation.entries(tags_, "tags", validation.TAG_VALUE_MAX)
    limits.at_most(len(tag_pairs), limits.TAGS_PER_OBJECT, "tags", "tags")
    async with ctx.transaction() as conn:
        record = await models.insert_model(
            conn, name=name, description=description, actor=ctx.actor, now=utcnow()
        )
        if record is None:
            raise Conflict(f"model {name!r} already exists", model=name)
        await tags.set_tags(conn, TagOwner.MODEL, record.id, tag_pairs)
        await ctx.publish(conn, name, [model_event("created", record)])
    ctx.loaders.prime_model(record)
    return record


async def get_model(
    ctx: RequestContext, name: str, *, with_production: bool = False
) -> ModelRecord:
    """The model named `name`; NOT_FOUND if there is none.

    `with_production`: the caller will ask for its PRODUCTION version, which is
    then read in the same statement and remembered by the request's loaders.
    """
    validation.model_name(name)
    if not with_production:
        record = await ctx.loaders.model_by_name.load(name)
        if record is None:
            raise model_not_found(name)
        return record
    found = await ctx.loaders.model_with_production.load(name)
    if found is None:
        raise model_not_found(name)
    record, production = found
    ctx.loaders.prime_production(record, production)
    return record


def checked_filter(model_filter: ModelFilter) -> ModelFilter:
    """The filter, each part bounded: every tag condition is a subquery, names are short."""
    return dataclasses.replace(
        model_filter,
        name_prefix=validation.filter_text(model_filter.name_prefix, "filter.nameStartsWith"),
        name_contains=validation.filter_text(model_filter.name_contains, "filter.nameContains"),
        tags=validation.filter_tags(model_filter.tags, "filter.tags"),
    )


async def list_models(
    ctx: RequestContext,
    *,
    model_filter: ModelFilter,
    order: ModelOrder,
    descending: bool,
    first: int | None,
    after: str | None,
) -> Page[ModelRecord]:
    model_filter = checked_filter(model_filter)
    kind = f"models:{order.value}:{'desc' if descending else 'asc'}"
    page = page_request(first, after, kind, _CURSOR_TYPES[order], descending=descending)
    async with ctx.read() as conn:
        rows = await models.list_models(conn, model_filter, order, page)
    for row in rows:
        ctx.loaders.prime_model(row)

    async def count() -> int:
        async with ctx.read() as conn:
            return await models.count_models(conn, model_filter)

    def cursor_of(record: ModelRecord) -> str:
        return encode_cursor(kind, getattr(record, order.value), record.id)

    return make_page(rows, page, cursor_of, count)


async def update_model(ctx: RequestContext, *, name: str, description: str) -> ModelRecord:
    ctx.authorize(Role.WRITER, model=name)
    validation.model_name(name)
    description = validation.text(description, "description", validation.DESCRIPTION_MAX)
    async with ctx.transaction() as conn:
        record = await locked_model(conn, ctx, name, description=description)
        await ctx.publish(conn, name, [model_event("updated", record)])
    ctx.loaders.prime_model(record)
    return record


async def delete_model(ctx: RequestContext, *, name: str) -> ModelRecord:
    """Delete a model with its versions, tags, aliases and history.

    A protected alias of the model has to be deleted first (see alias_moves.check_removal).
    """
    ctx.authorize(Role.MAINTAINER, model=name)
    validation.model_name(name)
    async with ctx.transaction() as conn:
        record = await locked_model(conn, ctx, name)
        held = (await aliases.aliases_of_models(conn, [record.id])).get(record.id, [])
        await alias_moves.check_removal(conn, ctx, record, held, f"deleting model {name!r}")
        await models.delete_model(conn, record.id)
        await ctx.publish(conn, name, [model_event("deleted", record)])
    return record
