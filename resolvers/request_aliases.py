"""Requests for an alias: ask for an alias to move to a version, or to go, once approved.

The way past a protected alias's gate for writers and maintainers. A request
records where the alias points when it is made; if the alias moves by any
other path meanwhile, or the version is deleted, the request is STALE.
Approvals, checks and four eyes work as for stage requests (request_gate.py).
"""

from resolvers import model_cards, request_staleness, validation
from resolvers.aliases import alias_not_found
from resolvers.context import RequestContext
from resolvers.errors import InvalidTransition
from resolvers.request_events import created
from resolvers.versions import locked_version
from storage.clock import utcnow
from storage.queries import aliases, transition_requests
from storage.queries.transition_requests import AliasTarget
from storage.records import TransitionRequestRecord


async def request_alias(
    ctx: RequestContext,
    *,
    name: str,
    version: int,
    alias: str,
    delete: bool,
    comment: str | None,
) -> TransitionRequestRecord:
    """Ask for `alias` to point at `version` (or, with `delete`, to go from it).

    The caller is authorized as a writer of the model already. Older PENDING
    requests for the same alias are superseded (STALE).
    """
    validation.alias_name(alias)
    comment = validation.text(comment, "comment", validation.COMMENT_MAX) or None
    async with ctx.transaction() as conn:
        model, target = await locked_version(conn, ctx, name, version)
        current = await aliases.get_alias(conn, model.id, alias)
        if delete and current is None:
            raise alias_not_found(name, alias)
        if delete and current is not None and current.version != version:
            raise InvalidTransition(
                f"alias {alias!r} of {name!r} points at version {current.version}, not "
                f"{version}: a request to delete it names the version it points at",
                model=name,
                alias=alias,
                version=version,
            )
        if not delete and current is not None and current.version == version:
            raise InvalidTransition(
                f"alias {alias!r} of {name!r} already points at version {version}",
                model=name,
                alias=alias,
                version=version,
            )
        # A newer request for the alias supersedes the PENDING ones.
        await request_staleness.outdate_alias_requests(conn, ctx, model, alias)
        record = await transition_requests.insert_request(
            conn,
            model_id=model.id,
            version=version,
            target=AliasTarget(alias, current.version if current else None, removes=delete),
            comment=comment,
            actor=ctx.actor,
            now=utcnow(),
        )
        card = await model_cards.card_of(conn, target)
        await ctx.publish(conn, model.name, [created(model, record, target, card, actor=ctx.actor)])
    return record
