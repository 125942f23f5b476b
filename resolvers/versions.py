"""Model versions: register, read, page through, update, delete."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import alias_moves, limits, request_staleness, validation
from resolvers.context import RequestContext
from resolvers.errors import Conflict, NotFound
from resolvers.events import model_event, version_event
from resolvers.models import locked_model, model_not_found
from resolvers.pagination import Page, SmallInt, encode_cursor, make_page, page_request
from storage.clock import utcnow
from storage.enums import Role, Stage
from storage.queries import aliases, deleted_versions, models, tags, versions
from storage.queries.tags import TagOwner
from storage.records import ModelRecord, VersionRecord


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What a caller registers; everything but description and tags is immutable."""

    model_name: str
    source: str
    run_id: str | None = None
    digest: str | None = None
    description: str | None = None
    tags: Sequence[tuple[str, str]] = ()
    metrics: Sequence[tuple[str, float]] = ()
    params: Sequence[tuple[str, str]] = ()
    # MLflow 3's logged model id (`m-<id>`) and the tracking server's link to the run.
    logged_model_id: str | None = None
    run_link: str | None = None


def version_not_found(name: str, version: int) -> NotFound:
    return NotFound(f"model {name!r} has no version {version}", model=name, version=version)


async def create_version(ctx: RequestContext, new: NewVersion) -> VersionRecord:
    """Register the model's next version, creating the model when it does not exist yet."""
    ctx.authorize(Role.WRITER, model=new.model_name)
    name = validation.model_name(new.model_name, "modelName")
    source = validation.text(new.source, "source", validation.SOURCE_MAX, required=True)
    run_id = validation.text(new.run_id, "runId", validation.RUN_ID_MAX) or None
    logged_model_id = validation.text(new.logged_model_id, "modelId", validation.RUN_ID_MAX) or None
    run_link = validation.text(new.run_link, "runLink", validation.SOURCE_MAX) or None
    digest = validation.digest(new.digest)
    description = validation.text(new.description, "description", validation.DESCRIPTION_MAX)
    tag_pairs = validation.entries(new.tags, "tags", validation.TAG_VALUE_MAX)
    limits.at_most(len(tag_pairs), limits.TAGS_PER_OBJECT, "tags", "tags")
    metrics = validation.metrics(new.metrics)
    params = dict(validation.entries(new.params, "params", validation.PARAM_VALUE_MAX))
    now = utcnow()
    async with ctx.transaction() as conn:
        model, number, created = await _next_version_number(conn, name, ctx.actor)
        ctx.audit_target(model=name, target=f"{name}/{number}")
        record = await versions.insert_version(
            conn,
            model_id=model.id,
            version=number,
            source=source,
            run_id=run_id,
            digest=digest,
            description=description,
            metrics=metrics,
            params=params,
            actor=ctx.actor,
            now=now,
            logged_model_id=logged_model_id,
            run_link=run_link,
        )
        await tags.set_tags(conn, TagOwner.VERSION, record.id, tag_pairs)
        events = [model_event("created", model)] if created else []
        events.append(version_event("created", model, record))
        await ctx.publish(conn, name, events)
    ctx.loaders.prime_model(model)
    ctx.loaders.prime_version(record)
    return record


async def _next_version_number(
    conn: AsyncConnection, name: str, actor: str
) -> tuple[ModelRecord, int, bool]:
    """Take the next number from the model's counter, creating the model first if needed.

    The flag says whether this transaction created the model.
    """
    now = utcnow()
    created = False
    for _ in range(3):
        allocated = await models.allocate_version(conn, name, actor=actor, now=now)
        if allocated is not None:
            return (*allocated, created)
        # ON CONFLICT DO NOTHING: if a concurrent request creates the model
        # first, the next round takes a number from its counter instead.
        inserted = await models.insert_model(conn, name=name, description="", actor=actor, now=now)
        created = inserted is not None
    raise Conflict(f"model {name!r} was deleted while registering a version", model=name)


async def get_version(ctx: RequestContext, name: str, version: int) -> VersionRecord:
    validation.model_name(name)
    validation.version_number(version)
    record = await ctx.loaders.version_by_name.load((name, version))
    if record is None:
        if await ctx.loaders.model_by_name.load(name) is None:
            raise model_not_found(name)
        raise version_not_found(name, version)
    ctx.loaders.prime_version(record)
    return record


async def locked_version(
    conn: AsyncConnection, ctx: RequestContext, name: str, version: int
) -> tuple[ModelRecord, VersionRecord]:
    """Lock the model (see `locked_model`) and read one of its versions, or raise NOT_FOUND."""
    validation.model_name(name, "modelName")
    validation.version_number(version)
    model = await locked_model(conn, ctx, name)
    record = await versions.get_version(conn, model.id, version)
    if record is None:
        raise version_not_found(name, version)
    return model, record


async def page_of_versions(
    ctx: RequestContext,
    model_id: int,
    *,
    stage: Stage | None,
    first: int | None,
    after: str | None,
) -> Page[VersionRecord]:
    """A page of the model's versions, newest first; batched across models."""
    kind = "versions"
    page = page_request(first, after, kind, (SmallInt,), descending=True)
    rows = await ctx.loaders.version_page.load((model_id, stage, page))

    def cursor_of(record: VersionRecord) -> str:
        return encode_cursor(kind, record.version)

    async def count() -> int:
        return await ctx.loaders.version_count.load((model_id, stage))

    return make_page(rows, page, cursor_of, count)


async def update_version(
    ctx: RequestContext, *, name: str, version: int, description: str
) -> VersionRecord:
    ctx.authorize(Role.WRITER, model=name)
    description = validation.text(description, "description", validation.DESCRIPTION_MAX)
    async with ctx.transaction() as conn:
        model, record = await locked_version(conn, ctx, name, version)
        record = await versions.set_description(
            conn, record.id, description, actor=ctx.actor, now=utcnow()
        )
        await ctx.publish(conn, name, [version_event("updated", model, record)])
    ctx.loaders.prime_version(record)
    return record


async def delete_version(ctx: RequestContext, *, name: str, version: int) -> VersionRecord:
    """Delete a version with its tags and aliases; its number is never given out again.

    Its PENDING transition requests become STALE. A protected alias it holds
    has to be moved first (see alias_moves.check_removal).
    """
    ctx.authorize(Role.MAINTAINER, model=name)
    async with ctx.transaction() as conn:
        model, record = await locked_version(conn, ctx, name, version)
        held = (await aliases.aliases_of_versions(conn, [record.id])).get(record.id, [])
        await alias_moves.check_removal(conn, ctx, model, held, f"deleting version {version}")
        await versions.delete_version(conn, record.id)
        await deleted_versions.record_deletion(
            conn, model.id, record.version, record.stage, actor=ctx.actor, now=utcnow()
        )
        await ctx.publish(conn, name, [version_event("deleted", model, record)])
        await alias_moves.removed_with_version(conn, ctx, model, held)
        await request_staleness.after_delete(conn, ctx, model, record)
    return record
