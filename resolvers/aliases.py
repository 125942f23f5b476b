"""Aliases: movable per-model names for versions (`champion`, `challenger`).

An alias under a policy (see resolvers/alias_policies.py) is protected: a
gated one moves only through a transition request or an admin `force` with a
reason. Unprotected aliases move freely for writers.
"""

from dataclasses import dataclass

from resolvers import validation
from resolvers.alias_gate import authorize_direct_move, policy_for
from resolvers.alias_moves import move_alias
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound
from resolvers.models import locked_model
from resolvers.versions import locked_version
from storage.enums import AliasChangeCause, Role
from storage.queries import aliases
from storage.records import AliasRecord, ModelRecord, VersionRecord


@dataclass(frozen=True, slots=True)
class AliasChange:
    model: ModelRecord
    alias: AliasRecord
    previous_version: int | None


@dataclass(frozen=True, slots=True)
class Override:
    """What a caller says about a direct move: a comment, and an admin's `force` with a reason."""

    comment: str | None = None
    force: bool = False
    reason: str | None = None


def _checked(ctx: RequestContext, override: Override, mutation: str) -> Override:
    comment = validation.text(override.comment, "comment", validation.COMMENT_MAX) or None
    reason = validation.text(override.reason, "reason", validation.COMMENT_MAX) or None
    if override.force:
        ctx.authorize(Role.ADMIN, action=f"{mutation} with force")
        if reason is None or not reason.strip():
            raise BadUserInput("force needs a reason", field="reason")
    return Override(comment, override.force, reason)


async def set_alias(
    ctx: RequestContext,
    *,
    name: str,
    alias: str,
    version: int,
    override: Override = Override(),
) -> AliasChange:
    """Point `alias` at `version`, moving it if it points elsewhere."""
    ctx.authorize(Role.WRITER, model=name)
    validation.alias_name(alias)
    override = _checked(ctx, override, "setAlias")
    async with ctx.transaction() as conn:
        model, record = await locked_version(conn, ctx, name, version)
        policy = await policy_for(conn, model.id, alias)
        forced = authorize_direct_move(
            ctx, policy, model=name, version=version, force=override.force, doing="moving"
        )
        previous = await aliases.get_alias(conn, model.id, alias)
        await move_alias(
            conn,
            ctx,
            model,
            alias,
            previous=previous,
            target=record,
            cause=AliasChangeCause.FORCE if forced else AliasChangeCause.SET,
            comment=override.comment,
            override_reason=override.reason if forced else None,
        )
    return AliasChange(
        model=model,
        alias=AliasRecord(model.id, alias, record.id, record.version),
        previous_version=previous.version if previous is not None else None,
    )


async def delete_alias(
    ctx: RequestContext, *, name: str, alias: str, override: Override = Override()
) -> AliasChange:
    ctx.authorize(Role.WRITER, model=name)
    validation.model_name(name, "modelName")
    validation.alias_name(alias)
    override = _checked(ctx, override, "deleteAlias")
    async with ctx.transaction() as conn:
        model = await locked_model(conn, ctx, name)
        previous = await aliases.get_alias(conn, model.id, alias)
        if previous is None:
            raise alias_not_found(name, alias)
        policy = await policy_for(conn, model.id, alias)
        forced = authorize_direct_move(
            ctx, policy, model=name, version=None, force=override.force, doing="deleting"
        )
        await move_alias(
            conn,
            ctx,
            model,
            alias,
            previous=previous,
            target=None,
            cause=AliasChangeCause.FORCE if forced else AliasChangeCause.DELETE,
            comment=override.comment,
            override_reason=override.reason if forced else None,
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
