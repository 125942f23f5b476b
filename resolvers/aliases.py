"""Aliases: movable per-model names for versions (`champion`, `challenger`)."""

from dataclasses import dataclass

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.events import alias_event
from resolvers.models import locked_model
from resolvers.versions import locked_version
from storage.enums import Role
from storage.queries import aliases
from storage.records import AliasRecord, ModelRecord, VersionRecord


@dataclass(frozen=True, slots=True)
class AliasChange:
    model: ModelRecord
    alias: AliasRecord
    previous_version: int | None


async def set_alias(ctx: RequestContext, *, name: str, alias: str, version: int) -> AliasChange:
    """Point `alias` at `version`, moving it if it points elsewhere."""
    ctx.authorize(Role.WRITER, model=name)
    validation.alias_name(alias)
    async with ctx.transaction() as conn:
        model, record = await locked_version(conn, ctx, name, version)
        previous = await aliases.get_alias(conn, model.id, alias)
        await aliases.set_alias(conn, model.id, alias, record.id)
        previous_version = previous.version if previous is not None else None
        event = alias_event("set", model, alias, record.version, previous_version)
        await ctx.publish(conn, model.name, [event])
    return AliasChange(
        model=model,
        alias=AliasRecord(model.id, alias, record.id, record.version),
        previous_version=previous_version,
    )


async def delete_alias(ctx: RequestContext, *, name: str, alias: str) -> AliasChange:
    ctx.authorize(Role.WRITER, model=name)
    validation.model_name(name, "modelName")
    validation.alias_name(alias)
    async with ctx.transaction() as conn:
        model = await locked_model(conn, ctx, name)
        previous = await aliases.get_alias(conn, model.id, alias)
        if previous is None:
            raise alias_not_found(name, alias)
        await aliases.delete_alias(conn, model.id, alias)
        await ctx.publish(
            conn, model.name, [alias_event("deleted", model, alias, previous.version, None)]
        )
    return AliasChange(model=model, alias=previous, previous_version=previous.version)


def alias_not_found(name: str, alias: str) -> NotFound:
    return NotFound(f"model {name!r} has no alias {alias!r}", model=name, alias=alias)


async def version_of_alias(ctx: RequestContext, model: ModelRecord, alias: str) -> VersionRecord:
    validation.alias_name(alias)
    async with ctx.read() as conn:
        found = await aliases.get_alias(conn, model.id, alias)
    record = await ctx.loaders.version_by_id.load(found.version_id) if found else None
    if record is None:
        raise alias_not_found(model.name, alias)
    return record
