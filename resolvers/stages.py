"""Stage transitions and rollback: the rules that keep one Production version."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import events, model_cards, request_staleness, validation
from resolvers.context import RequestContext
from resolvers.errors import ApprovalRequired, BadUserInput, InvalidTransition
from resolvers.models import locked_model
from resolvers.policies import approval_required, policy_for
from resolvers.versions import locked_version, version_not_found
from storage.clock import utcnow
from storage.enums import ChangeCause, Role, Stage
from storage.queries import history, versions
from storage.queries.history import StageChange
from storage.records import ModelRecord, VersionRecord


@dataclass(frozen=True, slots=True)
class Transition:
    version: VersionRecord
    archived: list[VersionRecord]


@dataclass(frozen=True, slots=True)
class Rollback:
    restored: VersionRecord
    demoted: VersionRecord


def required_role(stage: Stage) -> Role:
    """Writers stage and archive; putting a version in PRODUCTION takes a maintainer."""
    return Role.MAINTAINER if stage == Stage.PRODUCTION else Role.WRITER


def authorize_leaving_production(ctx: RequestContext, model: str, version: VersionRecord) -> None:
    """Taking a version out of PRODUCTION changes what serving loads: maintainers, like rollback."""
    if version.stage == Stage.PRODUCTION:
        ctx.authorize(
            Role.MAINTAINER,
            model=model,
            action=f"moving version {version.version} out of PRODUCTION",
        )


def already_in_stage(name: str, version: int, stage: Stage) -> InvalidTransition:
    return InvalidTransition(
        f"version {version} of {name!r} is already in {stage.value}",
        model=name,
        version=version,
        stage=stage.value,
    )


def check_archive_existing(stage: Stage, archive_existing: bool) -> None:
    if archive_existing and stage not in (Stage.STAGING, Stage.PRODUCTION):
        raise BadUserInput(
            "archiveExisting applies only to STAGING and PRODUCTION", field="archiveExisting"
        )


async def transition_stage(
    ctx: RequestContext,
    *,
    name: str,
    version: int,
    stage: Stage,
    archive_existing: bool,
    comment: str | None,
    force: bool = False,
    reason: str | None = None,
) -> Transition:
    """Move a version to `stage`, if the stage's policy asks for no approval or check.

    Promoting to PRODUCTION archives the current PRODUCTION version in the same
    transaction; `archive_existing` with STAGING archives the other STAGING versions.
    A gated stage is reached through a transition request, or by an admin with
    `force` and a `reason`, which the history and the webhook event carry.
    """
    ctx.authorize(required_role(stage), model=name)
    comment = validation.text(comment, "comment", validation.COMMENT_MAX) or None
    reason = validation.text(reason, "reason", validation.COMMENT_MAX) or None
    if force:
        ctx.authorize(Role.ADMIN, action="transitionStage with force")
        if reason is None or not reason.strip():
            raise BadUserInput("force needs a reason", field="reason")
    check_archive_existing(stage, archive_existing)
    async with ctx.transaction() as conn:
        model, target = await locked_version(conn, ctx, name, version)
        if target.stage == stage:
            raise already_in_stage(name, version, stage)
        authorize_leaving_production(ctx, name, target)
        policy = await policy_for(conn, model.id, stage)
        await model_cards.check_card(conn, policy, model, target)
        if policy.gated and not force:
            raise approval_required(policy, name, version)
        archived, moved = await move_version(
            conn,
            ctx,
            model,
            target,
            stage,
            archive_existing=archive_existing,
            cause=ChangeCause.TRANSITION,
            comment=comment,
            override_reason=reason if policy.gated else None,
        )
    for record in (*archived, moved):
        ctx.loaders.prime_version(record)
    return Transition(version=moved, archived=archived)


async def rollback(
    ctx: RequestContext, *, name: str, to_version: int | None, comment: str | None
) -> Rollback:
    """Archive the PRODUCTION version and restore the one before it (or `to_version`)."""
    ctx.authorize(Role.MAINTAINER, model=name)
    validation.model_name(name, "modelName")
    comment = validation.text(comment, "comment", validation.COMMENT_MAX) or None
    if to_version is not None:
        validation.version_number(to_version, "toVersion")
    async with ctx.transaction() as conn:
        model = await locked_model(conn, ctx, name)
        in_production = (await versions.versions_in_stage(conn, [model.id], Stage.PRODUCTION)).get(
            model.id, []
        )
        if not in_production:
            raise InvalidTransition(f"model {name!r} has no version in PRODUCTION", model=name)
        current = in_production[0]
        target = await _rollback_target(conn, model, current, to_version)
        archived, restored = await move_version(
            conn, ctx, model, target, Stage.PRODUCTION, cause=ChangeCause.ROLLBACK, comment=comment
        )
        announcement = events.rolled_back(
            model, restored, archived[0], actor=ctx.actor, comment=comment
        )
        await ctx.publish(conn, model.name, [announcement])
    for record in (*archived, restored):
        ctx.loaders.prime_version(record)
    return Rollback(restored=restored, demoted=archived[0])


async def _rollback_target(
    conn: AsyncConnection, model: ModelRecord, current: VersionRecord, to_version: int | None
) -> VersionRecord:
    entries = await history.production_entries(conn, model.id)
    if to_version is not None:
        target = await versions.get_version(conn, model.id, to_version)
        if target is None:
            raise version_not_found(model.name, to_version)
        if target.id == current.id:
            raise InvalidTransition(
                f"version {to_version} of {model.name!r} is already in PRODUCTION",
                model=model.name,
                version=to_version,
            )
        # A rollback restores what was approved before; it is no way around the gate.
        policy = await policy_for(conn, model.id, Stage.PRODUCTION)
        if policy.gated and all(e.version != to_version for e in entries):
            raise ApprovalRequired(
                f"version {to_version} of {model.name!r} was never in PRODUCTION, so "
                f"rolling back to it needs {policy.describe()}: use requestTransition",
                model=model.name,
                version=to_version,
                requiredApprovals=policy.required_approvals,
                requiredChecks=list(policy.required_checks),
            )
        return target
    # The history answers "what was in Production before the current version":
    # walk back from the entry that made the current version Production.
    since = next((i for i, e in enumerate(entries) if e.version == current.version), -1)
    for entry in entries[since + 1 :]:
        if entry.version == current.version:
            continue
        candidate = await versions.get_version(conn, model.id, entry.version)
        if candidate is not None:
            return candidate
    raise InvalidTransition(
        f"model {model.name!r} has no earlier PRODUCTION version to roll back to; "
        "pass toVersion to choose one",
        model=model.name,
    )


async def move_version(
    conn: AsyncConnection,
    ctx: RequestContext,
    model: ModelRecord,
    target: VersionRecord,
    stage: Stage,
    *,
    cause: ChangeCause,
    comment: str | None,
    archive_existing: bool = False,
    override_reason: str | None = None,
) -> tuple[list[VersionRecord], VersionRecord]:
    """Move `target` to `stage` in the caller's transaction (the model is locked).

    PRODUCTION archives the current PRODUCTION version; `archive_existing`
    archives the others in `stage`. Each version that moved gets its history
    row and its `stage_changed` event, and its PENDING transition requests made
    from its former stage become STALE. Returns (archived, moved).
    """
    displaced: list[VersionRecord] = []
    if stage == Stage.PRODUCTION or archive_existing:
        in_stage = await versions.versions_in_stage(conn, [model.id], stage)
        displaced = [v for v in in_stage.get(model.id, []) if v.id != target.id]
    now = utcnow()
    # Archive first: the one-Production index must hold after every statement.
    archived = await versions.set_stage(
        conn, [v.id for v in displaced], Stage.ARCHIVED, actor=ctx.actor, now=now
    )
    (moved,) = await versions.set_stage(conn, [target.id], stage, actor=ctx.actor, now=now)
    displaced_cause = ChangeCause.ARCHIVE_EXISTING if cause == ChangeCause.TRANSITION else cause
    changes = [
        StageChange(model.id, v.version, v.stage, Stage.ARCHIVED, displaced_cause)
        for v in displaced
    ]
    changes.append(
        StageChange(
            model.id, target.version, target.stage, stage, cause, override_reason=override_reason
        )
    )
    await history.record_changes(conn, changes, actor=ctx.actor, comment=comment, now=now)
    after = {v.id: v for v in (*archived, moved)}
    announcements = [
        events.stage_changed(
            model,
            before,
            after[before.id],
            cause=change.cause,
            actor=ctx.actor,
            comment=comment,
            override_reason=change.override_reason,
        )
        for before, change in zip([*displaced, target], changes, strict=True)
    ]
    await ctx.publish(conn, model.name, announcements)
    await request_staleness.after_move(conn, ctx, model, [*archived, moved])
    return archived, moved
