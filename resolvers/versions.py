"""Model versions: register, read, page through, update, delete."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import alias_moves, limits, model_cards, request_staleness, validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, Conflict, NotFound
from resolvers.events import model_event, version_event
from resolvers.model_cards import UNCHANGED, CardUpdate
from resolvers.models import locked_model, model_not_found
from resolvers.pagination import Page, SmallInt, encode_cursor, make_page, page_request
from storage.clock import utcnow
from storage.enums import Role, Stage
from storage.queries import aliases, deleted_versions, models, tags, versions
from storage.queries.tags import TagOwner
from storage.records import ModelRecord, VersionRecord
from webhooks.payloads import card_json


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
    # Markdown, for reviewers (see resolvers/model_cards.py); it can change later.
    model_card: str | None = None


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
    card = model_cards.checked_card(new.model_card)
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
        if card is not None:
            await model_cards.change_card(conn, ctx, record, card)
        events = [model_event("created", model)] if created else []
        model_card = card_json(name, number, card)
        events.append(version_event("created", model, record, modelCard=model_card))
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
    ctx: RequestContext,
    *,
    name: str,
    version: int,
    description: str | None = None,
    model_card: CardUpdate = UNCHANGED,
) -> VersionRecord:
    """Change the description and/or the model card (None or blank: remove it).

    The `model_version.updated` event carries `changes`: each field that
    changed, before and after.
    """
    ctx.authorize(Role.WRITER, model=name)
    if description is None and model_card is UNCHANGED:
        raise BadUserInput("give a description, a modelCard or both", field="description")
    if description is not None:
        description = validation.text(description, "description", validation.DESCRIPTION_MAX)
    card = model_cards.checked_card(model_card) if model_card is not UNCHANGED else UNCHANGED
    async with ctx.transaction() as conn:
        model, before = await locked_version(conn, ctx, name, version)
        changes: dict[str, Any] = {}
        if description is not None and description != before.description:
            changes["description"] = {"previous": before.description, "current": description}
        if card is not UNCHANGED:
            changed = await model_cards.change_card(conn, ctx, before, card)
            if changed is not None:
                changes[model_cards.FIELD] = changed.as_event_data(name, version)
        # updatedAt moves with every update, whether or not a value changed (as before cards).
        record = await versions.set_description(
            conn,
            before.id,
            description if description is not None else before.description,
            actor=ctx.actor,
            now=utcnow(),
        )
        event = version_event("updated", model, record, changes=changes)
        await ctx.publish(conn, name, [event])
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
