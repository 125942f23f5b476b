"""Alias policies: admins protect aliases globally or per model; everyone reads them."""

from collections.abc import Sequence

from resolvers import policy_rules as rules
from resolvers import validation
from resolvers.alias_gate import AliasPolicy, of_record, policy_for, resolve_rows, unprotected
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound
from resolvers.models import get_model
from storage.clock import utcnow
from storage.enums import Role
from storage.queries import alias_policies

# Per scope (the global one, each model): the aliasPolicies list of a model
# holds at most twice this (its overrides and the global policies).
POLICIES_MAX = 100


async def set_alias_policy(
    ctx: RequestContext,
    *,
    model_name: str | None,
    alias: str,
    required_approvals: int,
    required_checks: Sequence[str],
    role: Role,
) -> AliasPolicy:
    """Protect `alias` globally, or for one model (admins)."""
    ctx.authorize(Role.ADMIN)
    validation.alias_name(alias)
    rules.required_approvals(required_approvals)
    if role == Role.READER:
        raise BadUserInput("an alias policy's role is writer or above", field="role")
    checks = rules.checked_checks(required_checks)
    model_id = (await get_model(ctx, model_name)).id if model_name is not None else None
    async with ctx.transaction() as conn:
        if await alias_policies.count_others(conn, model_id, alias) >= POLICIES_MAX:
            scope = "per model" if model_id is not None else "for every model"
            raise BadUserInput(
                f"at most {POLICIES_MAX} alias policies {scope}", field="alias", limit=POLICIES_MAX
            )
        record = await alias_policies.set_alias_policy(
            conn,
            model_id=model_id,
            alias=alias,
            required_approvals=required_approvals,
            required_checks=checks,
            role=role,
            actor=ctx.actor,
            now=utcnow(),
        )
    return of_record(record)


async def clear_alias_policy(
    ctx: RequestContext, *, model_name: str | None, alias: str
) -> AliasPolicy:
    """Drop a model's override (or the global policy) of `alias`; return what applies now."""
    ctx.authorize(Role.ADMIN)
    validation.alias_name(alias)
    model_id = (await get_model(ctx, model_name)).id if model_name is not None else None
    async with ctx.transaction() as conn:
        if not await alias_policies.delete_alias_policy(conn, model_id, alias):
            owner = f"model {model_name!r}" if model_name is not None else "the registry"
            raise NotFound(
                f"{owner} has no policy of its own for alias {alias!r}",
                model=model_name,
                alias=alias,
            )
        if model_id is None:
            return unprotected(alias)
        return await policy_for(conn, model_id, alias)


async def alias_policies_in_force(ctx: RequestContext, model_id: int | None) -> list[AliasPolicy]:
    """The protected aliases of one model (overrides and global ones), or the global ones."""
    async with ctx.read() as conn:
        rows = await alias_policies.alias_policies_of(
            conn, [model_id] if model_id is not None else []
        )
    names = sorted({r.alias for r in rows})
    return [resolve_rows(alias, rows) for alias in names]
