"""Tags on models and versions."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import limits, validation
from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.events import tag_event
from resolvers.models import locked_model
from resolvers.versions import locked_version
from storage.enums import Role
from storage.queries import tags
from storage.queries.tags import TagOwner
from storage.records import ModelRecord, TagRecord, VersionRecord


@dataclass(frozen=True, slots=True)
class TagChange:
    model: ModelRecord
    version: VersionRecord | None
    tag: TagRecord


async def _owner(
    conn: AsyncConnection, ctx: RequestContext, name: str, version: int | None
) -> tuple[ModelRecord, VersionRecord | None, TagOwner, int]:
    if version is None:
        validation.model_name(name, "modelName")
        model = await locked_model(conn, ctx, name)
        return model, None, TagOwner.MODEL, model.id
    model, record = await locked_version(conn, ctx, name, version)
    return model, record, TagOwner.VERSION, record.id


async def set_tag(
    ctx: RequestContext, *, name: str, version: int | None, key: str, value: str
) -> TagChange:
    """Set a tag on a model, or on one of its versions when `version` is given."""
    ctx.authorize(Role.WRITER, model=name)
    ((key, value),) = validation.entries([(key, value)], "tags", validation.TAG_VALUE_MAX)
    async with ctx.transaction() as conn:
        model, record, owner, owner_id = await _owner(conn, ctx, name, version)
        others = await tags.count_other_tags(conn, owner, owner_id, key)
        limits.at_most(others + 1, limits.TAGS_PER_OBJECT, "tags per model or version", "key")
        await tags.set_tags(conn, owner, owner_id, [(key, value)])
        await ctx.publish(conn, model.name, [tag_event("set", model, record, key, value)])
    return TagChange(model, record, TagRecord(owner_id, key, value))


async def delete_tag(ctx: RequestContext, *, name: str, version: int | None, key: str) -> TagChange:
    ctx.authorize(Role.WRITER, model=name)
    validation.key(key, "tags")
    async with ctx.transaction() as conn:
        model, record, owner, owner_id = await _owner(conn, ctx, name, version)
        if not await tags.delete_tag(conn, owner, owner_id, key):
            target = f"version {version} of {name!r}" if version is not None else repr(name)
            raise NotFound(f"{target} has no tag {key!r}", model=name, key=key)
        await ctx.publish(conn, model.name, [tag_event("deleted", model, record, key, None)])
    return TagChange(model, record, TagRecord(owner_id, key, ""))
