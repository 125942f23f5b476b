"""Carrying out a model's import plan in the caller's transaction.

Each change is the one the matching use case makes, with its event: a new
model or version announces `model.created` / `model_version.created` (tags
given at creation come with it, as in createModel), later tag and
description changes their own events, stage moves go through `move_version`
with cause IMPORT (history rows, `stage_changed` events, stale requests) and
aliases through `move_alias`. The import stands in for an approval that was
given, or not needed, in the other registry: a gated stage or protected
alias is passed as an admin's force is, with the origin as the override reason.
"""

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import alias_gate, policies
from resolvers.alias_moves import move_alias
from resolvers.context import RequestContext
from resolvers.errors import Conflict
from resolvers.events import model_event, tag_event, version_event
from resolvers.imports.plan import ModelPlan
from resolvers.imports.target import TargetState
from resolvers.stages import move_version
from storage.clock import utcnow
from storage.enums import AliasChangeCause, ChangeCause
from storage.queries import aliases, models, tags, versions
from storage.queries.tags import TagOwner
from storage.records import ModelRecord


async def write_plan(
    conn: AsyncConnection, ctx: RequestContext, plan: ModelPlan, target: TargetState, origin: str
) -> None:
    """Make the plan's changes; the model is locked (`read_target(lock=True)`) if it exists."""
    model = await _model(conn, ctx, plan, target)
    source = plan.source
    if source.versions:
        highest = max(v.version for v in source.versions)
        await models.raise_version_counter(conn, model.id, highest)
    await _versions(conn, ctx, model, plan)
    comment = f"imported from {origin}"
    for number, stage in plan.stage_moves:
        record = await versions.get_version(conn, model.id, number)
        assert record is not None, "the plan moves versions that exist or were just created"
        if record.stage == stage:
            continue
        policy = await policies.policy_for(conn, model.id, stage)
        await move_version(
            conn,
            ctx,
            model,
            record,
            stage,
            cause=ChangeCause.IMPORT,
            comment=comment,
            override_reason=comment if policy.gated else None,
        )
    for alias, number in plan.alias_moves:
        record = await versions.get_version(conn, model.id, number)
        if record is None:
            raise Conflict(
                f"alias {alias!r} of {model.name!r} points at version {number}, which "
                "neither MLflow's search nor this registry holds",
                model=model.name,
                alias=alias,
            )
        alias_policy = await alias_gate.policy_for(conn, model.id, alias)
        await move_alias(
            conn,
            ctx,
            model,
            alias,
            previous=await aliases.get_alias(conn, model.id, alias),
            target=record,
            cause=AliasChangeCause.FORCE if alias_policy.protected else AliasChangeCause.SET,
            comment=comment,
            override_reason=comment if alias_policy.protected else None,
        )


async def _model(
    conn: AsyncConnection, ctx: RequestContext, plan: ModelPlan, target: TargetState
) -> ModelRecord:
    source = plan.source
    if target.model is None:
        created = await models.insert_model(
            conn,
            name=source.name,
            description=source.description,
            actor=ctx.actor,
            now=utcnow(),
            created_at=source.created_at,
        )
        if created is None:
            raise Conflict(
                f"model {source.name!r} was created while it was being imported; run "
                "the import again",
                model=source.name,
            )
        await tags.set_tags(conn, TagOwner.MODEL, created.id, source.tags)
        await ctx.publish(conn, created.name, [model_event("created", created)])
        return created
    model = target.model
    if plan.description is not None:
        described = await models.lock_model(
            conn, model.name, actor=ctx.actor, now=utcnow(), description=plan.description
        )
        assert described is not None, "the model is locked by this transaction"
        model = described
        await ctx.publish(conn, model.name, [model_event("updated", model)])
    if plan.tags:
        await tags.set_tags(conn, TagOwner.MODEL, model.id, plan.tags)
        await ctx.publish(
            conn, model.name, [tag_event("set", model, None, k, v) for k, v in plan.tags]
        )
    return model


async def _versions(
    conn: AsyncConnection, ctx: RequestContext, model: ModelRecord, plan: ModelPlan
) -> None:
    now = utcnow()
    for new in plan.new_versions:
        record = await versions.insert_version(
            conn,
            model_id=model.id,
            version=new.version,
            source=new.source,
            run_id=new.run_id,
            digest=None,
            description=new.description,
            metrics={},
            params={},
            actor=ctx.actor,
            now=now,
            logged_model_id=new.logged_model_id,
            run_link=new.run_link,
            created_at=new.created_at,
        )
        await tags.set_tags(conn, TagOwner.VERSION, record.id, new.tags)
        await ctx.publish(conn, model.name, [version_event("created", model, record)])
    for change in plan.version_changes:
        held = await versions.get_version(conn, model.id, change.version)
        assert held is not None, "the plan changes versions that exist"
        record = held
        if change.description is not None:
            record = await versions.set_description(
                conn, record.id, change.description, actor=ctx.actor, now=now
            )
            await ctx.publish(conn, model.name, [version_event("updated", model, record)])
        if change.tags:
            await tags.set_tags(conn, TagOwner.VERSION, record.id, change.tags)
            await ctx.publish(
                conn,
                model.name,
                [tag_event("set", model, record, k, v) for k, v in change.tags],
            )
