"""Every move of an alias, whatever the door: the pointer, its history row, its event.

`setAlias`, `deleteAlias`, an approved request and the deletion of a version
all move aliases through here, so each move leaves an immutable history row
and an `alias.set` / `alias.deleted` event, and outdates the alias's PENDING
requests, in the transaction of the move.
"""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import limits, request_staleness
from resolvers.alias_gate import policies_for
from resolvers.context import RequestContext
from resolvers.errors import ApprovalRequired
from resolvers.events import alias_event
from storage.clock import utcnow
from storage.enums import AliasChangeCause
from storage.queries import alias_history, aliases
from storage.queries.alias_history import AliasMove
from storage.records import AliasRecord, ModelRecord, VersionRecord


async def move_alias(
    conn: AsyncConnection,
    ctx: RequestContext,
    model: ModelRecord,
    alias: str,
    *,
    previous: AliasRecord | None,
    target: VersionRecord | None,
    cause: AliasChangeCause,
    comment: str | None = None,
    override_reason: str | None = None,
    request_id: int | None = None,
) -> None:
    """Point `alias` at `target` (None: delete it) in the caller's transaction (model locked)."""
    if target is not None:
        if previous is None:
            held = (await aliases.aliases_of_models(conn, [model.id])).get(model.id, [])
            limits.at_most(len(held) + 1, limits.ALIASES_PER_MODEL, "aliases per model", "alias")
        await aliases.set_alias(conn, model.id, alias, target.id)
    else:
        await aliases.delete_alias(conn, model.id, alias)
    await _announce(
        conn,
        ctx,
        model,
        [
            AliasMove(
                model.id,
                alias,
                previous.version if previous is not None else None,
                target.version if target is not None else None,
                cause,
                comment=comment,
                override_reason=override_reason,
                transition_request_id=request_id,
            )
        ],
    )


async def _announce(
    conn: AsyncConnection, ctx: RequestContext, model: ModelRecord, moves: Sequence[AliasMove]
) -> None:
    await alias_history.record_moves(conn, moves, actor=ctx.actor, now=utcnow())
    announcements = []
    for move in moves:
        deleted = move.to_version is None
        version = move.from_version if deleted else move.to_version
        assert version is not None, "an alias move starts or ends at a version"
        announcements.append(
            alias_event(
                "deleted" if deleted else "set",
                model,
                move.alias,
                version,
                move.from_version,
                cause=move.cause,
                actor=ctx.actor,
                comment=move.comment,
                override_reason=move.override_reason,
            )
        )
    await ctx.publish(conn, model.name, announcements)
    for move in moves:
        await request_staleness.outdate_alias_requests(conn, ctx, model, move.alias)


async def check_removal(
    conn: AsyncConnection,
    ctx: RequestContext,
    model: ModelRecord,
    held: Sequence[AliasRecord],
    doing: str,
) -> None:
    """Deleting a version or a model deletes its aliases: protected ones only as deleteAlias may.

    A gated alias has to be moved or deleted first (through a request or an
    admin force); one that only asks for a role needs the caller to have it.
    """
    found = await policies_for(conn, model.id, sorted({a.alias for a in held}))
    for record in held:
        policy = found[record.alias]
        if policy.gated:
            raise ApprovalRequired(
                f"{doing} would delete the protected alias {record.alias!r} of {model.name!r} "
                f"(version {record.version}), which needs {policy.describe()}: move or delete "
                "the alias first (requestTransition, or an admin force)",
                model=model.name,
                alias=record.alias,
                version=record.version,
                requiredApprovals=policy.required_approvals,
                requiredChecks=list(policy.required_checks),
            )
        if policy.protected:
            ctx.authorize(
                policy.role,
                model=model.name,
                action=f"{doing}, which deletes the protected alias {record.alias!r},",
            )


async def removed_with_version(
    conn: AsyncConnection,
    ctx: RequestContext,
    model: ModelRecord,
    held: Sequence[AliasRecord],
) -> None:
    """A deleted version took its aliases with it (ON DELETE CASCADE): record those moves."""
    moves = [
        AliasMove(model.id, a.alias, a.version, None, AliasChangeCause.VERSION_DELETED)
        for a in held
    ]
    await _announce(conn, ctx, model, moves)
